//! The extractors that authenticate requests: an API key or a console session for the
//! management API, an app's write key for the inbox. Keys and sessions are checked by
//! the engine's services.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use base64::Engine as _;
use orbit_core::{ErrorCode, WorkspaceId};
use orbit_engine::service::audit::ActorKind;
use orbit_engine::service::keys::{ApiKeyRecord, KeyKind, Scope};
use orbit_engine::service::operators::Role;

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

/// The cookie holding a console session's token.
pub const SESSION_COOKIE: &str = "orbit_session";
/// The header carrying a console session's CSRF token on requests that change things.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who is calling the management API: a machine with an API key, or an operator
/// logged in to the console.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An API key.
    Key {
        /// The key's id.
        id: String,
        /// Its name.
        name: String,
    },
    /// A console operator.
    Operator {
        /// The operator's id.
        id: String,
        /// Their name.
        name: String,
        /// Their role.
        role: Role,
    },
}

/// A request to the management API, authenticated by an API key (`Authorization:
/// Bearer`) or by a console session (its cookie, and its CSRF token on every request
/// that is not a read).
#[derive(Debug, Clone)]
pub struct ApiCaller {
    workspace: WorkspaceId,
    scopes: Vec<Scope>,
    /// Who it is.
    pub actor: Actor,
}

impl ApiCaller {
    /// The workspace the caller acts in.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    /// Whether the key holds `scope` (or `admin`), or the operator's role does.
    pub fn holds(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Fails with 403 unless the key holds `scope` (or `admin`), or the operator's
    /// role does.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.holds(scope) {
            return Ok(());
        }
        Err(ApiError::forbidden(match &self.actor {
            Actor::Key { .. } => format!("this key lacks the {} scope", scope.as_str()),
            Actor::Operator { role, .. } => format!(
                "the {} role may not do this (it needs the {} permission)",
                role.as_str(),
                scope.as_str()
            ),
        }))
    }

    /// Whether people's phone numbers and email addresses are shown to this caller
    /// unmasked: keys (machines that send) and every role but `viewer`.
    pub fn sees_contacts(&self) -> bool {
        match &self.actor {
            Actor::Key { .. } => true,
            Actor::Operator { role, .. } => role.sees_contacts(),
        }
    }

    /// The actor's id and name, as the audit log records them.
    pub fn audit_actor(&self) -> (ActorKind, String, String) {
        match &self.actor {
            Actor::Key { id, name } => (ActorKind::Key, id.clone(), name.clone()),
            Actor::Operator { id, name, .. } => (ActorKind::Operator, id.clone(), name.clone()),
        }
    }

    /// Authenticates a request: its API key if it sends one, else its session cookie.
    /// `None` when it carries neither.
    ///
    /// # Errors
    /// 401 for an unknown, revoked or expired credential or a write key; 403
    /// (`csrf_refused`) for a session request that changes something without the
    /// session's CSRF token.
    pub async fn authenticate(
        state: &AppState,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, ApiError> {
        if let Some(secret) = header_credential(headers) {
            return match find_key(state, &secret).await? {
                Some(key) if key.kind == KeyKind::Api => Ok(Some(Self {
                    workspace: key.workspace_id,
                    scopes: key.scopes,
                    actor: Actor::Key {
                        id: key.id,
                        name: key.name,
                    },
                })),
                Some(_) => Err(ApiError::unauthorized(
                    "a write key can only send events; use an API key",
                )),
                None => Err(ApiError::unauthorized("unknown or revoked API key")),
            };
        }
        let Some(token) = session_token(headers) else {
            return Ok(None);
        };
        let operators = state.engine.operators();
        let Some(active) = operators.session(&token).await? else {
            return Err(ApiError::unauthorized("the session has ended; log in again"));
        };
        if !is_read(method) {
            let presented = headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !operators.csrf_matches(&token, presented) {
                return Err(ApiError::at(
                    ErrorCode::CsrfRefused,
                    CSRF_HEADER,
                    "a console request that changes something must carry the session's CSRF token in the X-CSRF-Token header",
                ));
            }
        }
        let operator = active.operator;
        Ok(Some(Self {
            workspace: operator.workspace_id,
            scopes: operator.role.scopes().to_vec(),
            actor: Actor::Operator {
                id: operator.id,
                name: operator.name,
                role: operator.role,
            },
        }))
    }
}

/// Whether a method only reads.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The console session token a request's cookies carry.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The audit layer has authenticated the request already.
        if let Some(caller) = parts.extensions.get::<Self>() {
            return Ok(caller.clone());
        }
        Self::authenticate(state, &parts.method, &parts.headers)
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send an API key as Authorization: Bearer KEY, or log in to the console",
                )
            })
    }
}

/// The address a request came from (the peer of its connection).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl ClientAddress {
    /// The peer address a connection recorded on the request.
    pub fn of(extensions: &axum::http::Extensions) -> Self {
        Self(
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions))
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
