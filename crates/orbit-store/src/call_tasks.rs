//! Outbound-call tasks: people the call centre should phone, with what to say.

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{CampaignId, ProfileId, WorkspaceId};

use crate::StoreError;

/// One task for the call centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTask {
    /// The send ledger id, or the journey effect id, it was created under.
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The person to call.
    pub profile_id: ProfileId,
    /// Their number, E.164.
    pub phone: String,
    /// What the agent should say or do.
    pub script: String,
    /// The campaign that asked for it.
    pub campaign_id: Option<CampaignId>,
    /// `open` until an agent closes it as `done` or `cancelled`.
    pub status: String,
    /// What came of the call, as the agent wrote it.
    pub outcome: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Storage of call tasks.
#[async_trait]
pub trait CallTaskStore: Send + Sync {
    /// Keeps a task; one already kept under its id is left as it is.
    async fn put_call_task(&self, task: &CallTask) -> Result<(), StoreError>;
    /// A workspace's tasks, oldest first, optionally of one status, after a task id.
    async fn call_tasks(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallTask>, StoreError>;
    /// Closes or reopens a task with its outcome; the task as it is now, if it exists.
    async fn update_call_task(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        outcome: Option<&str>,
        at: Timestamp,
    ) -> Result<Option<CallTask>, StoreError>;
}
