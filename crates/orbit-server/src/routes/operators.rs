//! Operators: an admin adds the people who use the console, gives them roles, resets
//! their passwords and disables them.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_engine::service::keys::Scope;
use orbit_engine::service::operators::{NewOperator, OperatorChange, OperatorList, OperatorView};

impl ApiBody for NewOperator {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
}
impl ApiBody for OperatorChange {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
}

/// `POST /v1/operators`: adds an operator to the workspace.
#[utoipa::path(post, path = "/v1/operators", tag = "operators", request_body = NewOperator, security(("api_key" = [])), responses((status = 201, description = "The operator", body = OperatorView), (status = 400, description = "Bad input; the error names the field"), (status = 409, description = "The login is taken (`already_exists`)")))]
pub async fn create_operator(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<NewOperator>,
) -> Result<(StatusCode, Json<OperatorView>), ApiError> {
    caller.require(Scope::Admin)?;
    let operator = state
        .engine
        .operators()
        .create(caller.workspace(), request)
        .await?;
    Ok((StatusCode::CREATED, Json(operator)))
}

/// `GET /v1/operators`: the workspace's operators.
#[utoipa::path(get, path = "/v1/operators", tag = "operators", security(("api_key" = [])), responses((status = 200, description = "Every operator, oldest first", body = OperatorList)))]
pub async fn list_operators(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<OperatorList>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.operators().list(caller.workspace()).await?))
}

/// `GET /v1/operators/{id}`: one operator.
#[utoipa::path(get, path = "/v1/operators/{id}", tag = "operators", params(("id" = String, Path, description = "An operator id")), security(("api_key" = [])), responses((status = 200, description = "The operator", body = OperatorView), (status = 404, description = "No such operator")))]
pub async fn get_operator(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<OperatorView>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.operators().get(caller.workspace(), &id).await?))
}

/// `PATCH /v1/operators/{id}`: changes an operator's name, role or password, or
/// disables them; a new password or disabling ends their sessions.
#[utoipa::path(patch, path = "/v1/operators/{id}", tag = "operators", request_body = OperatorChange, params(("id" = String, Path, description = "An operator id")), security(("api_key" = [])), responses((status = 200, description = "The operator", body = OperatorView), (status = 404, description = "No such operator"), (status = 409, description = "The workspace's last admin cannot be demoted or disabled (`invalid_state`)")))]
pub async fn update_operator(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<OperatorChange>,
) -> Result<Json<OperatorView>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(
        state
            .engine
            .operators()
            .update(caller.workspace(), &id, change)
            .await?,
    ))
}
