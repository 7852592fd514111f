//! Keys: an admin mints, lists and revokes a workspace's write and API keys.

use super::openapi;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_json;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_core::SourceId;
use orbit_store::{ApiKeyRecord, KeyKind, Scope};
use serde::Deserialize;
use serde_json::{Value, json};

/// A request to mint a key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    source: Option<String>,
}

fn key_view(key: &ApiKeyRecord) -> Value {
    json!({
        "id": key.id,
        "kind": key.kind,
        "name": key.name,
        "scopes": key.scopes,
        "source": key.source_id,
        "created_at_ms": key.created_at_ms,
        "revoked_at_ms": key.revoked_at_ms,
    })
}

/// `POST /v1/keys`: mints a key; the secret is in the answer and nowhere else.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = openapi::NewKey, security(("api_key" = [])), responses((status = 201, description = "Created", body = openapi::Key), (status = 400, description = "Bad input; the error names the field", body = openapi::ErrorBody), (status = 403, description = "The key lacks the scope", body = openapi::ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::Admin)?;
    let request: NewKey = serde_json::from_value(read_json(&headers, body).await?)
        .map_err(|e| ApiError::bad_request("invalid_body", "", e.to_string()))?;
    let kind = KeyKind::parse(&request.kind)
        .ok_or_else(|| ApiError::bad_request("invalid_kind", "kind", "kind must be write or api"))?;
    let scopes = request
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::bad_request(
                    "invalid_scope",
                    "scopes",
                    format!("unknown scope {s:?}; known: {}", known.join(", ")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if kind == KeyKind::Api && scopes.is_empty() {
        return Err(ApiError::bad_request(
            "missing_field",
            "scopes",
            "an API key needs at least one scope",
        ));
    }
    let source = request
        .source
        .map(|s| {
            SourceId::parse(&s)
                .map_err(|e| ApiError::bad_request("invalid_source", "source", format!("source {e}")))
        })
        .transpose()?;
    if source.as_ref().is_some_and(SourceId::is_system) {
        return Err(ApiError::bad_request(
            "invalid_source",
            "source",
            "source \"orbit\" is reserved for the events Orbit appends itself",
        ));
    }
    let name = request.name.unwrap_or_else(|| format!("{} key", kind.as_str()));
    let minted = state.hasher.mint(
        caller.workspace().clone(),
        kind,
        name,
        scopes,
        source,
        state.clock.now().as_millisecond(),
    );
    state.keys.create_key(&minted.record).await?;
    let mut view = key_view(&minted.record);
    view["key"] = json!(minted.secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /v1/keys`: the workspace's keys, without secrets.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("api_key" = [])), responses((status = 200, description = "OK", body = openapi::KeyList), (status = 403, description = "The key lacks the scope", body = openapi::ErrorBody)))]
pub async fn list_keys(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let keys = state.keys.list_keys(caller.workspace()).await?;
    Ok(Json(
        json!({"data": keys.iter().map(key_view).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /v1/keys/{id}`: revokes a key at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "A key id")), security(("api_key" = [])), responses((status = 200, description = "`{id, revoked: true}`"), (status = 404, description = "Not found", body = openapi::ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    if !state
        .keys
        .revoke_key(caller.workspace(), &id, state.clock.now().as_millisecond())
        .await?
    {
        return Err(ApiError::not_found("key"));
    }
    Ok(Json(json!({"id": id, "revoked": true})))
}
