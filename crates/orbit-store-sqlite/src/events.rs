//! The event log on SQLite: multi-row inserts in one transaction per batch.

use crate::{SqliteStore, chunk_sizes, corrupt, not_written, placeholders, unknown};
use async_trait::async_trait;
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use orbit_store::{AppendOutcome, EventLog, LogPosition, StoreError, StoredEvent, TimelineCursor};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashSet;

const EVENT_COLUMNS: &str = "seq, profile_id, body";

fn decode_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let position = LogPosition(row.try_get("seq").map_err(|e| corrupt("event position", e))?);
    let body: &str = row.try_get("body").map_err(|e| corrupt("event body", e))?;
    let event: NewEvent = serde_json::from_str(body).map_err(|e| corrupt("event body", e))?;
    let profile: Option<&str> = row
        .try_get("profile_id")
        .map_err(|e| corrupt("event profile", e))?;
    let profile_id = profile
        .map(ProfileId::parse)
        .transpose()
        .map_err(|e| corrupt("event profile", e))?;
    Ok(StoredEvent {
        position,
        event,
        profile_id,
    })
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn append(&self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, StoreError> {
        // Duplicates inside the batch are settled here; those against stored ids by the
        // unique key of message_ids.
        let mut seen = HashSet::with_capacity(events.len());
        let candidates: Vec<usize> = (0..events.len())
            .filter(|&i| {
                let e = &events[i];
                seen.insert((
                    e.workspace_id.as_str(),
                    e.source_id.as_str(),
                    e.message_id.as_str(),
                ))
            })
            .collect();
        let bodies: Vec<String> = candidates
            .iter()
            .map(|&i| serde_json::to_string(&events[i]))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::NotWritten(format!("encoding an event: {e}")))?;

        let mut tx = self.writer.begin().await.map_err(not_written)?;
        let mut fresh = HashSet::with_capacity(candidates.len());
        let mut offset = 0;
        for size in chunk_sizes(candidates.len()) {
            let sql = format!(
                "INSERT INTO message_ids (workspace_id, source_id, message_id, received_at) VALUES {} \
                 ON CONFLICT DO NOTHING RETURNING source_id, workspace_id, message_id",
                placeholders(size, 4)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for &i in &candidates[offset..offset + size] {
                let e = &events[i];
                query = query
                    .bind(e.workspace_id.as_str())
                    .bind(e.source_id.as_str())
                    .bind(e.message_id.as_str())
                    .bind(e.received_at.as_millisecond());
            }
            for row in query.fetch_all(&mut *tx).await.map_err(not_written)? {
                let key: (String, String, String) = (
                    row.try_get("workspace_id").map_err(not_written)?,
                    row.try_get("source_id").map_err(not_written)?,
                    row.try_get("message_id").map_err(not_written)?,
                );
                fresh.insert(key);
            }
            offset += size;
        }

        let to_store: Vec<(usize, &String)> = candidates
            .iter()
            .zip(&bodies)
            .filter(|&(&i, _)| {
                let e = &events[i];
                fresh.contains(&(
                    e.workspace_id.to_string(),
                    e.source_id.to_string(),
                    e.message_id.clone(),
                ))
            })
            .map(|(&i, body)| (i, body))
            .collect();
        let mut outcomes = vec![AppendOutcome::Duplicate; events.len()];
        let mut offset = 0;
        for size in chunk_sizes(to_store.len()) {
            let sql = format!(
                "INSERT INTO events (workspace_id, source_id, message_id, kind, name, ts, received_at, body) \
                 VALUES {} RETURNING seq",
                placeholders(size, 8)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            let chunk = &to_store[offset..offset + size];
            for &(i, body) in chunk {
                let e = &events[i];
                query = query
                    .bind(e.workspace_id.as_str())
                    .bind(e.source_id.as_str())
                    .bind(e.message_id.as_str())
                    .bind(e.kind.as_str())
                    .bind(e.name.as_ref().map(|n| n.as_str()))
                    .bind(e.timestamp.as_millisecond())
                    .bind(e.received_at.as_millisecond())
                    .bind(body.as_str());
            }
            let mut positions: Vec<i64> = query
                .fetch_all(&mut *tx)
                .await
                .map_err(not_written)?
                .iter()
                .map(|row| row.try_get::<i64, _>("seq"))
                .collect::<Result<_, _>>()
                .map_err(not_written)?;
            // One INSERT assigns increasing rowids in VALUES order; RETURNING's order is
            // unspecified, so sort.
            positions.sort_unstable();
            for (&(i, _), seq) in chunk.iter().zip(positions) {
                outcomes[i] = AppendOutcome::Appended(LogPosition(seq));
            }
            offset += size;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(outcomes)
    }

    async fn read_after(&self, after: LogPosition, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query("SELECT seq, profile_id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?;
        rows.iter().map(decode_event).collect()
    }

    async fn head(&self) -> Result<LogPosition, StoreError> {
        // sqlite_sequence keeps the highest position ever assigned, even after deletes.
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?;
        Ok(LogPosition(seq.unwrap_or(0)))
    }

    async fn profile_events(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
        after: Option<TimelineCursor>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (ts, seq) = after.map_or((i64::MAX, i64::MAX), |c| (c.timestamp_ms, c.position.0));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = ? AND profile_id = ? \
             AND (ts < ? OR (ts = ? AND seq < ?)) ORDER BY ts DESC, seq DESC LIMIT ?"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace.as_str())
            .bind(profile.to_string())
            .bind(ts)
            .bind(ts)
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?;
        rows.iter().map(decode_event).collect()
    }

    async fn prune_message_ids(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM message_ids WHERE received_at < ?")
            .bind(cutoff_ms)
            .execute(&self.writer)
            .await
            .map_err(unknown)?;
        Ok(done.rows_affected())
    }
}
