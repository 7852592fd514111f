//! Journeys as stored: each journey's editable draft and status, and its published
//! versions, whose graphs never change once written.

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::journey::{Effect, JourneyDefinition, JourneyEvent, JourneyStatus, Run, RunState};
use orbit_core::{JourneyId, NodeId, ProfileId, WorkspaceId};

use crate::{LogPosition, StoreError};

/// A journey: its draft, its status and which published version takes new entries.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyRecord {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey's id.
    pub id: JourneyId,
    /// The definition being edited; publishing copies it into a new version.
    pub draft: JourneyDefinition,
    /// Where it stands.
    pub status: JourneyStatus,
    /// The newest published version, which takes new entries; none before the first
    /// publication.
    pub live_version: Option<u32>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the draft or the status last changed.
    pub updated_at: Timestamp,
}

/// One published version of a journey.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyVersion {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// 1 for the first publication, then one more each time.
    pub version: u32,
    /// The definition as published.
    pub definition: JourneyDefinition,
    /// When it was published.
    pub published_at: Timestamp,
}

/// Storage of journeys and their versions.
#[async_trait]
pub trait JourneyStore: Send + Sync {
    /// Saves a journey's draft and status (`Create`: fails with `AlreadyExists` when
    /// the id is taken).
    async fn save_journey(&self, journey: &JourneyRecord, write: crate::Write) -> Result<(), StoreError>;

    /// A journey, if it exists.
    async fn journey(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
    ) -> Result<Option<JourneyRecord>, StoreError>;

    /// A workspace's journeys, by id.
    async fn journeys(&self, workspace: &WorkspaceId) -> Result<Vec<JourneyRecord>, StoreError>;

    /// Every live or paused journey of every workspace, for the engine at start-up.
    async fn active_journeys(&self) -> Result<Vec<JourneyRecord>, StoreError>;

    /// Stores `version` and saves `journey` (whose `live_version` names it) in one
    /// transaction; `AlreadyExists` when that version number is taken.
    async fn publish_version(
        &self,
        journey: &JourneyRecord,
        version: &JourneyVersion,
    ) -> Result<(), StoreError>;

    /// One published version.
    async fn journey_version(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
        version: u32,
    ) -> Result<Option<JourneyVersion>, StoreError>;

    /// Every published version of a journey, oldest first.
    async fn journey_versions(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
    ) -> Result<Vec<JourneyVersion>, StoreError>;

    /// Deletes a journey and its versions; whether it existed.
    async fn delete_journey(&self, workspace: &WorkspaceId, id: &JourneyId) -> Result<bool, StoreError>;
}

/// One person's entry into a journey as stored: the run, and what is indexed of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The run (journey, version, person, entry and where it stands).
    pub run: Run,
    /// When it was last moved.
    pub updated_at: Timestamp,
}

impl StoredRun {
    /// When its timer fires, while it waits.
    pub fn due_at(&self) -> Option<Timestamp> {
        match &self.run.state {
            RunState::Waiting { until, .. } => Some(*until),
            _ => None,
        }
    }
}

/// An effect a journey decided, kept until it is done: the outbox between deciding and
/// doing, so a crash in between neither loses nor doubles it.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyEffectRecord {
    /// Unique for (workspace, origin, person): inserting it twice keeps the first.
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// The version the run is on.
    pub version: u32,
    /// The person.
    pub profile_id: ProfileId,
    /// The effect, with its node and origin.
    pub effect: Effect,
    /// When it was decided.
    pub created_at: Timestamp,
}

/// Which worker does an effect: those that leave Orbit wait on receivers, and are
/// kept apart so a slow one holds up nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EffectLane {
    /// Messages to the ledger, trait and tag changes, segments, call tasks.
    WithinOrbit,
    /// Webhooks and staff notices.
    Outbound,
}

impl EffectLane {
    /// The lane an action is done in.
    pub fn of(action: &orbit_core::journey::Action) -> Self {
        use orbit_core::journey::Action;
        match action {
            Action::Webhook { .. } | Action::NotifyStaff { .. } => Self::Outbound,
            _ => Self::WithinOrbit,
        }
    }
}

/// People who passed a node of a journey version by one outcome (`next`, `on_timeout`,
/// a branch's path, `late`…; none for arriving at a wait or an exit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCount {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// The version.
    pub version: u32,
    /// The node.
    pub node: NodeId,
    /// How they left it; `""` for arriving at a wait or an exit.
    pub outcome: String,
    /// How many (in a batch: how many to add).
    pub count: u64,
}

/// Everything one step of the journey runner changes, stored in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JourneyBatch {
    /// Runs created or moved (replacing the stored ones with the same key).
    pub runs: Vec<StoredRun>,
    /// Effects decided; one already stored under the same id is kept as it is.
    pub effects: Vec<JourneyEffectRecord>,
    /// Counts to add to each node's tally.
    pub counts: Vec<NodeCount>,
    /// The log position every event up to which has been matched, when it moved.
    pub cursor: Option<LogPosition>,
    /// Date entries set to fire after an event (kept when already stored).
    pub date_timers: Vec<DateTimerRecord>,
    /// Date entries fired or dropped, by key.
    pub date_timers_done: Vec<DateTimerKey>,
    /// How far journeys' date and schedule entries are done, replacing the stored marks.
    pub marks: Vec<EntryMark>,
    /// Runs a merge carried over to the surviving person: the row under the person
    /// merged away is removed once `runs`, which hold the run under the survivor, are
    /// written (so a run carried along a chain of merges in one batch leaves no row
    /// behind).
    pub moved: Vec<MovedRun>,
}

/// A run's row under the person it belonged to before a merge carried it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedRun {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// The person merged away.
    pub from: ProfileId,
    /// The entry's id, which the run keeps.
    pub entry: String,
}

impl JourneyBatch {
    /// Whether storing it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
            && self.effects.is_empty()
            && self.counts.is_empty()
            && self.cursor.is_none()
            && self.date_timers.is_empty()
            && self.date_timers_done.is_empty()
            && self.marks.is_empty()
            && self.moved.is_empty()
    }
}

/// Which date entry: a person's, after one event of theirs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTimerKey {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// The person.
    pub profile_id: ProfileId,
    /// The event's position in the log: one entry per event.
    pub position: LogPosition,
}

/// A date entry set to fire a time after an event ("one year after the purchase"):
/// stored, since the event is not read again.
#[derive(Debug, Clone, PartialEq)]
pub struct DateTimerRecord {
    /// Whose, and after which event.
    pub key: DateTimerKey,
    /// When it fires.
    pub due_at: Timestamp,
    /// The event, which becomes the run's entry event.
    pub event: JourneyEvent,
}

/// How far a journey's date or schedule entries are done: every occurrence up to
/// `done_until` has been entered (or skipped); a schedule's occurrence in progress
/// names the last person entered, in profile id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMark {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// Every occurrence up to here is done.
    pub done_until: Timestamp,
    /// A schedule's occurrence under way, and the last person it entered.
    pub in_progress: Option<(Timestamp, ProfileId)>,
}

/// What re-entry rules need of one person's past entries into a journey, with one
/// entry key (or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The journey.
    pub journey_id: JourneyId,
    /// The person.
    pub profile_id: ProfileId,
    /// The entry key's value, for keyed entries.
    pub key: Option<String>,
    /// Entries so far.
    pub entries: u32,
    /// When the last began.
    pub last_entered_at: Timestamp,
    /// Whether one is still in the journey.
    pub active: bool,
}

/// Storage of journey runs, their effects and tallies: the journey runner's state.
#[async_trait]
pub trait JourneyRunStore: Send + Sync {
    /// Stores a batch in one transaction: all of it or none.
    async fn commit_journey_batch(&self, batch: &JourneyBatch) -> Result<(), StoreError>;

    /// The log position up to which events have been matched (0 before any).
    async fn journey_cursor(&self) -> Result<LogPosition, StoreError>;

    /// Every run still in a journey, of every workspace.
    async fn active_runs(&self) -> Result<Vec<StoredRun>, StoreError>;

    /// One summary per (workspace, journey, person, key) that ever entered.
    async fn entry_summaries(&self) -> Result<Vec<EntrySummary>, StoreError>;

    /// A person's runs in every journey, newest entry first.
    async fn profile_runs(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
    ) -> Result<Vec<StoredRun>, StoreError>;

    /// A journey's node tallies, every version.
    async fn node_counts(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
    ) -> Result<Vec<NodeCount>, StoreError>;

    /// Effects not yet done, oldest first.
    async fn pending_effects(&self, limit: u32) -> Result<Vec<JourneyEffectRecord>, StoreError>;

    /// Effects of one lane not yet done, oldest first.
    async fn pending_effects_in(
        &self,
        lane: EffectLane,
        limit: u32,
    ) -> Result<Vec<JourneyEffectRecord>, StoreError>;

    /// Marks effects done; they are not returned as pending again.
    async fn complete_effects(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError>;

    /// Deletes effects done before `before`; answers how many.
    async fn prune_done_effects(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Every date entry set to fire after an event, of every workspace.
    async fn date_timers(&self) -> Result<Vec<DateTimerRecord>, StoreError>;

    /// Every journey's entry mark.
    async fn entry_marks(&self) -> Result<Vec<EntryMark>, StoreError>;

    /// Takes erased people out of every journey in one transaction: adds `counts` to
    /// the tallies (their exits), deletes every run of theirs, in a journey or out of
    /// it, with the events and path it carries, and drops their effects not yet done,
    /// which are then never done.
    async fn erase_journey_people(
        &self,
        workspace: &WorkspaceId,
        profiles: &[ProfileId],
        counts: &[NodeCount],
    ) -> Result<(), StoreError>;
}
