//! The event log on SQLite: multi-row inserts in one transaction per batch.

use crate::message_ids::CLAIMS;
use crate::message_ids::{Digest, MessageIdKey, digest};
use crate::padded::PaddedInsert;
use crate::profiles::{
    PROFILES, ProfileRow, apply_changes, apply_conflicts_and_erasures, apply_merges, bind_profiles,
    profile_rows,
};
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, unknown};
use async_trait::async_trait;
use foldhash::{HashMap, HashMapExt, HashSet};
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use orbit_store::{
    EncodedEvent, EventLog, LogEntry, LogPosition, LogTransaction, Placement, StoreError, StoredEvent,
    WorkspaceChanges,
};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, SqlitePool};
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

/// An open write transaction on the single writer connection, sent to SQLite in as few
/// round trips as its results allow (ADR 0012): `BEGIN`, the message-id claims and the
/// events in one, the changed profiles and `COMMIT` in another. The rare statements
/// of merges, conflicts and erasures go on their own in between.
///
/// `BEGIN` is written by hand, so sqlx does not know a transaction is open: a
/// transaction dropped before it committed closes its connection instead of handing it
/// back to the pool, and SQLite rolls it back.
pub(crate) struct SqliteLogTransaction {
    conn: PoolConnection<Sqlite>,
    /// Whether `BEGIN` has been sent.
    begun: bool,
    /// Whether `COMMIT` succeeded.
    committed: bool,
    key: Arc<MessageIdKey>,
    /// Claims not yet written: they go with the events.
    claims: Vec<(Digest, i64)>,
    /// Every digest this transaction claims.
    claimed: Vec<Digest>,
    /// Profile rows not yet written: they go with `COMMIT`.
    profiles: Vec<ProfileRow>,
    writer: SqlitePool,
}

impl SqliteLogTransaction {
    pub(crate) async fn begin(store: &SqliteStore) -> Result<Self, StoreError> {
        Ok(Self {
            conn: store.writer.acquire().await.map_err(not_written)?,
            begun: false,
            committed: false,
            key: store.message_ids.clone(),
            claims: Vec::new(),
            claimed: Vec::new(),
            profiles: Vec::new(),
            writer: store.writer.clone(),
        })
    }

    /// `BEGIN IMMEDIATE; ` when the transaction is still to be opened by the next
    /// statements sent.
    fn opening(&self) -> &'static str {
        if self.begun { "" } else { "BEGIN IMMEDIATE; " }
    }

    /// Sends `BEGIN` on its own, for statements that cannot carry it.
    async fn open(&mut self) -> Result<(), StoreError> {
        if !self.begun {
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut *self.conn)
                .await
                .map_err(not_written)?;
            self.begun = true;
        }
        Ok(())
    }
}

impl Drop for SqliteLogTransaction {
    fn drop(&mut self) {
        if self.begun && !self.committed {
            self.conn.close_on_drop();
        }
    }
}

#[async_trait]
impl LogTransaction for SqliteLogTransaction {
    async fn claim_message_ids(&mut self, events: &[&NewEvent]) -> Result<Vec<bool>, StoreError> {
        let mut mine: HashSet<Digest> = self.claimed.iter().copied().collect();
        let mut fresh = Vec::with_capacity(events.len());
        for event in events {
            let d = digest(event);
            let new = !self.key.contains(&d) && mine.insert(d);
            if new {
                self.claims.push((d, event.received_at.as_millisecond()));
                self.claimed.push(d);
            }
            fresh.push(new);
        }
        Ok(fresh)
    }

    async fn append(
        &mut self,
        entries: &[(&LogEntry, Option<ProfileId>)],
    ) -> Result<Vec<LogPosition>, StoreError> {
        let claims = std::mem::take(&mut self.claims);
        let claim_statements = CLAIMS.statements(claims.len());
        let event_statements = EVENTS.statements(entries.len());
        let mut sql = self.opening().to_owned();
        CLAIMS.push_sql(&mut sql, &claim_statements);
        // The events go last: the result's last rowid is the last event's position.
        EVENTS.push_sql(&mut sql, &event_statements);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (rows, shape) in claim_statements {
            for (digest, received_at) in &claims[rows.clone()] {
                query = query.bind(digest.to_vec()).bind(*received_at);
            }
            query = CLAIMS.pad(query, rows.len(), shape);
        }
        for (rows, shape) in event_statements {
            for (entry, profile) in &entries[rows.clone()] {
                let e = &entry.event;
                query = query
                    .bind(e.workspace_id.as_str())
                    .bind(e.name.as_ref().map(|n| n.as_str()))
                    .bind(e.timestamp.as_millisecond())
                    .bind(profile.map(|p| p.to_string()))
                    .bind(entry.body.as_str());
            }
            query = EVENTS.pad(query, rows.len(), shape);
        }
        let done = query.execute(&mut *self.conn).await;
        // A failed statement may follow a `BEGIN` that went through: the connection is
        // closed on drop either way.
        self.begun = true;
        // Each INSERT writes every row it is given or fails: no conflict clause skips
        // one, and the padding filter drops only rows whose first value is NULL.
        // (`rows_affected` cannot confirm it: SQLite reports `BEGIN` as having changed
        // what the previous statement changed.)
        let done = done.map_err(not_written)?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        // Under the write lock, AUTOINCREMENT gives the inserted rows consecutive
        // positions in the order they were bound (it never reuses one), ending at the
        // last inserted rowid.
        let last = done.last_insert_rowid();
        let first = last - entries.len() as i64 + 1;
        Ok((first..=last).map(LogPosition).collect())
    }

    async fn apply(&mut self, changes: &WorkspaceChanges) -> Result<(), StoreError> {
        let rare = !(changes.merges.is_empty()
            && changes.conflicts.is_empty()
            && changes.erased.is_empty()
            && changes.erased_events.is_empty());
        if rare {
            self.open().await?;
        }
        if !changes.erased.is_empty() {
            // An erasure removes profile rows: everything in order, nothing deferred.
            return apply_changes(&mut self.conn, changes).await;
        }
        apply_merges(&mut self.conn, changes).await?;
        self.profiles.extend(profile_rows(changes)?);
        apply_conflicts_and_erasures(&mut self.conn, changes).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let profiles = std::mem::take(&mut self.profiles);
        let statements = PROFILES.statements(profiles.len());
        let mut sql = self.opening().to_owned();
        PROFILES.push_sql(&mut sql, &statements);
        sql.push_str("COMMIT");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (rows, shape) in statements {
            query = PROFILES.pad(bind_profiles(query, &profiles[rows.clone()]), rows.len(), shape);
        }
        self.begun = true;
        match query.execute(&mut *self.conn).await {
            Ok(_) => {
                self.committed = true;
                self.key.extend(std::mem::take(&mut self.claimed));
                drop(self);
                // Handing the connection back makes the pool check it with a round
                // trip to SQLite's thread: let that start now, beside the caller's
                // work after the commit, rather than when the next one begins.
                tokio::task::yield_now().await;
                Ok(())
            }
            Err(error) => {
                // The commit may have landed even though it reported failure (or a
                // profile row failed before it): the table, not this transaction, says
                // which ids are now claimed, so that a retry of those events is
                // recognised as a duplicate.
                if let Err(reload) = self.key.load(&self.writer).await {
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
