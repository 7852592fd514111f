//! Outbound-call tasks for the call centre: listed (JSON pages or a CSV file for the
//! dialler) and closed with the call's outcome.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use orbit_core::ErrorCode;
use orbit_engine::service::keys::Scope;
use orbit_store::CallTask;
use serde::Deserialize;
use serde_json::{Value, json};

const STATUSES: [&str; 3] = ["open", "done", "cancelled"];

/// Which tasks to list.
#[derive(Debug, Deserialize)]
pub struct CallTaskQuery {
    status: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
    format: Option<String>,
}

/// An agent's update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallTaskUpdate {
    status: String,
    #[serde(default)]
    outcome: Option<String>,
}

fn check_status(status: &str, field: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(ApiError::at(
            ErrorCode::InvalidValue,
            field,
            "must be open, done or cancelled",
        ))
    }
}

fn view(task: &CallTask) -> Value {
    json!({
        "id": task.id,
        "profile_id": task.profile_id.to_string(),
        "phone": task.phone,
        "script": task.script,
        "campaign": task.campaign_id,
        "status": task.status,
        "outcome": task.outcome,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    })
}

fn csv(tasks: &[CallTask]) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::internal(&e);
    writer
        .write_record([
            "id",
            "phone",
            "script",
            "campaign",
            "status",
            "outcome",
            "profile_id",
            "created_at",
        ])
        .map_err(internal)?;
    for t in tasks {
        writer
            .write_record([
                t.id.as_str(),
                t.phone.as_str(),
                t.script.as_str(),
                t.campaign_id.as_ref().map_or("", |c| c.as_str()),
                t.status.as_str(),
                t.outcome.as_deref().unwrap_or(""),
                &t.profile_id.to_string(),
                &t.created_at.to_string(),
            ])
            .map_err(internal)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::internal(&e))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(&e))
}

/// `GET /v1/call-tasks`: tasks oldest first, a page at a time, or all as CSV.
#[utoipa::path(get, path = "/v1/call-tasks", tag = "campaigns", params(("status" = Option<String>, Query, description = "open, done or cancelled"), ("after" = Option<String>, Query, description = "The last task id of the previous page"), ("limit" = Option<u32>, Query, description = "Page size, at most 1000 (json)"), ("format" = Option<String>, Query, description = "json (default, paged) or csv (everything)")), security(("api_key" = [])), responses((status = 200, description = "`{tasks, next}` or a CSV file"), (status = 400, description = "Bad query")))]
pub async fn list_call_tasks(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<CallTaskQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    if let Some(status) = &query.status {
        check_status(status, "status")?;
    }
    let status = query.status.as_deref();
    match query.format.as_deref().unwrap_or("json") {
        "csv" => {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = state
                    .engine
                    .stores()
                    .call_tasks
                    .call_tasks(caller.workspace(), status, after.as_deref(), 10_000)
                    .await?;
                let done = page.len() < 10_000;
                after = page.last().map(|t| t.id.clone());
                all.extend(page);
                if done {
                    break;
                }
            }
            Ok(super::segments::export(
                csv(&all)?,
                "text/csv; charset=utf-8",
                "call-tasks.csv",
            ))
        }
        "json" => {
            let limit = query.limit.unwrap_or(100);
            if limit == 0 || limit > 1_000 {
                return Err(ApiError::at(
                    ErrorCode::InvalidLimit,
                    "limit",
                    "must be between 1 and 1000",
                ));
            }
            let tasks = state
                .engine
                .stores()
                .call_tasks
                .call_tasks(caller.workspace(), status, query.after.as_deref(), limit)
                .await?;
            let next = (tasks.len() == limit as usize)
                .then(|| tasks.last().map(|t| t.id.clone()))
                .flatten();
            let tasks: Vec<Value> = tasks.iter().map(view).collect();
            Ok(Json(json!({"tasks": tasks, "next": next})).into_response())
        }
        _ => Err(ApiError::at(
            ErrorCode::InvalidQuery,
            "format",
            "must be json or csv",
        )),
    }
}

/// `PATCH /v1/call-tasks/{id}`: an agent closes (or reopens) a task with the outcome.
#[utoipa::path(patch, path = "/v1/call-tasks/{id}", tag = "campaigns", params(("id" = String, Path, description = "The task's id")), request_body(content = Object, description = "`{status: open|done|cancelled, outcome?}`"), security(("api_key" = [])), responses((status = 200, description = "The task"), (status = 400, description = "Bad input"), (status = 404, description = "Not found")))]
pub async fn update_call_task(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let update: CallTaskUpdate = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    check_status(&update.status, "status")?;
    let task = state
        .engine
        .stores()
        .call_tasks
        .update_call_task(
            caller.workspace(),
            &id,
            &update.status,
            update.outcome.as_deref(),
            state.engine.now(),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("call task"))?;
    Ok(Json(view(&task)))
}
