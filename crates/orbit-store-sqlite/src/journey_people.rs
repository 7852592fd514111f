//! What people's merges and erasures change in the journey runner's tables: a run
//! carried over to the surviving person leaves its old row, and an erased person
//! leaves no run and no pending effect behind.

use crate::journey_runs::{COUNTS, bind_count, encode_counts};
use crate::{SqliteStore, chunk_sizes, not_written, unknown};
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::{MovedRun, NodeCount, StoreError};
use sqlx::{AssertSqlSafe, Sqlite, Transaction};

/// Deletes the rows runs had under the people merged away, inside the batch's
/// transaction.
pub(crate) async fn delete_moved(
    tx: &mut Transaction<'static, Sqlite>,
    moved: &[MovedRun],
) -> Result<(), StoreError> {
    for run in moved {
        sqlx::query(
            "DELETE FROM journey_runs WHERE workspace_id = ? AND journey_id = ? AND profile_id = ? \
             AND entry = ?",
        )
        .bind(run.workspace_id.as_str())
        .bind(run.journey_id.as_str())
        .bind(run.from.to_string())
        .bind(run.entry.as_str())
        .execute(&mut **tx)
        .await
        .map_err(not_written)?;
    }
    Ok(())
}

impl SqliteStore {
    /// `JourneyRunStore::erase_journey_people`: tallies, then every run of the people
    /// and their effects not yet done, in one transaction.
    pub(crate) async fn erase_from_journeys(
        &self,
        workspace: &WorkspaceId,
        profiles: &[ProfileId],
        counts: &[NodeCount],
    ) -> Result<(), StoreError> {
        let counts = encode_counts(counts)?;
        if profiles.is_empty() && counts.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = profiles.iter().map(ProfileId::to_string).collect();
        let mut tx = self.begin_write().await?;
        COUNTS.write(&mut tx, counts, bind_count).await?;
        let mut rest = ids.as_slice();
        for size in chunk_sizes(ids.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let list = vec!["?"; size].join(", ");
            // The person's index finds their few runs among everyone's.
            let runs = format!(
                "DELETE FROM journey_runs INDEXED BY journey_runs_by_profile \
                 WHERE workspace_id = ? AND profile_id IN ({list})"
            );
            // Only effects not yet done are looked at: the pending index holds those.
            let effects = format!(
                "DELETE FROM journey_effects WHERE done_at IS NULL AND workspace_id = ? \
                 AND profile_id IN ({list})"
            );
            // Dates set after their events carry those events.
            let dates =
                format!("DELETE FROM journey_date_timers WHERE workspace_id = ? AND profile_id IN ({list})");
            for sql in [runs, effects, dates] {
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace.as_str());
                for id in chunk {
                    query = query.bind(id.as_str());
                }
                query.execute(&mut *tx).await.map_err(not_written)?;
            }
        }
        tx.commit().await.map_err(unknown)
    }
}
