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
}
