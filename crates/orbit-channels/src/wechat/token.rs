//! WeChat access tokens, one cache per account shared by every connector that sends
//! for it.
//!
//! Tokens come from `POST /cgi-bin/stable_token` (getStableAccessToken), not from
//! `GET /cgi-bin/token` (getAccessToken): each getAccessToken call retires the token
//! every other system holds for the same account five minutes later, so Orbit and the
//! customer's own back end would keep knocking each other's tokens out. The stable
//! token is isolated from getAccessToken, and in its normal mode every caller gets the
//! same token while it is valid; WeChat recommends it in place of getAccessToken.
//! Its forced-refresh mode retires the current token and is limited to 20 calls a day,
//! so it is used only when WeChat refuses a token that normal mode hands back again.
//!
//! Docs: <https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken>,
//! <https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html>.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use jiff::{SignedDuration, Timestamp};
use orbit_core::Clock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::api::classify_common;
use crate::connector::{SendError, classify_status, transport_error};
use crate::egress::HttpClient;
use crate::secret::Secret;

/// WeChat's production API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.weixin.qq.com";

/// A token is replaced this long before it expires. WeChat issues the next stable
/// token five minutes before the current one expires and keeps both valid meanwhile,
/// so asking a minute early always gets the next one.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// The credentials tokens are fetched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// WeChat's API base URL.
    pub endpoint: String,
    /// The account's AppID.
    pub app_id: String,
    /// The account's AppSecret.
    pub app_secret: Secret,
}

/// Token caches by account. Connectors built with the same credentials on the same
/// registry share one token and one refresh.
#[derive(Debug, Default)]
pub struct AccessTokens {
    slots: std::sync::Mutex<HashMap<SlotKey, Arc<Slot>>>,
}

/// The secret is part of the key, as a digest: a connector configured with someone
/// else's AppID but not their AppSecret must not borrow their cached token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    endpoint: String,
    app_id: String,
    secret_digest: [u8; 32],
}

#[derive(Debug, Default)]
struct Slot {
    current: Mutex<Option<CachedToken>>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    access_token: String,
    refresh_after: Timestamp,
}

impl AccessTokens {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The process-wide registry connectors use unless given another.
    pub fn shared() -> Arc<Self> {
        static SHARED: OnceLock<Arc<AccessTokens>> = OnceLock::new();
        SHARED.get_or_init(AccessTokens::new).clone()
    }

    /// A token source for `credentials`, sharing the cache of every other source made
    /// from this registry with the same credentials.
    pub fn source(&self, credentials: Credentials, http: HttpClient, clock: Arc<dyn Clock>) -> TokenSource {
        let key = SlotKey {
            endpoint: credentials.endpoint.clone(),
            app_id: credentials.app_id.clone(),
            secret_digest: Sha256::digest(credentials.app_secret.expose().as_bytes()).into(),
        };
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_default()
            .clone();
        TokenSource {
            slot,
            credentials,
            http,
            clock,
        }
    }
}

/// Access tokens for one account, from a shared cache.
pub struct TokenSource {
    slot: Arc<Slot>,
    credentials: Credentials,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The clock token lifetimes are measured with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A valid access token, fetched when none is cached or the cached one is about to
    /// expire. Concurrent callers wait for one fetch instead of each making their own.
    pub async fn token(&self) -> Result<String, SendError> {
        let mut current = self.slot.current.lock().await;
        let now = self.clock.now();
        if let Some(cached) = current.as_ref().filter(|c| now < c.refresh_after) {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.fetch(false).await?;
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// A replacement for `rejected`, which WeChat called invalid or expired. When
    /// another send already replaced it, that replacement is returned without a fetch;
    /// when normal mode hands the refused token back, a forced refresh retires it.
    pub async fn refresh_after_rejection(&self, rejected: &str) -> Result<String, SendError> {
        let mut current = self.slot.current.lock().await;
        if let Some(cached) = current.as_ref().filter(|c| c.access_token != rejected) {
            return Ok(cached.access_token.clone());
        }
        let mut fresh = self.fetch(false).await?;
        if fresh.access_token == rejected {
            fresh = self.fetch(true).await?;
        }
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    async fn fetch(&self, force_refresh: bool) -> Result<CachedToken, SendError> {
        let now = self.clock.now();
        let url = format!("{}/cgi-bin/stable_token", self.credentials.endpoint);
        let request = StableTokenRequest {
            grant_type: "client_credential",
            appid: &self.credentials.app_id,
            secret: self.credentials.app_secret.expose(),
            force_refresh,
        };
        let response = self
            .http
            .request(reqwest::Method::POST, &url)?
            .json(&request)
            .send()
            .await
            // Fetching a token sends no message; a lost answer only costs a retry.
            .map_err(|e| transport_error(&e, true))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| transport_error(&e, true))?;
        if !status.is_success() {
            return Err(classify_status(status, &body));
        }
        let answer: StableTokenAnswer = serde_json::from_str(&body)
            .map_err(|e| SendError::retryable("token_answer", format!("unreadable token answer: {e}")))?;
        match answer {
            StableTokenAnswer {
                access_token: Some(access_token),
                expires_in: Some(expires_in),
                ..
            } if answer.errcode.unwrap_or(0) == 0 => {
                let lifetime = SignedDuration::from_secs(expires_in.max(0));
                let keep = if lifetime > REFRESH_MARGIN * 2 {
                    lifetime - REFRESH_MARGIN
                } else {
                    lifetime / 2
                };
                Ok(CachedToken {
                    access_token,
                    refresh_after: now.saturating_add(keep).unwrap_or(now),
                })
            }
            StableTokenAnswer { errcode, errmsg, .. } => Err(token_error(
                errcode.unwrap_or(0),
                &errmsg.unwrap_or_default(),
                &self.credentials.app_id,
                now,
            )),
        }
    }
}

#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'a str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

#[derive(Deserialize)]
struct StableTokenAnswer {
    access_token: Option<String>,
    expires_in: Option<i64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

/// Sorts a refusal of the token endpoint. Credential and whitelist errors need a person
/// to fix the configuration, so they say what to fix.
fn token_error(errcode: i64, errmsg: &str, app_id: &str, now: Timestamp) -> SendError {
    let code = errcode.to_string();
    match errcode {
        40013 | 41002 => SendError::permanent(
            code,
            format!("WeChat does not know the app_id {app_id}; check it ({errmsg})"),
        ),
        40125 | 41004 => SendError::permanent(
            code,
            format!(
                "WeChat refused the app_secret of {app_id}; check it or reset it in the back office ({errmsg})"
            ),
        ),
        40164 => SendError::permanent(
            code,
            format!(
                "this server's IP address is not on the API IP whitelist of {app_id}; add it in the back office ({errmsg})"
            ),
        ),
        89503 | 89501 | 89506 | 89507 => SendError::permanent(
            code,
            format!("the account's administrator must confirm calls from this IP address ({errmsg})"),
        ),
        0 => SendError::retryable("token_answer", "the token answer carries no token"),
        _ => classify_common(errcode, errmsg, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_say_what_to_fix() {
        let now = Timestamp::UNIX_EPOCH;
        for (errcode, needle) in [(40013, "app_id"), (40125, "app_secret"), (40164, "whitelist")] {
            let sorted = token_error(errcode, "invalid", "wx1234", now);
            assert!(
                matches!(&sorted, SendError::Permanent { code, message } if *code == errcode.to_string() && message.contains(needle) && message.contains("wx1234")),
                "{errcode}: {sorted:?}"
            );
        }
        assert!(matches!(
            token_error(-1, "system error", "wx1234", now),
            SendError::Retryable { .. }
        ));
    }

    #[test]
    fn the_same_credentials_share_a_slot_and_a_different_secret_does_not() {
        let registry = AccessTokens::new();
        let http = crate::EgressPolicy::strict()
            .client(std::time::Duration::from_secs(1))
            .expect("client");
        let clock: Arc<dyn Clock> = Arc::new(orbit_core::SystemClock);
        let credentials = |secret: &str| Credentials {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            app_id: "wx1234".to_owned(),
            app_secret: secret.into(),
        };
        let a = registry.source(credentials("s1"), http.clone(), clock.clone());
        let b = registry.source(credentials("s1"), http.clone(), clock.clone());
        let c = registry.source(credentials("s2"), http, clock);
        assert!(Arc::ptr_eq(&a.slot, &b.slot));
        assert!(!Arc::ptr_eq(&a.slot, &c.slot));
        assert!(!format!("{a:?}").contains("s1"));
    }
}
