//! Journeys (`/v1/journeys`): drafts, validation, publication as versions, and the
//! journey's life (pause, resume, archive).

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_core::ErrorCode;
use orbit_engine::service::journeys::{
    JourneyAction, JourneyDraft, JourneyEntryAnswer, JourneyEntryRequest, JourneyList, JourneyReport,
    JourneyValidation, JourneyVersionView, JourneyView,
};
use orbit_engine::service::keys::Scope;

impl ApiBody for JourneyDraft {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
    const INVALID: ErrorCode = ErrorCode::InvalidJourney;
}

/// `POST /v1/journeys`: saves a draft (it may be incomplete; publishing checks it).
#[utoipa::path(post, path = "/v1/journeys", tag = "journeys", request_body = JourneyDraft, security(("api_key" = [])), responses((status = 201, description = "The draft", body = JourneyView), (status = 400, description = "Bad input, naming the field (`invalid_journey`)"), (status = 409, description = "The id is taken (`already_exists`)")))]
pub async fn create_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(draft): ApiJson<JourneyDraft>,
) -> Result<(StatusCode, Json<JourneyView>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let journey = state
        .engine
        .journeys()
        .create_journey(caller.workspace(), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(journey)))
}

/// `GET /v1/journeys`: every journey of the workspace.
#[utoipa::path(get, path = "/v1/journeys", tag = "journeys", security(("api_key" = [])), responses((status = 200, description = "Every journey, by id, with its status and versions", body = JourneyList)))]
pub async fn list_journeys(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<JourneyList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.journeys().journeys(caller.workspace()).await?))
}

/// `GET /v1/journeys/{id}`: one journey, its draft, status and versions.
#[utoipa::path(get, path = "/v1/journeys/{id}", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), security(("api_key" = [])), responses((status = 200, description = "The journey", body = JourneyView), (status = 400, description = "Not a journey id (`invalid_id`)"), (status = 404, description = "No such journey")))]
pub async fn get_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<JourneyView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state.engine.journeys().journey(caller.workspace(), &id).await?,
    ))
}

/// `PUT /v1/journeys/{id}`: replaces the draft; published versions stay as they are.
#[utoipa::path(put, path = "/v1/journeys/{id}", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), request_body(content = JourneyDraft, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The journey", body = JourneyView), (status = 400, description = "Bad input, naming the field"), (status = 404, description = "No such journey"), (status = 409, description = "It is archived (`invalid_state`)")))]
pub async fn put_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<JourneyDraft>,
) -> Result<Json<JourneyView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let journey = state
        .engine
        .journeys()
        .replace_journey(caller.workspace(), &id, draft)
        .await?;
    Ok(Json(journey))
}

/// `DELETE /v1/journeys/{id}`: deletes a journey never published (archive one that was).
#[utoipa::path(delete, path = "/v1/journeys/{id}", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "No such journey"), (status = 409, description = "It was published (`invalid_state`)")))]
pub async fn delete_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .journeys()
        .delete_journey(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/journeys/{id}/validation`: every problem of the draft, each on its node
/// and field.
#[utoipa::path(get, path = "/v1/journeys/{id}/validation", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), security(("api_key" = [])), responses((status = 200, description = "Whether the draft can be published, and why not", body = JourneyValidation), (status = 404, description = "No such journey")))]
pub async fn validate_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<JourneyValidation>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .journeys()
            .validate_journey(caller.workspace(), &id)
            .await?,
    ))
}

/// `GET /v1/journeys/{id}/versions/{version}`: a published version, as published.
#[utoipa::path(get, path = "/v1/journeys/{id}/versions/{version}", tag = "journeys", params(("id" = String, Path, description = "The journey's id"), ("version" = u32, Path, description = "The version number, from 1")), security(("api_key" = [])), responses((status = 200, description = "The version", body = JourneyVersionView), (status = 404, description = "No such journey or version")))]
pub async fn get_journey_version(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Json<JourneyVersionView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let version = state
        .engine
        .journeys()
        .journey_version(caller.workspace(), &id, version)
        .await?;
    Ok(Json(version))
}

/// `POST /v1/journeys/{id}/{action}`: publish, pause, resume or archive.
#[utoipa::path(post, path = "/v1/journeys/{id}/{action}", tag = "journeys", params(("id" = String, Path, description = "The journey's id"), ("action" = inline(JourneyAction), Path, description = "publish | pause | resume | archive")), security(("api_key" = [])), responses((status = 200, description = "The journey in its new state", body = JourneyView), (status = 400, description = "The draft cannot be published: the field names the node (`invalid_journey`)"), (status = 404, description = "No such journey, or no such action"), (status = 409, description = "Not possible in its status (`invalid_state`)")))]
pub async fn journey_action(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<JourneyView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let action = JourneyAction::parse(&action)?;
    let journey = state
        .engine
        .journeys()
        .act_on_journey(caller.workspace(), &id, action)
        .await?;
    Ok(Json(journey))
}

/// `GET /v1/journeys/{id}/report`: entries, conversions, exits by reason, and per node
/// who arrived, waits there now and left by which path.
#[utoipa::path(get, path = "/v1/journeys/{id}/report", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), security(("api_key" = [])), responses((status = 200, description = "The report", body = JourneyReport), (status = 404, description = "No such journey")))]
pub async fn journey_report(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<JourneyReport>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .journeys()
            .journey_report(caller.workspace(), &id)
            .await?,
    ))
}

/// `POST /v1/journeys/{id}/entries`: enters a person into a live journey whose entry is
/// an API call, with properties its nodes read as the entry event's.
#[utoipa::path(post, path = "/v1/journeys/{id}/entries", tag = "journeys", params(("id" = String, Path, description = "The journey's id")), request_body = JourneyEntryRequest, security(("api_key" = [])), responses((status = 200, description = "Entered, or refused by the re-entry rules or limits (with the reason)", body = JourneyEntryAnswer), (status = 400, description = "Bad identity, or the journey's entry is not an API call"), (status = 404, description = "No such person, or no such live journey")))]
pub async fn enter_journey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<JourneyEntryRequest>,
) -> Result<Json<JourneyEntryAnswer>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let answer = state
        .engine
        .journeys()
        .enter(caller.workspace(), &id, request)
        .await?;
    Ok(Json(answer))
}

impl ApiBody for JourneyEntryRequest {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
    const INVALID: ErrorCode = ErrorCode::InvalidRequest;
}
