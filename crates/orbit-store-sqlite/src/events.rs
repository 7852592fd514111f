//! The event log on SQLite: multi-row inserts in one transaction per batch.

use crate::message_ids::{self, Digest, MessageIdKey, digest};
use crate::padded::PaddedInsert;
use crate::profiles::apply_changes;
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, unknown};
use async_trait::async_trait;
use foldhash::{HashMap, HashMapExt, HashSet};
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use orbit_store::{
    EncodedEvent, EventLog, LogEntry, LogPosition, LogTransaction, Placement, StoreError, StoredEvent,
    WorkspaceChanges,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, SqlitePool, Transaction};
use std::sync::Arc;

fn decode_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let position = LogPosition(row.try_get("seq").map_err(|e| corrupt("event position", e))?);
    let body: &str = row.try_get("body").map_err(|e| corrupt("event body", e))?;
    let event = LogEntry::decode(body)?;
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

/// The log's rows: workspace, name, time, profile, body.
const EVENTS: PaddedInsert =
    PaddedInsert::new("INSERT INTO events (workspace_id, name, ts, profile_id, body)", 5);

/// An open write transaction on the single writer connection.
pub(crate) struct SqliteLogTransaction {
    tx: Transaction<'static, Sqlite>,
    key: Arc<MessageIdKey>,
    claimed: Vec<Digest>,
    writer: SqlitePool,
}

impl SqliteLogTransaction {
    pub(crate) async fn begin(store: &SqliteStore) -> Result<Self, StoreError> {
        Ok(Self {
            tx: store.begin_write().await?,
            key: store.message_ids.clone(),
            claimed: Vec::new(),
            writer: store.writer.clone(),
        })
    }
}

#[async_trait]
impl LogTransaction for SqliteLogTransaction {
    async fn claim_message_ids(&mut self, events: &[&NewEvent]) -> Result<Vec<bool>, StoreError> {
        let mut mine: HashSet<Digest> = self.claimed.iter().copied().collect();
        let mut fresh = Vec::with_capacity(events.len());
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            let d = digest(event);
            let new = !self.key.contains(&d) && mine.insert(d);
            if new {
                rows.push((d, event.received_at.as_millisecond()));
            }
            fresh.push(new);
        }
        message_ids::insert(&mut self.tx, &rows).await?;
        self.claimed.extend(rows.into_iter().map(|(d, _)| d));
        Ok(fresh)
    }

    async fn append(
        &mut self,
        entries: &[(&LogEntry, Option<ProfileId>)],
    ) -> Result<Vec<LogPosition>, StoreError> {
        let mut positions = Vec::with_capacity(entries.len());
        for (rows, shape) in EVENTS.statements(entries.len()) {
            let mut query = EVENTS.query(shape);
            for (entry, profile) in &entries[rows.clone()] {
                let e = &entry.event;
                query = query
                    .bind(e.workspace_id.as_str())
                    .bind(e.name.as_ref().map(|n| n.as_str()))
                    .bind(e.timestamp.as_millisecond())
                    .bind(profile.map(|p| p.to_string()))
                    .bind(entry.body.as_str());
            }
            let done = EVENTS
                .pad(query, rows.len(), shape)
                .execute(&mut *self.tx)
                .await
                .map_err(not_written)?;
            if done.rows_affected() != rows.len() as u64 {
                return Err(StoreError::NotWritten(format!(
                    "{} of {} events inserted",
                    done.rows_affected(),
                    rows.len()
                )));
            }
            // One INSERT under the write lock takes consecutive positions (AUTOINCREMENT
            // never reuses one), in the order the rows were bound, ending at the last
            // inserted rowid.
            let last = done.last_insert_rowid();
            let first = last - rows.len() as i64 + 1;
            positions.extend((first..=last).map(LogPosition));
        }
        Ok(positions)
    }

    async fn apply(&mut self, changes: &WorkspaceChanges) -> Result<(), StoreError> {
        apply_changes(&mut self.tx, changes).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Self {
            tx,
            key,
            claimed,
            writer,
        } = *self;
        match tx.commit().await {
            Ok(()) => {
                key.extend(claimed);
                Ok(())
            }
            Err(error) => {
                // The commit may have landed even though it reported failure: the table,
                // not this transaction, says which ids are now claimed, so that a retry
                // of those events is recognised as a duplicate.
                if let Err(reload) = key.load(&writer).await {
                    tracing::error!(error = %reload, "reloading message ids after a failed commit");
                }
                Err(unknown(error))
            }
        }
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn LogTransaction>, StoreError> {
        Ok(Box::new(SqliteLogTransaction::begin(self).await?))
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

    async fn read_encoded_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<EncodedEvent>, StoreError> {
        let rows: Vec<(i64, Option<String>, String)> =
            sqlx::query_as("SELECT seq, profile_id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after.0)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(not_written)?;
        rows.into_iter()
            .map(|(seq, profile, body)| {
                let profile_id = profile
                    .as_deref()
                    .map(ProfileId::parse)
                    .transpose()
                    .map_err(|e| corrupt("event profile", e))?;
                Ok(EncodedEvent {
                    position: LogPosition(seq),
                    profile_id,
                    body,
                })
            })
            .collect()
    }

    async fn head(&self) -> Result<LogPosition, StoreError> {
        // sqlite_sequence keeps the highest position ever assigned, even after deletes.
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?;
        Ok(LogPosition(seq.unwrap_or(0)))
    }

    async fn events_at(&self, positions: &[LogPosition]) -> Result<Vec<StoredEvent>, StoreError> {
        let mut found: HashMap<LogPosition, StoredEvent> = HashMap::with_capacity(positions.len());
        let mut offset = 0;
        for size in chunk_sizes(positions.len()) {
            let sql = format!(
                "SELECT seq, profile_id, body FROM events WHERE seq IN ({})",
                vec!["?"; size].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for position in &positions[offset..offset + size] {
                query = query.bind(position.0);
            }
            for row in query.fetch_all(&self.reader).await.map_err(not_written)? {
                let event = decode_event(&row)?;
                found.insert(event.position, event);
            }
            offset += size;
        }
        Ok(positions.iter().filter_map(|p| found.remove(p)).collect())
    }

    async fn placements(&self, after: LogPosition, limit: u32) -> Result<Vec<Placement>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, workspace_id, profile_id, ts FROM events INDEXED BY events_placement \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let workspace: &str = row
                    .try_get("workspace_id")
                    .map_err(|e| corrupt("event workspace", e))?;
                let profile: Option<&str> = row
                    .try_get("profile_id")
                    .map_err(|e| corrupt("event profile", e))?;
                Ok(Placement {
                    position: LogPosition(row.try_get("seq").map_err(|e| corrupt("event position", e))?),
                    workspace_id: WorkspaceId::parse(workspace).map_err(|e| corrupt("event workspace", e))?,
                    profile_id: profile
                        .map(ProfileId::parse)
                        .transpose()
                        .map_err(|e| corrupt("event profile", e))?,
                    timestamp_ms: row.try_get("ts").map_err(|e| corrupt("event time", e))?,
                })
            })
            .collect()
    }

    async fn prune_message_ids(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.message_ids.prune(&self.writer, cutoff_ms).await
    }
}
