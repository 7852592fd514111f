//! The in-app inbox as apps read it: with the app's write key, for the person an
//! identity names, answered from memory.

use crate::AppState;
use crate::auth::AppCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use orbit_engine::service::delivery::{InboxPage, InboxRead};
use serde::Deserialize;
use utoipa::IntoParams;

/// Whose inbox: `?identity=TYPE:VALUE`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `TYPE:VALUE`, any identity of the person.
    #[param(required = true, example = "user_id:mei")]
    identity: Option<String>,
    /// At most this many messages, 1–100 (default 50; listing only).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// `GET /v1/inbox?identity=TYPE:VALUE`: the person's inbox, newest first.
#[utoipa::path(get, path = "/v1/inbox", tag = "inbox", params(InboxQuery), security(("write_key" = [])), responses((status = 200, description = "The newest messages and the unread count; an unknown person has an empty inbox", body = InboxPage), (status = 400, description = "Bad identity or limit; the error names the parameter")))]
pub async fn get_inbox(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<InboxPage>, ApiError> {
    let page = state
        .engine
        .delivery()
        .inbox(caller.workspace(), query.identity.as_deref(), query.limit)?;
    Ok(Json(page))
}

/// `POST /v1/inbox/{id}/read?identity=TYPE:VALUE`: marks one of the person's messages read.
#[utoipa::path(post, path = "/v1/inbox/{id}/read", tag = "inbox", params(("id" = String, Path, description = "The message id"), InboxQuery), security(("write_key" = [])), responses((status = 200, description = "When it was read", body = InboxRead), (status = 400, description = "Bad identity"), (status = 404, description = "Not this person's message")))]
pub async fn read_inbox_message(
    State(state): State<AppState>,
    caller: AppCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<InboxRead>, ApiError> {
    let read = state
        .engine
        .delivery()
        .mark_inbox_read(caller.workspace(), &id, query.identity.as_deref())
        .await?;
    Ok(Json(read))
}
