//! Ingestion: Segment's tracking API and Orbit's native batch endpoint.
//!
//! A request is answered 200 only once its accepted events are durable. Items refused
//! by validation are listed with their index, field and reason; if every item was
//! refused the answer is 400, so SDKs do not retry a batch that can never succeed.

use crate::AppState;
use crate::auth::{find_key, header_credential};
use crate::body::read_bytes;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use orbit_core::{EventKind, SourceId};
use orbit_engine::AppendOutcome;
use orbit_engine::service::keys::{ApiKeyRecord, KeyKind, Scope};
use orbit_ingest::native::NativeBatch;
use orbit_ingest::segment::{self, SegmentBatch, SegmentMessage};
use orbit_ingest::{BodyError, IngestAnswer, IngestContext, ParsedBatch};
use serde_json::Value;

/// The source name of events sent with an API key rather than a write key.
const API_SOURCE: &str = "api";

/// The wire format an endpoint speaks.
#[derive(Debug, Clone, Copy)]
enum Format {
    SegmentBatch,
    SegmentSingle(EventKind),
    Native,
}

impl Format {
    fn parse(self, body: Value, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
        match self {
            Self::SegmentBatch => segment::parse_batch(body, ctx),
            Self::SegmentSingle(kind) => segment::parse_single(body, kind, ctx),
            Self::Native => orbit_ingest::native::parse_batch(body, ctx),
        }
    }
}

async fn ingest(
    state: AppState,
    headers: HeaderMap,
    body: Body,
    format: Format,
) -> Result<Json<IngestAnswer>, ApiError> {
    let received_at = state.engine.now();
    // A key in the headers is checked before the body is read, so a bad key is a 401
    // whatever the body holds.
    let header_key = match header_credential(&headers) {
        Some(secret) => Some(live_key(&state, &secret).await?),
        None => None,
    };
    let bytes = read_bytes(&headers, body).await?;
    let json = orbit_ingest::parse_json_body(&bytes)?;
    let body_bytes = Some(bytes.len());
    drop(bytes);
    let key = match header_key {
        Some(key) => key,
        None => live_key(&state, body_key(&json)?).await?,
    };
    let ctx = IngestContext {
        source_id: source_of(&key, format)?,
        workspace_id: key.workspace_id,
        received_at,
        default_region: state.settings.default_region,
        max_future: state.settings.max_future,
        body_bytes,
    };
    let parsed = format.parse(json, &ctx)?;
    count_received("rejected", parsed.rejected.len());
    let (events, rejected) = parsed.into_appendable()?;
    let accepted = events.len();
    let outcomes = state.engine.append(events).await?;
    let duplicates = duplicates_among(&outcomes);
    count_received("duplicate", duplicates);
    count_received("appended", accepted - duplicates);
    Ok(Json(IngestAnswer::new(accepted, duplicates, rejected)))
}

/// A live key by its secret, or 401.
async fn live_key(state: &AppState, secret: &str) -> Result<ApiKeyRecord, ApiError> {
    find_key(state, secret).await?.ok_or_else(unknown_key)
}

fn unknown_key() -> ApiError {
    ApiError::unauthorized("unknown or revoked write key")
}

/// The write key current SDKs send in the body.
fn body_key(body: &Value) -> Result<&str, ApiError> {
    segment::body_write_key(body).ok_or_else(|| {
        ApiError::unauthorized(
            "send a write key as writeKey in the body, as the Basic user, or as a Bearer token",
        )
    })
}

/// The source events sent with `key` are stored under: a write key's own, or `api`
/// for an API key with `events:write` on the native endpoint.
fn source_of(key: &ApiKeyRecord, format: Format) -> Result<SourceId, ApiError> {
    match (key.kind, format) {
        (KeyKind::Write, _) => key.source_id.clone().ok_or_else(unknown_key),
        (KeyKind::Api, Format::Native) => {
            let may_write = key.scopes.contains(&Scope::EventsWrite) || key.scopes.contains(&Scope::Admin);
            if !may_write {
                return Err(ApiError::forbidden("this key lacks the events:write scope"));
            }
            SourceId::parse(API_SOURCE).map_err(|e| ApiError::internal(&e))
        }
        (KeyKind::Api, _) => Err(ApiError::unauthorized(
            "the tracking API takes a write key, not an API key",
        )),
    }
}

fn duplicates_among(outcomes: &[AppendOutcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o, AppendOutcome::Duplicate))
        .count()
}

fn count_received(outcome: &'static str, events: usize) {
    metrics::counter!("orbit_events_received_total", "outcome" => outcome).increment(events as u64);
}

/// `POST /v1/batch`: Segment's batch call.
#[utoipa::path(post, path = "/v1/batch", tag = "ingestion", request_body = SegmentBatch, security(("write_key" = [])), responses((status = 200, description = "The accepted events are durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field, and lists every item when all were refused"), (status = 413, description = "Body over the size limit")))]
pub async fn segment_batch(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentBatch).await
}

/// `POST /v1/track`.
#[utoipa::path(post, path = "/v1/track", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_track(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Track)).await
}

/// `POST /v1/identify`.
#[utoipa::path(post, path = "/v1/identify", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_identify(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Identify)).await
}

/// `POST /v1/page`.
#[utoipa::path(post, path = "/v1/page", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_page(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Page)).await
}

/// `POST /v1/screen`.
#[utoipa::path(post, path = "/v1/screen", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_screen(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Screen)).await
}

/// `POST /v1/alias`.
#[utoipa::path(post, path = "/v1/alias", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_alias(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Alias)).await
}

/// `POST /v1/group`.
#[utoipa::path(post, path = "/v1/group", tag = "ingestion", request_body = SegmentMessage, security(("write_key" = [])), responses((status = 200, description = "The event is durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field")))]
pub async fn segment_group(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::SegmentSingle(EventKind::Group)).await
}

/// `POST /v1/events`: Orbit's native batch format.
#[utoipa::path(post, path = "/v1/events", tag = "ingestion", request_body = NativeBatch, security(("write_key" = []), ("api_key" = [])), responses((status = 200, description = "The accepted events are durable", body = IngestAnswer), (status = 400, description = "Bad input; the error names the field, and lists every item when all were refused"), (status = 413, description = "Body over the size limit")))]
pub async fn native_batch(
    State(s): State<AppState>,
    h: HeaderMap,
    b: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    ingest(s, h, b, Format::Native).await
}
