//! Message templates: content per channel with defaults for missing variables, checked
//! by compiling it before it is saved, and previews rendered against a real profile
//! exactly as the delivery worker would render them.
//!
//! A template that does not compile or render answers with the field, the line and
//! the variable to blame, so an editor can point at the spot.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use orbit_channels::sms::parts::{CountingRule, PartCount, count_parts};
use orbit_core::ErrorCode;
use orbit_core::TemplateId;
use orbit_core::messaging::{ClassName, CompiledTemplate, MessageClass, TemplateContent, TemplateError};
use orbit_engine::service::keys::Scope;
use orbit_store::{StoreError, TemplateRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

mod preview;
pub use preview::{__path_preview_saved, __path_preview_unsaved, preview_saved, preview_unsaved};

/// The topic of marketing templates that name none.
const DEFAULT_TOPIC: &str = "promotions";

/// A template as the API takes it. Every field is optional to serde so that a missing
/// one is reported by name rather than as a shapeless body error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    /// `[a-z0-9_-]`, 1–64; one is made up on create when left out.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    class: ClassName,
    /// Marketing only; `promotions` when left out.
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    content: Option<TemplateContent>,
    #[serde(default)]
    defaults: BTreeMap<String, Value>,
}

/// What a template route answers when it fails: an ordinary API error, or a template
/// problem, which also carries the line and the variable.
#[derive(Debug)]
pub enum TemplateFailure {
    /// Any other failure.
    Api(ApiError),
    /// A template that does not compile or render.
    Template {
        /// 400 for a template that does not compile, 422 for one that does not render.
        status: StatusCode,
        /// `invalid_template` or `render_failed`.
        code: &'static str,
        /// The problem, its field already written as a path of the request body.
        error: TemplateError,
    },
}

impl TemplateFailure {
    /// A template problem; the engine's field (`text`, `params[0].value`) becomes the
    /// request path (`content.text`), defaults keep theirs (`defaults.x`).
    fn template(status: StatusCode, code: &'static str, mut error: TemplateError) -> Self {
        if !error.field.starts_with("defaults.") {
            error.field = format!("content.{}", error.field);
        }
        Self::Template { status, code, error }
    }

    /// A template that does not compile.
    fn invalid(error: TemplateError) -> Self {
        Self::template(StatusCode::BAD_REQUEST, "invalid_template", error)
    }

    /// A template that does not render for this person.
    fn render_failed(error: TemplateError) -> Self {
        Self::template(StatusCode::UNPROCESSABLE_ENTITY, "render_failed", error)
    }
}

impl From<ApiError> for TemplateFailure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for TemplateFailure {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for TemplateFailure {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Template { status, code, error } => {
                let at = error.line.map(|l| format!(" line {l}")).unwrap_or_default();
                let body = json!({"error": {
                    "code": code,
                    "message": format!("{}{at}: {}", error.field, error.message),
                    "field": error.field,
                    "line": error.line,
                    "variable": error.variable,
                }});
                (status, Json(body)).into_response()
            }
        }
    }
}

fn parse_template_id(raw: &str) -> Result<TemplateId, ApiError> {
    TemplateId::parse(raw).map_err(|e| ApiError::at(ErrorCode::InvalidId, "id", format!("template id {e}")))
}

/// A marketing topic: the same slug rule as ids, so it can key consent records.
pub(crate) fn parse_topic(raw: &str) -> Result<String, ApiError> {
    orbit_core::TagId::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| ApiError::at(ErrorCode::InvalidRequest, "topic", format!("topic {e}")))
}

fn class_of(class: ClassName, topic: Option<&str>) -> Result<MessageClass, ApiError> {
    match class {
        ClassName::Transactional if topic.is_some() => Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "topic",
            "only marketing templates have a topic",
        )),
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
) -> Result<CompiledTemplate, TemplateFailure> {
    CompiledTemplate::compile(content, defaults).map_err(TemplateFailure::invalid)
}

/// One counting rule's verdict, `characters` in the rule's unit (septets for GSM-7,
/// UTF-16 units for UCS-2, provider characters with the signature).
fn rule_view(count: PartCount) -> Value {
    json!({"encoding": count.encoding, "characters": count.length, "parts": count.parts})
}

/// What an SMS text costs under the carrier rule and the Chinese-provider rule.
/// Without a signature only the brackets `【】` the provider adds are counted, so the
/// Chinese-provider count is then a lower bound.
pub(crate) fn sms_counts(text: &str, signature: Option<&str>) -> Value {
    let carrier = count_parts(text, CountingRule::Carrier);
    let chinese = count_parts(
        text,
        CountingRule::ChineseProvider {
            signature: signature.unwrap_or_default(),
        },
    );
    let mut chinese_view = rule_view(chinese);
    chinese_view["signature"] = json!(signature);
    json!({
        "characters": text.chars().count(),
        "carrier": rule_view(carrier),
        "chinese_provider": chinese_view,
    })
}

fn template_view(record: &TemplateRecord) -> Value {
    let topic = match &record.class {
        MessageClass::Marketing { topic } => Some(topic.as_str()),
        MessageClass::Transactional => None,
    };
    let class = if record.class.is_marketing() {
        ClassName::Marketing
    } else {
        ClassName::Transactional
    };
    let mut view = json!({
        "id": record.id,
        "name": record.name,
        "class": class,
        "topic": topic,
        "channel": record.content.channel(),
        "content": record.content,
        "defaults": record.defaults,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    });
    if let TemplateContent::Sms { text, .. } = &record.content {
        view["sms"] = sms_counts(text, None);
    }
    view
}

/// What a checked input holds.
struct Checked {
    id: TemplateId,
    name: String,
    class: MessageClass,
    content: TemplateContent,
    defaults: BTreeMap<String, Value>,
}

/// Checks an input: the id (against the path's on a replace), a name, the class and
/// topic, and content that compiles with its defaults.
fn check(input: TemplateInput, path_id: Option<&TemplateId>) -> Result<Checked, TemplateFailure> {
    let given = input.id.as_deref().map(parse_template_id).transpose()?;
    let id = match (given, path_id) {
        (Some(given), Some(path)) if given != *path => {
            return Err(ApiError::at(
                ErrorCode::InvalidRequest,
                "id",
                "the id in the body differs from the path",
            )
            .into());
        }
        (_, Some(path)) => path.clone(),
        (Some(given), None) => given,
        (None, None) => parse_template_id(&format!(
            "tpl-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))?,
    };
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::at(ErrorCode::InvalidRequest, "name", "give the template a name").into());
    }
    let class = class_of(input.class, input.topic.as_deref())?;
    let content = input.content.ok_or_else(|| {
        ApiError::at(
            ErrorCode::MissingField,
            "content",
            "give the content, e.g. {\"channel\": \"sms\", \"text\": \"…\"}",
        )
    })?;
    compile(content.clone(), &input.defaults)?;
    Ok(Checked {
        id,
        name,
        class,
        content,
        defaults: input.defaults,
    })
}

/// A stored template, or 404.
async fn stored(state: &AppState, caller: &ApiCaller, id: &TemplateId) -> Result<TemplateRecord, ApiError> {
    state
        .engine
        .stores()
        .templates
        .template(caller.workspace(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))
}

/// `POST /v1/templates`: creates a template whose content compiles.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body(content = Object, description = "`{id?, name, class: marketing|transactional, topic?, content: {channel, …}, defaults?}` (docs/api.md#templates)"), security(("api_key" = [])), responses((status = 201, description = "The template, with `channel` and for SMS the `sms` part counts"), (status = 400, description = "Bad input; the error names the field (`content.text`), and for a template that does not compile its `line`"), (status = 409, description = "A template with this id exists")))]
pub async fn create_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), TemplateFailure> {
    caller.require(Scope::AudiencesWrite)?;
    let input: TemplateInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    let checked = check(input, None)?;
    let now = state.engine.now();
    let record = TemplateRecord {
        workspace_id: caller.workspace().clone(),
        id: checked.id,
        name: checked.name,
        class: checked.class,
        content: checked.content,
        defaults: checked.defaults,
        created_at: now,
        updated_at: now,
    };
    state
        .engine
        .stores()
        .templates
        .save_template(&record, true)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => ApiError::at(
                ErrorCode::AlreadyExists,
                "id",
                format!(
                    "a template {} exists; PUT /v1/templates/{} changes it",
                    record.id, record.id
                ),
            ),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(template_view(&record))))
}

/// `GET /v1/templates`: every template of the workspace, by id.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", security(("api_key" = [])), responses((status = 200, description = "`{templates: [...]}`")))]
pub async fn list_templates(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let records = state
        .engine
        .stores()
        .templates
        .templates(caller.workspace())
        .await?;
    let views: Vec<Value> = records.iter().map(template_view).collect();
    Ok(Json(json!({"templates": views})))
}

/// `GET /v1/templates/{id}`: one template.
#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), security(("api_key" = [])), responses((status = 200, description = "The template"), (status = 404, description = "Not found")))]
pub async fn get_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_template_id(&id)?;
    Ok(Json(template_view(&stored(&state, &caller, &id).await?)))
}

/// `PUT /v1/templates/{id}`: replaces a template; `created_at` is kept.
#[utoipa::path(put, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), request_body(content = Object, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The template"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "Not found")))]
pub async fn put_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, TemplateFailure> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_template_id(&id)?;
    let existing = stored(&state, &caller, &id).await?;
    let input: TemplateInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    let checked = check(input, Some(&id))?;
    let record = TemplateRecord {
        workspace_id: caller.workspace().clone(),
        id: checked.id,
        name: checked.name,
        class: checked.class,
        content: checked.content,
        defaults: checked.defaults,
        created_at: existing.created_at,
        updated_at: state.engine.now(),
    };
    state
        .engine
        .stores()
        .templates
        .save_template(&record, false)
        .await?;
    Ok(Json(template_view(&record)))
}

/// `DELETE /v1/templates/{id}`: deletes a template.
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "Not found")))]
pub async fn delete_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_template_id(&id)?;
    // A campaign that may still send must not lose its content.
    let users: Vec<String> = state
        .engine
        .stores()
        .campaigns
        .campaigns(caller.workspace())
        .await?
        .into_iter()
        .filter(|c| {
            !matches!(
                c.lifecycle.state,
                orbit_core::messaging::CampaignState::Completed
                    | orbit_core::messaging::CampaignState::Cancelled
            ) && c
                .definition
                .variants
                .iter()
                .any(|v| v.messages.iter().any(|m| m.template == id))
        })
        .map(|c| c.id.to_string())
        .collect();
    if !users.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InUse,
            format!(
                "campaigns {} use this template; change or cancel them first",
                users.join(", ")
            ),
        ));
    }
    if state
        .engine
        .stores()
        .templates
        .delete_template(caller.workspace(), &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("template"))
    }
}
