//! Workspace settings: identity priorities and guard rails, trait merge rules.

use super::openapi;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use orbit_store::{Scope, WorkspaceRecord, WorkspaceSettings};

async fn current(state: &AppState, caller: &ApiCaller) -> Result<WorkspaceRecord, ApiError> {
    state
        .workspaces
        .workspace(caller.workspace())
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))
}

/// `GET /v1/settings`: the workspace's settings, defaults filled in.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("api_key" = [])), responses((status = 200, description = "Identity policy and trait rules, defaults filled in (docs/api.md)")))]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(current(&state, &caller).await?.settings))
}

/// `PUT /v1/settings`: replaces the settings; they apply to events from now on.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", request_body(content = Object, description = "The whole settings document (docs/api.md)"), security(("api_key" = [])), responses((status = 200, description = "The settings now in effect"), (status = 400, description = "Bad input; the error names the field", body = openapi::ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    let settings: WorkspaceSettings = read_typed(&headers, body, "invalid_settings").await?;
    validate(&settings)?;
    let mut record = current(&state, &caller).await?;
    record.settings = settings;
    state.workspaces.save_workspace(&record).await?;
    state.pipeline.reload_settings().await?;
    Ok(Json(record.settings))
}

fn validate(settings: &WorkspaceSettings) -> Result<(), ApiError> {
    if jiff::tz::TimeZone::get(&settings.time_zone.0).is_err() {
        return Err(ApiError::bad_request(
            "invalid_settings",
            "time_zone",
            format!(
                "{:?} is not an IANA time zone name such as Asia/Shanghai",
                settings.time_zone.0
            ),
        ));
    }
    let policy = &settings.identity_policy;
    let named = policy
        .rules
        .iter()
        .map(|(kind, rule)| (format!("identity_policy.rules.{}", kind.as_str()), rule));
    for (path, rule) in named.chain([("identity_policy.default_rule".to_owned(), &policy.default_rule)]) {
        if rule.max_per_profile == Some(0) {
            return Err(ApiError::bad_request(
                "invalid_settings",
                format!("{path}.max_per_profile"),
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if rule.max_linked == Some(0) {
            return Err(ApiError::bad_request(
                "invalid_settings",
                format!("{path}.max_linked"),
                "must be at least 1 (leave it out for no limit)",
            ));
        }
    }
    Ok(())
}
