//! Start-up: the engine's memory from a snapshot and the log after it, or from the
//! whole log (ADR 0010).
//!
//! Profiles and settings are always read from the store, which holds them. The
//! audience indexes, and the timelines that follow from them, come from a snapshot
//! when one is usable, reconciled with what the store holds now and then given the
//! log after its position; from the whole log otherwise. Either way the result is the
//! same, which a property test checks.

use crate::audience::AudienceIndexes;
use crate::resolver::Resolver;
use crate::snapshot::{Snapshot, SnapshotFile};
use crate::timeline::Timelines;
use orbit_store::{LogPosition, StoreError, Stores};
use std::time::{Duration, Instant};

/// Where the engine's memory came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupSource {
    /// A snapshot at this position, and the log after it.
    Snapshot(LogPosition),
    /// The whole log.
    Log,
}

/// How start-up went.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupReport {
    /// Where the engine's memory came from.
    pub source: StartupSource,
    /// Why a snapshot that was there was not used.
    pub refused: Option<String>,
    /// Events read from the log: after the snapshot, or all of them.
    pub replayed: usize,
    /// Events held on timelines once started.
    pub events: usize,
    /// Live profiles held once started.
    pub profiles: usize,
    /// Time taken by the whole of start-up's loading.
    pub took: Duration,
    /// Of which loading the stored profiles.
    pub profiles_took: Duration,
    /// Of which, after the profiles, the timelines and indexes: from the snapshot
    /// (checked, reconciled, the tail replayed) or from the whole log.
    pub indexes_took: Duration,
    /// Reading and decoding the snapshot, on its own thread while the profiles load.
    pub snapshot_took: Duration,
}

/// The engine's memory, loaded.
pub(crate) struct Loaded {
    pub resolver: Resolver,
    pub timelines: Timelines,
    pub audiences: AudienceIndexes,
    pub report: StartupReport,
}

/// Loads the engine's memory, from `snapshot` when it is usable.
pub(crate) async fn load(stores: &Stores, snapshot: Option<&SnapshotFile>) -> Result<Loaded, StoreError> {
    let started = Instant::now();
    // Nothing appends before the pipeline starts: the indexes reflect the log up to its
    // head, erased positions at its end included.
    let head = stores.events.head().await?;
    let reading = snapshot.cloned().map(|file| {
        tokio::task::spawn_blocking(move || {
            file.remove_leftovers();
            let began = Instant::now();
            (file.read(), began.elapsed())
        })
    });
    let mut resolver = Resolver::load_profiles(stores).await?;
    let profiles_took = started.elapsed();
    let mut refused = None;
    let mut snapshot_took = Duration::ZERO;
    let read = match reading {
        Some(reading) => match reading.await {
            Ok((read, took)) => {
                snapshot_took = took;
                read.map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("reading the snapshot: {e}")),
        },
        None => Ok(None),
    };
    match read {
        Ok(Some(found)) => match from_snapshot(stores, &mut resolver, found).await? {
            Ok((timelines, mut audiences, tail)) => {
                audiences.advance(head);
                let report = StartupReport {
                    source: StartupSource::Snapshot(tail.position),
                    refused: None,
                    replayed: tail.events,
                    events: timelines.event_count(),
                    profiles: resolver.profile_count(),
                    took: started.elapsed(),
                    profiles_took,
                    indexes_took: started.elapsed().saturating_sub(profiles_took),
                    snapshot_took,
                };
                tracing::info!(
                    position = tail.position.0,
                    replayed = report.replayed,
                    events = report.events,
                    seconds = report.took.as_secs_f64(),
                    "engine memory loaded from a snapshot and the log after it"
                );
                return Ok(Loaded {
                    resolver,
                    timelines,
                    audiences,
                    report,
                });
            }
            Err(reason) => refused = Some(reason),
        },
        Ok(None) => {}
        Err(reason) => refused = Some(reason),
    }
    if let Some(reason) = &refused {
        tracing::warn!(reason = %reason, "the engine snapshot is not used; rebuilding from the whole log");
    }
    let rebuilding = Instant::now();
    let timelines = resolver.rebuild_timelines(stores).await?;
    let mut audiences = AudienceIndexes::load(stores, &resolver).await?;
    let indexes_took = rebuilding.elapsed();
    audiences.advance(head);
    let report = StartupReport {
        source: StartupSource::Log,
        refused,
        replayed: timelines.event_count(),
        events: timelines.event_count(),
        profiles: resolver.profile_count(),
        took: started.elapsed(),
        profiles_took,
        indexes_took,
        snapshot_took,
    };
    Ok(Loaded {
        resolver,
        timelines,
        audiences,
        report,
    })
}

/// The snapshot's position and the events replayed after it.
struct Tail {
    position: LogPosition,
    events: usize,
}

/// The indexes from `snapshot` and the log after it; `Err` with the reason when the
/// snapshot does not belong to this log or cannot be brought up to date.
async fn from_snapshot(
    stores: &Stores,
    resolver: &mut Resolver,
    snapshot: Snapshot,
) -> Result<Result<(Timelines, AudienceIndexes, Tail), String>, StoreError> {
    let position = snapshot.position;
    if let Err(reason) = check_log(stores, &snapshot).await? {
        return Ok(Err(reason));
    }
    let baselines = stores.segments.baselines().await?;
    let mut audiences =
        match AudienceIndexes::restore(snapshot.body.workspaces, position, resolver, &baselines) {
            Ok(audiences) => audiences,
            Err(error) => return Ok(Err(error.to_string())),
        };
    let replayed = audiences.replay(stores, resolver, position).await?;
    let timelines = audiences.timelines();
    resolver.see_newest(&timelines);
    Ok(Ok((
        timelines,
        audiences,
        Tail {
            position,
            events: replayed.events,
        },
    )))
}

/// Whether the snapshot was taken of this log: the log reaches its position, and the
/// event there, unless erased since, is the one it was taken after.
async fn check_log(stores: &Stores, snapshot: &Snapshot) -> Result<Result<(), String>, StoreError> {
    let head = stores.events.head().await?;
    if snapshot.position > head {
        return Ok(Err(format!(
            "the snapshot reflects the log up to position {}, but the log ends at {} \
             (a database restored from an older copy?)",
            snapshot.position.0, head.0
        )));
    }
    let at = stores
        .events
        .read_encoded_after(LogPosition(snapshot.position.0 - 1), 1)
        .await?;
    let other = at.first().is_some_and(|event| {
        event.position == snapshot.position
            && *blake3::hash(event.body.as_bytes()).as_bytes() != snapshot.anchor
    });
    if other {
        return Ok(Err(format!(
            "the event at position {} is not the one the snapshot was taken after (another database?)",
            snapshot.position.0
        )));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests;
