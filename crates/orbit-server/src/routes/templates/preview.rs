//! Previews: a saved template, or unsaved content, rendered for one real person with
//! the delivery worker's own render context, so what the preview shows is what would
//! be sent; for a text message, what it costs under both counting rules.

use super::{TemplateFailure, compile, parse_template_id, sms_counts, stored};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orbit_core::ErrorCode;
use orbit_core::event::clean_identity;
use orbit_core::messaging::{CompiledTemplate, TemplateContent};
use orbit_core::profile::Profile;
use orbit_core::{Identity, ProfileId, TemplateId, WorkspaceId};
use orbit_engine::delivery::Tracked;
use orbit_engine::delivery::content::render_context;
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The message id templates see in a preview, where nothing is sent.
const PREVIEW_SEND_ID: &str = "preview";

/// What a preview takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewInput {
    /// A profile id, or the id of a profile merged into one.
    #[serde(default)]
    profile: Option<String>,
    /// `TYPE:VALUE`, cleaned like identity look-ups.
    #[serde(default)]
    identity: Option<String>,
    /// The triggering event, seen by templates as `event`.
    #[serde(default)]
    event: Option<Map<String, Value>>,
    /// The campaign and variant templates see as `campaign`.
    #[serde(default)]
    campaign: Option<CampaignInput>,
    /// The approved SMS signature, without `【】`, for the Chinese-provider count.
    #[serde(default)]
    signature: Option<String>,
    /// Unsaved content (`POST /v1/templates/preview` only).
    #[serde(default)]
    content: Option<TemplateContent>,
    /// Defaults of unsaved content.
    #[serde(default)]
    defaults: Option<BTreeMap<String, Value>>,
}

/// The campaign a preview pretends to be part of.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignInput {
    id: String,
    #[serde(default)]
    variant: String,
}

/// The person a preview is for: by id (merged-away ids follow their survivor) or by
/// identity.
fn person(state: &AppState, workspace: &WorkspaceId, input: &PreviewInput) -> Result<Profile, ApiError> {
    let profile = match (&input.profile, &input.identity) {
        (Some(id), None) => {
            let id = ProfileId::parse(id.trim())
                .map_err(|e| ApiError::at(ErrorCode::InvalidId, "profile", format!("profile id {e}")))?;
            state.engine.pipeline().profile(workspace, id)
        }
        (None, Some(raw)) => {
            let parsed = Identity::parse_typed(raw)
                .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e.to_string()))?;
            let identity = clean_identity(parsed.kind, &parsed.value, state.settings.default_region)
                .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e))?;
            state.engine.pipeline().profile_by_identity(workspace, &identity)
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::at(
                ErrorCode::InvalidRequest,
                "identity",
                "give profile or identity, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::at(
                ErrorCode::MissingField,
                "profile",
                "give the profile id or an identity (TYPE:VALUE) to preview for",
            ));
        }
    };
    profile.ok_or_else(|| ApiError::not_found("profile"))
}

/// A profile's tag values as templates see them, as the delivery worker sees them.
fn tags_of(state: &AppState, workspace: &WorkspaceId, profile: ProfileId) -> Map<String, Value> {
    state
        .engine
        .pipeline()
        .with_audience(workspace, |index| index.map(|index| index.tags_document(profile)))
        .unwrap_or_default()
}

/// The signature without the brackets people tend to paste with it.
fn clean_signature(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let bare = raw.trim().trim_start_matches('【').trim_end_matches('】').trim();
    if bare.is_empty() {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "signature",
            "the signature must not be empty; leave it out instead",
        ));
    }
    Ok(Some(bare.to_owned()))
}

/// Renders for the person the input names and builds the answer.
fn render(
    state: &AppState,
    caller: &ApiCaller,
    template: &CompiledTemplate,
    template_id: Option<&TemplateId>,
    input: &PreviewInput,
) -> Result<Value, TemplateFailure> {
    let signature = clean_signature(input.signature.as_deref())?;
    let profile = person(state, caller.workspace(), input)?;
    let tags = tags_of(state, caller.workspace(), profile.id);
    let campaign = input
        .campaign
        .as_ref()
        .map(|c| (c.id.as_str(), c.variant.as_str()));
    // A real link's shape, for a message that does not exist: it leads nowhere.
    let unsubscribe_url = state.engine.delivery().parts().links.url(&Tracked::Unsubscribe {
        workspace: caller.workspace().clone(),
        send_id: PREVIEW_SEND_ID.to_owned(),
    });
    let mut context = render_context(&profile, tags, campaign, PREVIEW_SEND_ID, &unsubscribe_url);
    if let Some(event) = &input.event {
        context["event"] = Value::Object(event.clone());
    }
    let rendered = template
        .render(&context)
        .map_err(TemplateFailure::render_failed)?;
    let mut answer = json!({
        "template": template_id,
        "profile_id": profile.id,
        "channel": rendered.channel(),
        "content": rendered,
    });
    if let TemplateContent::Sms { text, .. } = &rendered {
        answer["sms"] = sms_counts(text, signature.as_deref());
    }
    Ok(answer)
}

/// `POST /v1/templates/{id}/preview`: a saved template rendered for one person.
#[utoipa::path(post, path = "/v1/templates/{id}/preview", tag = "templates", params(("id" = String, Path, description = "The template's id")), request_body(content = Object, description = "`{profile: ID | identity: TYPE:VALUE, event?, campaign?: {id, variant}, signature?}`"), security(("api_key" = [])), responses((status = 200, description = "`{template, profile_id, channel, content, sms?}`"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such template or profile"), (status = 422, description = "`render_failed`: the error names `field`, `line` and `variable`")))]
pub async fn preview_saved(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, TemplateFailure> {
    caller.require(Scope::AudiencesRead)?;
    // A preview shows a person's traits as they would be sent.
    caller.require(Scope::ProfilesRead)?;
    let id = parse_template_id(&id)?;
    let record = stored(&state, &caller, &id).await?;
    let input: PreviewInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    if input.content.is_some() || input.defaults.is_some() {
        let field = if input.content.is_some() {
            "content"
        } else {
            "defaults"
        };
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            field,
            "a saved template renders its own content; POST /v1/templates/preview renders unsaved content",
        )
        .into());
    }
    // Saved content compiled when it was saved; failing now means it cannot be sent.
    let template = CompiledTemplate::compile(record.content, &record.defaults)
        .map_err(TemplateFailure::render_failed)?;
    Ok(Json(render(&state, &caller, &template, Some(&id), &input)?))
}

/// `POST /v1/templates/preview`: unsaved content rendered for one person.
#[utoipa::path(post, path = "/v1/templates/preview", tag = "templates", request_body(content = Object, description = "`{content: {channel, …}, defaults?, profile: ID | identity: TYPE:VALUE, event?, campaign?, signature?}`"), security(("api_key" = [])), responses((status = 200, description = "`{template: null, profile_id, channel, content, sms?}`"), (status = 400, description = "Bad input or content that does not compile; the error names the field and line"), (status = 404, description = "No such profile"), (status = 422, description = "`render_failed`: the error names `field`, `line` and `variable`")))]
pub async fn preview_unsaved(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, TemplateFailure> {
    caller.require(Scope::AudiencesRead)?;
    caller.require(Scope::ProfilesRead)?;
    let mut input: PreviewInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    let content = input.content.take().ok_or_else(|| {
        ApiError::at(
            ErrorCode::MissingField,
            "content",
            "give the content to preview, or POST /v1/templates/{id}/preview for a saved template",
        )
    })?;
    let template = compile(content, &input.defaults.take().unwrap_or_default())?;
    Ok(Json(render(&state, &caller, &template, None, &input)?))
}
