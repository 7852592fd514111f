//! Keys: minting, hashing, and the extractors that authenticate requests.
//!
//! Keys are stored as HMAC-SHA256 digests under a server secret, so a leaked database
//! does not leak usable keys; lookups are by digest, so comparison happens inside the
//! index on a fixed-length value.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use orbit_core::{SourceId, WorkspaceId};
use orbit_store::{ApiKeyRecord, KeyKind, Scope};
use sha2::Sha256;

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

    /// Mints a new key of `kind`.
    pub fn mint(
        &self,
        workspace_id: WorkspaceId,
        kind: KeyKind,
        name: String,
        scopes: Vec<Scope>,
        source_id: Option<SourceId>,
        created_at_ms: i64,
    ) -> MintedKey {
        let random = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let prefix = match kind {
            KeyKind::Write => "wk_",
            KeyKind::Api => "ok_",
        };
        let secret = format!("{prefix}{random}");
        let id = format!("key_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let source_id = match kind {
            KeyKind::Write => Some(
                source_id.unwrap_or_else(|| SourceId::parse("default").unwrap_or_else(|_| unreachable!())),
            ),
            KeyKind::Api => None,
        };
        let record = ApiKeyRecord {
            id,
            workspace_id,
            kind,
            name,
            digest: self.digest(&secret),
            scopes: if kind == KeyKind::Api { scopes } else { Vec::new() },
            source_id,
            created_at_ms,
            revoked_at_ms: None,
        };
        MintedKey { secret, record }
    }
}

/// The credential a request presented in its headers, if any.
pub fn header_credential(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        return Some(token.trim().to_owned()).filter(|t| !t.is_empty());
    }
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    // Segment's older SDKs and RudderStack send the write key as the Basic user name.
    let user = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    Some(user.to_owned()).filter(|u| !u.is_empty())
}

/// Looks up a live key by its secret.
pub async fn find_key(state: &AppState, secret: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
    Ok(state.keys.key_by_digest(&state.hasher.digest(secret)).await?)
}

/// A request authenticated with an API key.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The key.
    pub key: ApiKeyRecord,
}

impl ApiCaller {
    /// The workspace the key acts in.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.key.workspace_id
    }

    /// Fails with 403 unless the key holds `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.key.scopes.contains(&scope) || self.key.scopes.contains(&Scope::Admin) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this key lacks the {} scope",
                scope.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = header_credential(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("send an API key as Authorization: Bearer KEY"))?;
        match find_key(state, &secret).await? {
            Some(key) if key.kind == KeyKind::Api => Ok(Self { key }),
            Some(_) => Err(ApiError::unauthorized(
                "a write key can only send events; use an API key",
            )),
            None => Err(ApiError::unauthorized("unknown or revoked API key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_auth_carries_the_write_key_as_user_name() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("wk_abc:");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("valid"),
        );
        assert_eq!(header_credential(&headers).as_deref(), Some("wk_abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer ok_123"));
        assert_eq!(header_credential(&headers).as_deref(), Some("ok_123"));
    }

    #[test]
    fn digests_depend_on_the_server_secret() {
        let a = KeyHasher::new(vec![1; 32]);
        let b = KeyHasher::new(vec![2; 32]);
        assert_eq!(a.digest("wk_x"), a.digest("wk_x"));
        assert_ne!(a.digest("wk_x"), b.digest("wk_x"));
        assert_eq!(a.digest("wk_x").len(), 64);
    }
}
