//! Profiles: read, look up by identity, timeline, trait patches, erasure, export.

use super::legacy as openapi;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_json;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::ApiQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orbit_core::ErrorCode;
use orbit_core::event::clean_identity;
use orbit_core::profile::Profile;
use orbit_core::{Identity, ProfileId};
use orbit_engine::TimelineCursor;
use orbit_engine::service::keys::Scope;
use orbit_store::{LogPosition, StoredEvent};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most events one timeline page holds.
const MAX_PAGE: u32 = 1_000;

fn parse_id(raw: &str) -> Result<ProfileId, ApiError> {
    ProfileId::parse(raw).map_err(|e| ApiError::at(ErrorCode::InvalidId, "id", format!("profile id {e}")))
}

/// A profile as the API shows it.
pub fn profile_view(profile: &Profile) -> Value {
    json!({
        "id": profile.id,
        "identities": profile.identities,
        "traits": profile.traits.to_object(),
        "first_seen": profile.first_seen,
        "last_seen": profile.last_seen,
        "merged_ids": profile.merged_ids,
        "issues": profile.issues,
    })
}

/// An event as a timeline shows it.
pub fn event_view(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    json!({
        "position": stored.position.0,
        "type": e.kind,
        "event": e.name,
        "message_id": e.message_id,
        "source": e.source_id,
        "timestamp": e.timestamp,
        "received_at": e.received_at,
        "identities": e.identities,
        "properties": e.properties,
        "traits": e.traits,
        "context": e.context,
    })
}

/// A profile by id, from the engine's memory: every acknowledged event is reflected.
pub(crate) fn load(state: &AppState, caller: &ApiCaller, id: &str) -> Result<Profile, ApiError> {
    state
        .engine
        .pipeline()
        .profile(caller.workspace(), parse_id(id)?)
        .ok_or_else(|| ApiError::not_found("profile"))
}

/// `GET /v1/profiles/{id}`: a profile by its id or a merged-away id.
#[utoipa::path(get, path = "/v1/profiles/{id}", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "OK", body = openapi::Profile), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get_profile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    Ok(Json(profile_view(&load(&state, &caller, &id)?)))
}

/// The query of an identity look-up.
#[derive(Debug, Deserialize)]
pub struct IdentityQuery {
    identity: Option<String>,
}

/// `GET /v1/profiles?identity=TYPE:VALUE`.
#[utoipa::path(get, path = "/v1/profiles", tag = "profiles", params(("identity" = String, Query, description = "TYPE:VALUE, e.g. phone:13800138000 (cleaned before the look-up)")), security(("api_key" = [])), responses((status = 200, description = "OK", body = openapi::Profile), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn find_by_identity(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<IdentityQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let raw = query
        .identity
        .ok_or_else(|| ApiError::at(ErrorCode::MissingField, "identity", "give ?identity=TYPE:VALUE"))?;
    let parsed = Identity::parse_typed(&raw)
        .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e.to_string()))?;
    // Look up the cleaned form, so `phone:138 0013 8000` finds `+8613800138000`.
    let identity = clean_identity(parsed.kind, &parsed.value, state.settings.default_region)
        .map_err(|e| ApiError::at(ErrorCode::InvalidIdentity, "identity", e))?;
    let profile = state
        .engine
        .pipeline()
        .profile_by_identity(caller.workspace(), &identity)
        .ok_or_else(|| ApiError::not_found("profile"))?;
    Ok(Json(profile_view(&profile)))
}

/// The query of a timeline page.
#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

fn parse_cursor(raw: &str) -> Result<TimelineCursor, ApiError> {
    let bad = || {
        ApiError::at(
            ErrorCode::InvalidCursor,
            "cursor",
            "pass back next_cursor from the previous page",
        )
    };
    let (ts, pos) = raw.split_once('_').ok_or_else(bad)?;
    Ok(TimelineCursor {
        timestamp_ms: ts.parse().map_err(|_| bad())?,
        position: LogPosition(pos.parse().map_err(|_| bad())?),
    })
}

/// `GET /v1/profiles/{id}/events`: newest first, paginated by cursor.
#[utoipa::path(get, path = "/v1/profiles/{id}/events", tag = "profiles", params(("id" = String, Path, description = "A profile id"), ("limit" = Option<u32>, Query, description = "1–1000, default 50"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")), security(("api_key" = [])), responses((status = 200, description = "OK", body = openapi::TimelinePage), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::at(
            ErrorCode::InvalidLimit,
            "limit",
            format!("limit must be 1–{MAX_PAGE}"),
        ));
    }
    let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let profile = load(&state, &caller, &id)?;
    let page = state
        .engine
        .pipeline()
        .timeline_page(caller.workspace(), profile.id, cursor, limit as usize);
    let positions: Vec<LogPosition> = page.iter().map(|e| e.position).collect();
    let events = state.engine.stores().events.events_at(&positions).await?;
    let next_cursor = (page.len() == limit as usize)
        .then(|| {
            page.last()
                .map(|e| format!("{}_{}", e.timestamp_ms, e.position.0))
        })
        .flatten();
    Ok(Json(json!({
        "profile_id": profile.id,
        "data": events.iter().map(event_view).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// `PATCH /v1/profiles/{id}/traits`: sets the given traits as of now.
#[utoipa::path(patch, path = "/v1/profiles/{id}/traits", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), request_body(content = Object, description = "Traits to set as of now"), security(("api_key" = [])), responses((status = 200, description = "OK", body = openapi::Profile), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn patch_traits(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    let id = parse_id(&id)?;
    let traits = match read_json(&headers, body).await? {
        Value::Object(traits) => traits,
        _ => {
            return Err(ApiError::at(
                ErrorCode::WrongType,
                "",
                "the body must be a JSON object of traits",
            ));
        }
    };
    let profile = state
        .engine
        .pipeline()
        .patch_traits(caller.workspace().clone(), id, traits)
        .await?;
    // No event reaches the log, so the refresher would not see the change until its
    // next round: tags that read traits follow now.
    state
        .engine
        .audiences()
        .refresh_profiles(caller.workspace(), &[profile.id])
        .await?;
    Ok(Json(profile_view(&profile)))
}

/// `DELETE /v1/profiles/{id}`: erases a person (PIPL/GDPR). Events accepted for them
/// before the call are erased with them.
#[utoipa::path(delete, path = "/v1/profiles/{id}", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "Erased: `{id, erased, merged_ids}`"), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn erase_profile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    let id = parse_id(&id)?;
    let erased = state
        .engine
        .pipeline()
        .erase(caller.workspace().clone(), id)
        .await?;
    state
        .engine
        .audiences()
        .forget_profile(caller.workspace(), &erased)
        .await?;
    let mut ids = vec![erased.id];
    ids.extend(erased.merged_ids.iter().copied());
    state
        .engine
        .delivery()
        .parts()
        .inbox
        .forget(caller.workspace(), &ids);
    Ok(Json(
        json!({"id": erased.id, "erased": true, "merged_ids": erased.merged_ids}),
    ))
}

/// `GET /v1/profiles/{id}/export`: everything Orbit holds on a person.
#[utoipa::path(get, path = "/v1/profiles/{id}/export", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "Profile, trait history, merges, identity conflicts, imported and manual tag values, consent, inbox messages, and every event"), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let profile = load(&state, &caller, &id)?;
    let mut events = Vec::new();
    let mut positions = state
        .engine
        .pipeline()
        .timeline_positions(caller.workspace(), profile.id);
    positions.reverse();
    for page in positions.chunks(MAX_PAGE as usize) {
        events.extend(
            state
                .engine
                .stores()
                .events
                .events_at(page)
                .await?
                .iter()
                .map(event_view),
        );
    }
    let merges = state
        .engine
        .stores()
        .profiles
        .merges(caller.workspace(), profile.id)
        .await?;
    let conflicts = state
        .engine
        .stores()
        .profiles
        .conflicts(caller.workspace(), profile.id)
        .await?;
    let mut person_ids = vec![profile.id];
    person_ids.extend(profile.merged_ids.iter().copied());
    let consent: Vec<_> = state
        .engine
        .stores()
        .consents
        .consents_of(caller.workspace(), &person_ids)
        .await?
        .into_iter()
        .map(|(_, record)| record)
        .collect();
    let inbox: Vec<Value> = state.engine.delivery().parts().inbox
        .messages(caller.workspace(), &person_ids)
        .iter()
        .map(|m| json!({"id": m.id, "title": m.title, "body": m.body, "created_at": m.created_at, "read_at": m.read_at}))
        .collect();
    Ok(Json(json!({
        "exported_at": state.engine.now(),
        "profile": profile_view(&profile),
        "trait_history": profile.traits,
        "merges": merges.iter().map(|m| json!({
            "survivor": m.merge.survivor, "merged": m.merge.merged, "linked_by": m.merge.linked_by,
            "position": m.position.0, "at_ms": m.at_ms,
        })).collect::<Vec<_>>(),
        "identity_conflicts": conflicts.iter().map(|c| json!({
            "conflict": c.conflict, "position": c.position.0, "at_ms": c.at_ms,
        })).collect::<Vec<_>>(),
        "assigned_tags": state.engine.audiences().assigned_to(caller.workspace(), &profile),
        "consent": consent,
        "inbox": inbox,
        "events": events,
    })))
}
