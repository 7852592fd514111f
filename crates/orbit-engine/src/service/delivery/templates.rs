//! Message templates: content per channel with defaults for missing variables, checked
//! by compiling it before it is saved, and (in [`preview`]) rendered for a real
//! person exactly as the delivery worker renders them.
//!
//! A template that does not compile answers `invalid_template`, one that does not
//! render `render_failed`; both name the field as a path of the request
//! (`content.text`, `defaults.x`), the line within it and the variable to blame, so an
//! editor can point at the spot.

mod preview;

pub use preview::{Contacts, PreviewCampaign, TemplatePreview, TemplatePreviewRequest};

use super::Delivery;
use super::consent::{DEFAULT_TOPIC, parse_topic};
use crate::EngineError;
use jiff::Timestamp;
use orbit_channels::sms::parts::{CountingRule, Encoding, count_parts};
use orbit_core::messaging::{
    CampaignState, Channel, ClassName, CompiledTemplate, MessageClass, TemplateContent, TemplateError,
};
use orbit_core::{ErrorCode, Problem, TemplateId, WorkspaceId};
use orbit_store::{StoreError, Stores, TemplateRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A template as it is written (`POST /v1/templates`, `PUT /v1/templates/{id}`).
/// Fields are optional to the parser so that a missing one is refused by name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateDraft {
    /// `[a-z0-9_-]`, 1–64; one is made up (`tpl-…`) on create when left out. On `PUT`
    /// it must match the path.
    #[serde(default)]
    #[schema(example = "double11")]
    pub id: Option<String>,
    /// A name people recognise, not blank.
    #[serde(default)]
    #[schema(required = true, example = "双11会员日")]
    pub name: String,
    /// `marketing` (the default) or `transactional`.
    #[serde(default)]
    pub class: ClassName,
    /// The subscription topic of a marketing template (`[a-z0-9_-]`); `promotions`
    /// when left out. Transactional templates have none.
    #[serde(default)]
    pub topic: Option<String>,
    /// The content, which names its channel; every text in it is a template.
    #[serde(default)]
    #[schema(required = true)]
    pub content: Option<TemplateContent>,
    /// Values used for variables a person lacks (or holds as null), by dotted path:
    /// `{"profile.traits.name": "会员"}`. A default may be any JSON value.
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
}

/// A stored template as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplateView {
    /// Its id.
    pub id: TemplateId,
    /// Its name.
    pub name: String,
    /// `marketing` or `transactional`.
    pub class: ClassName,
    /// The subscription topic of a marketing template; null for a transactional one.
    pub topic: Option<String>,
    /// The channel its content is for.
    pub channel: Channel,
    /// The content as written.
    pub content: TemplateContent,
    /// Values for variables a person lacks, by dotted path.
    pub defaults: BTreeMap<String, Value>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// For a text message: what its raw text costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsCost>,
}

impl TemplateView {
    fn of(record: &TemplateRecord) -> Self {
        let (class, topic) = match &record.class {
            MessageClass::Marketing { topic } => (ClassName::Marketing, Some(topic.clone())),
            MessageClass::Transactional => (ClassName::Transactional, None),
        };
        Self {
            id: record.id.clone(),
            name: record.name.clone(),
            class,
            topic,
            channel: record.content.channel(),
            content: record.content.clone(),
            defaults: record.defaults.clone(),
            created_at: record.created_at,
            updated_at: record.updated_at,
            sms: sms_cost(&record.content, None),
        }
    }
}

/// The workspace's templates.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplateList {
    /// Every template, by id.
    pub templates: Vec<TemplateView>,
}

/// What a text message costs under the carrier rule and the Chinese-provider rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SmsCost {
    /// The text's length in characters, signature excluded.
    pub characters: usize,
    /// As carriers bill the raw text (Twilio and the providers that send it as is).
    pub carrier: CarrierParts,
    /// As Aliyun and Tencent bill domestic messages: the signature and its brackets
    /// count too. Without a signature only the brackets `【】` are counted, so the
    /// count is then a lower bound.
    pub chinese_provider: ProviderParts,
}

/// A text's cost under the carrier rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CarrierParts {
    /// `gsm7` or `ucs2`: the unit of `characters`.
    pub encoding: Encoding,
    /// The length in septets (GSM-7) or UTF-16 units (UCS-2).
    pub characters: u32,
    /// The parts billed.
    pub parts: u32,
}

/// A text's cost under the Chinese-provider rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProviderParts {
    /// `characters`: every character counts one.
    pub encoding: Encoding,
    /// The length with `【signature】`.
    pub characters: u32,
    /// The parts billed.
    pub parts: u32,
    /// The signature counted, without brackets; null when none was given.
    pub signature: Option<String>,
}

/// What `content` costs if it is a text message, under both counting rules.
fn sms_cost(content: &TemplateContent, signature: Option<&str>) -> Option<SmsCost> {
    let TemplateContent::Sms { text, .. } = content else {
        return None;
    };
    let carrier = count_parts(text, CountingRule::Carrier);
    let chinese = count_parts(
        text,
        CountingRule::ChineseProvider {
            signature: signature.unwrap_or_default(),
        },
    );
    Some(SmsCost {
        characters: text.chars().count(),
        carrier: CarrierParts {
            encoding: carrier.encoding,
            characters: carrier.length,
            parts: carrier.parts,
        },
        chinese_provider: ProviderParts {
            encoding: chinese.encoding,
            characters: chinese.length,
            parts: chinese.parts,
            signature: signature.map(str::to_owned),
        },
    })
}

impl Delivery {
    /// Creates a template whose content compiles with its defaults.
    ///
    /// # Errors
    /// `invalid_id`, `invalid_request`, `missing_field` or `invalid_template` naming
    /// the field; `already_exists` when the id is taken.
    pub async fn create_template(
        &self,
        workspace: &WorkspaceId,
        draft: TemplateDraft,
    ) -> Result<TemplateView, EngineError> {
        let id = match draft.id.as_deref() {
            Some(raw) => parse_template_id(raw)?,
            None => TemplateId::mint(),
        };
        let now = self.clock.now();
        let record = checked(workspace, id, draft, now)?;
        self.stores
            .templates
            .save_template(&record, orbit_store::Write::Create)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists(_) => EngineError::from(Problem::at(
                    ErrorCode::AlreadyExists,
                    "id",
                    format!(
                        "a template {} exists; PUT /v1/templates/{} changes it",
                        record.id, record.id
                    ),
                )),
                other => other.into(),
            })?;
        Ok(TemplateView::of(&record))
    }

    /// Every template of the workspace, by id.
    ///
    /// # Errors
    /// Fails when the store cannot be read.
    pub async fn templates(&self, workspace: &WorkspaceId) -> Result<TemplateList, EngineError> {
        let records = self.stores.templates.templates(workspace).await?;
        Ok(TemplateList {
            templates: records.iter().map(TemplateView::of).collect(),
        })
    }

    /// One template.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn template(&self, workspace: &WorkspaceId, id: &str) -> Result<TemplateView, EngineError> {
        let id = parse_template_id(id)?;
        Ok(TemplateView::of(&stored(&self.stores, workspace, &id).await?))
    }

    /// Replaces a template, keeping when it was created.
    ///
    /// # Errors
    /// As for [`Delivery::create_template`], and `invalid_request` (`id`) for an id in
    /// the body that differs from the path; `not_found` when there is none.
    pub async fn replace_template(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        draft: TemplateDraft,
    ) -> Result<TemplateView, EngineError> {
        let id = parse_template_id(id)?;
        let existing = stored(&self.stores, workspace, &id).await?;
        if let Some(given) = draft.id.as_deref().map(parse_template_id).transpose()?
            && given != id
        {
            return Err(Problem::invalid("id", "the id in the body differs from the path").into());
        }
        let mut record = checked(workspace, id, draft, self.clock.now())?;
        record.created_at = existing.created_at;
        self.stores
            .templates
            .save_template(&record, orbit_store::Write::Replace)
            .await?;
        Ok(TemplateView::of(&record))
    }

    /// Deletes a template no campaign that may still send uses.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `in_use` naming the campaigns.
    pub async fn delete_template(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_template_id(id)?;
        // A campaign that may still send must not lose its content.
        let users: Vec<String> = self
            .stores
            .campaigns
            .campaigns(workspace)
            .await?
            .into_iter()
            .filter(|c| {
                let finished = matches!(
                    c.lifecycle.state,
                    CampaignState::Completed | CampaignState::Cancelled
                );
                let uses =
                    |v: &orbit_core::messaging::CampaignVariant| v.messages.iter().any(|m| m.template == id);
                !finished && c.definition.variants.iter().any(uses)
            })
            .map(|c| c.id.to_string())
            .collect();
        if !users.is_empty() {
            return Err(Problem::new(
                ErrorCode::InUse,
                format!(
                    "campaigns {} use this template; change or cancel them first",
                    users.join(", ")
                ),
            )
            .into());
        }
        if self.stores.templates.delete_template(workspace, &id).await? {
            Ok(())
        } else {
            Err(Problem::not_found("template").into())
        }
    }
}

/// A record of a draft that passes every check: a name, the class and its topic, and
/// content that compiles with its defaults; stamped `now` as created and updated.
fn checked(
    workspace: &WorkspaceId,
    id: TemplateId,
    draft: TemplateDraft,
    now: Timestamp,
) -> Result<TemplateRecord, Problem> {
    let name = draft.name.trim().to_owned();
    if name.is_empty() {
        return Err(Problem::invalid("name", "give the template a name"));
    }
    let class = class_of(draft.class, draft.topic.as_deref())?;
    let content = draft.content.ok_or_else(|| {
        Problem::at(
            ErrorCode::MissingField,
            "content",
            "give the content, e.g. {\"channel\": \"sms\", \"text\": \"…\"}",
        )
    })?;
    compile(content.clone(), &draft.defaults)?;
    Ok(TemplateRecord {
        workspace_id: workspace.clone(),
        id,
        name,
        class,
        content,
        defaults: draft.defaults,
        created_at: now,
        updated_at: now,
    })
}

fn class_of(class: ClassName, topic: Option<&str>) -> Result<MessageClass, Problem> {
    match class {
        ClassName::Transactional if topic.is_some() => {
            Err(Problem::invalid("topic", "only marketing templates have a topic"))
        }
        ClassName::Transactional => Ok(MessageClass::Transactional),
        ClassName::Marketing => Ok(MessageClass::Marketing {
            topic: parse_topic(topic.unwrap_or(DEFAULT_TOPIC))?,
        }),
    }
}

/// Compiles content as the delivery worker will.
fn compile(
    content: TemplateContent,
    defaults: &BTreeMap<String, Value>,
) -> Result<CompiledTemplate, Problem> {
    CompiledTemplate::compile(content, defaults).map_err(|e| template_problem(ErrorCode::InvalidTemplate, e))
}

/// A template's problem as the request's: the content's field (`text`,
/// `params[0].value`) becomes its path in the request (`content.text`); defaults keep
/// theirs (`defaults.x`).
fn template_problem(code: ErrorCode, error: TemplateError) -> Problem {
    let field = if error.field.starts_with("defaults.") {
        error.field
    } else {
        format!("content.{}", error.field)
    };
    let at = error.line.map(|l| format!(" line {l}")).unwrap_or_default();
    let message = format!("{field}{at}: {}", error.message);
    Problem {
        line: error.line.and_then(|l| u32::try_from(l).ok()),
        variable: error.variable,
        ..Problem::at(code, field, message)
    }
}

fn parse_template_id(raw: &str) -> Result<TemplateId, Problem> {
    TemplateId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("template id {e}")))
}

/// A stored template, or `not_found`.
async fn stored(
    stores: &Stores,
    workspace: &WorkspaceId,
    id: &TemplateId,
) -> Result<TemplateRecord, EngineError> {
    stores
        .templates
        .template(workspace, id)
        .await?
        .ok_or_else(|| Problem::not_found("template").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_problems_name_the_request_path_the_line_and_the_variable() {
        let error = TemplateError {
            field: "text".to_owned(),
            line: Some(2),
            variable: Some("profile.traits.nickname".to_owned()),
            message: "profile.traits.nickname is not set for this person and has no default".to_owned(),
        };
        let problem = template_problem(ErrorCode::RenderFailed, error);
        assert_eq!(problem.field.as_deref(), Some("content.text"));
        assert_eq!(
            (problem.line, problem.variable.as_deref()),
            (Some(2), Some("profile.traits.nickname"))
        );
        assert!(
            problem
                .message
                .starts_with("content.text line 2: profile.traits.nickname")
        );
        let default = TemplateError {
            field: "defaults.profile..name".to_owned(),
            line: None,
            variable: None,
            message: "bad".to_owned(),
        };
        let problem = template_problem(ErrorCode::InvalidTemplate, default);
        assert_eq!(problem.field.as_deref(), Some("defaults.profile..name"));
        assert_eq!(problem.message, "defaults.profile..name: bad");
    }

    #[test]
    fn only_text_messages_are_counted_and_the_signature_counts_with_its_brackets() {
        let sms = |text: &str| TemplateContent::Sms {
            text: text.to_owned(),
            provider_template: None,
            params: Vec::new(),
        };
        let cost = sms_cost(&sms(&"好".repeat(66)), Some("橙子")).expect("a text message");
        assert_eq!((cost.characters, cost.carrier.parts), (66, 1));
        assert_eq!(
            (cost.chinese_provider.characters, cost.chinese_provider.parts),
            (70, 1)
        );
        let push = TemplateContent::Push {
            title: "t".to_owned(),
            body: "b".to_owned(),
            data: BTreeMap::new(),
        };
        assert_eq!(sms_cost(&push, None), None);
    }

    #[test]
    fn transactional_templates_take_no_topic_and_marketing_ones_default_to_promotions() {
        assert_eq!(
            class_of(ClassName::Marketing, None),
            Ok(MessageClass::Marketing {
                topic: "promotions".to_owned()
            })
        );
        assert_eq!(
            class_of(ClassName::Transactional, Some("news")).map_err(|p| p.field),
            Err(Some("topic".to_owned()))
        );
    }
}
