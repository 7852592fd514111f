//! The event log: append-only, totally ordered, the source of truth.

use crate::StoreError;
use async_trait::async_trait;
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// A position in the event log; later events have greater positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogPosition(pub i64);

/// What appending one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored at this position.
    Appended(LogPosition),
    /// A duplicate of an event already stored (same workspace, source and message id).
    Duplicate,
}

/// Where a page of a profile's timeline ends: the last event's time and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimelineCursor {
    /// The event time in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The log position, which orders events of the same millisecond.
    pub position: LogPosition,
}

/// An event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its position in the log.
    pub position: LogPosition,
    /// The event.
    pub event: NewEvent,
    /// The profile it belongs to, once the engine has resolved it.
    pub profile_id: Option<ProfileId>,
}

/// The append-only event log.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends a batch in one durable transaction; duplicates are stored once.
    ///
    /// # Contract
    /// Returns only after the batch is durable (or certainly not written); outcomes are
    /// in the order of `events`. Message ids are remembered for at least
    /// [`crate::conformance::DEDUPE_WINDOW_DAYS`] days.
    async fn append(&self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, StoreError>;

    /// Up to `limit` events after `after`, in log order.
    async fn read_after(&self, after: LogPosition, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// The position of the last appended event (0 when empty).
    async fn head(&self) -> Result<LogPosition, StoreError>;

    /// A profile's events, newest first by event time, strictly after `after` in that order.
    async fn profile_events(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
        after: Option<TimelineCursor>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Forgets message ids received before `cutoff_ms` (epoch milliseconds).
    async fn prune_message_ids(&self, cutoff_ms: i64) -> Result<u64, StoreError>;
}
