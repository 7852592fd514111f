//! Liveness.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `GET /health`: the server answers and its storage is readable.
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let head = state.events.head().await?;
    Ok(Json(json!({"status": "ok", "log_head": head.0})))
}
