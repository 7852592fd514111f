//! The engine's metrics, recorded through the `metrics` facade.

/// Describes the engine's metrics to whichever recorder is installed.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "orbit_ingest_commit_duration_seconds",
        Unit::Seconds,
        "Time of one ingest commit: claim, resolve, append, store profiles, sync"
    );
    describe_histogram!(
        "orbit_ingest_commit_phase_seconds",
        Unit::Seconds,
        "Time of one ingest commit's phases: begin (the write lock), claim (message ids), resolve (OneID), append (events), profiles (changed profiles), sync (the durable commit), timelines, audiences"
    );
    describe_histogram!(
        "orbit_ingest_commit_events",
        "Events grouped into one ingest commit"
    );
    describe_counter!(
        "orbit_ingest_commit_failures_total",
        "Ingest commits that failed (their requests were answered with an error)"
    );
    describe_gauge!(
        "orbit_log_head_position",
        "Position of the newest durable event in the log"
    );
    describe_gauge!("orbit_profiles", "Live profiles held in memory, every workspace");
    describe_histogram!(
        "orbit_delivery_round_seconds",
        Unit::Seconds,
        "Time of one delivery round's phases: claim (due rows), settle (policy, render, send), record (outcomes)"
    );
    describe_counter!(
        "orbit_delivery_messages_total",
        "Ledger rows claimed and settled by the delivery worker"
    );
    describe_gauge!(
        "orbit_timeline_events",
        "Events on profile timelines held in memory"
    );
    describe_gauge!(
        "orbit_startup_seconds",
        Unit::Seconds,
        "Time start-up took to load the engine's memory"
    );
    describe_gauge!(
        "orbit_startup_replayed_events",
        "Events start-up read from the log: after the snapshot, or all of them"
    );
    describe_gauge!(
        "orbit_startup_snapshot_position",
        "Log position of the snapshot start-up loaded (0: rebuilt from the whole log)"
    );
    describe_histogram!(
        "orbit_snapshot_write_duration_seconds",
        Unit::Seconds,
        "Time to encode, write and sync one snapshot of the engine's memory"
    );
    describe_gauge!(
        "orbit_snapshot_bytes",
        Unit::Bytes,
        "Size of the newest snapshot of the engine's memory"
    );
    describe_gauge!(
        "orbit_snapshot_position",
        "Log position the newest snapshot written reflects"
    );
    describe_counter!(
        "orbit_snapshot_write_failures_total",
        "Snapshots that could not be written (the previous one is kept)"
    );
}

/// Records how start-up loaded the engine's memory; call once a recorder is installed.
pub fn record_startup(report: &crate::StartupReport) {
    metrics::gauge!("orbit_startup_seconds").set(report.took.as_secs_f64());
    metrics::gauge!("orbit_startup_replayed_events").set(report.replayed as f64);
    let position = match report.source {
        crate::StartupSource::Snapshot(position) => position.0,
        crate::StartupSource::Log => 0,
    };
    metrics::gauge!("orbit_startup_snapshot_position").set(position as f64);
    metrics::gauge!("orbit_timeline_events").set(report.events as f64);
    metrics::gauge!("orbit_profiles").set(report.profiles as f64);
}
