//! Keys: minting, hashing, looking up and revoking a workspace's write and API keys.
//!
//! Keys are stored as HMAC-SHA256 digests under the server secret (ADR 0003), so a
//! leaked database does not leak usable keys; look-ups are by digest, so comparison
//! happens inside the index on a fixed-length value.

use crate::EngineError;
use hmac::{Hmac, Mac};
use orbit_core::{Clock, ErrorCode, Problem, SourceId, WorkspaceId};
use orbit_store::KeyStore;
pub use orbit_store::{ApiKeyRecord, KeyKind, Scope};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use utoipa::ToSchema;

/// Hashes keys with the server's secret.
#[derive(Clone)]
pub struct KeyHasher {
    secret: Vec<u8>,
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher(..)")
    }
}

/// A freshly minted key: the secret is shown once and never stored.
#[derive(Debug)]
pub struct MintedKey {
    /// The key to hand to the user.
    pub secret: String,
    /// What is stored.
    pub record: ApiKeyRecord,
}

/// What a key is made with.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Write or API key.
    pub kind: KeyKind,
    /// A name for people.
    pub name: String,
    /// An API key's scopes.
    pub scopes: Vec<Scope>,
    /// The source a write key sends as (`default` when none).
    pub source: Option<SourceId>,
}

impl KeyHasher {
    /// A hasher over a server secret (at least 32 bytes).
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    /// A 256-bit key for `purpose`, derived from the server secret, so one secret
    /// file serves several independent uses (sealing provider configurations…).
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        blake3::derive_key(purpose, &self.secret)
    }

    /// The hex HMAC-SHA256 digest of a key.
    pub fn digest(&self, key: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(key.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Mints a new key in `workspace_id`.
    pub fn mint(&self, workspace_id: WorkspaceId, spec: KeySpec, created_at_ms: i64) -> MintedKey {
        let random = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let prefix = match spec.kind {
            KeyKind::Write => "wk_",
            KeyKind::Api => "ok_",
        };
        let secret = format!("{prefix}{random}");
        let id = format!("key_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let source_id = match spec.kind {
            KeyKind::Write => Some(spec.source.unwrap_or_else(SourceId::default_source)),
            KeyKind::Api => None,
        };
        let record = ApiKeyRecord {
            id,
            workspace_id,
            kind: spec.kind,
            name: spec.name,
            digest: self.digest(&secret),
            scopes: if spec.kind == KeyKind::Api {
                spec.scopes
            } else {
                Vec::new()
            },
            source_id,
            created_at_ms,
            revoked_at_ms: None,
        };
        MintedKey { secret, record }
    }
}

/// A request to mint a key (`POST /v1/keys`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// `write` (sends events for one source) or `api` (the management API, with scopes).
    #[schema(example = "api")]
    pub kind: String,
    /// A name for people (default: `write key` / `api key`).
    #[serde(default)]
    pub name: Option<String>,
    /// An API key's scopes: `profiles:read`, `profiles:write`, `events:write`,
    /// `audiences:read`, `audiences:write`, `admin`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The source a write key sends as (default `default`).
    #[serde(default)]
    pub source: Option<String>,
}

/// A key as listings show it: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    /// The key's public id.
    pub id: String,
    /// `write` or `api`.
    pub kind: KeyKind,
    /// Its name.
    pub name: String,
    /// An API key's scopes.
    pub scopes: Vec<Scope>,
    /// The source a write key sends as.
    pub source: Option<SourceId>,
    /// When it was minted, epoch milliseconds.
    pub created_at_ms: i64,
    /// When it was revoked, epoch milliseconds.
    pub revoked_at_ms: Option<i64>,
    /// The key itself: only in the answer that minted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<&ApiKeyRecord> for KeyView {
    fn from(key: &ApiKeyRecord) -> Self {
        Self {
            id: key.id.clone(),
            kind: key.kind,
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            source: key.source_id.clone(),
            created_at_ms: key.created_at_ms,
            revoked_at_ms: key.revoked_at_ms,
            key: None,
        }
    }
}

/// The workspace's keys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyList {
    /// Every key, revoked ones too.
    pub data: Vec<KeyView>,
}

/// A key just revoked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevokedKey {
    /// The key's id.
    pub id: String,
    /// Always true.
    pub revoked: bool,
}

/// The workspace's keys and the server secret they are hashed with.
pub struct Keys {
    store: Arc<dyn KeyStore>,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys over their store.
    pub fn new(store: Arc<dyn KeyStore>, hasher: KeyHasher, clock: Arc<dyn Clock>) -> Self {
        Self { store, hasher, clock }
    }

    /// The live key whose secret this is, if any.
    ///
    /// # Errors
    /// Fails when the store cannot be read.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKeyRecord>, EngineError> {
        Ok(self.store.key_by_digest(&self.hasher.digest(secret)).await?)
    }

    /// Mints a key from a request; the answer carries the secret, shown this once.
    ///
    /// # Errors
    /// `invalid_kind`, `invalid_scope`, `missing_field` or `invalid_source` naming the
    /// field.
    pub async fn create(&self, workspace: &WorkspaceId, request: NewKey) -> Result<KeyView, EngineError> {
        let kind = KeyKind::parse(&request.kind)
            .ok_or_else(|| Problem::at(ErrorCode::InvalidKind, "kind", "kind must be write or api"))?;
        let scopes = request
            .scopes
            .iter()
            .map(|s| {
                Scope::parse(s).ok_or_else(|| {
                    let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                    Problem::at(
                        ErrorCode::InvalidScope,
                        "scopes",
                        format!("unknown scope {s:?}; known: {}", known.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if kind == KeyKind::Api && scopes.is_empty() {
            return Err(Problem::at(
                ErrorCode::MissingField,
                "scopes",
                "an API key needs at least one scope",
            )
            .into());
        }
        let source = request
            .source
            .map(|s| {
                SourceId::parse(&s)
                    .map_err(|e| Problem::at(ErrorCode::InvalidSource, "source", format!("source {e}")))
            })
            .transpose()?;
        if source.as_ref().is_some_and(SourceId::is_system) {
            return Err(Problem::at(
                ErrorCode::InvalidSource,
                "source",
                "source \"orbit\" is reserved for the events Orbit appends itself",
            )
            .into());
        }
        let name = request.name.unwrap_or_else(|| format!("{} key", kind.as_str()));
        let spec = KeySpec {
            kind,
            name,
            scopes,
            source,
        };
        let minted = self
            .hasher
            .mint(workspace.clone(), spec, self.clock.now().as_millisecond());
        self.store.create_key(&minted.record).await?;
        let mut view = KeyView::from(&minted.record);
        view.key = Some(minted.secret);
        Ok(view)
    }

    /// The workspace's keys, without secrets.
    ///
    /// # Errors
    /// Fails when the store cannot be read.
    pub async fn list(&self, workspace: &WorkspaceId) -> Result<KeyList, EngineError> {
        let keys = self.store.list_keys(workspace).await?;
        Ok(KeyList {
            data: keys.iter().map(KeyView::from).collect(),
        })
    }

    /// Revokes a key at once.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn revoke(&self, workspace: &WorkspaceId, id: &str) -> Result<RevokedKey, EngineError> {
        let revoked = self
            .store
            .revoke_key(workspace, id, self.clock.now().as_millisecond())
            .await?;
        if !revoked {
            return Err(Problem::not_found("key").into());
        }
        Ok(RevokedKey {
            id: id.to_owned(),
            revoked: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_depend_on_the_server_secret() {
        let a = KeyHasher::new(vec![1; 32]);
        let b = KeyHasher::new(vec![2; 32]);
        assert_eq!(a.digest("wk_x"), a.digest("wk_x"));
        assert_ne!(a.digest("wk_x"), b.digest("wk_x"));
        assert_eq!(a.digest("wk_x").len(), 64);
    }

    #[test]
    fn a_write_key_sends_as_the_default_source_and_has_no_scopes() {
        let hasher = KeyHasher::new(vec![7; 32]);
        let spec = KeySpec {
            kind: KeyKind::Write,
            name: "web".into(),
            scopes: vec![Scope::Admin],
            source: None,
        };
        let minted = hasher.mint(WorkspaceId::default_workspace(), spec, 0);
        assert!(minted.secret.starts_with("wk_"));
        assert_eq!(minted.record.source_id, Some(SourceId::default_source()));
        assert!(minted.record.scopes.is_empty());
        assert_eq!(minted.record.digest, hasher.digest(&minted.secret));
    }
}
