//! Workspace settings: identity priorities and guard rails, trait merge rules, the
//! time zone and the contact policy.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::State;
use orbit_core::ErrorCode;
use orbit_engine::service::WorkspaceSettings;
use orbit_engine::service::keys::Scope;

impl ApiBody for WorkspaceSettings {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
    const INVALID: ErrorCode = ErrorCode::InvalidSettings;
}

/// `GET /v1/settings`: the workspace's settings, defaults filled in.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("api_key" = [])), responses((status = 200, description = "The settings, defaults filled in", body = WorkspaceSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.workspace_settings(caller.workspace()).await?))
}

/// `PUT /v1/settings`: replaces the settings; they apply to events from now on.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", request_body = WorkspaceSettings, security(("api_key" = [])), responses((status = 200, description = "The settings now in effect", body = WorkspaceSettings), (status = 400, description = "Bad input; the error names the field (`invalid_settings`)")))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(settings): ApiJson<WorkspaceSettings>,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    let settings = state
        .engine
        .replace_workspace_settings(caller.workspace(), settings)
        .await?;
    Ok(Json(settings))
}
