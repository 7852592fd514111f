//! The simulated clock: read it, and move it when the server runs on one.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_json;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
use orbit_engine::audience::Sweep;
use orbit_store::Scope;
use serde::Deserialize;
use serde_json::{Value, json};

/// What `POST /v1/clock` takes: one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    /// How far to move forward (`PT1H`, `1h 30m`, `-2d`).
    advance: Option<String>,
    /// Where to set it (RFC 3339).
    set: Option<String>,
}

/// `GET /v1/clock`: the server's time, and whether it is simulated.
#[utoipa::path(get, path = "/v1/clock", tag = "clock", security(("api_key" = [])), responses((status = 200, description = "`{now, simulated}`")))]
pub async fn get_clock(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(
        json!({"now": state.clock.now(), "simulated": state.simulated_clock.is_some()}),
    ))
}

/// `POST /v1/clock`: moves a simulated clock (`{"advance": "PT1H"}` or `{"set": TIME}`).
#[utoipa::path(post, path = "/v1/clock", tag = "clock", request_body(content = Object, description = "`{\"advance\": \"PT1H\"}` or `{\"set\": \"2026-11-23T09:00:00+08:00\"}`"), security(("api_key" = [])), responses((status = 200, description = "`{now, simulated}`"), (status = 400, description = "Bad input; the error names the field"), (status = 409, description = "The server runs on the wall clock")))]
pub async fn move_clock(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let Some(clock) = &state.simulated_clock else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "wall_clock",
            "the server runs on the wall clock; start it with --simulated-clock to move time",
        ));
    };
    let value = read_json(&headers, body).await?;
    let before = state.clock.now();
    let request: ClockMove = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_request", "", e.to_string()))?;
    match (request.advance, request.set) {
        (Some(raw), None) => {
            let by = parse_duration(raw.trim()).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_duration",
                    "advance",
                    format!("{raw:?} is not a duration such as PT1H, P3D or 1h 30m"),
                )
            })?;
            clock.advance(by);
        }
        (None, Some(raw)) => {
            let at: Timestamp = raw.trim().parse().map_err(|_| {
                ApiError::bad_request(
                    "invalid_timestamp",
                    "set",
                    format!("{raw:?} is not an RFC 3339 time"),
                )
            })?;
            clock.set(at);
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "advance",
                "give either advance or set",
            ));
        }
    }
    // Everything the new time makes due happens before the answer: tag values first
    // (segments may name them), then segment transitions caused by time alone.
    crate::tag_refresher::refresh_everything(&state).await;
    let announced = state.membership.sweep(Sweep::Time).await?;
    // Sizes are taken every hour: on a simulated clock, each time it crosses one.
    let hour = |t: Timestamp| t.as_second().div_euclid(3_600);
    if hour(before) != hour(state.clock.now()) {
        crate::routes::segments::record_sizes(&state).await?;
    }
    Ok(Json(json!({
        "now": state.clock.now(),
        "simulated": true,
        "segment_transitions": {"entered": announced.entered, "exited": announced.exited},
    })))
}

/// A duration; days count as 24 hours (the clock moves by elapsed time).
fn parse_duration(raw: &str) -> Option<SignedDuration> {
    if let Ok(exact) = raw.parse::<SignedDuration>() {
        return Some(exact);
    }
    let span: jiff::Span = raw.parse().ok()?;
    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok()
}
