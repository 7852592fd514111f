//! Snapshots of the engine's memory (ADR 0010): the audience indexes, from which the
//! profiles' timelines follow, written to the data directory keyed by the log position
//! they reflect.
//!
//! The log stays the source of truth. A snapshot only shortens start-up to reading it,
//! bringing it up to date with the stored profiles and baselines, and replaying the log
//! after its position (the tail); start-up that cannot use one (none, another format
//! or schema, truncated, corrupt, from another log, a baseline it does not rest on)
//! says why and rebuilds from the whole log.
//!
//! The file lives here rather than behind a store port: it is this process's own
//! memory, rebuilt from the log when lost, and in the scale-out roles each engine
//! process holds different partitions; a blob of hundreds of megabytes in the database
//! would also be written through its WAL.

mod file;
mod writer;

pub use file::{Body, FORMAT_VERSION, SCHEMA, Snapshot, SnapshotError, SnapshotFile, Written};
pub use writer::{SnapshotPolicy, Snapshotter};

#[cfg(test)]
mod tests;
