//! Writing snapshots of a running pipeline: on a schedule, after enough events, and
//! when asked (at shutdown).
//!
//! Commits wait only while the indexes are captured (timelines are shared, not
//! copied); compacting, encoding and writing run on a blocking thread after.

use super::file::{Body, SnapshotError, SnapshotFile, Written};
use crate::PipelineHandle;
use crate::audience::AudienceIndexes;
use crate::audience::index::Captured;
use orbit_core::Clock;
use orbit_store::{EventLog, LogPosition};
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// When snapshots are written, besides when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// At this interval, when the log moved since the last one.
    pub every: Option<Duration>,
    /// As soon as the log moved this many positions past the last one.
    pub after_events: Option<NonZeroU64>,
}

/// Writes snapshots of one pipeline's memory to one file; one per data directory.
pub struct Snapshotter {
    pipeline: PipelineHandle,
    events: Arc<dyn EventLog>,
    file: SnapshotFile,
    clock: Arc<dyn Clock>,
    /// Serialises writes; holds the position of the newest snapshot on disk.
    newest: Mutex<LogPosition>,
}

impl std::fmt::Debug for Snapshotter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshotter")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Snapshotter {
    /// A writer of `pipeline`'s snapshots to `file`; `newest` is the position of the
    /// snapshot already there and usable (0 for none).
    pub fn new(
        pipeline: PipelineHandle,
        events: Arc<dyn EventLog>,
        file: SnapshotFile,
        clock: Arc<dyn Clock>,
        newest: LogPosition,
    ) -> Self {
        Self {
            pipeline,
            events,
            file,
            clock,
            newest: Mutex::new(newest),
        }
    }

    /// Writes a snapshot of the indexes as they are now; `None` when the log has not
    /// moved since the newest one (or is empty), which then still holds.
    ///
    /// # Errors
    /// Reading the log, encoding or writing failed; the previous snapshot is intact.
    pub async fn write_now(&self) -> Result<Option<Written>, SnapshotError> {
        let mut newest = self.newest.lock().await;
        let (position, captured) = self.capture().await?;
        if position <= *newest {
            return Ok(None);
        }
        let anchor = self.anchor(position).await?;
        let written_at_ms = self.clock.now().as_millisecond();
        let file = self.file.clone();
        let written = tokio::task::spawn_blocking(move || {
            let body = Body {
                workspaces: captured
                    .into_iter()
                    .map(|(workspace, index)| (workspace, index.compact()))
                    .collect(),
            };
            file.write(position, anchor, written_at_ms, &body)
        })
        .await
        .map_err(|e| SnapshotError::Encode(format!("writing the snapshot: {e}")))?;
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                metrics::counter!("orbit_snapshot_write_failures_total").increment(1);
                return Err(error);
            }
        };
        *newest = position;
        metrics::histogram!("orbit_snapshot_write_duration_seconds").record(written.took.as_secs_f64());
        metrics::gauge!("orbit_snapshot_bytes").set(written.bytes as f64);
        metrics::gauge!("orbit_snapshot_position").set(position.0 as f64);
        tracing::info!(
            position = position.0,
            bytes = written.bytes,
            seconds = written.took.as_secs_f64(),
            "engine snapshot written"
        );
        Ok(Some(written))
    }

    /// Writes snapshots as `policy` says until the pipeline stops.
    pub async fn run(self: Arc<Self>, policy: SnapshotPolicy) {
        let mut head = self.pipeline.head();
        let mut ticker = policy.every.map(|every| {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker
        });
        loop {
            let tick = async {
                match ticker.as_mut() {
                    Some(ticker) => {
                        ticker.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let due = tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = head.borrow().0;
                    let moved = now - self.newest().await.0;
                    policy.after_events.is_some_and(|n| moved >= i64::try_from(n.get()).unwrap_or(i64::MAX))
                }
                () = tick => true,
            };
            if due && let Err(error) = self.write_now().await {
                tracing::warn!(error = %error, "writing an engine snapshot failed; the previous one is kept");
            }
        }
    }

    async fn newest(&self) -> LogPosition {
        *self.newest.lock().await
    }

    /// Captures the indexes between commits: one that is syncing holds them for a few
    /// milliseconds, and one that failed until the pipeline has rebuilt them.
    async fn capture(
        &self,
    ) -> Result<(LogPosition, Vec<(orbit_core::WorkspaceId, Captured)>), SnapshotError> {
        const ATTEMPTS: u32 = 200;
        for _ in 0..ATTEMPTS {
            let pipeline = self.pipeline.clone();
            let captured =
                tokio::task::spawn_blocking(move || pipeline.with_audiences(AudienceIndexes::capture))
                    .await
                    .map_err(|e| SnapshotError::Encode(format!("capturing the indexes: {e}")))?;
            if let Some(captured) = captured {
                return Ok(captured);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(SnapshotError::Encode(
            "capturing the indexes: a commit has been in flight for a second".into(),
        ))
    }

    /// The digest of the stored body of the event at `position`, which ties the
    /// snapshot to its log; zeros when that event has been erased since.
    async fn anchor(&self, position: LogPosition) -> Result<[u8; 32], SnapshotError> {
        let at = self
            .events
            .read_encoded_after(LogPosition(position.0 - 1), 1)
            .await
            .map_err(|e| {
                SnapshotError::Encode(format!("reading the event at the snapshot's position: {e}"))
            })?;
        Ok(at
            .first()
            .filter(|event| event.position == position)
            .map_or([0; 32], |event| *blake3::hash(event.body.as_bytes()).as_bytes()))
    }
}
