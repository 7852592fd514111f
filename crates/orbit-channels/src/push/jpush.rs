//! JPush (极光推送) REST API v3.
//!
//! `POST {endpoint}/v3/push` with HTTP Basic auth `base64(appKey:masterSecret)` and a
//! JSON push object addressed to one registration id. Errors come as
//! `{"error":{"code":…,"message":…}}` with the codes of the push API's table; throttling
//! answers carry `X-Rate-Limit-Reset`, the seconds until the rate window resets.
//!
//! Idempotency: JPush answers a push that repeats a `cid` with the first push's result
//! instead of pushing again, but only for cids it issued (`GET /v3/push/cid`, valid one
//! day). The connector keeps a small pool of issued cids and pins one to each `send_id`
//! for the cid's life, so a repeated send of the same `send_id` reuses its cid. After an
//! answer lost in flight it asks once more with the same cid; when that answer is lost
//! too the outcome is ambiguous, because a later retry may run in another process that
//! does not know the cid.
//!
//! Docs: <https://docs.jiguang.cn/jpush/server/push/rest_api_v3_push>,
//! <https://docs.jiguang.cn/jpush/server/push/rest_api_v3_push_advanced> (cid),
//! <https://docs.jiguang.cn/jpush/server/push/server_overview> (auth, rate limits),
//! <https://docs.jiguang.cn/jpush/server/push/http_status_code>.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use orbit_core::{Clock, SystemClock};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::connector::{
    Accepted, ConfigError, Connector, Content, OutboundMessage, PushContent, SendError, transport_error,
};
use crate::egress::HttpClient;
use crate::secret::{self, Secret};

/// JPush's production base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.jpush.cn";

/// The longest offline retention JPush accepts, ten days.
pub const MAX_TIME_TO_LIVE: u32 = 864_000;

/// Cids are fetched this many at a time (the most a non-VIP app may ask for).
const CID_BATCH: u32 = 10;

/// JPush honours a cid for one day; an hour of margin keeps us inside it.
const CID_LIFETIME: SignedDuration = SignedDuration::from_hours(23);

/// How many send ids keep their cid; the oldest are forgotten past this.
const MAX_PINNED_CIDS: usize = 100_000;

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

fn default_apns_production() -> bool {
    true
}

/// A JPush connector's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JpushConfig {
    /// The application's AppKey.
    pub app_key: String,
    /// The application's Master Secret.
    pub master_secret: Secret,
    /// Whether iOS notifications go to the APNs production environment (JPush's
    /// default) or to the development one.
    #[serde(default = "default_apns_production")]
    pub apns_production: bool,
    /// How long, in seconds, JPush keeps the notification for an offline device
    /// (JPush's default, one day, when absent; zero keeps nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<u32>,
    /// JPush's base URL (the Beijing data centre's is `https://bjapi.push.jiguang.cn`).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

impl JpushConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        // Basic auth splits user and password at the first colon.
        let app_key_ok = !self.app_key.is_empty() && self.app_key.bytes().all(|b| b.is_ascii_alphanumeric());
        if !app_key_ok {
            return Err(ConfigError::new(
                "app_key",
                "must be the application's AppKey (letters and digits)",
            ));
        }
        if self.master_secret.expose().trim().is_empty() {
            return Err(ConfigError::new("master_secret", "must not be empty"));
        }
        if self.time_to_live.is_some_and(|ttl| ttl > MAX_TIME_TO_LIVE) {
            return Err(ConfigError::new(
                "time_to_live",
                format!("must be at most {MAX_TIME_TO_LIVE} seconds (ten days)"),
            ));
        }
        match url::Url::parse(&self.endpoint) {
            Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(()),
            Ok(_) => Err(ConfigError::new("endpoint", "must be an http or https URL")),
            Err(e) => Err(ConfigError::new("endpoint", format!("not a URL: {e}"))),
        }
    }
}

/// Sends app push notifications through JPush.
pub struct JpushConnector {
    config: JpushConfig,
    endpoint: String,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    cids: Mutex<CidBook>,
}

impl JpushConnector {
    /// A connector for a validated configuration.
    pub fn new(config: JpushConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
            config,
            http,
            clock: Arc::new(SystemClock),
            cids: Mutex::new(CidBook::default()),
        })
    }

    /// Uses `clock` to age cids.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cid pinned to `send_id`, pinning a fresh one from the pool on first use.
    async fn cid_for(&self, send_id: &str) -> Result<String, SendError> {
        let mut book = self.cids.lock().await;
        let now = self.clock.now();
        if let Some(cid) = book.pinned(send_id, now) {
            return Ok(cid);
        }
        if !book.has_free(now) {
            let fetched = self.fetch_cids().await?;
            book.add_free(fetched, now);
        }
        book.pin_free(send_id, now)
            .ok_or_else(|| SendError::retryable("cid", "JPush issued no cid for the push"))
    }

    async fn fetch_cids(&self) -> Result<Vec<String>, SendError> {
        let url = format!("{}/v3/push/cid?count={CID_BATCH}&type=push", self.endpoint);
        let response = self
            .http
            .request(reqwest::Method::GET, &url)?
            .basic_auth(&self.config.app_key, Some(self.config.master_secret.expose()))
            .send()
            .await
            // Asking for cids pushes nothing; a lost answer only costs a retry.
            .map_err(|e| transport_error(&e, true))?;
        let status = response.status();
        let reset = rate_limit_reset(response.headers());
        let text = response.text().await.map_err(|e| transport_error(&e, true))?;
        if !status.is_success() {
            return Err(classify_error(status, reset, &text));
        }
        let answer: CidAnswer = serde_json::from_str(&text)
            .map_err(|e| SendError::retryable("cid", format!("unreadable cid answer: {e}")))?;
        Ok(answer.cidlist)
    }

    async fn post(&self, body: &PushBody<'_>) -> Result<Accepted, SendError> {
        let url = format!("{}/v3/push", self.endpoint);
        let response = self
            .http
            .request(reqwest::Method::POST, &url)?
            .basic_auth(&self.config.app_key, Some(self.config.master_secret.expose()))
            .json(body)
            .send()
            .await
            // Whether a lost answer may be retried is decided by `send`, which knows
            // the cid makes the retry safe.
            .map_err(|e| transport_error(&e, false))?;
        let status = response.status();
        let reset = rate_limit_reset(response.headers());
        let text = response.text().await.map_err(|e| transport_error(&e, false))?;
        if !status.is_success() {
            return Err(classify_error(status, reset, &text));
        }
        let answer: PushAnswer = serde_json::from_str(&text).map_err(|e| SendError::Ambiguous {
            message: format!("JPush accepted the push but its answer is unreadable: {e}"),
        })?;
        let msg_id = match answer.msg_id {
            serde_json::Value::String(id) => id,
            other => other.to_string(),
        };
        Ok(Accepted {
            provider_message_id: Some(msg_id),
            parts: None,
        })
    }
}

#[async_trait]
impl Connector for JpushConnector {
    fn provider(&self) -> &'static str {
        "jpush"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::Push(push) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the jpush connector sends push notifications only",
            ));
        };
        if message.recipient.address.is_empty() {
            return Err(SendError::permanent("address", "no registration id"));
        }
        let cid = self.cid_for(&message.send_id).await?;
        let body = PushBody::new(&cid, &message.recipient.address, push, &self.config);
        match self.post(&body).await {
            // JPush answers a cid it has seen with the first push's result and does not
            // push again, so asking once more is safe and usually settles the outcome.
            Err(SendError::Ambiguous { .. }) => match self.post(&body).await {
                Err(SendError::Ambiguous { message }) => Err(SendError::Ambiguous {
                    message: format!("no answer twice for cid {cid}: {message}"),
                }),
                settled => settled,
            },
            settled => settled,
        }
    }
}

/// Issued cids: a pool of free ones and the one pinned to each send id.
#[derive(Debug, Default)]
struct CidBook {
    free: VecDeque<IssuedCid>,
    pinned: HashMap<String, IssuedCid>,
}

#[derive(Debug, Clone)]
struct IssuedCid {
    value: String,
    issued_at: Timestamp,
}

impl IssuedCid {
    fn alive(&self, now: Timestamp) -> bool {
        now.duration_since(self.issued_at) < CID_LIFETIME
    }
}

impl CidBook {
    /// The live cid pinned to `send_id`, if any.
    fn pinned(&mut self, send_id: &str, now: Timestamp) -> Option<String> {
        match self.pinned.get(send_id) {
            Some(cid) if cid.alive(now) => Some(cid.value.clone()),
            Some(_) => {
                self.pinned.remove(send_id);
                None
            }
            None => None,
        }
    }

    /// Whether a live free cid is left, dropping the expired ones.
    fn has_free(&mut self, now: Timestamp) -> bool {
        self.free.retain(|cid| cid.alive(now));
        !self.free.is_empty()
    }

    fn add_free(&mut self, cids: Vec<String>, now: Timestamp) {
        self.free.extend(cids.into_iter().map(|value| IssuedCid {
            value,
            issued_at: now,
        }));
    }

    /// Pins the oldest live free cid to `send_id`.
    fn pin_free(&mut self, send_id: &str, now: Timestamp) -> Option<String> {
        self.has_free(now);
        let cid = self.free.pop_front()?;
        if self.pinned.len() >= MAX_PINNED_CIDS {
            self.pinned.retain(|_, pinned| pinned.alive(now));
        }
        if self.pinned.len() >= MAX_PINNED_CIDS {
            // Still full of live pins: forget the oldest one.
            if let Some(oldest) = self
                .pinned
                .iter()
                .min_by_key(|(_, pinned)| pinned.issued_at)
                .map(|(id, _)| id.clone())
            {
                self.pinned.remove(&oldest);
            }
        }
        let value = cid.value.clone();
        self.pinned.insert(send_id.to_owned(), cid);
        Some(value)
    }
}

/// The push object, addressed to one registration id.
#[derive(Debug, Serialize)]
struct PushBody<'a> {
    cid: &'a str,
    platform: &'static str,
    audience: Audience<'a>,
    notification: Notification<'a>,
    options: Options,
}

#[derive(Debug, Serialize)]
struct Audience<'a> {
    registration_id: [&'a str; 1],
}

#[derive(Debug, Serialize)]
struct Notification<'a> {
    alert: &'a str,
    android: AndroidNotification<'a>,
    ios: IosNotification<'a>,
}

#[derive(Debug, Serialize)]
struct AndroidNotification<'a> {
    alert: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extras: &'a BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct IosNotification<'a> {
    alert: IosAlert<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extras: &'a BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct IosAlert<'a> {
    title: &'a str,
    body: &'a str,
}

#[derive(Debug, Serialize)]
struct Options {
    apns_production: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_to_live: Option<u32>,
}

impl<'a> PushBody<'a> {
    fn new(cid: &'a str, registration_id: &'a str, push: &'a PushContent, config: &JpushConfig) -> Self {
        Self {
            cid,
            platform: "all",
            audience: Audience {
                registration_id: [registration_id],
            },
            notification: Notification {
                alert: &push.body,
                android: AndroidNotification {
                    alert: &push.body,
                    title: &push.title,
                    extras: &push.data,
                },
                ios: IosNotification {
                    alert: IosAlert {
                        title: &push.title,
                        body: &push.body,
                    },
                    extras: &push.data,
                },
            },
            options: Options {
                apns_production: config.apns_production,
                time_to_live: config.time_to_live,
            },
        }
    }
}

#[derive(Deserialize)]
struct PushAnswer {
    msg_id: serde_json::Value,
}

#[derive(Deserialize)]
struct CidAnswer {
    cidlist: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: i64,
    #[serde(default)]
    message: String,
}

/// `X-Rate-Limit-Reset`: the seconds until the current rate window resets.
fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("X-Rate-Limit-Reset")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Sorts a JPush error answer by the codes of the push API's table.
fn classify_error(status: reqwest::StatusCode, reset: Option<Duration>, body: &str) -> SendError {
    let Ok(ErrorAnswer { error }) = serde_json::from_str::<ErrorAnswer>(body) else {
        let message: String = body.chars().take(500).collect();
        let code = status.as_u16().to_string();
        return if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            SendError::throttled(code, message, reset)
        } else if status.is_server_error() {
            SendError::retryable(code, message)
        } else {
            SendError::permanent(code, message)
        };
    };
    let code = error.code.to_string();
    let message = error.message;
    match error.code {
        // API call rate over the app's limit; a push over a rate-controlled push's limit.
        2002 | 1012 => SendError::throttled(code, message, reset),
        // Internal error; internal service timeout ("retry later").
        1000 | 1030 => SendError::retryable(code, message),
        // Wrong method, missing or invalid parameters, authentication failed, body too
        // large, bad AppKey, unsupported key, no device matches the audience, HTTPS
        // only, AppKey barred from the API, caller IP not whitelisted, excessive volume
        // to the user, VIP-only or unauthorised API: none is mended by retrying.
        1001..=1011 | 1020 | 2003..=2007 => SendError::permanent(code, message),
        _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS => SendError::throttled(code, message, reset),
        _ if status.is_server_error() => SendError::retryable(code, message),
        _ => SendError::permanent(code, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> JpushConfig {
        JpushConfig {
            app_key: "7d431e42dfa6a6d693ac2d04".to_owned(),
            master_secret: "5e987ac6d2e04d95a9d8f0d1".into(),
            apns_production: false,
            time_to_live: Some(3600),
            endpoint: default_endpoint(),
        }
    }

    fn status(code: u16) -> reqwest::StatusCode {
        reqwest::StatusCode::from_u16(code).expect("status")
    }

    fn error(code: i64) -> String {
        serde_json::json!({"error": {"code": code, "message": "m"}}).to_string()
    }

    #[test]
    fn the_push_object_targets_one_registration_id_on_every_platform() {
        let push = PushContent {
            title: "Sale".to_owned(),
            body: "50% off".to_owned(),
            data: BTreeMap::from([("campaign".to_owned(), "c-1".to_owned())]),
        };
        let body = PushBody::new("cid-1", "1a0018970a8b", &push, &config());
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            serde_json::json!({
                "cid": "cid-1",
                "platform": "all",
                "audience": {"registration_id": ["1a0018970a8b"]},
                "notification": {
                    "alert": "50% off",
                    "android": {"alert": "50% off", "title": "Sale", "extras": {"campaign": "c-1"}},
                    "ios": {"alert": {"title": "Sale", "body": "50% off"}, "extras": {"campaign": "c-1"}}
                },
                "options": {"apns_production": false, "time_to_live": 3600}
            })
        );
    }

    #[test]
    fn documented_error_codes_are_sorted() {
        let reset = Some(Duration::from_secs(12));
        assert_eq!(
            classify_error(status(429), reset, &error(2002)),
            SendError::Retryable {
                code: "2002".to_owned(),
                message: "m".to_owned(),
                retry_after_ms: Some(12_000)
            }
        );
        for retryable in [1000, 1030] {
            assert!(matches!(
                classify_error(status(500), None, &error(retryable)),
                SendError::Retryable { .. }
            ));
        }
        for permanent in [1003, 1004, 1008, 1009, 1011, 2003, 2004, 2005] {
            let sorted = classify_error(status(400), reset, &error(permanent));
            assert!(
                matches!(&sorted, SendError::Permanent { code, .. } if *code == permanent.to_string()),
                "{permanent}: {sorted:?}"
            );
        }
        assert!(matches!(
            classify_error(status(503), None, "upstream down"),
            SendError::Retryable { .. }
        ));
        assert!(matches!(
            classify_error(status(429), reset, ""),
            SendError::Retryable {
                retry_after_ms: Some(12_000),
                ..
            }
        ));
    }

    #[test]
    fn a_send_id_keeps_its_cid_until_the_cid_expires() {
        let start = Timestamp::from_second(1_700_000_000).expect("time");
        let mut book = CidBook::default();
        assert!(!book.has_free(start));
        book.add_free(vec!["a".to_owned(), "b".to_owned()], start);
        assert_eq!(book.pin_free("send-1", start).as_deref(), Some("a"));
        assert_eq!(book.pinned("send-1", start).as_deref(), Some("a"));
        assert_eq!(book.pin_free("send-2", start).as_deref(), Some("b"));
        let next_day = start + SignedDuration::from_hours(24);
        assert_eq!(book.pinned("send-1", next_day), None);
        book.add_free(vec!["stale".to_owned()], start);
        assert!(!book.has_free(next_day), "an expired free cid is dropped");
    }

    #[test]
    fn config_fields_are_checked_by_name() {
        assert_eq!(config().validate(), Ok(()));
        let bad = |f: fn(&mut JpushConfig)| {
            let mut c = config();
            f(&mut c);
            c.validate().expect_err("invalid").field
        };
        assert_eq!(bad(|c| c.app_key = "a:b".to_owned()), "app_key");
        assert_eq!(bad(|c| c.master_secret = " ".into()), "master_secret");
        assert_eq!(
            bad(|c| c.time_to_live = Some(MAX_TIME_TO_LIVE + 1)),
            "time_to_live"
        );
        assert_eq!(bad(|c| c.endpoint = "file:///x".to_owned()), "endpoint");
        assert!(!format!("{:?}", config()).contains("5e987ac6"));
        let parsed: JpushConfig = serde_json::from_value(serde_json::json!({
            "app_key": "k", "master_secret": "s"
        }))
        .expect("defaults");
        assert!(parsed.apns_production);
        assert_eq!(parsed.endpoint, DEFAULT_ENDPOINT);
    }
}
