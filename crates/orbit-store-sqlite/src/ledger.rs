//! The send ledger on SQLite.

use crate::messaging::{millis, opt_millis, text, workspace};
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, placeholders, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::messaging::{Channel, Lane, SuppressionReason};
use orbit_core::{CampaignId, ChannelId, ProfileId, WorkspaceId};
use orbit_store::{
    Engagement, NewSend, ReportRow, SendLedger, SendRecord, SendState, SendTally, SendUpdate, StoreError,
    TALLY_MINUTES,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

fn lane_text(lane: Lane) -> String {
    lane.to_string()
}

fn parse_lane(s: &str) -> Option<Lane> {
    match s.split_once(':') {
        None if s == "priority" => Some(Lane::Priority),
        Some(("channel", c)) => c.parse().ok().map(Lane::Channel),
        _ => None,
    }
}

fn opt_channel(row: &SqliteRow, col: &str) -> Result<Option<Channel>, StoreError> {
    let raw: Option<String> = row.try_get(col).map_err(|e| corrupt("send", e))?;
    raw.map(|c| c.parse::<Channel>().map_err(|e| corrupt("send channel", e)))
        .transpose()
}

fn opt_text(row: &SqliteRow, col: &str) -> Result<Option<String>, StoreError> {
    row.try_get(col).map_err(|e| corrupt("send", e))
}

fn decode_send(row: &SqliteRow) -> Result<SendRecord, StoreError> {
    let what = "send";
    let state = SendState::parse(&text(row, what, "state")?).ok_or_else(|| corrupt(what, "unknown state"))?;
    let suppression = opt_text(row, "suppression")?
        .map(|s| SuppressionReason::parse(&s).ok_or_else(|| corrupt(what, format!("unknown reason {s}"))))
        .transpose()?;
    let attempts: i64 = row.try_get("attempts").map_err(|e| corrupt(what, e))?;
    Ok(SendRecord {
        send: NewSend {
            id: text(row, what, "id")?,
            workspace_id: workspace(row, what)?,
            origin: text(row, what, "origin")?,
            campaign_id: opt_text(row, "campaign_id")?
                .map(|c| CampaignId::parse(&c).map_err(|e| corrupt(what, e)))
                .transpose()?,
            profile_id: ProfileId::parse(&text(row, what, "profile_id")?).map_err(|e| corrupt(what, e))?,
            lane: parse_lane(&text(row, what, "lane")?).ok_or_else(|| corrupt(what, "unknown lane"))?,
            variant: opt_text(row, "variant")?,
            marketing: row.try_get::<i64, _>("marketing").map_err(|e| corrupt(what, e))? != 0,
            state,
            suppression,
            not_before: millis(row, what, "not_before")?,
            created_at: millis(row, what, "created_at")?,
        },
        state,
        suppression,
        channel: opt_channel(row, "channel")?,
        account: opt_text(row, "account")?
            .map(|a| ChannelId::parse(&a).map_err(|e| corrupt(what, e)))
            .transpose()?,
        address: opt_text(row, "address")?,
        attempts: u32::try_from(attempts).map_err(|e| corrupt(what, e))?,
        next_attempt_at: millis(row, what, "next_attempt_at")?,
        last_error: opt_text(row, "last_error")?,
        provider_message_id: opt_text(row, "provider_message_id")?,
        accepted_at: opt_millis(row, what, "accepted_at")?,
        delivered_at: opt_millis(row, what, "delivered_at")?,
        bounced_at: opt_millis(row, what, "bounced_at")?,
        opened_at: opt_millis(row, what, "opened_at")?,
        clicked_at: opt_millis(row, what, "clicked_at")?,
        updated_at: millis(row, what, "updated_at")?,
    })
}

#[async_trait]
impl SendLedger for SqliteStore {
    async fn insert_sends(&self, sends: &[NewSend]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut inserted = 0;
        let mut offset = 0;
        for size in chunk_sizes(sends.len()) {
            let sql = format!(
                "INSERT OR IGNORE INTO sends (id, workspace_id, origin, campaign_id, profile_id, lane, \
                 variant, marketing, state, suppression, not_before, next_attempt_at, created_at, \
                 updated_at) VALUES {}",
                placeholders(size, 14)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for s in &sends[offset..offset + size] {
                query = query
                    .bind(s.id.as_str())
                    .bind(s.workspace_id.as_str())
                    .bind(s.origin.as_str())
                    .bind(s.campaign_id.as_ref().map(|c| c.as_str().to_owned()))
                    .bind(s.profile_id.to_string())
                    .bind(lane_text(s.lane))
                    .bind(s.variant.clone())
                    .bind(i64::from(s.marketing))
                    .bind(s.state.as_str())
                    .bind(s.suppression.map(SuppressionReason::as_str))
                    .bind(s.not_before.as_millisecond())
                    .bind(s.not_before.as_millisecond())
                    .bind(s.created_at.as_millisecond())
                    .bind(s.created_at.as_millisecond());
            }
            inserted += query
                .execute(&mut *tx)
                .await
                .map_err(not_written)?
                .rows_affected();
            offset += size;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(inserted)
    }

    async fn claim_due(&self, now: Timestamp, limit: u32) -> Result<Vec<SendRecord>, StoreError> {
        let rows = sqlx::query(
            "UPDATE sends SET state = 'dispatching', updated_at = ? WHERE id IN (\
             SELECT id FROM sends WHERE state = 'scheduled' AND held = 0 AND next_attempt_at <= ? \
             ORDER BY next_attempt_at LIMIT ?) RETURNING *",
        )
        .bind(now.as_millisecond())
        .bind(now.as_millisecond())
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(not_written)?;
        let mut claimed: Vec<SendRecord> = rows.iter().map(decode_send).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|s| s.next_attempt_at);
        Ok(claimed)
    }

    async fn apply_updates(&self, updates: &[SendUpdate]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        crate::ledger_updates::write_outcomes(&mut tx, updates).await?;
        tx.commit().await.map_err(unknown)
    }

    async fn in_flight(&self) -> Result<Vec<SendRecord>, StoreError> {
        sqlx::query("SELECT * FROM sends WHERE state = 'dispatching'")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_send)
            .collect()
    }

    async fn requeue(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE sends SET state = 'scheduled', next_attempt_at = ?, updated_at = ? \
                 WHERE id = ? AND state = 'dispatching'",
            )
            .bind(at.as_millisecond())
            .bind(at.as_millisecond())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)
    }

    async fn hold_origin(
        &self,
        workspace: &WorkspaceId,
        origin: &str,
        held: bool,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sends SET held = ? WHERE workspace_id = ? AND origin = ? \
             AND state IN ('scheduled', 'dispatching') AND held != ?",
        )
        .bind(i64::from(held))
        .bind(workspace.as_str())
        .bind(origin)
        .bind(i64::from(held))
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(done.rows_affected())
    }

    async fn cancel_origin(
        &self,
        workspace: &WorkspaceId,
        origin: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sends SET state = 'suppressed', suppression = 'cancelled', updated_at = ? \
             WHERE workspace_id = ? AND origin = ? AND state = 'scheduled'",
        )
        .bind(at.as_millisecond())
        .bind(workspace.as_str())
        .bind(origin)
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(done.rows_affected())
    }

    async fn pending_in_origin(&self, workspace: &WorkspaceId, origin: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sends WHERE workspace_id = ? AND origin = ? \
             AND state IN ('scheduled', 'dispatching')",
        )
        .bind(workspace.as_str())
        .bind(origin)
        .fetch_one(&self.reader)
        .await
        .map_err(not_written)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn send(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<SendRecord>, StoreError> {
        sqlx::query("SELECT * FROM sends WHERE id = ? AND workspace_id = ?")
            .bind(id)
            .bind(workspace.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_send)
            .transpose()
    }

    async fn send_by_provider_id(&self, provider_message_id: &str) -> Result<Option<SendRecord>, StoreError> {
        sqlx::query("SELECT * FROM sends WHERE provider_message_id = ? LIMIT 1")
            .bind(provider_message_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_send)
            .transpose()
    }

    async fn record_engagement(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        engagement: Engagement,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = match engagement {
            Engagement::Delivered => {
                "UPDATE sends SET delivered_at = ? WHERE id = ? AND workspace_id = ? AND delivered_at IS NULL"
            }
            Engagement::Bounced => {
                "UPDATE sends SET bounced_at = ? WHERE id = ? AND workspace_id = ? AND bounced_at IS NULL"
            }
            Engagement::Opened => {
                "UPDATE sends SET opened_at = ? WHERE id = ? AND workspace_id = ? AND opened_at IS NULL"
            }
            Engagement::Clicked => {
                "UPDATE sends SET clicked_at = ? WHERE id = ? AND workspace_id = ? AND clicked_at IS NULL"
            }
        };
        let done = sqlx::query(sql)
            .bind(at.as_millisecond())
            .bind(id)
            .bind(workspace.as_str())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(done.rows_affected() > 0)
    }

    async fn campaign_report(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<Vec<ReportRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT variant, channel, state, suppression, COUNT(*) AS n, \
             COUNT(delivered_at) AS delivered, COUNT(bounced_at) AS bounced, \
             COUNT(opened_at) AS opened, COUNT(clicked_at) AS clicked \
             FROM sends WHERE workspace_id = ? AND campaign_id = ? \
             GROUP BY variant, channel, state, suppression \
             ORDER BY variant, channel, state, suppression",
        )
        .bind(workspace.as_str())
        .bind(campaign.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let count = |col: &str| -> Result<u64, StoreError> {
                    let n: i64 = row.try_get(col).map_err(|e| corrupt("report", e))?;
                    Ok(u64::try_from(n).unwrap_or(0))
                };
                Ok(ReportRow {
                    variant: opt_text(row, "variant")?,
                    channel: opt_channel(row, "channel")?,
                    state: SendState::parse(&text(row, "report", "state")?)
                        .ok_or_else(|| corrupt("report", "unknown state"))?,
                    suppression: opt_text(row, "suppression")?.and_then(|s| SuppressionReason::parse(&s)),
                    count: count("n")?,
                    delivered: count("delivered")?,
                    bounced: count("bounced")?,
                    opened: count("opened")?,
                    clicked: count("clicked")?,
                })
            })
            .collect()
    }

    async fn marketing_accepted_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(WorkspaceId, ProfileId, Channel, Timestamp)>, StoreError> {
        let rows = sqlx::query(
            "SELECT workspace_id, profile_id, channel, accepted_at FROM sends \
             WHERE marketing = 1 AND accepted_at IS NOT NULL AND accepted_at >= ?",
        )
        .bind(since.as_millisecond())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                Ok((
                    workspace(row, "send")?,
                    ProfileId::parse(&text(row, "send", "profile_id")?).map_err(|e| corrupt("send", e))?,
                    opt_channel(row, "channel")?
                        .ok_or_else(|| corrupt("send", "accepted without a channel"))?,
                    millis(row, "send", "accepted_at")?,
                ))
            })
            .collect()
    }

    async fn send_tallies(
        &self,
        workspace: &WorkspaceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SendTally>, StoreError> {
        // Quarter hours starting in [from, to): the first at or after `from`.
        let quarter_ms = TALLY_MINUTES * 60_000;
        let first = from.as_millisecond().div_euclid(quarter_ms)
            + i64::from(from.as_millisecond().rem_euclid(quarter_ms) != 0);
        let end = to.as_millisecond().div_euclid(quarter_ms)
            + i64::from(to.as_millisecond().rem_euclid(quarter_ms) != 0);
        let rows = sqlx::query(
            "SELECT quarter, sent, delivered FROM send_tallies \
             WHERE workspace_id = ? AND quarter >= ? AND quarter < ? ORDER BY quarter",
        )
        .bind(workspace.as_str())
        .bind(first)
        .bind(end)
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let number = |col: &str| -> Result<i64, StoreError> {
                    row.try_get(col).map_err(|e| corrupt("send tally", e))
                };
                let start = Timestamp::from_millisecond(number("quarter")? * quarter_ms)
                    .map_err(|e| corrupt("send tally", e))?;
                Ok(SendTally {
                    start,
                    sent: u64::try_from(number("sent")?).unwrap_or(0),
                    delivered: u64::try_from(number("delivered")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn dead_letters(
        &self,
        workspace: &WorkspaceId,
        limit: u32,
        after: Option<(Timestamp, String)>,
    ) -> Result<Vec<SendRecord>, StoreError> {
        // Rows failed in one round share their time: the id breaks the tie, so a
        // page boundary inside such a group neither skips nor repeats a row.
        let (at, id) = after.map_or((i64::MAX, String::new()), |(at, id)| (at.as_millisecond(), id));
        sqlx::query(
            "SELECT * FROM sends WHERE workspace_id = ? AND state = 'failed' \
             AND (updated_at < ? OR (updated_at = ? AND id < ?)) \
             ORDER BY updated_at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.as_str())
        .bind(at)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_send)
        .collect()
    }

    async fn sends_of_people(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
        limit: u32,
        after: Option<(Timestamp, String)>,
    ) -> Result<Vec<SendRecord>, StoreError> {
        if people.is_empty() {
            return Ok(Vec::new());
        }
        // Rows of one run share their time: the id breaks the tie, as for dead letters.
        let (at, id) = after.map_or((i64::MAX, String::new()), |(at, id)| (at.as_millisecond(), id));
        let people_list = vec!["?"; people.len()].join(", ");
        let sql = format!(
            "SELECT * FROM sends WHERE workspace_id = ? AND profile_id IN ({people_list}) \
             AND (created_at < ? OR (created_at = ? AND id < ?)) \
             ORDER BY created_at DESC, id DESC LIMIT ?"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace.as_str());
        for person in people {
            query = query.bind(person.to_string());
        }
        query
            .bind(at)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_send)
            .collect()
    }
}
