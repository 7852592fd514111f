//! Providers as real local HTTP servers: a webhook receiver that verifies Orbit's
//! signature, and a Twilio Messages stand-in that checks Basic authentication, the
//! account in the path and the form fields Twilio requires.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use jiff::Timestamp;
use orbit_channels::webhook;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The webhook account's signing secret.
pub const HOOK_SECRET: &str = "contact-policy-webhook-secret-0123";
/// The Twilio account the stand-in accepts.
pub const TWILIO_ACCOUNT: &str = "AC5ef872f6da5a21de157d80997a64bd33";
/// Its auth token.
pub const TWILIO_TOKEN: &str = "contact-policy-auth-token";
/// The sender the account is configured with.
pub const TWILIO_FROM: &str = "+15005550006";

/// One delivery the receiver accepted.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The `Idempotency-Key` header.
    pub key: String,
    /// When Orbit signed it: the server's clock (simulated or not) at sending.
    pub signed_at: Timestamp,
    /// The body's `user`, `campaign` and `variant` (the templates put them there).
    pub user: String,
    pub campaign: String,
    pub variant: String,
}

/// A webhook endpoint that takes only correctly signed deliveries.
#[derive(Clone)]
pub struct Hook {
    pub url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `t=` of an `Orbit-Signature` header.
fn signed_at(signature: &str) -> Option<Timestamp> {
    let seconds = signature
        .split(',')
        .find_map(|part| part.trim().strip_prefix("t="))?
        .parse::<i64>()
        .ok()?;
    Timestamp::from_second(seconds).ok()
}

impl Hook {
    pub async fn start() -> Self {
        let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let signature = header_text(&headers, webhook::SIGNATURE_HEADER);
                    // The server may run on a simulated clock, so freshness is judged
                    // against the time it signed at; the MAC is checked in full.
                    let Some(at) = signed_at(&signature) else {
                        return StatusCode::UNAUTHORIZED;
                    };
                    let verified =
                        webhook::verify(HOOK_SECRET, &signature, &body, at, std::time::Duration::ZERO);
                    if verified.is_err() {
                        return StatusCode::UNAUTHORIZED;
                    }
                    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
                        return StatusCode::BAD_REQUEST;
                    };
                    let field = |name: &str| parsed[name].as_str().unwrap_or_default().to_owned();
                    log.lock().expect("lock").push(Delivery {
                        key: header_text(&headers, "idempotency-key"),
                        signed_at: at,
                        user: field("user"),
                        campaign: field("campaign"),
                        variant: field("variant"),
                    });
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().expect("lock").clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    /// The users a campaign reached here, sorted, once per delivery.
    pub fn users_of(&self, campaign: &str) -> Vec<String> {
        let mut users: Vec<String> = self
            .seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|d| d.campaign == campaign)
            .map(|d| d.user.clone())
            .collect();
        users.sort();
        users
    }
}

/// One text message the Twilio stand-in created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub to: String,
    pub from: String,
    pub body: String,
}

/// Twilio's Messages resource, as far as Orbit's connector uses it.
#[derive(Clone)]
pub struct Twilio {
    /// The base URL to configure as the account's `endpoint`.
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Text>>>,
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "status": status.as_u16(),
                      "more_info": format!("https://www.twilio.com/docs/errors/{code}")});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authenticated(headers: &HeaderMap) -> bool {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    credentials.as_deref() == Some(&format!("{TWILIO_ACCOUNT}:{TWILIO_TOKEN}"))
}

/// The fields of a form body, decoded as browsers and Twilio do.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let query = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://form.invalid/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

impl Twilio {
    pub async fn start() -> Self {
        let seen: Arc<Mutex<Vec<Text>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(
                move |Path(account): Path<String>, headers: HeaderMap, body: axum::body::Bytes| {
                    let log = log.clone();
                    async move {
                        if !authenticated(&headers) || account != TWILIO_ACCOUNT {
                            return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
                        }
                        let form = form_fields(&body);
                        let get = |name: &str| {
                            form.iter()
                                .find(|(k, _)| k == name)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        };
                        let (to, from, text) = (get("To"), get("From"), get("Body"));
                        let e164 = to
                            .strip_prefix('+')
                            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
                        if !e164 {
                            return twilio_error(StatusCode::BAD_REQUEST, 21211, "invalid 'To'");
                        }
                        if from.is_empty() {
                            return twilio_error(StatusCode::BAD_REQUEST, 21603, "'From' required");
                        }
                        if text.is_empty() {
                            return twilio_error(StatusCode::BAD_REQUEST, 21602, "body required");
                        }
                        let n = {
                            let mut seen = log.lock().expect("lock");
                            seen.push(Text {
                                to: to.clone(),
                                from,
                                body: text.clone(),
                            });
                            seen.len()
                        };
                        let sid = format!("SM{n:032x}");
                        let created = json!({"sid": sid, "account_sid": TWILIO_ACCOUNT, "to": to,
                                             "body": text, "status": "queued", "num_segments": "1"});
                        (StatusCode::CREATED, created.to_string()).into_response()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, seen }
    }

    pub fn texts(&self) -> Vec<Text> {
        self.seen.lock().expect("lock").clone()
    }
}
