//! Previews: a saved template, or unsaved content, rendered for one real person with
//! the delivery worker's own render context, so what the preview shows is what would
//! be sent; for a text message, what it costs under both counting rules.

use super::{SmsCost, compile, parse_template_id, sms_cost, stored, template_problem};
use crate::EngineError;
use crate::delivery::Tracked;
use crate::delivery::content::render_context;
use crate::service::delivery::Delivery;
use crate::service::profiles::{live_profile, parse_identity};
use orbit_core::messaging::{Channel, CompiledTemplate, TemplateContent};
use orbit_core::profile::Profile;
use orbit_core::{ErrorCode, Problem, ProfileId, TemplateId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The message id templates see in a preview, where nothing is sent.
const PREVIEW_SEND_ID: &str = "preview";

/// What a preview takes: the person, by id or by identity, and what else the template
/// sees. Unsaved content and its defaults go to `POST /v1/templates/preview` only.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewRequest {
    /// A profile id, or the id of a profile merged into one.
    #[serde(default)]
    pub profile: Option<String>,
    /// `TYPE:VALUE`, cleaned like identity look-ups; instead of `profile`.
    #[serde(default)]
    #[schema(example = "phone:13800138000")]
    pub identity: Option<String>,
    /// The triggering event, seen by templates as `event` (e.g. `{"name": "order_paid",
    /// "properties": {…}}`). Free-form by nature: whatever the template reads.
    #[serde(default)]
    pub event: Option<Map<String, Value>>,
    /// The campaign and variant templates see as `campaign`.
    #[serde(default)]
    pub campaign: Option<PreviewCampaign>,
    /// The approved SMS signature, without `【】`, for the Chinese-provider count.
    #[serde(default)]
    #[schema(example = "橙子商城")]
    pub signature: Option<String>,
    /// Unsaved content (`POST /v1/templates/preview` only).
    #[serde(default)]
    pub content: Option<TemplateContent>,
    /// Defaults of unsaved content, by dotted path (`POST /v1/templates/preview`
    /// only).
    #[serde(default)]
    pub defaults: Option<BTreeMap<String, Value>>,
}

/// Whether a preview may show the person's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contacts {
    /// As they are.
    Shown,
    /// Masked in what the template renders from.
    Masked,
}

/// The campaign a preview pretends to be part of.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewCampaign {
    /// The campaign's id.
    pub id: String,
    /// The variant.
    #[serde(default)]
    pub variant: String,
}

/// A template rendered for one person.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplatePreview {
    /// The saved template; null for unsaved content.
    pub template: Option<TemplateId>,
    /// The person it was rendered for (the survivor, for a merged-away id).
    pub profile_id: ProfileId,
    /// The channel of the content.
    pub channel: Channel,
    /// The content as it would be sent.
    pub content: TemplateContent,
    /// For a text message: what the rendered text costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsCost>,
}

impl Delivery {
    /// A saved template rendered for one person.
    ///
    /// # Errors
    /// `invalid_id`; `not_found` for the template or the person; `invalid_request`,
    /// `missing_field`, `invalid_id` or `invalid_identity` naming the field;
    /// `render_failed` naming the field, line and variable.
    pub async fn preview_template(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        request: TemplatePreviewRequest,
        contacts: Contacts,
    ) -> Result<TemplatePreview, EngineError> {
        let id = parse_template_id(id)?;
        let record = stored(&self.stores, workspace, &id).await?;
        let unsaved = match (&request.content, &request.defaults) {
            (Some(_), _) => Some("content"),
            (None, Some(_)) => Some("defaults"),
            (None, None) => None,
        };
        if let Some(field) = unsaved {
            return Err(Problem::invalid(
                field,
                "a saved template renders its own content; POST /v1/templates/preview renders unsaved content",
            )
            .into());
        }
        // Saved content compiled when it was saved; failing now means it cannot be sent.
        let template = CompiledTemplate::compile(record.content, &record.defaults)
            .map_err(|e| template_problem(ErrorCode::RenderFailed, e))?;
        Ok(self.render_for(workspace, &template, Some(id), &request, contacts)?)
    }

    /// Unsaved content rendered for one person.
    ///
    /// # Errors
    /// `missing_field` (`content`); `invalid_template` for content that does not
    /// compile; otherwise as for [`Delivery::preview_template`].
    pub fn preview_content(
        &self,
        workspace: &WorkspaceId,
        mut request: TemplatePreviewRequest,
        contacts: Contacts,
    ) -> Result<TemplatePreview, EngineError> {
        let content = request.content.take().ok_or_else(|| {
            Problem::at(
                ErrorCode::MissingField,
                "content",
                "give the content to preview, or POST /v1/templates/{id}/preview for a saved template",
            )
        })?;
        let template = compile(content, &request.defaults.take().unwrap_or_default())?;
        Ok(self.render_for(workspace, &template, None, &request, contacts)?)
    }

    /// Renders for the person the request names, with the context the delivery worker
    /// builds: their traits, identities and tag values, the campaign, a real
    /// unsubscribe link's shape (leading nowhere) and the triggering event.
    fn render_for(
        &self,
        workspace: &WorkspaceId,
        template: &CompiledTemplate,
        template_id: Option<TemplateId>,
        request: &TemplatePreviewRequest,
        contacts: Contacts,
    ) -> Result<TemplatePreview, Problem> {
        let signature = clean_signature(request.signature.as_deref())?;
        let profile = self.preview_person(workspace, request)?;
        let tags = self
            .pipeline
            .with_audience(workspace, |index| {
                index.map(|index| index.tags_document(profile.id))
            })
            .unwrap_or_default();
        let campaign = request
            .campaign
            .as_ref()
            .map(|c| (c.id.as_str(), c.variant.as_str()));
        let unsubscribe_url = self.links.url(&Tracked::Unsubscribe {
            workspace: workspace.clone(),
            send_id: PREVIEW_SEND_ID.to_owned(),
        });
        let mut context = render_context(&profile, tags, campaign, PREVIEW_SEND_ID, &unsubscribe_url);
        if let Some(event) = &request.event {
            context["event"] = Value::Object(event.clone());
        }
        if contacts == Contacts::Masked {
            // Masked before rendering: a template that reshapes a contact (slices it,
            // replaces its `@`) must not show what masking the answer would miss.
            orbit_core::privacy::mask_contacts(&mut context);
        }
        let rendered = template
            .render(&context)
            .map_err(|e| template_problem(ErrorCode::RenderFailed, e))?;
        Ok(TemplatePreview {
            template: template_id,
            profile_id: profile.id,
            channel: rendered.channel(),
            sms: sms_cost(&rendered, signature.as_deref()),
            content: rendered,
        })
    }

    /// The person a preview is for: by id (merged-away ids follow their survivor) or
    /// by identity.
    fn preview_person(
        &self,
        workspace: &WorkspaceId,
        request: &TemplatePreviewRequest,
    ) -> Result<Profile, Problem> {
        match (&request.profile, &request.identity) {
            (Some(id), None) => live_profile(&self.pipeline, workspace, id.trim(), "profile"),
            (None, Some(raw)) => {
                let identity = parse_identity(raw, "identity", self.default_region)?;
                self.pipeline
                    .profile_by_identity(workspace, &identity)
                    .ok_or_else(|| Problem::not_found("profile"))
            }
            (Some(_), Some(_)) => Err(Problem::invalid("identity", "give profile or identity, not both")),
            (None, None) => Err(Problem::at(
                ErrorCode::MissingField,
                "profile",
                "give the profile id or an identity (TYPE:VALUE) to preview for",
            )),
        }
    }
}

/// The signature without the brackets people tend to paste with it.
fn clean_signature(raw: Option<&str>) -> Result<Option<String>, Problem> {
    let Some(raw) = raw else { return Ok(None) };
    let bare = raw.trim().trim_start_matches('【').trim_end_matches('】').trim();
    if bare.is_empty() {
        return Err(Problem::invalid(
            "signature",
            "the signature must not be empty; leave it out instead",
        ));
    }
    Ok(Some(bare.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_lose_their_brackets_and_may_not_be_empty() {
        assert_eq!(clean_signature(None), Ok(None));
        assert_eq!(
            clean_signature(Some(" 【橙子商城】 ")),
            Ok(Some("橙子商城".to_owned()))
        );
        assert_eq!(
            clean_signature(Some("【】")).map_err(|p| p.field),
            Err(Some("signature".to_owned()))
        );
    }
}
