//! The in-app inbox as apps read it: with the app's write key, for the person an
//! identity names, answered from memory.

use crate::AppState;
use crate::auth::{find_key, header_credential};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orbit_core::ErrorCode;
use orbit_core::event::clean_identity;
use orbit_core::profile::Profile;
use orbit_core::{Identity, ProfileId, WorkspaceId};
use orbit_store::KeyKind;
use serde::Deserialize;
use serde_json::{Value, json};

/// Who is asking: `?identity=TYPE:VALUE`.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    identity: Option<String>,
    limit: Option<usize>,
}

/// The workspace of the write key in the headers (Bearer, or Basic user).
async fn app_workspace(state: &AppState, headers: &HeaderMap) -> Result<WorkspaceId, ApiError> {
    let secret = header_credential(headers).ok_or_else(|| {
        ApiError::unauthorized("send the app's write key as a Bearer token or the Basic user")
    })?;
    let key = find_key(state, &secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked write key"))?;
    if key.kind != KeyKind::Write {
        return Err(ApiError::unauthorized(
            "the inbox takes an app's write key, not an API key",
        ));
    }
    Ok(key.workspace_id)
}

/// The person an identity names, and every id merged into them.
fn person(
    state: &AppState,
    workspace: &WorkspaceId,
    raw: Option<String>,
) -> Result<Option<(Profile, Vec<ProfileId>)>, ApiError> {
    let raw =
        raw.ok_or_else(|| ApiError::at(ErrorCode::MissingField, "identity", "give ?identity=TYPE:VALUE"))?;
    let parsed = Identity::parse_typed(&raw)
        .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e.to_string()))?;
    let identity = clean_identity(parsed.kind, &parsed.value, state.settings.default_region)
        .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e))?;
    Ok(state
        .engine
        .pipeline()
        .profile_by_identity(workspace, &identity)
        .map(|profile| {
            let mut ids = vec![profile.id];
            ids.extend(profile.merged_ids.iter().copied());
            (profile, ids)
        }))
}

/// `GET /v1/inbox?identity=TYPE:VALUE`: the person's inbox, newest first.
#[utoipa::path(get, path = "/v1/inbox", tag = "inbox", params(("identity" = String, Query, description = "TYPE:VALUE, any identity of the person"), ("limit" = Option<usize>, Query, description = "At most this many (default 50, at most 100)")), security(("write_key" = [])), responses((status = 200, description = "`{messages: [...], unread}`; an unknown person has an empty inbox"), (status = 400, description = "Bad identity"), (status = 401, description = "No or unknown write key")))]
pub async fn get_inbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<Value>, ApiError> {
    let workspace = app_workspace(&state, &headers).await?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > 100 {
        return Err(ApiError::at(
            ErrorCode::InvalidLimit,
            "limit",
            "must be between 1 and 100",
        ));
    }
    // A person Orbit does not know yet simply has nothing: apps ask before identify.
    let Some((_, ids)) = person(&state, &workspace, query.identity)? else {
        return Ok(Json(json!({"messages": [], "unread": 0})));
    };
    let messages = state.engine.delivery().parts().inbox.messages(&workspace, &ids);
    let unread = messages.iter().filter(|m| m.read_at.is_none()).count();
    let shown: Vec<Value> = messages
        .iter()
        .take(limit)
        .map(|m| {
            json!({
                "id": m.id,
                "title": m.title,
                "body": m.body,
                "popup": m.popup,
                "link": m.link,
                "campaign": m.campaign_id,
                "created_at": m.created_at,
                "read_at": m.read_at,
            })
        })
        .collect();
    Ok(Json(json!({"messages": shown, "unread": unread})))
}

/// `POST /v1/inbox/{id}/read?identity=TYPE:VALUE`: marks one of the person's messages read.
#[utoipa::path(post, path = "/v1/inbox/{id}/read", tag = "inbox", params(("id" = String, Path, description = "The message id"), ("identity" = String, Query, description = "TYPE:VALUE of the person")), security(("write_key" = [])), responses((status = 200, description = "`{read_at}`"), (status = 404, description = "Not this person's message")))]
pub async fn read_inbox_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<Value>, ApiError> {
    let workspace = app_workspace(&state, &headers).await?;
    let (_, ids) =
        person(&state, &workspace, query.identity)?.ok_or_else(|| ApiError::not_found("message"))?;
    let now = state.engine.now();
    if !state
        .engine
        .delivery()
        .parts()
        .inbox
        .mark_read(&workspace, &ids, &id, now)
    {
        return Err(ApiError::not_found("message"));
    }
    state
        .engine
        .stores()
        .inbox
        .mark_inbox_read(&workspace, &id, now)
        .await?;
    // Reading an inbox message is opening it.
    state
        .engine
        .delivery()
        .parts()
        .engagements
        .record_interaction(&workspace, &id, orbit_core::messaging::MessageOutcome::Opened)
        .await?;
    let read_at = state
        .engine
        .delivery()
        .parts()
        .inbox
        .messages(&workspace, &ids)
        .into_iter()
        .find(|m| m.id == id)
        .and_then(|m| m.read_at);
    Ok(Json(json!({"id": id, "read_at": read_at})))
}
