//! Tags: their definitions, and the values assigned to profiles by imports and by hand
//! (rule and RFM values are computed by the engine, never stored).

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::tags::TagDefinition;
use orbit_core::{ProfileId, TagId, WorkspaceId};

/// A stored tag definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRecord {
    /// The workspace it belongs to.
    pub workspace_id: WorkspaceId,
    /// Its id, unique within the workspace.
    pub id: TagId,
    /// What it is and where its values come from.
    pub definition: TagDefinition,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its definition last changed.
    pub updated_at: Timestamp,
}

/// The values of one tag assigned to one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagAssignment {
    /// The profile, by the id it had when the values were assigned (it may since have
    /// been merged into another).
    pub profile: ProfileId,
    /// Its values, sorted and distinct; empty removes the tag from the profile.
    pub values: Vec<String>,
}

/// Storage of tags.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Creates a tag; [`StoreError::AlreadyExists`] if its id is taken.
    async fn insert_tag(&self, tag: &TagRecord) -> Result<(), StoreError>;
    /// Creates a tag or replaces its definition.
    async fn save_tag(&self, tag: &TagRecord) -> Result<(), StoreError>;
    /// Every tag of a workspace, by id.
    async fn tags(&self, workspace: &WorkspaceId) -> Result<Vec<TagRecord>, StoreError>;
    /// Every tag of every workspace (for start-up).
    async fn all_tags(&self) -> Result<Vec<TagRecord>, StoreError>;
    /// One tag.
    async fn tag(&self, workspace: &WorkspaceId, id: &TagId) -> Result<Option<TagRecord>, StoreError>;
    /// Deletes a tag with its assigned values; false if there was none.
    async fn delete_tag(&self, workspace: &WorkspaceId, id: &TagId) -> Result<bool, StoreError>;
    /// Replaces the values of each listed profile (empty values remove them), in one
    /// transaction; other profiles keep theirs.
    async fn assign_tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
        assignments: &[TagAssignment],
    ) -> Result<(), StoreError>;
    /// Replaces every assigned value of a tag with `assignments`, in one transaction.
    async fn replace_tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
        assignments: &[TagAssignment],
    ) -> Result<(), StoreError>;
    /// The values assigned for a tag, by profile id, values sorted.
    async fn tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
    ) -> Result<Vec<TagAssignment>, StoreError>;
    /// Removes every value assigned to these profiles, of every tag (erasure).
    async fn forget_tag_values(
        &self,
        workspace: &WorkspaceId,
        profiles: &[ProfileId],
    ) -> Result<(), StoreError>;
}
