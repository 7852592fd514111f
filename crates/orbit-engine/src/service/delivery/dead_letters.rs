//! Dead letters: messages that failed for good, newest first, each with the
//! provider's last answer, for an operator to look into.

use super::Delivery;
use crate::EngineError;
use jiff::Timestamp;
use orbit_core::messaging::Channel;
use orbit_core::{CampaignId, ChannelId, ErrorCode, Problem, ProfileId, WorkspaceId};
use orbit_store::SendRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// Most dead letters one page holds.
const MAX_PAGE: u32 = 500;

/// Dead letters a page holds when the caller names no limit.
const DEFAULT_PAGE: u32 = 100;

/// A message that failed for good.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetter {
    /// Its send ledger id.
    pub id: String,
    /// The campaign that sent it.
    pub campaign: Option<CampaignId>,
    /// The person it was for.
    pub profile_id: ProfileId,
    /// The variant the person fell in.
    pub variant: Option<String>,
    /// The channel it was tried on.
    pub channel: Option<Channel>,
    /// The provider account it went through.
    pub account: Option<ChannelId>,
    /// The address it went to.
    pub address: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// The provider's last answer.
    #[schema(example = "422: unknown member")]
    pub last_error: Option<String>,
    /// When it failed for good.
    pub failed_at: Timestamp,
}

impl From<SendRecord> for DeadLetter {
    fn from(row: SendRecord) -> Self {
        Self {
            id: row.send.id,
            campaign: row.send.campaign_id,
            profile_id: row.send.profile_id,
            variant: row.send.variant,
            channel: row.channel,
            account: row.account,
            address: row.address,
            attempts: row.attempts,
            last_error: row.last_error,
            failed_at: row.updated_at,
        }
    }
}

/// A page of dead letters, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetterPage {
    /// This page's dead letters.
    pub dead_letters: Vec<DeadLetter>,
    /// Pass back as `cursor` for the next page; null on the last.
    #[schema(example = "1764806400000.0c1f2d3e4f5a6b7c8d9e0f1a2b3c4d5e")]
    pub next_cursor: Option<String>,
}

impl Delivery {
    /// A page of the workspace's dead letters, newest first: up to `limit` (1–500,
    /// default 100) after the `cursor` the previous page gave.
    ///
    /// # Errors
    /// `invalid_limit`, `invalid_cursor`.
    pub async fn dead_letters(
        &self,
        workspace: &WorkspaceId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<DeadLetterPage, EngineError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Problem::at(ErrorCode::InvalidLimit, "limit", "must be between 1 and 500").into());
        }
        let after = cursor.map(parse_cursor).transpose()?;
        let rows = self.stores.ledger.dead_letters(workspace, limit, after).await?;
        let full = rows.len() == limit as usize;
        let next_cursor = rows.last().filter(|_| full).map(cursor_of);
        Ok(DeadLetterPage {
            dead_letters: rows.into_iter().map(DeadLetter::from).collect(),
            next_cursor,
        })
    }
}

/// A cursor is the last row's failure time (ms) and id: `1764806400000.0123…`.
fn cursor_of(row: &SendRecord) -> String {
    format!("{}.{}", row.updated_at.as_millisecond(), row.send.id)
}

/// Reads a cursor made by [`cursor_of`].
pub(super) fn parse_cursor(raw: &str) -> Result<(Timestamp, String), Problem> {
    let bad = || {
        Problem::at(
            ErrorCode::InvalidCursor,
            "cursor",
            "pass back next_cursor from the previous page",
        )
    };
    let (millis, id) = raw.split_once('.').ok_or_else(bad)?;
    let at = millis
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_the_time_and_id_they_were_made_of() {
        let (at, id) = parse_cursor("1764806400000.0c1f").expect("cursor");
        assert_eq!((at.as_millisecond(), id.as_str()), (1_764_806_400_000, "0c1f"));
        for bad in ["nonsense", "1764806400000.", "x.0c1f", ""] {
            let refused = parse_cursor(bad).expect_err(bad);
            assert_eq!(refused.field.as_deref(), Some("cursor"), "{bad}");
        }
    }
}
