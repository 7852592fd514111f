//! The audit log: every change made through the console or the management API.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use orbit_engine::service::audit::{AuditFilter, AuditPage};
use orbit_engine::service::keys::Scope;

/// `GET /v1/audit`: changes, newest first, filtered by who, what, where, whom and when.
#[utoipa::path(get, path = "/v1/audit", tag = "operators", params(AuditFilter), security(("api_key" = [])), responses((status = 200, description = "A page of the audit log; contacts masked for roles that may not see them", body = AuditPage), (status = 400, description = "Bad input; the error names the filter")))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state
            .engine
            .audit()
            .list(caller.workspace(), filter, caller.sees_contacts())
            .await?,
    ))
}
