//! Webhooks: a signed JSON POST to any allowed HTTP endpoint.
//!
//! Each delivery is `POST <url>` with `Content-Type: application/json`, the rendered
//! document as body, and three headers:
//!
//! - `Orbit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` ([`signature`]);
//! - `Idempotency-Key: <send id>` and `Orbit-Send-Id: <send id>`.
//!
//! # Contract for receivers
//! A delivery that times out is retried with the same `Idempotency-Key`, and so may
//! arrive twice: receivers must deduplicate on that key. Any 2xx answer means taken;
//! 408, 425, 429 and 5xx mean "later" (a `Retry-After` in seconds is honoured); any
//! other answer is final and the delivery is not retried.

mod signature;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orbit_core::{Clock, SystemClock};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::connector::{
    Accepted, ConfigError, Connector, Content, OutboundMessage, SendError, retry_after, transport_error,
};
use crate::egress::{EgressPolicy, HttpClient};
use crate::secret::{self, Secret};

pub use signature::{SIGNATURE_HEADER, SignatureError, sign, verify};

/// The idempotency key header; the value is the send id.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The send id header, for receivers that log it apart from the key.
pub const SEND_ID_HEADER: &str = "Orbit-Send-Id";

/// Headers a configuration may not set: HTTP framing and routing, which the client
/// owns, and Orbit's own headers, which a static value would falsify.
const RESERVED_HEADERS: &[&str] = &[
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "expect",
    "host",
    "idempotency-key",
    "keep-alive",
    "orbit-send-id",
    "orbit-signature",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Answers are read up to this size: enough for an id or an error message, and a
/// receiver cannot make the worker buffer an endless body.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where deliveries are posted (`http` or `https`).
    pub url: String,
    /// The signing secret, shared with the receiver.
    pub secret: Secret,
    /// How long a delivery may take, answer included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Static headers added to every delivery; their values are secrets, as they often
    /// carry a token.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

impl WebhookConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed().map(|_| ())
    }

    /// Checks the URL against the egress policy now, resolving its host.
    pub async fn check_destination(&self, policy: &EgressPolicy) -> Result<(), ConfigError> {
        let url = self.parsed_url()?;
        policy
            .check_destination(&url)
            .await
            .map_err(|e| ConfigError::new("url", e.to_string()))
    }

    fn parsed_url(&self) -> Result<Url, ConfigError> {
        let url = Url::parse(&self.url).map_err(|e| ConfigError::new("url", format!("not a URL: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ConfigError::new("url", "use an http or https URL"));
        }
        if url.host().is_none() {
            return Err(ConfigError::new("url", "the URL has no host"));
        }
        Ok(url)
    }

    fn parsed(&self) -> Result<(Url, HeaderMap), ConfigError> {
        secret::refuse_kept(self)?;
        let url = self.parsed_url()?;
        if self.secret.expose().len() < 16 {
            return Err(ConfigError::new("secret", "use at least 16 characters"));
        }
        if !(1..=120_000).contains(&self.timeout_ms) {
            return Err(ConfigError::new("timeout_ms", "must be between 1 and 120000"));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let bad = |m: String| ConfigError::new(format!("headers.{name}"), m);
            let parsed_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad("not a valid header name".to_owned()))?;
            if RESERVED_HEADERS.contains(&parsed_name.as_str()) {
                return Err(bad(format!("{name} is set by Orbit and cannot be configured")));
            }
            let parsed_value = HeaderValue::from_str(value.expose())
                .map_err(|_| bad("the value must be visible ASCII without line breaks".to_owned()))?;
            headers.insert(parsed_name, parsed_value);
        }
        Ok((url, headers))
    }
}

/// Posts signed JSON documents to one endpoint.
pub struct WebhookConnector {
    url: Url,
    secret: String,
    timeout: Duration,
    headers: HeaderMap,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConnector")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl WebhookConnector {
    /// A connector for `config`, sending through the guarded `http` client.
    pub fn new(config: WebhookConfig, http: HttpClient) -> Result<Self, ConfigError> {
        let (url, headers) = config.parsed()?;
        Ok(Self {
            url,
            secret: config.secret.expose().to_owned(),
            timeout: Duration::from_millis(config.timeout_ms),
            headers,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// Signs with `clock`'s time instead of the wall clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl Connector for WebhookConnector {
    fn provider(&self) -> &'static str {
        "webhook"
    }

    // Receivers are required to deduplicate on the Idempotency-Key header.
    fn deduplicates(&self) -> bool {
        true
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::Webhook(content) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the webhook connector sends webhook content only",
            ));
        };
        let send_id = HeaderValue::from_str(&message.send_id)
            .map_err(|_| SendError::permanent("send_id", "the send id is not a valid header value"))?;
        let body =
            serde_json::to_vec(&content.body).map_err(|e| SendError::permanent("body", e.to_string()))?;
        let signature = sign(&self.secret, self.clock.now(), &body);
        let signature = HeaderValue::from_str(&signature)
            .map_err(|e| SendError::permanent("signature", e.to_string()))?;
        let response = self
            .http
            .request(reqwest::Method::POST, self.url.as_str())?
            .timeout(self.timeout)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_KEY_HEADER, send_id.clone())
            .header(SEND_ID_HEADER, send_id)
            .body(body)
            .send()
            .await
            // The receiver deduplicates on the idempotency key (see the module's
            // contract), so a delivery that timed out is safe to retry.
            .map_err(|e| transport_error(&e, true))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let answer = read_capped(response).await;
        classify(status, wait, &answer)
    }
}

/// Sorts the receiver's answer into the worker's outcomes.
fn classify(status: StatusCode, wait: Option<Duration>, answer: &str) -> Result<Accepted, SendError> {
    if status.is_success() {
        return Ok(Accepted {
            provider_message_id: answer_id(answer),
            parts: None,
        });
    }
    let code = status.as_u16().to_string();
    let message: String = answer.chars().take(500).collect();
    let later = matches!(status.as_u16(), 408 | 425 | 429) || status.is_server_error();
    if later {
        Err(SendError::throttled(code, message, wait))
    } else {
        // Other 4xx, and 1xx/3xx that were not followed: resending the same request
        // would get the same answer.
        Err(SendError::permanent(code, message))
    }
}

/// The receiver's id for the delivery, when its answer is a JSON object with an `id`.
fn answer_id(answer: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(answer).ok()?;
    match value.get("id")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the answer; a body that breaks off is
/// kept as far as it came, since the status already decided the outcome.
async fn read_capped(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(MAX_ANSWER_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebhookConfig {
        serde_json::from_value(serde_json::json!({
            "url": "https://hooks.example.cn/orbit",
            "secret": "whsec_orbit_test_0123456789",
            "headers": {"Authorization": "Bearer abc", "X-Tenant": "shop-7"},
        }))
        .expect("config")
    }

    #[test]
    fn a_valid_config_parses_with_defaults_and_hides_its_secrets_in_debug() {
        let config = config();
        assert_eq!(config.timeout_ms, 10_000);
        assert!(config.validate().is_ok());
        let debug = format!("{config:?}");
        assert!(!debug.contains("whsec"), "{debug}");
        assert!(!debug.contains("Bearer"), "{debug}");
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |c: WebhookConfig| c.validate().expect_err("invalid").field;
        assert_eq!(
            field(WebhookConfig {
                url: "ftp://example.com/x".into(),
                ..config()
            }),
            "url"
        );
        assert_eq!(
            field(WebhookConfig {
                url: "not a url".into(),
                ..config()
            }),
            "url"
        );
        assert_eq!(
            field(WebhookConfig {
                secret: "short".into(),
                ..config()
            }),
            "secret"
        );
        assert_eq!(
            field(WebhookConfig {
                timeout_ms: 0,
                ..config()
            }),
            "timeout_ms"
        );
        for reserved in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "Orbit-Signature",
            "Idempotency-Key",
        ] {
            let mut config = config();
            config.headers.insert(reserved.to_owned(), "x".into());
            assert_eq!(field(config), format!("headers.{reserved}"));
        }
        let mut bad_name = config();
        bad_name.headers.insert("X Bad".to_owned(), "x".into());
        assert_eq!(field(bad_name), "headers.X Bad");
        let mut injected = config();
        injected
            .headers
            .insert("X-Ok".to_owned(), "a\r\nHost: evil".into());
        assert_eq!(field(injected), "headers.X-Ok");
    }

    #[test]
    fn answers_are_classified_by_status() {
        let accepted = classify(StatusCode::OK, None, r#"{"id":"evt_42"}"#).expect("accepted");
        assert_eq!(accepted.provider_message_id.as_deref(), Some("evt_42"));
        let numeric = classify(StatusCode::ACCEPTED, None, r#"{"id":7}"#).expect("accepted");
        assert_eq!(numeric.provider_message_id.as_deref(), Some("7"));
        let plain = classify(StatusCode::NO_CONTENT, None, "").expect("accepted");
        assert_eq!(plain.provider_message_id, None);

        for status in [408, 425, 429, 500, 502, 503] {
            let status = StatusCode::from_u16(status).expect("status");
            let error = classify(status, Some(Duration::from_secs(3)), "busy").expect_err("later");
            assert_eq!(
                error,
                SendError::Retryable {
                    code: status.as_u16().to_string(),
                    message: "busy".to_owned(),
                    retry_after_ms: Some(3_000),
                }
            );
        }
        let long = "x".repeat(800);
        for status in [400, 401, 404, 410, 422] {
            let status = StatusCode::from_u16(status).expect("status");
            let error = classify(status, None, &long).expect_err("final");
            let SendError::Permanent { code, message } = error else {
                panic!("{status} should be permanent");
            };
            assert_eq!(code, status.as_u16().to_string());
            assert_eq!(message.chars().count(), 500);
        }
    }
}
