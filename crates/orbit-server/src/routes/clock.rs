//! The simulated clock: read it, and move it when the server runs on one.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::State;
use orbit_engine::service::keys::Scope;
use orbit_engine::service::{ClockMove, ClockView};

impl ApiBody for ClockMove {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
}

/// `GET /v1/clock`: the server's time, and whether it is simulated.
#[utoipa::path(get, path = "/v1/clock", tag = "clock", security(("api_key" = [])), responses((status = 200, description = "The server's time", body = ClockView)))]
pub async fn get_clock(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<ClockView>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.clock()))
}

/// `POST /v1/clock`: moves a simulated clock (`{"advance": "PT1H"}` or `{"set": TIME}`);
/// what the new time makes due happens before the answer.
#[utoipa::path(post, path = "/v1/clock", tag = "clock", request_body = ClockMove, security(("api_key" = [])), responses((status = 200, description = "The new time, and the segment transitions it caused", body = ClockView), (status = 400, description = "Bad input; the error names the field"), (status = 409, description = "The server runs on the wall clock (`wall_clock`)")))]
pub async fn move_clock(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<ClockMove>,
) -> Result<Json<ClockView>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(state.engine.move_clock(request).await?))
}
