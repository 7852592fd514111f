//! The extractors that authenticate requests: an API key for the management API, an
//! app's write key for the inbox. Keys are checked by the engine's key service.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use orbit_core::WorkspaceId;
use orbit_engine::service::keys::{ApiKeyRecord, KeyKind, Scope};

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
    Ok(state.engine.keys().authenticate(secret).await?)
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

/// A request authenticated with an app's write key (the in-app inbox).
#[derive(Debug, Clone)]
pub struct AppCaller {
    /// The key.
    pub key: ApiKeyRecord,
}

impl AppCaller {
    /// The workspace the key sends to.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.key.workspace_id
    }
}

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = header_credential(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("send the app's write key as a Bearer token or the Basic user")
        })?;
        match find_key(state, &secret).await? {
            Some(key) if key.kind == KeyKind::Write => Ok(Self { key }),
            Some(_) => Err(ApiError::unauthorized(
                "the inbox takes an app's write key, not an API key",
            )),
            None => Err(ApiError::unauthorized("unknown or revoked write key")),
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
}
