//! One WeChat account's server API, the one client both the official account and the
//! mini-program connectors send through: access tokens from the shared
//! `stable_token` cache ([`super::token`]), calls carrying the token, the single retry
//! after WeChat refuses a token, and the `errcode`s every API shares
//! (<https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html>).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use orbit_core::{Clock, SystemClock};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::token::{AccessTokens, Credentials, TokenSource};
use crate::connector::{Accepted, ConfigError, SendError, classify_status, transport_error};
use crate::egress::HttpClient;
use crate::secret::Secret;

/// `errcode`s that mean the access token is invalid (40001, 40014) or expired (42001).
const TOKEN_REFUSED: [i64; 3] = [40001, 40014, 42001];

/// China Standard Time, where WeChat's daily API quotas reset at midnight; it has no
/// daylight saving time.
const CHINA_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// Sorts an API's non-zero `errcode` and `errmsg` into a send error; `now` dates
/// quota waits. Each API sorts its own codes and hands the rest to [`classify_common`].
pub(crate) type ClassifyErrcode = fn(i64, &str, Timestamp) -> SendError;

/// One account's API client.
pub(crate) struct ApiClient {
    /// The API base URL, without a trailing slash.
    endpoint: String,
    credentials: Credentials,
    http: HttpClient,
    registry: Arc<AccessTokens>,
    tokens: TokenSource,
}

impl ApiClient {
    /// A client for the account `app_id`, sharing access tokens process-wide with every
    /// client of the same account and reading the wall clock.
    pub(crate) fn new(endpoint: &str, app_id: &str, app_secret: &Secret, http: HttpClient) -> Self {
        let credentials = Credentials {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            app_secret: app_secret.clone(),
        };
        let registry = AccessTokens::shared();
        let tokens = registry.source(credentials.clone(), http.clone(), Arc::new(SystemClock));
        Self {
            endpoint: credentials.endpoint.clone(),
            credentials,
            http,
            registry,
            tokens,
        }
    }

    /// Takes access tokens from `registry` instead of the process-wide one.
    pub(crate) fn with_tokens(mut self, registry: Arc<AccessTokens>) -> Self {
        self.registry = registry;
        let clock = self.tokens.clock().clone();
        self.tokens = self
            .registry
            .source(self.credentials.clone(), self.http.clone(), clock);
        self
    }

    /// Uses `clock` for token lifetimes and quota waits.
    pub(crate) fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.tokens = self
            .registry
            .source(self.credentials.clone(), self.http.clone(), clock);
        self
    }

    /// Sends a message: POSTs `body` as JSON to `path` (`/cgi-bin/message/…`) with the
    /// account's access token, and reads WeChat's `msgid` from the answer. When WeChat
    /// calls the token invalid or expired, the token is replaced once, for every
    /// connector of the account, and the call made again; any other non-zero
    /// `errcode` is sorted by `classify`. `provider_deduplicates` tells whether an
    /// answer lost after the request left may be retried without sending twice.
    pub(crate) async fn send_message<B: Serialize + Sync>(
        &self,
        path: &str,
        body: &B,
        provider_deduplicates: bool,
        classify: ClassifyErrcode,
    ) -> Result<Accepted, SendError> {
        let url = format!("{}{path}", self.endpoint);
        let mut token = self.tokens.token().await?;
        let mut refreshed = false;
        loop {
            let with_token = format!(
                "{url}?access_token={}",
                utf8_percent_encode(&token, NON_ALPHANUMERIC)
            );
            let response = self
                .http
                .request(reqwest::Method::POST, &with_token)?
                .json(body)
                .send()
                .await
                // The URL carries the token: keep it out of the error's words.
                .map_err(|e| transport_error(&e.without_url(), provider_deduplicates))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| transport_error(&e.without_url(), provider_deduplicates))?;
            if !status.is_success() {
                return Err(classify_status(status, &text));
            }
            let answer: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                let message = format!("WeChat answered 200 with an unreadable body: {e}");
                if provider_deduplicates {
                    SendError::retryable("answer", message)
                } else {
                    SendError::Ambiguous { message }
                }
            })?;
            let errcode = answer
                .get("errcode")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0);
            if errcode == 0 {
                return Ok(Accepted {
                    provider_message_id: answer.get("msgid").map(|id| match id {
                        serde_json::Value::String(id) => id.clone(),
                        other => other.to_string(),
                    }),
                    parts: None,
                });
            }
            if TOKEN_REFUSED.contains(&errcode) && !refreshed {
                token = self.tokens.refresh_after_rejection(&token).await?;
                refreshed = true;
                continue;
            }
            let errmsg = answer
                .get("errmsg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            return Err(classify(errcode, errmsg, self.tokens.clock().now()));
        }
    }
}

/// One template keyword's value, as both message APIs write their `data`.
#[derive(Debug, Serialize)]
pub(crate) struct DataValue<'a> {
    pub(crate) value: &'a str,
}

/// Sorts the `errcode`s any WeChat API may answer.
pub(crate) fn classify_common(errcode: i64, errmsg: &str, now: Timestamp) -> SendError {
    let code = errcode.to_string();
    match errcode {
        // System busy.
        -1 => SendError::retryable(code, errmsg),
        // Daily call quota reached; it resets at midnight China time.
        45009 => SendError::throttled(code, errmsg, Some(until_next_china_midnight(now))),
        // Per-minute call quota reached.
        45011 => SendError::throttled(code, errmsg, Some(Duration::from_secs(60))),
        // Too many messages to this user.
        45047 => SendError::throttled(code, errmsg, None),
        40001 | 40014 | 42001 => SendError::retryable(
            code,
            format!("WeChat refused an access token fetched a moment ago: {errmsg}"),
        ),
        40164 => SendError::permanent(
            code,
            format!("this server's IP address is not on the account's API IP whitelist: {errmsg}"),
        ),
        48001 => SendError::permanent(
            code,
            format!("the account is not authorised to call this API: {errmsg}"),
        ),
        _ => SendError::permanent(code, errmsg),
    }
}

fn until_next_china_midnight(now: Timestamp) -> Duration {
    let local = now.as_second() + CHINA_UTC_OFFSET_SECS;
    let into_day = local.rem_euclid(86_400);
    Duration::from_secs(u64::try_from(86_400 - into_day).unwrap_or(86_400))
}

/// Checks an AppID (`wx` and sixteen letters or digits, as WeChat issues them).
pub(crate) fn check_app_id(app_id: &str) -> Result<(), ConfigError> {
    let looks_right =
        app_id.starts_with("wx") && app_id.len() <= 32 && app_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if looks_right {
        Ok(())
    } else {
        Err(ConfigError::new(
            "app_id",
            "must be the account's AppID, starting with wx",
        ))
    }
}

/// Checks an AppSecret is present.
pub(crate) fn check_app_secret(app_secret: &str) -> Result<(), ConfigError> {
    if app_secret.trim().is_empty() {
        Err(ConfigError::new("app_secret", "must not be empty"))
    } else {
        Ok(())
    }
}

/// Checks the server configuration Token: WeChat takes 3 to 32 letters or digits.
pub(crate) fn check_server_token(token: Option<&str>) -> Result<(), ConfigError> {
    match token {
        Some(token)
            if !(3..=32).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Err(ConfigError::new(
                "server_token",
                "must be the server configuration Token: 3 to 32 letters or digits",
            ))
        }
        _ => Ok(()),
    }
}

/// Checks the API base URL.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    match url::Url::parse(endpoint) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(()),
        Ok(_) => Err(ConfigError::new("endpoint", "must be an http or https URL")),
        Err(e) => Err(ConfigError::new("endpoint", format!("not a URL: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn the_daily_quota_waits_until_midnight_in_china() {
        // 23:00 in Beijing is 15:00 UTC: one hour to go.
        assert_eq!(
            until_next_china_midnight(at("2024-05-01T15:00:00Z")),
            Duration::from_secs(3600)
        );
        // Just past midnight in Beijing: almost a full day.
        assert_eq!(
            until_next_china_midnight(at("2024-05-01T16:00:01Z")),
            Duration::from_secs(86_399)
        );
        assert_eq!(
            classify_common(
                45009,
                "reach max api daily quota limit",
                at("2024-05-01T15:00:00Z")
            ),
            SendError::Retryable {
                code: "45009".to_owned(),
                message: "reach max api daily quota limit".to_owned(),
                retry_after_ms: Some(3_600_000),
            }
        );
    }

    #[test]
    fn shared_errcodes_are_sorted() {
        let now = Timestamp::UNIX_EPOCH;
        assert!(matches!(
            classify_common(-1, "system error", now),
            SendError::Retryable { .. }
        ));
        assert!(matches!(
            classify_common(45011, "minute quota", now),
            SendError::Retryable {
                retry_after_ms: Some(60_000),
                ..
            }
        ));
        assert!(matches!(
            classify_common(45047, "out of limit", now),
            SendError::Retryable { .. }
        ));
        assert!(matches!(
            classify_common(40164, "invalid ip", now),
            SendError::Permanent { message, .. } if message.contains("whitelist")
        ));
        assert!(matches!(
            classify_common(47001, "data format error", now),
            SendError::Permanent { .. }
        ));
    }

    #[test]
    fn config_checks_name_their_field() {
        assert_eq!(check_app_id("wx1234567890abcdef"), Ok(()));
        assert_eq!(check_app_id("gh_123").expect_err("bad").field, "app_id");
        assert_eq!(check_app_secret(" ").expect_err("bad").field, "app_secret");
        assert_eq!(
            check_server_token(Some("ab")).expect_err("bad").field,
            "server_token"
        );
        assert_eq!(check_server_token(Some("orbitToken1")), Ok(()));
        assert_eq!(check_server_token(None), Ok(()));
        assert_eq!(check_endpoint("ftp://x").expect_err("bad").field, "endpoint");
    }
}
