//! Start-up on the data `orbit bench ingest` wrote, from the engine snapshot and from
//! the whole log, in the same run: the whole log is the baseline.

use crate::config::Config;
use crate::serve;
use orbit_engine::StartupSource;
use orbit_engine::snapshot::{SnapshotFile, Written};
use std::time::{Duration, Instant};

/// One start-up: the whole of it (store opened, catalogs loaded, tags computed) and
/// the engine's part.
struct Restart {
    total: Duration,
    startup: orbit_engine::StartupReport,
}

fn rate(events: usize, took: Duration) -> f64 {
    events as f64 / took.as_secs_f64()
}

/// Measures start-up from the snapshot `written` at the first server's shutdown,
/// from the whole log with the snapshot moved aside, and from the snapshot again.
pub async fn measure(config: &Config, events: usize, written: Option<Written>) -> anyhow::Result<()> {
    let file = SnapshotFile::in_dir(&config.data_dir);
    if let Some(written) = written {
        println!(
            "  snapshot  written in {:.2} s: {:.1} MiB ({:.0} bytes/event)",
            written.took.as_secs_f64(),
            written.bytes as f64 / 1_048_576.0,
            written.bytes as f64 / events as f64
        );
    }
    let first = restart(config).await?;
    anyhow::ensure!(
        matches!(first.startup.source, StartupSource::Snapshot(_)),
        "start-up did not use the snapshot: {:?}",
        first.startup.refused
    );
    let aside = file.path().with_extension("snapshot.aside");
    std::fs::rename(file.path(), &aside)?;
    let full = restart(config).await?;
    anyhow::ensure!(
        full.startup.source == StartupSource::Log,
        "the snapshot was not moved aside"
    );
    std::fs::rename(&aside, file.path())?;
    let again = restart(config).await?;
    for (label, run) in [
        ("restart   from the whole log (baseline):   ", &full),
        ("restart   from the snapshot and its tail:  ", &first),
        ("restart   from the snapshot, again:        ", &again),
    ] {
        println!(
            "  {label}{:>10.0} events/s  ({:.2} s; engine memory {:.2} s = {:.0} events/s: profiles {:.2} s, \
             timelines and indexes {:.2} s = {:.0} events/s; {} events replayed)",
            rate(events, run.total),
            run.total.as_secs_f64(),
            run.startup.took.as_secs_f64(),
            rate(events, run.startup.took),
            run.startup.profiles_took.as_secs_f64(),
            run.startup.indexes_took.as_secs_f64(),
            rate(events, run.startup.indexes_took),
            run.startup.replayed
        );
    }
    let best = first.total.min(again.total);
    let best_engine = first.startup.took.min(again.startup.took);
    let best_indexes = first.startup.indexes_took.min(again.startup.indexes_took);
    println!(
        "  ratio     whole log / snapshot: {:.1}x the whole start-up, {:.1}x the engine memory, \
         {:.1}x the timelines and indexes (snapshot read and decoded in {:.2} s beside the profiles)",
        full.total.as_secs_f64() / best.as_secs_f64(),
        full.startup.took.as_secs_f64() / best_engine.as_secs_f64(),
        full.startup.indexes_took.as_secs_f64() / best_indexes.as_secs_f64(),
        first
            .startup
            .snapshot_took
            .min(again.startup.snapshot_took)
            .as_secs_f64()
    );
    Ok(())
}

async fn restart(config: &Config) -> anyhow::Result<Restart> {
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = serve::start(config, async move {
        let _ = stopped.await;
    })
    .await?;
    let total = started.elapsed();
    let startup = running.startup.clone();
    let _ = stop.send(());
    running.stopped().await?;
    Ok(Restart { total, startup })
}
