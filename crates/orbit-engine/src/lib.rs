//! Orbit's stateful runtime.
//!
//! - [`pipeline`]: the ingest pipeline, one task that owns writes to the event log and
//!   the profiles. Each commit claims message ids, resolves identities (OneID), appends
//!   the new events with their profiles and stores the profile changes in one
//!   transaction, and only then acknowledges the requests it served (group commit).
//! - [`timeline`]: every profile's events by time, kept in memory.
//! - [`snapshot`]: the engine's memory on disk, so that start-up replays only the log
//!   after it; [`startup`] chooses between it and the whole log.
//! - [`maintenance`]: periodic upkeep.
//! - [`metrics`]: what the engine reports to Prometheus.

pub mod audience;
pub mod clock;
pub mod delivery;
pub mod journeys;
pub mod maintenance;
pub mod metrics;
pub mod pipeline;
mod resolver;
pub mod service;
pub mod snapshot;
pub mod startup;
mod sync;
pub mod timeline;

pub use clock::EngineClock;
pub use orbit_store::{AppendOutcome, StoreError};
pub use pipeline::{IngestPipeline, PipelineHandle};
pub use service::{Audiences, Delivery, Engine, EngineSettings, KeyHasher, Keys};
pub use startup::{StartupReport, StartupSource};
pub use timeline::TimelineCursor;

/// What went wrong inside the engine, as callers see it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request was refused: what is wrong, and where. Nothing was changed.
    #[error(transparent)]
    Rejected(#[from] orbit_core::Problem),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] orbit_store::StoreError),
    /// The engine has stopped (shutdown or a fatal storage error).
    #[error("the engine is not running")]
    Stopped,
    /// The profile does not exist.
    #[error("no such profile")]
    ProfileNotFound,
    /// The engine could not start (a thread or runtime could not be made).
    #[error("the engine could not start: {0}")]
    Start(String),
}
