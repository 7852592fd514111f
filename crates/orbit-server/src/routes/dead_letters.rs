//! Dead letters (`/v1/dead-letters`): messages that failed for good, newest first,
//! each with the provider's last answer, for an operator to look into.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use orbit_core::ErrorCode;
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use serde_json::{Value, json};

/// The query of a dead-letter page.
#[derive(Debug, Deserialize)]
pub struct DeadLetterQuery {
    /// 1–500, default 100.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A cursor is the last row's failure time (ms) and id: `1764806400000.0123…`.
fn parse_cursor(raw: &str) -> Result<(jiff::Timestamp, String), ApiError> {
    let bad = || {
        ApiError::at(
            ErrorCode::InvalidCursor,
            "cursor",
            "pass back next_cursor from the previous page",
        )
    };
    let (millis, id) = raw.split_once('.').ok_or_else(bad)?;
    let at = millis
        .parse::<i64>()
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

/// `GET /v1/dead-letters`: failed messages, newest first.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "campaigns", params(("limit" = Option<u32>, Query, description = "1–500, default 100"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")), security(("api_key" = [])), responses((status = 200, description = "`{dead_letters: [{id, campaign, profile_id, variant, channel, account, address, attempts, last_error, failed_at}], next_cursor?}`"), (status = 400, description = "Bad input; the error names the field")))]
pub async fn dead_letters(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::at(
            ErrorCode::InvalidLimit,
            "limit",
            "must be between 1 and 500",
        ));
    }
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let rows = state
        .engine
        .stores()
        .ledger
        .dead_letters(caller.workspace(), limit, after)
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last())
        .flatten()
        .map(|last| format!("{}.{}", last.updated_at.as_millisecond(), last.send.id));
    let shown: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.send.id,
                "campaign": row.send.campaign_id,
                "profile_id": row.send.profile_id,
                "variant": row.send.variant,
                "channel": row.channel,
                "account": row.account,
                "address": row.address,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "failed_at": row.updated_at,
            })
        })
        .collect();
    Ok(Json(json!({"dead_letters": shown, "next_cursor": next_cursor})))
}
