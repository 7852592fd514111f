//! Orbit's stateful runtime.
//!
//! - [`writer`]: the ingest writer, which appends events to the log with group commit
//!   and acknowledges them only once durable;
//! - [`profiles`]: the profile engine, which applies the log in order — identity
//!   resolution, traits, merges — and commits its results with its checkpoint.

pub mod maintenance;
pub mod profiles;
pub mod writer;

pub use profiles::{ProfileEngine, ProfileEngineHandle};
pub use writer::{IngestWriter, WriterClosed};

/// What went wrong inside the engine, as callers see it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] orbit_store::StoreError),
    /// The engine has stopped (shutdown or a fatal storage error).
    #[error("the engine is not running")]
    Stopped,
    /// The profile does not exist.
    #[error("no such profile")]
    ProfileNotFound,
}
