//! Outbound-call tasks for the call centre: listed (JSON pages or a CSV file for the
//! dialler) and closed with the call's outcome.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use orbit_engine::service::delivery::{CallTaskPage, CallTaskStatus, CallTaskUpdate, CallTaskView};
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

impl ApiBody for CallTaskUpdate {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
}

/// How a task listing is answered.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallTaskFormat {
    /// A JSON page (`limit`, `after`).
    #[default]
    Json,
    /// Every matching task as CSV for the dialler.
    Csv,
}

/// The query of a task listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallTaskQuery {
    /// Only tasks in this status.
    #[param(value_type = Option<CallTaskStatus>, inline)]
    status: Option<String>,
    /// The last task id of the previous page (its `next`; json only).
    after: Option<String>,
    /// Page size, 1–1,000 (default 100; json only).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `json` (default, paged) or `csv` (everything).
    #[serde(default)]
    #[param(inline)]
    format: CallTaskFormat,
}

/// `GET /v1/call-tasks`: tasks oldest first, a page at a time, or all as CSV.
#[utoipa::path(get, path = "/v1/call-tasks", tag = "campaigns", params(CallTaskQuery), security(("api_key" = [])), responses((status = 200, description = "A page of tasks (json), or every matching task as a file (`id,phone,script,campaign,status,outcome,profile_id,created_at`)", content((CallTaskPage = "application/json"), (String = "text/csv"))), (status = 400, description = "Bad query; the error names the parameter")))]
pub async fn list_call_tasks(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<CallTaskQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let delivery = state.engine.delivery();
    let (workspace, status) = (caller.workspace(), query.status.as_deref());
    Ok(match query.format {
        CallTaskFormat::Json => {
            let page = delivery
                .call_task_page(workspace, status, query.after.as_deref(), query.limit)
                .await?;
            Json(page).into_response()
        }
        CallTaskFormat::Csv => {
            let csv = delivery.call_task_export(workspace, status).await?;
            super::segments::export(csv, "text/csv; charset=utf-8", "call-tasks.csv")
        }
    })
}

/// `PATCH /v1/call-tasks/{id}`: an agent closes (or reopens) a task with the outcome.
#[utoipa::path(patch, path = "/v1/call-tasks/{id}", tag = "campaigns", params(("id" = String, Path, description = "The task's id")), request_body = CallTaskUpdate, security(("api_key" = [])), responses((status = 200, description = "The task", body = CallTaskView), (status = 400, description = "Bad input, naming the field"), (status = 404, description = "No such task")))]
pub async fn update_call_task(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<CallTaskUpdate>,
) -> Result<Json<CallTaskView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let task = state
        .engine
        .delivery()
        .update_call_task(caller.workspace(), &id, update)
        .await?;
    Ok(Json(task))
}
