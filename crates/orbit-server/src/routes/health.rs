//! Liveness.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use orbit_engine::service::Health;

/// `GET /health`: the server answers and its storage is readable.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "The server and its storage answer", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(state.engine.health().await?))
}
