//! The in-app inbox: messages kept for a person until their app fetches them.

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{CampaignId, ProfileId, WorkspaceId};

use crate::StoreError;

/// One inbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// The send ledger id it was delivered under.
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The person it is for.
    pub profile_id: ProfileId,
    /// The campaign that sent it.
    pub campaign_id: Option<CampaignId>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Shown as a popup rather than listed quietly.
    pub popup: bool,
    /// Opened on tap.
    pub link: Option<String>,
    /// When it was delivered.
    pub created_at: Timestamp,
    /// When the person read it.
    pub read_at: Option<Timestamp>,
}

/// Storage of inbox messages.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Keeps messages, all or none; one already kept under its id is left as it is.
    async fn put_inbox_messages(&self, messages: &[InboxMessage]) -> Result<(), StoreError>;
    /// Messages delivered since `since`, oldest first (the engine keeps them in memory).
    async fn inbox_messages_since(&self, since: Timestamp) -> Result<Vec<InboxMessage>, StoreError>;
    /// Marks a message read once; true the first time.
    async fn mark_inbox_read(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}
