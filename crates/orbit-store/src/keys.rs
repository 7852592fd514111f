//! Write keys (ingestion) and API keys (management), stored as digests only.

use crate::StoreError;
use async_trait::async_trait;
use orbit_core::{SourceId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Sends events for one source; safe to embed in apps and web pages.
    Write,
    /// Calls the management API within its scopes.
    Api,
}

impl KeyKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Api => "api",
        }
    }

    /// Parses a kind name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "write" => Some(Self::Write),
            "api" => Some(Self::Api),
            _ => None,
        }
    }
}

/// A permission an API key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// Read profiles and their events.
    #[serde(rename = "profiles:read")]
    ProfilesRead,
    /// Change traits, erase profiles.
    #[serde(rename = "profiles:write")]
    ProfilesWrite,
    /// Send events through the management API.
    #[serde(rename = "events:write")]
    EventsWrite,
    /// Read segments and tags, preview conditions, export members.
    #[serde(rename = "audiences:read")]
    AudiencesRead,
    /// Create, change and delete segments and tags.
    #[serde(rename = "audiences:write")]
    AudiencesWrite,
    /// Everything, including managing keys.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, for listings and `--help`.
    pub const ALL: [Scope; 6] = [
        Scope::ProfilesRead,
        Scope::ProfilesWrite,
        Scope::EventsWrite,
        Scope::AudiencesRead,
        Scope::AudiencesWrite,
        Scope::Admin,
    ];

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfilesRead => "profiles:read",
            Self::ProfilesWrite => "profiles:write",
            Self::EventsWrite => "events:write",
            Self::AudiencesRead => "audiences:read",
            Self::AudiencesWrite => "audiences:write",
            Self::Admin => "admin",
        }
    }

    /// Parses a scope name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A stored key: never the secret itself, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key's public id (shown in listings, used to revoke it).
    pub id: String,
    /// The workspace it acts in.
    pub workspace_id: WorkspaceId,
    /// Write key or API key.
    pub kind: KeyKind,
    /// A name for people.
    pub name: String,
    /// Hex HMAC-SHA256 digest of the secret.
    pub digest: String,
    /// Scopes of an API key (empty for write keys).
    pub scopes: Vec<Scope>,
    /// The source a write key sends as.
    pub source_id: Option<SourceId>,
    /// Creation time, epoch milliseconds.
    pub created_at_ms: i64,
    /// Revocation time, epoch milliseconds.
    pub revoked_at_ms: Option<i64>,
}

/// Storage of keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key.
    async fn create_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The unrevoked key with this digest.
    async fn key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// A workspace's keys, revoked ones included.
    async fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a key; returns whether it existed and was live.
    async fn revoke_key(&self, workspace: &WorkspaceId, id: &str, at_ms: i64) -> Result<bool, StoreError>;
}
