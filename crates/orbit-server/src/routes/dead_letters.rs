//! Dead letters (`/v1/dead-letters`): messages that failed for good, newest first,
//! each with the provider's last answer, for an operator to look into.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use orbit_engine::service::delivery::DeadLetterPage;
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use utoipa::IntoParams;

/// The query of a dead-letter page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /v1/dead-letters`: failed messages, newest first.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "campaigns", params(DeadLetterQuery), security(("api_key" = [])), responses((status = 200, description = "A page of dead letters", body = DeadLetterPage), (status = 400, description = "Bad input; the error names the field")))]
pub async fn dead_letters(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let page = state
        .engine
        .delivery()
        .dead_letters(caller.workspace(), query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}
