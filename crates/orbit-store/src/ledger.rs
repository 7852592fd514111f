//! The send ledger: the outbox every message passes through, one row per message,
//! recipient and lane, under a unique key, so that nothing is sent twice.

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::messaging::{Channel, Lane, SuppressionReason};
use orbit_core::{CampaignId, ChannelId, ProfileId, WorkspaceId};

use crate::StoreError;

/// Where a message is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting for its time (or for quiet hours to end, or for a retry).
    Scheduled,
    /// Handed to a connector; the outcome is not recorded yet.
    Dispatching,
    /// The provider took it.
    Accepted,
    /// It failed for good (permanent error or retries exhausted): a dead letter.
    Failed,
    /// The provider may or may not have taken it, and cannot deduplicate a retry.
    Ambiguous,
    /// It was not sent, for a recorded reason.
    Suppressed,
}

impl SendState {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Scheduled => "scheduled",
            SendState::Dispatching => "dispatching",
            SendState::Accepted => "accepted",
            SendState::Failed => "failed",
            SendState::Ambiguous => "ambiguous",
            SendState::Suppressed => "suppressed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        use SendState::*;
        [Scheduled, Dispatching, Accepted, Failed, Ambiguous, Suppressed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Whether nothing more will happen to it (receipts aside).
    pub fn is_final(self) -> bool {
        !matches!(self, SendState::Scheduled | SendState::Dispatching)
    }
}

/// A message to write into the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSend {
    /// The deterministic id ([`orbit_core::messaging::SendKey::id`]).
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// What caused it (`campaign:{id}:run:{n}`).
    pub origin: String,
    /// The campaign, when a campaign caused it.
    pub campaign_id: Option<CampaignId>,
    /// The person.
    pub profile_id: ProfileId,
    /// The lane.
    pub lane: Lane,
    /// The variant the person fell in.
    pub variant: Option<String>,
    /// Whether caps and quiet hours apply.
    pub marketing: bool,
    /// `Scheduled`, or `Suppressed` for people held out.
    pub state: SendState,
    /// Why, when suppressed at once.
    pub suppression: Option<SuppressionReason>,
    /// When it may first go.
    pub not_before: Timestamp,
    /// When written.
    pub created_at: Timestamp,
}

/// A message as the ledger holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRecord {
    /// What was written.
    pub send: NewSend,
    /// Where it is.
    pub state: SendState,
    /// Why it was not sent, when suppressed.
    pub suppression: Option<SuppressionReason>,
    /// The channel it went (or is going) on.
    pub channel: Option<Channel>,
    /// The provider account used.
    pub account: Option<ChannelId>,
    /// The address it went to.
    pub address: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// When it may next go.
    pub next_attempt_at: Timestamp,
    /// The provider's last answer when it failed or is being retried.
    pub last_error: Option<String>,
    /// The provider's id for it.
    pub provider_message_id: Option<String>,
    /// When the provider took it.
    pub accepted_at: Option<Timestamp>,
    /// When a receipt said it arrived.
    pub delivered_at: Option<Timestamp>,
    /// When a receipt said it did not.
    pub bounced_at: Option<Timestamp>,
    /// When it was first opened.
    pub opened_at: Option<Timestamp>,
    /// When a link in it was first clicked.
    pub clicked_at: Option<Timestamp>,
    /// When its state last changed.
    pub updated_at: Timestamp,
}

/// A change to one ledger row.
#[derive(Debug, Clone, PartialEq)]
pub enum SendUpdate {
    /// The provider took it.
    Accepted {
        /// The row.
        id: String,
        /// The channel used.
        channel: Channel,
        /// The account used.
        account: ChannelId,
        /// The address used.
        address: String,
        /// The provider's id.
        provider_message_id: Option<String>,
        /// When.
        at: Timestamp,
    },
    /// Try again later.
    Retry {
        /// The row.
        id: String,
        /// When.
        next_attempt_at: Timestamp,
        /// The provider's answer.
        error: String,
        /// Whether this was an attempt (a deferral for quiet hours is not).
        counts_as_attempt: bool,
    },
    /// Failed for good.
    Failed {
        /// The row.
        id: String,
        /// The channel tried.
        channel: Option<Channel>,
        /// The provider's last answer.
        error: String,
        /// When.
        at: Timestamp,
    },
    /// Might have gone; not retried.
    Ambiguous {
        /// The row.
        id: String,
        /// The channel tried.
        channel: Channel,
        /// What happened.
        error: String,
        /// When.
        at: Timestamp,
    },
    /// Not sent, by policy.
    Suppressed {
        /// The row.
        id: String,
        /// Why.
        reason: SuppressionReason,
        /// When.
        at: Timestamp,
    },
}

/// What a receipt or a tracked link says happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engagement {
    /// It arrived.
    Delivered,
    /// It did not arrive.
    Bounced,
    /// It was opened.
    Opened,
    /// A link in it was clicked.
    Clicked,
}

/// One line of a campaign report: counts for a variant, channel and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The variant.
    pub variant: Option<String>,
    /// The channel (none for people suppressed before one was chosen).
    pub channel: Option<Channel>,
    /// The state.
    pub state: SendState,
    /// The suppression reason, for suppressed rows.
    pub suppression: Option<SuppressionReason>,
    /// Messages in this line.
    pub count: u64,
    /// Of those, delivered.
    pub delivered: u64,
    /// Of those, bounced.
    pub bounced: u64,
    /// Of those, opened.
    pub opened: u64,
    /// Of those, clicked.
    pub clicked: u64,
}

/// How long one tally of the send ledger covers, in minutes: a quarter of an hour, so
/// that a day in any time zone in use (each a whole number of quarter hours from UTC)
/// is a whole number of tallies.
pub const TALLY_MINUTES: i64 = 15;

/// What the send ledger recorded in one quarter hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendTally {
    /// When the quarter hour starts.
    pub start: Timestamp,
    /// Messages a provider took in it (by their `accepted_at`).
    pub sent: u64,
    /// Messages a receipt said arrived in it (by their `delivered_at`).
    pub delivered: u64,
}

/// The outbox.
#[async_trait]
pub trait SendLedger: Send + Sync {
    /// Writes messages; rows whose id exists already are left as they are. Returns
    /// how many were new.
    async fn insert_sends(&self, sends: &[NewSend]) -> Result<u64, StoreError>;
    /// Marks up to `limit` scheduled, unheld rows due at `now` as dispatching and
    /// returns them, oldest due first.
    async fn claim_due(&self, now: Timestamp, limit: u32) -> Result<Vec<SendRecord>, StoreError>;
    /// Applies outcomes, in one transaction.
    async fn apply_updates(&self, updates: &[SendUpdate]) -> Result<(), StoreError>;
    /// Rows left dispatching (by a process that stopped mid-send).
    async fn in_flight(&self) -> Result<Vec<SendRecord>, StoreError>;
    /// Puts dispatching rows back to scheduled, to be sent again with the same id.
    async fn requeue(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError>;
    /// Holds or releases an origin's rows that are not final: scheduled ones, and
    /// dispatching ones, so that one coming back for a retry (or put back after a
    /// crash) stays held. Returns how many changed.
    async fn hold_origin(&self, workspace: &WorkspaceId, origin: &str, held: bool)
    -> Result<u64, StoreError>;
    /// Suppresses every scheduled row of an origin as cancelled; returns how many.
    async fn cancel_origin(
        &self,
        workspace: &WorkspaceId,
        origin: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Rows of an origin not yet final.
    async fn pending_in_origin(&self, workspace: &WorkspaceId, origin: &str) -> Result<u64, StoreError>;
    /// One row.
    async fn send(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<SendRecord>, StoreError>;
    /// The row a provider's message id belongs to.
    async fn send_by_provider_id(&self, provider_message_id: &str) -> Result<Option<SendRecord>, StoreError>;
    /// Records an engagement once; true the first time.
    async fn record_engagement(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        engagement: Engagement,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Counts per variant, channel and outcome for a campaign.
    async fn campaign_report(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<Vec<ReportRow>, StoreError>;
    /// Marketing messages accepted since `since`: (workspace, profile, channel, when),
    /// for rebuilding frequency counters.
    async fn marketing_accepted_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(WorkspaceId, ProfileId, Channel, Timestamp)>, StoreError>;
    /// A workspace's tallies of the quarter hours ([`TALLY_MINUTES`]) that start in
    /// `[from, to)` and hold anything, oldest first.
    ///
    /// # Contract
    /// A row counts once in `sent`, in the quarter hour of its `accepted_at`, and once
    /// in `delivered`, in that of its `delivered_at`. A tally changes in the same
    /// transaction as the row it counts, so it is as durable as the row; erasing a
    /// person leaves tallies as they are (the messages were sent).
    async fn send_tallies(
        &self,
        workspace: &WorkspaceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SendTally>, StoreError>;
    /// Failed rows of a workspace, newest first (by when they failed, then by id),
    /// after the cursor `(updated_at, id)` of the last row of the previous page.
    async fn dead_letters(
        &self,
        workspace: &WorkspaceId,
        limit: u32,
        after: Option<(Timestamp, String)>,
    ) -> Result<Vec<SendRecord>, StoreError>;
    /// A person's messages, under any of the ids in `people` (theirs and those merged
    /// into them), newest first (by when written, then by id), after the cursor
    /// `(created_at, id)` of the last row of the previous page.
    async fn sends_of_people(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
        limit: u32,
        after: Option<(Timestamp, String)>,
    ) -> Result<Vec<SendRecord>, StoreError>;
}
