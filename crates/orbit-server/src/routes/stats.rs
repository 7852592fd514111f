//! The dashboard's numbers: today's activity, a week of messages, what is running and
//! every segment's size.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use orbit_engine::service::keys::Scope;
use orbit_engine::service::stats::StatsOverview;

/// `GET /v1/stats/overview`: the dashboard's numbers now, days in the workspace's time
/// zone.
#[utoipa::path(get, path = "/v1/stats/overview", tag = "stats", security(("api_key" = [])), responses((status = 200, description = "Today's activity, messages over 7 days, active campaigns and journeys, segment sizes", body = StatsOverview), (status = 409, description = "A simulated clock set on the calendar's last day (`invalid_state`)")))]
pub async fn stats_overview(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<StatsOverview>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.stats().overview(caller.workspace()).await?))
}
