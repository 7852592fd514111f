//! Ingestion: Segment's tracking API and Orbit's native batch endpoint.
//!
//! A request is answered 200 only once its accepted events are durable. Items refused
//! by validation are listed with their index, field and reason; if every item was
//! refused the answer is 400, so SDKs do not retry a batch that can never succeed.

use super::legacy as openapi;
use crate::AppState;
use crate::auth::{find_key, header_credential};
use crate::body::read_bytes;
use crate::error::ApiError;
use crate::error::ErrorBody;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use orbit_core::{EventKind, SourceId};
use orbit_engine::service::keys::Scope;
use orbit_ingest::{IngestContext, ParsedBatch, segment};
use orbit_store::{AppendOutcome, KeyKind};
use serde_json::{Value, json};

/// The source name of events sent with an API key rather than a write key.
const API_SOURCE: &str = "api";

enum Format {
    SegmentBatch,
    SegmentSingle(EventKind),
    Native,
}

async fn ingest(
    state: AppState,
    headers: HeaderMap,
    body: Body,
    format: Format,
) -> Result<Json<Value>, ApiError> {
    let received_at = state.engine.now();
    // A key in the headers is checked before the body is read, so a bad key is a 401
    // whatever the body holds.
    let header_key = header_credential(&headers);
    let header_record = match &header_key {
        Some(secret) => Some(find_key(&state, secret).await?.ok_or_else(unknown_key)?),
        None => None,
    };
    let bytes = read_bytes(&headers, body).await?;
    let json = orbit_ingest::parse_json_body(&bytes)?;
    let body_bytes = Some(bytes.len());
    drop(bytes);
    let record = match header_record {
        Some(record) => record,
        None => {
            let secret = segment::body_write_key(&json).ok_or_else(|| {
                ApiError::unauthorized(
                    "send a write key as writeKey in the body, as the Basic user, or as a Bearer token",
                )
            })?;
            find_key(&state, secret).await?.ok_or_else(unknown_key)?
        }
    };
    let source_id = match record.kind {
        KeyKind::Write => record.source_id.clone().ok_or_else(unknown_key)?,
        KeyKind::Api if matches!(format, Format::Native) => {
            if !(record.scopes.contains(&Scope::EventsWrite) || record.scopes.contains(&Scope::Admin)) {
                return Err(ApiError::forbidden("this key lacks the events:write scope"));
            }
            SourceId::parse(API_SOURCE).map_err(|e| ApiError::internal(&e))?
        }
        KeyKind::Api => {
            return Err(ApiError::unauthorized(
                "the tracking API takes a write key, not an API key",
            ));
        }
    };
    let ctx = IngestContext {
        workspace_id: record.workspace_id.clone(),
        source_id,
        received_at,
        default_region: state.settings.default_region,
        max_future: state.settings.max_future,
        body_bytes,
    };
    let parsed = match format {
        Format::SegmentBatch => segment::parse_batch(json, &ctx)?,
        Format::SegmentSingle(kind) => segment::parse_single(json, kind, &ctx)?,
        Format::Native => orbit_ingest::native::parse_batch(json, &ctx)?,
    };
    store(&state, parsed).await
}

async fn store(state: &AppState, parsed: ParsedBatch) -> Result<Json<Value>, ApiError> {
    let ParsedBatch { accepted, rejected } = parsed;
    metrics::counter!("orbit_events_received_total", "outcome" => "rejected")
        .increment(rejected.len() as u64);
    if accepted.is_empty() && !rejected.is_empty() {
        let first = &rejected[0];
        let message = if rejected.len() == 1 {
            first.message.clone()
        } else {
            format!("all {} events were rejected; see rejected", rejected.len())
        };
        return Err(ApiError::at(first.code, first.field.clone(), message).with_rejected(rejected));
    }
    let count = accepted.len();
    let events = accepted.into_iter().map(|(_, event)| event).collect();
    let outcomes = state.engine.pipeline().append(events).await?;
    let duplicates = outcomes
        .iter()
        .filter(|o| matches!(o, AppendOutcome::Duplicate))
        .count();
    metrics::counter!("orbit_events_received_total", "outcome" => "duplicate").increment(duplicates as u64);
    metrics::counter!("orbit_events_received_total", "outcome" => "appended")
        .increment((outcomes.len() - duplicates) as u64);
    Ok(Json(json!({
        "success": true,
        "accepted": count,
        "duplicates": duplicates,
        "rejected": rejected,
    })))
}

fn unknown_key() -> ApiError {
    ApiError::unauthorized("unknown or revoked write key")
}

/// `POST /v1/batch`: Segment's batch call.
#[utoipa::path(post, path = "/v1/batch", tag = "ingestion", request_body = openapi::SegmentBatch, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody), (status = 413, description = "Body over the size limit", body = ErrorBody), (status = 503, description = "Storage failed; nothing was acknowledged, retry", body = ErrorBody)))]
pub async fn segment_batch(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentBatch).await
}

/// `POST /v1/track`.
#[utoipa::path(post, path = "/v1/track", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_track(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Track)).await
}

/// `POST /v1/identify`.
#[utoipa::path(post, path = "/v1/identify", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_identify(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Identify)).await
}

/// `POST /v1/page`.
#[utoipa::path(post, path = "/v1/page", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_page(State(s): State<AppState>, h: HeaderMap, b: Body) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Page)).await
}

/// `POST /v1/screen`.
#[utoipa::path(post, path = "/v1/screen", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_screen(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Screen)).await
}

/// `POST /v1/alias`.
#[utoipa::path(post, path = "/v1/alias", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_alias(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Alias)).await
}

/// `POST /v1/group`.
#[utoipa::path(post, path = "/v1/group", tag = "ingestion", request_body = openapi::SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody)))]
pub async fn segment_group(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Group)).await
}

/// `POST /v1/events`: Orbit's native batch format.
#[utoipa::path(post, path = "/v1/events", tag = "ingestion", request_body = openapi::NativeBatch, security(("write_key" = []), ("api_key" = [])), responses((status = 200, description = "OK", body = openapi::IngestAnswer), (status = 400, description = "Bad input; the error names the field", body = ErrorBody), (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody), (status = 413, description = "Body over the size limit", body = ErrorBody), (status = 503, description = "Storage failed; nothing was acknowledged, retry", body = ErrorBody)))]
pub async fn native_batch(State(s): State<AppState>, h: HeaderMap, b: Body) -> Result<Json<Value>, ApiError> {
    ingest(s, h, b, Format::Native).await
}
