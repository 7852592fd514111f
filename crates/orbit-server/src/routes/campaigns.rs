//! Broadcast campaigns (`/v1/campaigns`): definitions, their life cycle (launch,
//! pause, resume, cancel) and their report.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_core::ErrorCode;
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{CampaignDefinition, SuppressionReason};
use orbit_core::{CampaignId, WorkspaceId};
use orbit_engine::delivery::CampaignError;
use orbit_engine::service::keys::Scope;
use orbit_store::{CampaignRecord, ReportRow, SendState};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A campaign as written: an optional id beside its definition.
#[derive(Debug, Deserialize)]
pub struct CampaignInput {
    #[serde(default)]
    id: Option<String>,
    #[serde(flatten)]
    definition: Value,
}

fn parse_id(raw: &str) -> Result<CampaignId, ApiError> {
    CampaignId::parse(raw).map_err(|e| ApiError::at(ErrorCode::InvalidId, "id", format!("campaign id {e}")))
}

fn view(record: &CampaignRecord) -> Value {
    let mut view = serde_json::to_value(&record.definition).unwrap_or_default();
    view["id"] = json!(record.id);
    view["state"] = json!(record.lifecycle.state.as_str());
    view["runs"] = json!(record.lifecycle.runs);
    view["next_run_at"] = json!(record.lifecycle.next_run_at);
    view["created_at"] = json!(record.created_at);
    view["updated_at"] = json!(record.updated_at);
    view
}

fn campaign_error(e: CampaignError) -> ApiError {
    match e {
        CampaignError::NotFound => ApiError::not_found("campaign"),
        CampaignError::Lifecycle(e) => ApiError::new(ErrorCode::InvalidState, e.to_string()),
        CampaignError::Definition(e) => ApiError::at(ErrorCode::InvalidCampaign, e.field, e.message),
        CampaignError::Audience(message) => ApiError::at(ErrorCode::InvalidCampaign, "segment", message),
        CampaignError::Store(e) => e.into(),
    }
}

/// Parses and checks a definition against the workspace: its segment and templates
/// exist, and every template's channel appears once per variant.
async fn checked(
    state: &AppState,
    workspace: &WorkspaceId,
    raw: Value,
) -> Result<CampaignDefinition, ApiError> {
    let definition: CampaignDefinition = serde_path_to_error::deserialize(raw).map_err(|e| {
        ApiError::at(
            ErrorCode::InvalidCampaign,
            e.path().to_string(),
            e.into_inner().to_string(),
        )
    })?;
    definition
        .validate()
        .map_err(|e| ApiError::at(ErrorCode::InvalidCampaign, e.field, e.message))?;
    let known_segment = state
        .engine
        .audiences()
        .has_segment(workspace, &definition.segment);
    if !known_segment {
        return Err(ApiError::at(
            ErrorCode::InvalidCampaign,
            "segment",
            format!("no segment {}", definition.segment),
        ));
    }
    for (v, variant) in definition.variants.iter().enumerate() {
        let mut channels = Vec::new();
        for (m, message) in variant.messages.iter().enumerate() {
            let field = format!("variants[{v}].messages[{m}].template");
            let Some(template) = state
                .engine
                .stores()
                .templates
                .template(workspace, &message.template)
                .await?
            else {
                return Err(ApiError::at(
                    ErrorCode::InvalidCampaign,
                    field,
                    format!("no template {}", message.template),
                ));
            };
            let channel = template.content.channel();
            if channels.contains(&channel) {
                return Err(ApiError::at(
                    ErrorCode::InvalidCampaign,
                    field,
                    format!("the variant has two {channel} messages; give each channel one"),
                ));
            }
            channels.push(channel);
        }
    }
    Ok(definition)
}

async fn stored(
    state: &AppState,
    workspace: &WorkspaceId,
    id: &CampaignId,
) -> Result<CampaignRecord, ApiError> {
    state
        .engine
        .stores()
        .campaigns
        .campaign(workspace, id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))
}

/// `POST /v1/campaigns`: saves a draft.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body(content = Object, description = "`{id?, name, segment, class?, topic?, control_percent?, variants: [{name, weight?, messages: [{template, account?}]}], channel_policy?, schedule?, throttle_per_minute?}` (docs/api.md#campaigns)"), security(("api_key" = [])), responses((status = 201, description = "The draft"), (status = 400, description = "Bad input, naming the field"), (status = 409, description = "The id is taken")))]
pub async fn create_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let input: CampaignInput = read_typed(&headers, body, ErrorCode::InvalidCampaign).await?;
    let id = match input.id {
        Some(raw) => parse_id(&raw)?,
        None => parse_id(&format!(
            "campaign-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))?,
    };
    let definition = checked(&state, caller.workspace(), input.definition).await?;
    let now = state.engine.now();
    let record = CampaignRecord {
        workspace_id: caller.workspace().clone(),
        id,
        definition,
        lifecycle: Lifecycle::draft(),
        materialized_runs: 0,
        created_at: now,
        updated_at: now,
    };
    state
        .engine
        .stores()
        .campaigns
        .save_campaign(&record, true)
        .await?;
    Ok((StatusCode::CREATED, Json(view(&record))))
}

/// `GET /v1/campaigns`: every campaign of the workspace.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", security(("api_key" = [])), responses((status = 200, description = "`{campaigns: [...]}`")))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let campaigns: Vec<Value> = state
        .engine
        .stores()
        .campaigns
        .campaigns(caller.workspace())
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(Json(json!({"campaigns": campaigns})))
}

/// `GET /v1/campaigns/{id}`: one campaign with its state.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 200, description = "The campaign"), (status = 404, description = "Not found")))]
pub async fn get_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(view(
        &stored(&state, caller.workspace(), &parse_id(&id)?).await?,
    )))
}

/// `PUT /v1/campaigns/{id}`: replaces the definition of a draft or scheduled campaign.
#[utoipa::path(put, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), request_body(content = Object, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The campaign"), (status = 400, description = "Bad input"), (status = 404, description = "Not found"), (status = 409, description = "It is running or done")))]
pub async fn put_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_id(&id)?;
    let mut record = stored(&state, caller.workspace(), &id).await?;
    if !record.lifecycle.state.editable() {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!("a {} campaign cannot be edited", record.lifecycle.state.as_str()),
        ));
    }
    let input: CampaignInput = read_typed(&headers, body, ErrorCode::InvalidCampaign).await?;
    if input.id.as_deref().is_some_and(|given| given != id.as_str()) {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "id",
            "the id in the body differs from the path",
        ));
    }
    record.definition = checked(&state, caller.workspace(), input.definition).await?;
    record.updated_at = state.engine.now();
    state
        .engine
        .stores()
        .campaigns
        .save_campaign(&record, false)
        .await?;
    Ok(Json(view(&record)))
}

/// `DELETE /v1/campaigns/{id}`: deletes a campaign that never ran (cancel one that did).
#[utoipa::path(delete, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "Not found"), (status = 409, description = "It has run")))]
pub async fn delete_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_id(&id)?;
    let record = stored(&state, caller.workspace(), &id).await?;
    if record.lifecycle.runs > 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            "a campaign that has run keeps its record and report; cancel it instead",
        ));
    }
    state
        .engine
        .stores()
        .campaigns
        .delete_campaign(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/campaigns/{id}/{action}`: launch, pause, resume or cancel.
#[utoipa::path(post, path = "/v1/campaigns/{id}/{action}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id"), ("action" = String, Path, description = "launch | pause | resume | cancel")), security(("api_key" = [])), responses((status = 200, description = "The campaign in its new state"), (status = 404, description = "Not found"), (status = 409, description = "Not possible in its state")))]
pub async fn campaign_action(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_id(&id)?;
    let workspace = caller.workspace();
    let runner = &state.engine.delivery().parts().runner;
    let record = match action.as_str() {
        "launch" => runner.launch(workspace, &id).await,
        "pause" => runner.pause(workspace, &id).await,
        "resume" => runner.resume(workspace, &id).await,
        "cancel" => runner.cancel(workspace, &id).await,
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no action {other:?}; use launch, pause, resume or cancel"),
            ));
        }
    }
    .map_err(campaign_error)?;
    Ok(Json(view(&record)))
}

/// `GET /v1/campaigns/{id}/report`: per variant and channel, targeted, suppressed by
/// reason, sent, failed, ambiguous, pending, delivered, opened, clicked.
#[utoipa::path(get, path = "/v1/campaigns/{id}/report", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 200, description = "The report"), (status = 404, description = "Not found")))]
pub async fn campaign_report(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_id(&id)?;
    let record = stored(&state, caller.workspace(), &id).await?;
    let rows = state
        .engine
        .stores()
        .ledger
        .campaign_report(caller.workspace(), &id)
        .await?;
    Ok(Json(json!({
        "campaign": id,
        "state": record.lifecycle.state.as_str(),
        "runs": record.lifecycle.runs,
        "variants": report(&rows),
    })))
}

#[derive(Default)]
struct Tally {
    targeted: u64,
    suppressed: BTreeMap<&'static str, u64>,
    sent: u64,
    failed: u64,
    ambiguous: u64,
    pending: u64,
    delivered: u64,
    bounced: u64,
    opened: u64,
    clicked: u64,
}

impl Tally {
    fn add(&mut self, row: &ReportRow) {
        self.targeted += row.count;
        match row.state {
            SendState::Accepted => self.sent += row.count,
            SendState::Failed => self.failed += row.count,
            SendState::Ambiguous => self.ambiguous += row.count,
            SendState::Scheduled | SendState::Dispatching => self.pending += row.count,
            SendState::Suppressed => {
                let reason = row.suppression.map_or("unknown", SuppressionReason::as_str);
                *self.suppressed.entry(reason).or_default() += row.count;
            }
        }
        self.delivered += row.delivered;
        self.bounced += row.bounced;
        self.opened += row.opened;
        self.clicked += row.clicked;
    }

    fn view(&self) -> Value {
        json!({
            "targeted": self.targeted,
            "suppressed": self.suppressed,
            "sent": self.sent,
            "failed": self.failed,
            "ambiguous": self.ambiguous,
            "pending": self.pending,
            "delivered": self.delivered,
            "bounced": self.bounced,
            "opened": self.opened,
            "clicked": self.clicked,
        })
    }
}

/// Tallies per variant (with its channels inside), the control group as its own.
fn report(rows: &[ReportRow]) -> Value {
    let mut variants: BTreeMap<String, (Tally, BTreeMap<String, Tally>)> = BTreeMap::new();
    for row in rows {
        let variant = row.variant.clone().unwrap_or_else(|| "none".to_owned());
        let (total, channels) = variants.entry(variant).or_default();
        total.add(row);
        let channel = row
            .channel
            .map_or_else(|| "none".to_owned(), |c| c.as_str().to_owned());
        channels.entry(channel).or_default().add(row);
    }
    variants
        .iter()
        .map(|(name, (total, channels))| {
            let mut view = total.view();
            view["variant"] = json!(name);
            view["channels"] = channels
                .iter()
                .map(|(channel, tally)| {
                    let mut v = tally.view();
                    v["channel"] = json!(channel);
                    v
                })
                .collect();
            view
        })
        .collect()
}
