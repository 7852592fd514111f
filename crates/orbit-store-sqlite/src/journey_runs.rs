//! Journey runs, their effects, node tallies and the runner's cursor on SQLite.
//!
//! A runner step's batch is written in one transaction with multi-row statements: one
//! statement per row would make each row a round trip to SQLite's connection thread,
//! which costs more than the row itself (as the send ledger found), on the runner's
//! hot path.

use crate::messaging::{millis, text, workspace};
use crate::rows::RowQuery;
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::journey::{Effect, Run, RunState};
use orbit_core::{JourneyId, NodeId, ProfileId, WorkspaceId};
use orbit_store::{
    EffectLane, EntrySummary, JourneyBatch, JourneyEffectRecord, JourneyRunStore, LogPosition, NodeCount,
    StoreError, StoredRun,
};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

pub(crate) fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

/// A multi-row `INSERT`: `head`, then `VALUES` with `columns` values a row, then `tail`
/// (its conflict clause).
pub(crate) struct MultiRow {
    pub(crate) head: &'static str,
    pub(crate) columns: usize,
    pub(crate) tail: &'static str,
}

impl MultiRow {
    /// Writes `rows` inside `tx`, binding each with `bind`, in the few statement shapes
    /// [`chunk_sizes`] allows so that prepared statements are reused from the cache;
    /// each shape stays far below SQLite's limit on bound values.
    pub(crate) async fn write<T>(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        rows: Vec<T>,
        bind: impl Fn(RowQuery, T) -> RowQuery,
    ) -> Result<(), StoreError> {
        let sizes = chunk_sizes(rows.len());
        let mut rows = rows.into_iter();
        for size in sizes {
            let sql = format!(
                "{} VALUES {} {}",
                self.head,
                crate::placeholders(size, self.columns),
                self.tail
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for row in rows.by_ref().take(size) {
                query = bind(query, row);
            }
            query.execute(&mut **tx).await.map_err(not_written)?;
        }
        Ok(())
    }
}

/// A run replaces the stored one with its key, all but when it entered.
static RUNS: MultiRow = MultiRow {
    head: "INSERT INTO journey_runs (workspace_id, journey_id, profile_id, entry, version, \
           entry_key, status, node, due_at, state, entered_at, updated_at)",
    columns: 12,
    tail: "ON CONFLICT (workspace_id, journey_id, profile_id, entry) DO UPDATE SET \
           version = excluded.version, entry_key = excluded.entry_key, status = excluded.status, \
           node = excluded.node, due_at = excluded.due_at, state = excluded.state, \
           updated_at = excluded.updated_at",
};

/// An effect already stored under its id is kept as it is: a replayed step decides the
/// same effects again, and the first may already be under way.
static EFFECTS: MultiRow = MultiRow {
    head: "INSERT INTO journey_effects (id, workspace_id, journey_id, version, profile_id, effect, \
           created_at, outbound)",
    columns: 8,
    tail: "ON CONFLICT (id) DO NOTHING",
};

/// Counts are added to the tally, also when one batch names a node twice.
pub(crate) static COUNTS: MultiRow = MultiRow {
    head: "INSERT INTO journey_node_counts (workspace_id, journey_id, version, node, outcome, count)",
    columns: 6,
    tail: "ON CONFLICT (workspace_id, journey_id, version, node, outcome) DO UPDATE SET \
           count = count + excluded.count",
};

/// A run's row values, encoded before the transaction opens so that a value that does
/// not encode fails the batch before anything is written.
struct RunRow<'a> {
    stored: &'a StoredRun,
    status: &'static str,
    node: Option<&'a str>,
    due_at: Option<i64>,
    state: String,
}

impl<'a> RunRow<'a> {
    fn of(stored: &'a StoredRun) -> Result<Self, StoreError> {
        let (status, node, due_at) = match &stored.run.state {
            RunState::Entering => ("entering", None, None),
            RunState::Waiting { node, until, .. } => {
                ("waiting", Some(node.as_str()), Some(until.as_millisecond()))
            }
            RunState::Exited { node, .. } => ("exited", node.as_ref().map(NodeId::as_str), None),
        };
        Ok(Self {
            stored,
            status,
            node,
            due_at,
            state: encode("a journey run", &stored.run)?,
        })
    }

    fn bind(self, query: RowQuery) -> RowQuery {
        let run = &self.stored.run;
        query
            .bind(self.stored.workspace_id.as_str())
            .bind(run.journey.as_str())
            .bind(run.profile.to_string())
            .bind(run.entry.as_str())
            .bind(i64::from(run.version))
            .bind(run.key.as_deref())
            .bind(self.status)
            .bind(self.node)
            .bind(self.due_at)
            .bind(self.state)
            .bind(run.entered_at.as_millisecond())
            .bind(self.stored.updated_at.as_millisecond())
    }
}

fn bind_effect(query: RowQuery, (record, effect): (&JourneyEffectRecord, String)) -> RowQuery {
    query
        .bind(record.id.as_str())
        .bind(record.workspace_id.as_str())
        .bind(record.journey_id.as_str())
        .bind(i64::from(record.version))
        .bind(record.profile_id.to_string())
        .bind(effect)
        .bind(record.created_at.as_millisecond())
        .bind(i64::from(
            EffectLane::of(&record.effect.action) == EffectLane::Outbound,
        ))
}

pub(crate) fn bind_count(query: RowQuery, (count, n): (&NodeCount, i64)) -> RowQuery {
    query
        .bind(count.workspace_id.as_str())
        .bind(count.journey_id.as_str())
        .bind(i64::from(count.version))
        .bind(count.node.as_str())
        .bind(count.outcome.as_str())
        .bind(n)
}

/// Node counts with their values as SQLite stores them.
pub(crate) fn encode_counts(counts: &[NodeCount]) -> Result<Vec<(&NodeCount, i64)>, StoreError> {
    counts
        .iter()
        .map(|count| {
            let n = i64::try_from(count.count)
                .map_err(|e| StoreError::NotWritten(format!("encoding a node count: {e}")))?;
            Ok((count, n))
        })
        .collect()
}

pub(crate) fn journey_id(row: &SqliteRow, what: &str) -> Result<JourneyId, StoreError> {
    JourneyId::parse(&text(row, what, "journey_id")?).map_err(|e| corrupt(what, e))
}

pub(crate) fn profile_id(row: &SqliteRow, what: &str) -> Result<ProfileId, StoreError> {
    ProfileId::parse(&text(row, what, "profile_id")?).map_err(|e| corrupt(what, e))
}

fn version(row: &SqliteRow, what: &str) -> Result<u32, StoreError> {
    let version: i64 = row.try_get("version").map_err(|e| corrupt(what, e))?;
    u32::try_from(version).map_err(|e| corrupt(what, e))
}

/// A run from its document, with the workspace and last move kept beside it.
fn decode_run(row: &SqliteRow) -> Result<StoredRun, StoreError> {
    let what = "journey run";
    let state: &str = row.try_get("state").map_err(|e| corrupt(what, e))?;
    let run: Run = serde_json::from_str(state).map_err(|e| corrupt(what, e))?;
    Ok(StoredRun {
        workspace_id: workspace(row, what)?,
        run,
        updated_at: millis(row, what, "updated_at")?,
    })
}

fn decode_effect(row: &SqliteRow) -> Result<JourneyEffectRecord, StoreError> {
    let what = "journey effect";
    let effect: &str = row.try_get("effect").map_err(|e| corrupt(what, e))?;
    let effect: Effect = serde_json::from_str(effect).map_err(|e| corrupt(what, e))?;
    Ok(JourneyEffectRecord {
        id: text(row, what, "id")?,
        workspace_id: workspace(row, what)?,
        journey_id: journey_id(row, what)?,
        version: version(row, what)?,
        profile_id: profile_id(row, what)?,
        effect,
        created_at: millis(row, what, "created_at")?,
    })
}

fn decode_summary(row: &SqliteRow) -> Result<EntrySummary, StoreError> {
    let what = "journey entry summary";
    let entries: i64 = row.try_get("entries").map_err(|e| corrupt(what, e))?;
    let active: i64 = row.try_get("active").map_err(|e| corrupt(what, e))?;
    Ok(EntrySummary {
        workspace_id: workspace(row, what)?,
        journey_id: journey_id(row, what)?,
        profile_id: profile_id(row, what)?,
        key: row.try_get("entry_key").map_err(|e| corrupt(what, e))?,
        entries: u32::try_from(entries).map_err(|e| corrupt(what, e))?,
        last_entered_at: millis(row, what, "last_entered_at")?,
        active: active != 0,
    })
}

fn decode_count(row: &SqliteRow) -> Result<NodeCount, StoreError> {
    let what = "journey node count";
    let count: i64 = row.try_get("count").map_err(|e| corrupt(what, e))?;
    Ok(NodeCount {
        workspace_id: workspace(row, what)?,
        journey_id: journey_id(row, what)?,
        version: version(row, what)?,
        node: NodeId::parse(&text(row, what, "node")?).map_err(|e| corrupt(what, e))?,
        outcome: text(row, what, "outcome")?,
        count: u64::try_from(count).map_err(|e| corrupt(what, e))?,
    })
}

#[async_trait]
impl JourneyRunStore for SqliteStore {
    async fn commit_journey_batch(&self, batch: &JourneyBatch) -> Result<(), StoreError> {
        let runs: Vec<RunRow<'_>> = batch.runs.iter().map(RunRow::of).collect::<Result<_, _>>()?;
        let effects: Vec<(&JourneyEffectRecord, String)> = batch
            .effects
            .iter()
            .map(|record| Ok((record, encode("a journey effect", &record.effect)?)))
            .collect::<Result<_, StoreError>>()?;
        let counts = encode_counts(&batch.counts)?;
        let entries = crate::journey_entries::EntryRows::of(batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        // Returning early drops the transaction, which rolls it back: all or nothing.
        let mut tx = self.begin_write().await?;
        RUNS.write(&mut tx, runs, |query, run| run.bind(query)).await?;
        EFFECTS.write(&mut tx, effects, bind_effect).await?;
        COUNTS.write(&mut tx, counts, bind_count).await?;
        entries.write(&mut tx).await?;
        crate::journey_people::delete_moved(&mut tx, &batch.moved).await?;
        if let Some(LogPosition(position)) = batch.cursor {
            // A stale or replayed batch naming an earlier position must not make events
            // already matched be matched again: MAX.
            sqlx::query(
                "INSERT INTO journey_cursor (id, position) VALUES (0, ?) \
                 ON CONFLICT (id) DO UPDATE SET position = MAX(position, excluded.position)",
            )
            .bind(position)
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)
    }

    async fn journey_cursor(&self) -> Result<LogPosition, StoreError> {
        let position: Option<i64> = sqlx::query_scalar("SELECT position FROM journey_cursor WHERE id = 0")
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?;
        Ok(LogPosition(position.unwrap_or(0)))
    }

    async fn active_runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        sqlx::query("SELECT workspace_id, state, updated_at FROM journey_runs WHERE status != 'exited'")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_run)
            .collect()
    }

    async fn entry_summaries(&self) -> Result<Vec<EntrySummary>, StoreError> {
        sqlx::query(
            "SELECT workspace_id, journey_id, profile_id, entry_key, COUNT(*) AS entries, \
             MAX(entered_at) AS last_entered_at, MAX(status != 'exited') AS active \
             FROM journey_runs GROUP BY workspace_id, journey_id, profile_id, entry_key",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_summary)
        .collect()
    }

    async fn profile_runs(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
    ) -> Result<Vec<StoredRun>, StoreError> {
        // Without statistics the planner prefers the primary key's workspace prefix,
        // which scans every run of the workspace; the index finds the person's few.
        // Entries at the same moment come in a fixed order, not the table's.
        sqlx::query(
            "SELECT workspace_id, state, updated_at FROM journey_runs \
             INDEXED BY journey_runs_by_profile WHERE workspace_id = ? AND profile_id = ? \
             ORDER BY entered_at DESC, journey_id, entry",
        )
        .bind(workspace.as_str())
        .bind(profile.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_run)
        .collect()
    }

    async fn node_counts(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
    ) -> Result<Vec<NodeCount>, StoreError> {
        sqlx::query(
            "SELECT * FROM journey_node_counts WHERE workspace_id = ? AND journey_id = ? \
             ORDER BY version, node, outcome",
        )
        .bind(workspace.as_str())
        .bind(journey.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_count)
        .collect()
    }

    async fn pending_effects(&self, limit: u32) -> Result<Vec<JourneyEffectRecord>, StoreError> {
        sqlx::query("SELECT * FROM journey_effects WHERE done_at IS NULL ORDER BY created_at, id LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_effect)
            .collect()
    }

    async fn pending_effects_in(
        &self,
        lane: EffectLane,
        limit: u32,
    ) -> Result<Vec<JourneyEffectRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM journey_effects WHERE done_at IS NULL AND outbound = ? \
             ORDER BY created_at, id LIMIT ?",
        )
        .bind(i64::from(lane == EffectLane::Outbound))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_effect)
        .collect()
    }

    async fn complete_effects(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut rest = ids;
        for size in chunk_sizes(ids.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            // An effect done twice keeps the time it was first done.
            let sql = format!(
                "UPDATE journey_effects SET done_at = ? WHERE done_at IS NULL AND id IN ({})",
                vec!["?"; size].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(at.as_millisecond());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.execute(&mut *tx).await.map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)
    }

    async fn prune_done_effects(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let pruned = sqlx::query("DELETE FROM journey_effects WHERE done_at IS NOT NULL AND done_at < ?")
            .bind(before.as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?
            .rows_affected();
        tx.commit().await.map_err(unknown)?;
        Ok(pruned)
    }

    async fn date_timers(&self) -> Result<Vec<orbit_store::DateTimerRecord>, StoreError> {
        self.read_date_timers().await
    }

    async fn entry_marks(&self) -> Result<Vec<orbit_store::EntryMark>, StoreError> {
        self.read_entry_marks().await
    }

    async fn erase_journey_people(
        &self,
        workspace: &WorkspaceId,
        profiles: &[ProfileId],
        counts: &[NodeCount],
    ) -> Result<(), StoreError> {
        self.erase_from_journeys(workspace, profiles, counts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use orbit_core::journey::{Action, ExitReason};

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_767_225_600_000 + ms).expect("a valid time")
    }

    fn node(id: &str) -> NodeId {
        NodeId::parse(id).expect("a valid node id")
    }

    async fn open() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(&dir.path().join("orbit.db"), Durability::Full)
            .await
            .expect("opens");
        (store, dir)
    }

    fn waiting_run() -> StoredRun {
        StoredRun {
            workspace_id: WorkspaceId::default_workspace(),
            run: Run {
                journey: JourneyId::parse("order-care").expect("a valid id"),
                version: 2,
                profile: ProfileId::mint(at(0), 1),
                entry: "evt-1".into(),
                key: Some("订单-1".into()),
                entered_at: at(10),
                entry_event: None,
                wait_event: None,
                steps: 1,
                state: RunState::Waiting {
                    node: node("wait"),
                    until: at(86_400_000),
                    for_event: true,
                },
                path: Default::default(),
            },
            updated_at: at(10),
        }
    }

    type Columns = (String, Option<String>, Option<i64>, Option<String>, i64, i64, i64);

    async fn columns(store: &SqliteStore) -> Columns {
        sqlx::query_as(
            "SELECT status, node, due_at, entry_key, version, entered_at, updated_at FROM journey_runs",
        )
        .fetch_one(&store.reader)
        .await
        .expect("the row")
    }

    // The port reads runs back from their documents only, so only a look at the row
    // shows whether the columns the queries filter on follow the run.
    #[tokio::test]
    async fn the_indexed_columns_follow_the_run_and_keep_its_entry_time() {
        let (store, _dir) = open().await;
        let mut stored = waiting_run();
        let batch = |stored: &StoredRun| JourneyBatch {
            runs: vec![stored.clone()],
            ..JourneyBatch::default()
        };
        store
            .commit_journey_batch(&batch(&stored))
            .await
            .expect("committed");
        let waiting = columns(&store).await;
        assert_eq!(
            waiting,
            (
                "waiting".to_owned(),
                Some("wait".to_owned()),
                Some(at(86_400_000).as_millisecond()),
                Some("订单-1".to_owned()),
                2,
                at(10).as_millisecond(),
                at(10).as_millisecond(),
            )
        );

        stored.run.state = RunState::Exited {
            node: None,
            reason: ExitReason::Goal,
            at: at(500),
        };
        // A moved run never enters again: the stored entry time stays the first.
        stored.run.entered_at = at(400);
        stored.updated_at = at(500);
        store
            .commit_journey_batch(&batch(&stored))
            .await
            .expect("committed");
        let (status, node, due_at, _, _, entered_at, updated_at) = columns(&store).await;
        assert_eq!(
            (status.as_str(), node, due_at, entered_at, updated_at),
            (
                "exited",
                None,
                None,
                at(10).as_millisecond(),
                at(500).as_millisecond()
            )
        );
        store.close().await;
    }

    // A statement failing part-way through a batch, after its runs and effects were
    // written, must take them back with it.
    #[tokio::test]
    async fn a_batch_failing_part_way_leaves_nothing_behind() {
        let (store, _dir) = open().await;
        sqlx::raw_sql(
            "CREATE TRIGGER refuse_counts BEFORE INSERT ON journey_node_counts \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store.writer)
        .await
        .expect("created");
        let run = waiting_run();
        let batch = JourneyBatch {
            effects: vec![JourneyEffectRecord {
                id: "fx-1".into(),
                workspace_id: run.workspace_id.clone(),
                journey_id: run.run.journey.clone(),
                version: 2,
                profile_id: run.run.profile,
                effect: Effect {
                    node: node("tag"),
                    origin: "journey:order-care:tag:evt-1:1".into(),
                    action: Action::AddTag {
                        tag: "tier".into(),
                        value: "gold".into(),
                    },
                },
                created_at: at(10),
            }],
            counts: vec![NodeCount {
                workspace_id: run.workspace_id.clone(),
                journey_id: run.run.journey.clone(),
                version: 2,
                node: node("wait"),
                outcome: String::new(),
                count: 1,
            }],
            cursor: Some(LogPosition(9)),
            runs: vec![run],
            ..JourneyBatch::default()
        };
        assert!(matches!(
            store.commit_journey_batch(&batch).await,
            Err(StoreError::NotWritten(_))
        ));
        assert_eq!(store.active_runs().await.expect("read"), vec![]);
        assert_eq!(store.pending_effects(10).await.expect("read"), vec![]);
        assert_eq!(store.journey_cursor().await.expect("read"), LogPosition(0));
        store.close().await;
    }
}
