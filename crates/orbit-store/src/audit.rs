//! The audit log: every change to configuration or to a person's data made through the
//! console or the management API, appended and never edited — except that erasing a
//! person redacts what the log held of them.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{ProfileId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An operator logged in to the console.
    Operator,
    /// A machine with an API key.
    Key,
    /// Somebody who was not (yet) authenticated: a failed login.
    Anonymous,
}

impl ActorKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Key => "key",
            Self::Anonymous => "anonymous",
        }
    }

    /// Parses a kind name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Operator, Self::Key, Self::Anonymous]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// The workspace changed.
    pub workspace_id: WorkspaceId,
    /// When.
    pub at: Timestamp,
    /// Operator, key or anonymous.
    pub actor_kind: ActorKind,
    /// The operator's or key's id (the login tried, for a failed login).
    pub actor_id: String,
    /// The operator's or key's name.
    pub actor_name: String,
    /// What was done: the method and the route, e.g. `PUT /v1/segments/{id}`.
    pub action: String,
    /// The path called, e.g. `/v1/segments/vip`.
    pub path: String,
    /// The HTTP status of the answer: a refusal is recorded too.
    pub status: u16,
    /// The resource as it was before (as its own read endpoint shows it).
    pub before: Option<Value>,
    /// The resource as it was after.
    pub after: Option<Value>,
    /// The address the request came from.
    pub address: Option<String>,
    /// The people whose data the change touched: erasing one redacts the entry.
    pub profiles: Vec<ProfileId>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its place in the log, increasing.
    pub id: i64,
    /// What was appended; `before` and `after` are `None` once redacted.
    pub entry: NewAuditEntry,
    /// Whether a person's erasure redacted it.
    pub redacted: bool,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this operator's or key's.
    pub actor_id: Option<String>,
    /// Only actions starting with this (`PUT /v1/segments`, `DELETE`).
    pub action_prefix: Option<String>,
    /// Only paths starting with this (`/v1/segments/vip`).
    pub path_prefix: Option<String>,
    /// Only entries touching this person.
    pub profile: Option<ProfileId>,
    /// Only entries at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries before this time.
    pub until: Option<Timestamp>,
    /// Only entries older than this id (the cursor of the page before).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Storage of the audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry; its id.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError>;
    /// A workspace's entries matching the query, newest first.
    async fn audit_entries(
        &self,
        workspace: &WorkspaceId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Drops `before` and `after` of every entry touching these people and marks it
    /// redacted; how many entries were.
    async fn redact_audit(&self, workspace: &WorkspaceId, profiles: &[ProfileId]) -> Result<u64, StoreError>;
}
