//! Profiles: read, look up by identity, timeline, messages, trait patches, erasure,
//! export, and the person's journeys.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use orbit_core::ErrorCode;
use orbit_engine::service::delivery::ProfileMessagePage;
use orbit_engine::service::journeys::ProfileJourneys;
use orbit_engine::service::keys::Scope;
use orbit_engine::service::profiles::{Erased, PersonalExport, ProfileView, TimelinePage, TraitPatch};
use serde::Deserialize;
use utoipa::IntoParams;

impl ApiBody for TraitPatch {
    const REQUIRES: &'static [Scope] = &[Scope::ProfilesWrite];
    const INVALID: ErrorCode = ErrorCode::WrongType;
}

/// `GET /v1/profiles/{id}`: a profile by its id or a merged-away id.
#[utoipa::path(get, path = "/v1/profiles/{id}", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "The profile", body = ProfileView), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn get_profile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    Ok(Json(state.engine.profiles().profile(caller.workspace(), &id)?))
}

/// The query of an identity look-up.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdentityQuery {
    /// `TYPE:VALUE`, e.g. `phone:13800138000` (cleaned before the look-up).
    #[param(required = true)]
    identity: Option<String>,
}

/// `GET /v1/profiles?identity=TYPE:VALUE`.
#[utoipa::path(get, path = "/v1/profiles", tag = "profiles", params(IdentityQuery), security(("api_key" = [])), responses((status = 200, description = "The profile holding the identity", body = ProfileView), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No profile holds the identity")))]
pub async fn find_by_identity(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<IdentityQuery>,
) -> Result<Json<ProfileView>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let profiles = state.engine.profiles();
    Ok(Json(
        profiles.find(caller.workspace(), query.identity.as_deref())?,
    ))
}

/// The query of a timeline page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Events on the page, 1–1000 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /v1/profiles/{id}/events`: newest first, paginated by cursor.
#[utoipa::path(get, path = "/v1/profiles/{id}/events", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it"), TimelineQuery), security(("api_key" = [])), responses((status = 200, description = "A page of the profile's events", body = TimelinePage), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile")))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<Json<TimelinePage>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let page = state
        .engine
        .profiles()
        .timeline(caller.workspace(), &id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

/// The query of a page of a person's messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Messages on the page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /v1/profiles/{id}/messages`: the messages sent or held back to the person,
/// from every campaign and journey, newest first, with what became of each.
#[utoipa::path(get, path = "/v1/profiles/{id}/messages", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it"), MessagesQuery), security(("api_key" = [])), responses((status = 200, description = "A page of the person's messages", body = ProfileMessagePage), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile")))]
pub async fn messages(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<ProfileMessagePage>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let page = state
        .engine
        .profiles()
        .messages(caller.workspace(), &id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

/// `PATCH /v1/profiles/{id}/traits`: sets the given traits as of now.
#[utoipa::path(patch, path = "/v1/profiles/{id}/traits", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), request_body = TraitPatch, security(("api_key" = [])), responses((status = 200, description = "The profile with the traits set", body = ProfileView), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile")))]
pub async fn patch_traits(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TraitPatch>,
) -> Result<Json<ProfileView>, ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    let profile = state
        .engine
        .profiles()
        .patch_traits(caller.workspace(), &id, patch)
        .await?;
    Ok(Json(profile))
}

/// `DELETE /v1/profiles/{id}`: erases a person (PIPL/GDPR). Events accepted for them
/// before the call are erased with them.
#[utoipa::path(delete, path = "/v1/profiles/{id}", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "Erased, with the ids merged into it", body = Erased), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn erase_profile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Erased>, ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    Ok(Json(
        state.engine.profiles().erase(caller.workspace(), &id).await?,
    ))
}

/// `GET /v1/profiles/{id}/export`: everything Orbit holds on a person.
#[utoipa::path(get, path = "/v1/profiles/{id}/export", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "Profile, trait history, merges, identity conflicts, imported and manual tag values, consent, inbox messages, and every event", body = PersonalExport), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PersonalExport>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    Ok(Json(
        state.engine.profiles().export(caller.workspace(), &id).await?,
    ))
}

/// `GET /v1/profiles/{id}/journeys`: the person's journeys, newest entry first, with
/// where each stands and the way it went.
#[utoipa::path(get, path = "/v1/profiles/{id}/journeys", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "Every entry of the person (and of the profiles merged into them) into a journey: the journey, version, entry, where it stands and its path", body = ProfileJourneys), (status = 400, description = "Not a profile id (`invalid_id`)"), (status = 404, description = "No such profile")))]
pub async fn profile_journeys(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ProfileJourneys>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    Ok(Json(
        state
            .engine
            .journeys()
            .profile_journeys(caller.workspace(), &id)
            .await?,
    ))
}
