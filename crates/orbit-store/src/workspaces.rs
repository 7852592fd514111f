//! Workspaces: one brand each, with the settings that shape its data.

use crate::StoreError;
use async_trait::async_trait;
use orbit_core::WorkspaceId;
use orbit_core::messaging::ContactPolicy;
use orbit_core::resolution::IdentityPolicy;
use orbit_core::trait_rules::TraitRules;
use serde::{Deserialize, Serialize};

/// Settings of a workspace that the engine applies to its data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceSettings {
    /// Identity priorities and guard rails.
    pub identity_policy: IdentityPolicy,
    /// How conflicting trait values are settled.
    pub trait_rules: TraitRules,
    /// The IANA time zone whose calendar segments use ("today", "yesterday", birthdays).
    pub time_zone: TimeZoneName,
    /// Frequency caps, quiet hours and opt-in rules every marketing message obeys.
    pub contact_policy: ContactPolicy,
}

/// An IANA time zone name such as `Asia/Shanghai`; `UTC` unless set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct TimeZoneName(pub String);

impl Default for TimeZoneName {
    fn default() -> Self {
        Self("UTC".to_owned())
    }
}

impl TimeZoneName {
    /// The zone, or UTC if the name is not one.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// A stored workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceRecord {
    /// Its id.
    pub id: WorkspaceId,
    /// Its display name.
    pub name: String,
    /// Its settings.
    pub settings: WorkspaceSettings,
}

/// Storage of workspaces.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Every workspace.
    async fn list_workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError>;
    /// One workspace.
    async fn workspace(&self, id: &WorkspaceId) -> Result<Option<WorkspaceRecord>, StoreError>;
    /// Creates a workspace or updates its name and settings.
    async fn save_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), StoreError>;
}
