//! Profiles, identities and merge history, as the engine commits them.

use crate::{LogPosition, StoreError};
use async_trait::async_trait;
use orbit_core::profile::Profile;
use orbit_core::resolution::{Conflict, IdentityState, Merge};
use orbit_core::{Identity, ProfileId, WorkspaceId};

/// A merge as recorded: what merged, why, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    /// The merge.
    pub merge: Merge,
    /// The event that caused it.
    pub position: LogPosition,
    /// When it was applied, epoch milliseconds.
    pub at_ms: i64,
}

/// A refused link as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRecord {
    /// The conflict.
    pub conflict: Conflict,
    /// The event that caused it.
    pub position: LogPosition,
    /// When it was found, epoch milliseconds.
    pub at_ms: i64,
}

/// What the engine changed in one workspace since its last commit.
#[derive(Debug, Clone)]
pub struct WorkspaceChanges {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Profiles created or changed, in their full new state.
    pub profiles: Vec<ProfileRecord>,
    /// Merges, in the order they happened.
    pub merges: Vec<MergeRecord>,
    /// Refused links.
    pub conflicts: Vec<ConflictRecord>,
    /// Profiles erased: their rows, identities, aliases and records go.
    pub erased: Vec<Profile>,
    /// Events erased with them: the store keeps no index of events by profile, the
    /// engine's timelines know their positions.
    pub erased_events: Vec<LogPosition>,
}

impl WorkspaceChanges {
    /// No changes yet in `workspace_id`.
    pub fn new(workspace_id: WorkspaceId) -> Self {
        Self {
            workspace_id,
            profiles: Vec::new(),
            merges: Vec::new(),
            conflicts: Vec::new(),
            erased: Vec::new(),
            erased_events: Vec::new(),
        }
    }
}

/// A profile as stored: the profile, and the linking state of those of its identities
/// that have more than their profile to remember.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRecord {
    /// The profile, with every identity linked to it.
    pub profile: Profile,
    /// States of its identities seen with other people or found shared; every other
    /// identity of the profile simply belongs to it.
    pub linking: Vec<(Identity, IdentityState)>,
}

impl ProfileRecord {
    /// A profile whose identities have no linking state.
    pub fn plain(profile: Profile) -> Self {
        Self {
            profile,
            linking: Vec::new(),
        }
    }
}

/// A profile as the engine reloads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The profile and its identities' states.
    pub record: ProfileRecord,
}

/// Storage of profiles and the engine's progress.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Applies profile changes atomically.
    ///
    /// # Contract
    /// Changes apply in this order: merges, profile upserts (a profile carries its
    /// identities), conflicts, erasures. Merges make the merged id an alias of the survivor (events keep the
    /// profile id they were appended with; readers resolve it through the alias);
    /// erasures remove the profile, its identities, aliases, merge and conflict
    /// records, and the events listed. Either all of it is durable or none of it.
    async fn commit(&self, changes: &[WorkspaceChanges]) -> Result<(), StoreError>;

    /// A page of stored profiles in (workspace, id) order, after `after`.
    async fn load_profiles(
        &self,
        after: Option<(WorkspaceId, ProfileId)>,
        limit: u32,
    ) -> Result<Vec<StoredProfile>, StoreError>;

    /// A live profile by its id or by the id of a profile merged into it.
    async fn profile(&self, workspace: &WorkspaceId, id: ProfileId) -> Result<Option<Profile>, StoreError>;

    /// The merges that formed a profile.
    async fn merges(&self, workspace: &WorkspaceId, id: ProfileId) -> Result<Vec<MergeRecord>, StoreError>;

    /// Refused links involving a profile.
    async fn conflicts(
        &self,
        workspace: &WorkspaceId,
        id: ProfileId,
    ) -> Result<Vec<ConflictRecord>, StoreError>;
}
