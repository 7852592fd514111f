//! Segments: named audiences, their definitions, static members and size history.

use crate::{LogPosition, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::audience::Condition;
use orbit_core::{ProfileId, SegmentId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// Whether a segment follows its condition or holds a fixed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Membership is kept live from the condition as events arrive and time passes.
    Dynamic,
    /// Membership is a snapshot or an upload, changed only on request.
    Static,
}

impl SegmentKind {
    /// The kind's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::Static => "static",
        }
    }

    /// Reads a stored kind.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "dynamic" => Some(Self::Dynamic),
            "static" => Some(Self::Static),
            _ => None,
        }
    }
}

/// A stored segment definition.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    /// The workspace it belongs to.
    pub workspace_id: WorkspaceId,
    /// Its id, unique within the workspace.
    pub id: SegmentId,
    /// Its display name.
    pub name: String,
    /// What it is for, in the marketer's words.
    pub description: String,
    /// Dynamic or static.
    pub kind: SegmentKind,
    /// The condition of a dynamic segment, or the one a static snapshot was taken with.
    pub condition: Option<Condition>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its definition last changed.
    pub updated_at: Timestamp,
}

/// One point of a segment's size history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizePoint {
    /// When the size was taken.
    pub at: Timestamp,
    /// How many members the segment had.
    pub size: u64,
}

/// The membership a dynamic segment's `segment_entered` / `segment_exited` events start
/// from: its members when its definition was saved, as of a log position. Transition
/// events after that position, replayed over it, give the membership last announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipBaseline {
    /// The newest log position the members were evaluated with.
    pub position: LogPosition,
    /// The members then.
    pub members: Vec<ProfileId>,
}

/// Storage of segments.
#[async_trait]
pub trait SegmentStore: Send + Sync {
    /// Creates a segment; [`StoreError::AlreadyExists`] if its id is taken.
    async fn insert_segment(&self, segment: &SegmentRecord) -> Result<(), StoreError>;
    /// Creates a segment or replaces its definition.
    async fn save_segment(&self, segment: &SegmentRecord) -> Result<(), StoreError>;
    /// Every segment of a workspace, by id.
    async fn segments(&self, workspace: &WorkspaceId) -> Result<Vec<SegmentRecord>, StoreError>;
    /// Every segment of every workspace (for start-up).
    async fn all_segments(&self) -> Result<Vec<SegmentRecord>, StoreError>;
    /// One segment.
    async fn segment(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
    ) -> Result<Option<SegmentRecord>, StoreError>;
    /// Deletes a segment with its members and history; false if there was none.
    async fn delete_segment(&self, workspace: &WorkspaceId, id: &SegmentId) -> Result<bool, StoreError>;
    /// Creates ([`StoreError::AlreadyExists`] if its id is taken) or replaces a static
    /// segment together with its members, in one transaction; a baseline it had as a
    /// dynamic segment goes.
    async fn save_static_segment(
        &self,
        segment: &SegmentRecord,
        write: crate::Write,
        members: &[ProfileId],
    ) -> Result<(), StoreError>;
    /// Replaces the members of a static segment.
    async fn save_static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        members: &[ProfileId],
    ) -> Result<(), StoreError>;
    /// Adds members to a static segment, keeping those it has; answers how many were
    /// not members before.
    async fn add_static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        members: &[ProfileId],
    ) -> Result<u64, StoreError>;
    /// The members of a static segment, in profile id order.
    async fn static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
    ) -> Result<Vec<ProfileId>, StoreError>;
    /// Replaces a dynamic segment's membership baseline (members stored as for a static
    /// segment, with the position), in one transaction.
    async fn save_baseline(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        baseline: &MembershipBaseline,
    ) -> Result<(), StoreError>;
    /// Every dynamic segment's baseline (for start-up), members in profile id order.
    async fn baselines(&self) -> Result<Vec<(WorkspaceId, SegmentId, MembershipBaseline)>, StoreError>;
    /// Records segment sizes taken at one moment.
    async fn record_sizes(
        &self,
        workspace: &WorkspaceId,
        at: Timestamp,
        sizes: &[(SegmentId, u64)],
    ) -> Result<(), StoreError>;
    /// A segment's sizes since `since`, oldest first.
    async fn size_history(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        since: Timestamp,
    ) -> Result<Vec<SizePoint>, StoreError>;
}
