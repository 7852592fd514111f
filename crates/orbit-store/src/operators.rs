//! Console operators (people who log in), their roles and their sessions.

use crate::{Scope, StoreError};
use async_trait::async_trait;
use orbit_core::WorkspaceId;
use serde::{Deserialize, Serialize};

/// What an operator may do in their workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: operators, keys, channels and their secrets, settings.
    Admin,
    /// Audiences, content, campaigns and journeys; not operators, keys or provider
    /// secrets.
    Marketer,
    /// Reads everything and exports; changes nothing.
    Analyst,
    /// Reads, with every contact (phone, email) masked.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Marketer, Role::Analyst, Role::Viewer];

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Marketer => "marketer",
            Self::Analyst => "analyst",
            Self::Viewer => "viewer",
        }
    }

    /// Parses a role name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The API scopes the role holds: the same checks guard keys and operators.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Self::Admin => &[Scope::Admin],
            Self::Marketer => &[
                Scope::ProfilesRead,
                Scope::ProfilesWrite,
                Scope::EventsWrite,
                Scope::AudiencesRead,
                Scope::AudiencesWrite,
            ],
            Self::Analyst | Self::Viewer => &[Scope::ProfilesRead, Scope::AudiencesRead],
        }
    }

    /// Whether people's contacts (phone numbers, email addresses) are shown unmasked.
    pub fn sees_contacts(self) -> bool {
        !matches!(self, Self::Viewer)
    }
}

/// A stored operator: never the password, only its argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    /// The operator's id (`op_…`).
    pub id: String,
    /// The workspace they work in.
    pub workspace_id: WorkspaceId,
    /// What they log in with (an email address or a name), lower case, unique on the
    /// server.
    pub login: String,
    /// A name for people.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The password's argon2id hash, a PHC string.
    pub password_hash: String,
    /// Creation time, epoch milliseconds.
    pub created_at_ms: i64,
    /// Last change, epoch milliseconds.
    pub updated_at_ms: i64,
    /// When they were disabled (they cannot log in), epoch milliseconds.
    pub disabled_at_ms: Option<i64>,
}

/// A console session: never the token itself, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hex HMAC-SHA256 digest of the session token.
    pub digest: String,
    /// The operator logged in.
    pub operator_id: String,
    /// Their workspace.
    pub workspace_id: WorkspaceId,
    /// Login time, epoch milliseconds.
    pub created_at_ms: i64,
    /// Last request seen (kept to the minute), epoch milliseconds.
    pub last_seen_ms: i64,
    /// When the session ends however active it is, epoch milliseconds.
    pub expires_at_ms: i64,
    /// The address the login came from.
    pub address: Option<String>,
}

/// Storage of operators and their sessions.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Stores a new operator; [`StoreError::AlreadyExists`] when the login is taken
    /// (in any workspace) or the id is.
    async fn create_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError>;
    /// The operator with this login, disabled or not.
    async fn operator_by_login(&self, login: &str) -> Result<Option<OperatorRecord>, StoreError>;
    /// One operator of a workspace.
    async fn operator(&self, workspace: &WorkspaceId, id: &str)
    -> Result<Option<OperatorRecord>, StoreError>;
    /// A workspace's operators, oldest first.
    async fn list_operators(&self, workspace: &WorkspaceId) -> Result<Vec<OperatorRecord>, StoreError>;
    /// Replaces an operator (found by workspace and id); whether they existed.
    /// [`StoreError::AlreadyExists`] when a new login is taken.
    async fn update_operator(&self, operator: &OperatorRecord) -> Result<bool, StoreError>;
    /// How many operators the server has, in every workspace.
    async fn count_operators(&self) -> Result<u64, StoreError>;
    /// Stores a new session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this digest, whether or not it has expired.
    async fn session(&self, digest: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Records activity on a session.
    async fn touch_session(&self, digest: &str, last_seen_ms: i64) -> Result<(), StoreError>;
    /// Ends one session (logout); whether it existed.
    async fn end_session(&self, digest: &str) -> Result<bool, StoreError>;
    /// Ends every session of an operator (disabled, password changed); how many.
    async fn end_sessions_of(&self, workspace: &WorkspaceId, operator_id: &str) -> Result<u64, StoreError>;
    /// Deletes sessions that expired by `now_ms` or saw no request since
    /// `idle_before_ms`; how many.
    async fn prune_sessions(&self, now_ms: i64, idle_before_ms: i64) -> Result<u64, StoreError>;
}
