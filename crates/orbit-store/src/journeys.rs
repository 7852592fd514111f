//! Journeys as stored: each journey's editable draft and status, and its published
//! versions, whose graphs never change once written.

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::journey::{JourneyDefinition, JourneyStatus};
use orbit_core::{JourneyId, WorkspaceId};

use crate::StoreError;

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
