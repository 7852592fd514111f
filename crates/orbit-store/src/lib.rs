//! Orbit's storage ports: one trait per aggregate, speaking the domain's language.
//!
//! Adapters (SQLite, PostgreSQL) translate their driver's errors into [`StoreError`]
//! and must pass the conformance suite of the `orbit-store-conformance` crate, which
//! their tests instantiate; nothing here names a database driver.

mod audit;
mod call_tasks;
mod error;
mod events;
mod inbox;
mod journeys;
mod keys;
mod ledger;
mod messaging;
mod operators;
mod profiles;
mod segments;
mod tags;
mod workspaces;

pub use audit::{ActorKind, AuditEntry, AuditQuery, AuditStore, NewAuditEntry};
pub use call_tasks::{CallTask, CallTaskStore};
pub use error::StoreError;
pub use events::{
    AppendOutcome, DEDUPE_WINDOW_DAYS, EncodedEvent, EventEssentials, EventLog, LogEntry, LogPosition,
    LogTransaction, Placement, StoredEvent,
};
pub use inbox::{InboxMessage, InboxStore};
pub use journeys::{
    DateTimerKey, DateTimerRecord, EffectLane, EntryMark, EntrySummary, JourneyBatch, JourneyEffectRecord,
    JourneyRecord, JourneyRunStore, JourneyStore, JourneyVersion, MovedRun, NodeCount, StoredRun,
};
pub use keys::{ApiKeyRecord, KeyKind, KeyStore, Scope};
pub use ledger::{
    Engagement, NewSend, ReportRow, SendLedger, SendRecord, SendState, SendTally, SendUpdate, TALLY_MINUTES,
};
pub use messaging::{
    CampaignRecord, CampaignStore, ChannelAccountRecord, ChannelAccountStore, ConsentStore, TemplateRecord,
    TemplateStore,
};
pub use operators::{OperatorRecord, OperatorStore, Role, SessionRecord};
pub use profiles::{
    ConflictRecord, MergeRecord, ProfileRecord, ProfileStore, StoredProfile, WorkspaceChanges,
};
pub use segments::{MembershipBaseline, SegmentKind, SegmentRecord, SegmentStore, SizePoint};
pub use tags::{TagAssignment, TagRecord, TagStore};
pub use workspaces::{TimeZoneName, WorkspaceRecord, WorkspaceSettings, WorkspaceStore};

/// Whether a save makes a new row or replaces one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A new row: [`StoreError::AlreadyExists`] if its id is taken.
    Create,
    /// The row with this id, replaced (or made when there is none).
    Replace,
}

use std::sync::Arc;

/// Every port, as the composition root hands them to the engine and the server.
#[derive(Clone)]
pub struct Stores {
    /// The append-only event log.
    pub events: Arc<dyn EventLog>,
    /// Profiles, identities and merges.
    pub profiles: Arc<dyn ProfileStore>,
    /// Write keys and API keys.
    pub keys: Arc<dyn KeyStore>,
    /// Workspaces and their settings.
    pub workspaces: Arc<dyn WorkspaceStore>,
    /// Segment definitions, static members and size history.
    pub segments: Arc<dyn SegmentStore>,
    /// Tag definitions and assigned tag values.
    pub tags: Arc<dyn TagStore>,
    /// Message templates.
    pub templates: Arc<dyn TemplateStore>,
    /// Provider accounts.
    pub accounts: Arc<dyn ChannelAccountStore>,
    /// Campaigns.
    pub campaigns: Arc<dyn CampaignStore>,
    /// Consent records.
    pub consents: Arc<dyn ConsentStore>,
    /// The send ledger.
    pub ledger: Arc<dyn SendLedger>,
    /// In-app inbox messages.
    pub inbox: Arc<dyn InboxStore>,
    /// Outbound-call tasks.
    pub call_tasks: Arc<dyn CallTaskStore>,
    /// Journeys and their published versions.
    pub journeys: Arc<dyn JourneyStore>,
    /// Journey runs, their effects and tallies.
    pub journey_runs: Arc<dyn JourneyRunStore>,
    /// Console operators and their sessions.
    pub operators: Arc<dyn OperatorStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}
