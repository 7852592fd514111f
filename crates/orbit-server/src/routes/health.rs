//! Liveness.

use super::openapi;
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `GET /health`: the server answers and its storage is readable.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "OK", body = openapi::Health)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let head = state.events.head().await?;
    Ok(Json(json!({"status": "ok", "log_head": head.0})))
}
