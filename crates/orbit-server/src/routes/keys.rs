//! Keys: an admin mints, lists and revokes a workspace's write and API keys.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_engine::service::keys::{KeyList, KeyView, NewKey, RevokedKey, Scope};

impl ApiBody for NewKey {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
}

/// `POST /v1/keys`: mints a key; the secret is in the answer and nowhere else.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = NewKey, security(("api_key" = [])), responses((status = 201, description = "The key, with its secret shown this once", body = KeyView), (status = 400, description = "Bad input; the error names the field")))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    caller.require(Scope::Admin)?;
    let key = state.engine.keys().create(caller.workspace(), request).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// `GET /v1/keys`: the workspace's keys, without secrets.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("api_key" = [])), responses((status = 200, description = "Every key of the workspace, revoked ones too", body = KeyList)))]
pub async fn list_keys(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<KeyList>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.keys().list(caller.workspace()).await?))
}

/// `DELETE /v1/keys/{id}`: revokes a key at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "A key id")), security(("api_key" = [])), responses((status = 200, description = "Revoked", body = RevokedKey), (status = 404, description = "No such key")))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RevokedKey>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.keys().revoke(caller.workspace(), &id).await?))
}
