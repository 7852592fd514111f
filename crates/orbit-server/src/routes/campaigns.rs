//! Broadcast campaigns (`/v1/campaigns`): definitions, their life cycle (launch,
//! pause, resume, cancel) and their report.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_core::ErrorCode;
use orbit_engine::service::delivery::{
    CampaignAction, CampaignDraft, CampaignList, CampaignReport, CampaignView,
};
use orbit_engine::service::keys::Scope;

impl ApiBody for CampaignDraft {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
    const INVALID: ErrorCode = ErrorCode::InvalidCampaign;
}

/// `POST /v1/campaigns`: saves a draft.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = CampaignDraft, security(("api_key" = [])), responses((status = 201, description = "The draft", body = CampaignView), (status = 400, description = "Bad input, naming the field (`invalid_campaign`)"), (status = 409, description = "The id is taken (`already_exists`)")))]
pub async fn create_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(draft): ApiJson<CampaignDraft>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let campaign = state
        .engine
        .delivery()
        .create_campaign(caller.workspace(), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// `GET /v1/campaigns`: every campaign of the workspace.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", security(("api_key" = [])), responses((status = 200, description = "Every campaign, by id, with its state", body = CampaignList)))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<CampaignList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.delivery().campaigns(caller.workspace()).await?))
}

/// `GET /v1/campaigns/{id}`: one campaign with its state.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 200, description = "The campaign", body = CampaignView), (status = 400, description = "Not a campaign id (`invalid_id`)"), (status = 404, description = "No such campaign")))]
pub async fn get_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state.engine.delivery().campaign(caller.workspace(), &id).await?,
    ))
}

/// `PUT /v1/campaigns/{id}`: replaces the definition of a draft or scheduled campaign.
#[utoipa::path(put, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), request_body(content = CampaignDraft, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The campaign", body = CampaignView), (status = 400, description = "Bad input, naming the field"), (status = 404, description = "No such campaign"), (status = 409, description = "It is running or done (`invalid_state`)")))]
pub async fn put_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<CampaignDraft>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let campaign = state
        .engine
        .delivery()
        .replace_campaign(caller.workspace(), &id, draft)
        .await?;
    Ok(Json(campaign))
}

/// `DELETE /v1/campaigns/{id}`: deletes a campaign that never ran (cancel one that did).
#[utoipa::path(delete, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "No such campaign"), (status = 409, description = "It has run (`invalid_state`)")))]
pub async fn delete_campaign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .delivery()
        .delete_campaign(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/campaigns/{id}/{action}`: launch, pause, resume or cancel.
#[utoipa::path(post, path = "/v1/campaigns/{id}/{action}", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id"), ("action" = inline(CampaignAction), Path, description = "launch | pause | resume | cancel")), security(("api_key" = [])), responses((status = 200, description = "The campaign in its new state", body = CampaignView), (status = 400, description = "It cannot run as written (`invalid_campaign`)"), (status = 404, description = "No such campaign, or no such action"), (status = 409, description = "Not possible in its state (`invalid_state`)")))]
pub async fn campaign_action(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let action = CampaignAction::parse(&action)?;
    let campaign = state
        .engine
        .delivery()
        .act_on_campaign(caller.workspace(), &id, action)
        .await?;
    Ok(Json(campaign))
}

/// `GET /v1/campaigns/{id}/report`: per variant and channel, targeted, suppressed by
/// reason, sent, failed, ambiguous, pending, delivered, bounced, opened, clicked.
#[utoipa::path(get, path = "/v1/campaigns/{id}/report", tag = "campaigns", params(("id" = String, Path, description = "The campaign's id")), security(("api_key" = [])), responses((status = 200, description = "The report", body = CampaignReport), (status = 404, description = "No such campaign")))]
pub async fn campaign_report(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CampaignReport>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .delivery()
            .campaign_report(caller.workspace(), &id)
            .await?,
    ))
}
