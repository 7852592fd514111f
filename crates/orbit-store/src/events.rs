//! The event log: append-only, totally ordered, the source of truth.

use crate::{StoreError, WorkspaceChanges};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{EventName, NewEvent, ProfileId, SourceId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How long message ids are remembered for de-duplication, at least: a resent event
/// within this many days of the first is recognised as a duplicate (see
/// [`LogTransaction::claim_message_ids`]). Pruning keeps ids at least this long.
pub const DEDUPE_WINDOW_DAYS: i64 = 7;

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

impl AppendOutcome {
    /// One outcome per event of a commit: `claimed` says which events were new, and
    /// `positions` are where the new ones were stored, in order.
    pub fn from_claims(claimed: &[bool], positions: Vec<LogPosition>) -> Vec<Self> {
        let mut positions = positions.into_iter();
        claimed
            .iter()
            .map(|&new| match new.then(|| positions.next()).flatten() {
                Some(position) => Self::Appended(position),
                None => Self::Duplicate,
            })
            .collect()
    }
}

/// Where an event sits: its position, workspace, profile and time, without its body.
///
/// The engine rebuilds its per-profile timelines from these at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Its position in the log.
    pub position: LogPosition,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// The profile it was appended for; possibly an id merged away since.
    pub profile_id: Option<ProfileId>,
    /// The event time in epoch milliseconds.
    pub timestamp_ms: i64,
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

/// An event ready for the log, with its stored encoding.
///
/// Encoding happens where the event was parsed, in the request's own task, so the
/// single writer only copies bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// The event.
    pub event: NewEvent,
    /// The event as stored: JSON.
    pub body: String,
}

impl LogEntry {
    /// Encodes an event for the log.
    pub fn encode(event: NewEvent) -> Result<Self, StoreError> {
        let body = serde_json::to_string(&event)
            .map_err(|e| StoreError::NotWritten(format!("encoding an event: {e}")))?;
        Ok(Self { event, body })
    }

    /// Decodes a stored body.
    pub fn decode(body: &str) -> Result<NewEvent, StoreError> {
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
    }
}

/// An event as read back from the log, its body not yet decoded: rebuilding indexes
/// decodes many of these in parallel, and only the parts it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    /// Its position in the log.
    pub position: LogPosition,
    /// The profile it was appended for; possibly an id merged away since.
    pub profile_id: Option<ProfileId>,
    /// The stored encoding ([`LogEntry::decode`] and [`LogEntry::decode_essentials`]).
    pub body: String,
}

/// What behaviour conditions need of an event, decoded without the rest of its body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventEssentials {
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// The source that sent it.
    pub source_id: SourceId,
    /// The event name.
    #[serde(default)]
    pub name: Option<EventName>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Its properties.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl LogEntry {
    /// Decodes the essentials of a stored body, skipping identities, traits and context.
    pub fn decode_essentials(body: &str) -> Result<EventEssentials, StoreError> {
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
    }
}

/// One atomic write to the log and the profiles derived from it.
///
/// The ingest pipeline claims message ids, appends the new events with the profile each
/// resolved to, applies the profile changes, and commits: all of it is durable or none.
/// Dropping the transaction without committing rolls it back.
#[async_trait]
pub trait LogTransaction: Send {
    /// Claims the message ids of `events`; `true` for each one never seen before.
    ///
    /// # Contract
    /// A message id is a (workspace, source, message id) triple, remembered for at least
    /// [`DEDUPE_WINDOW_DAYS`] days. Two equal ids within `events`:
    /// the first is claimed, the second is not.
    async fn claim_message_ids(&mut self, events: &[&NewEvent]) -> Result<Vec<bool>, StoreError>;

    /// Appends events, each with the profile it belongs to; returns their positions.
    async fn append(
        &mut self,
        entries: &[(&LogEntry, Option<ProfileId>)],
    ) -> Result<Vec<LogPosition>, StoreError>;

    /// Applies profile changes (see [`crate::ProfileStore::commit`] for what they mean).
    async fn apply(&mut self, changes: &WorkspaceChanges) -> Result<(), StoreError>;

    /// Makes everything durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// The append-only event log.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Starts an atomic write.
    async fn begin(&self) -> Result<Box<dyn LogTransaction>, StoreError>;

    /// Up to `limit` events after `after`, in log order.
    async fn read_after(&self, after: LogPosition, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` events after `after`, in log order, bodies still encoded.
    async fn read_encoded_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<EncodedEvent>, StoreError>;

    /// The position of the last appended event (0 when empty).
    async fn head(&self) -> Result<LogPosition, StoreError>;

    /// The events at `positions`, in the order given; positions not in the log (erased)
    /// are left out.
    async fn events_at(&self, positions: &[LogPosition]) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` placements after `after`, in log order.
    async fn placements(&self, after: LogPosition, limit: u32) -> Result<Vec<Placement>, StoreError>;

    /// Forgets message ids received before `cutoff_ms` (epoch milliseconds).
    async fn prune_message_ids(&self, cutoff_ms: i64) -> Result<u64, StoreError>;
}
