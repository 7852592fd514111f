//! Twilio's Messages resource (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`),
//! as far as Orbit's connector uses it: the stand-in checks HTTP Basic authentication
//! against [`ACCOUNT_SID`] and [`AUTH_TOKEN`], the account in the path, and the form
//! fields Twilio requires, refusing with Twilio's own error codes, before answering as
//! the test asks — with Twilio's JSON, and `Retry-After` when it throttles.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

/// The account the stand-in accepts.
pub const ACCOUNT_SID: &str = "AC5ef872f6da5a21de157d80997a64bd33";
/// Its auth token.
pub const AUTH_TOKEN: &str = "orbit-test-auth-token";

/// What the stand-in answers once a request has passed its checks.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// `201 Created` with the message's SID: `SM` and its number in 32 hex digits
    /// (see [`message_sid`]).
    Created,
    /// An error body with this HTTP status and Twilio error code and message.
    Refuse(u16, u32, &'static str),
    /// `429` with code 20429 and `Retry-After: 7`.
    TooManyRequests,
    /// No answer at all: only the client's timeout ends the wait.
    Never,
}

/// The SID the stand-in gives the `n`th message it created (from 1).
pub fn message_sid(n: usize) -> String {
    format!("SM{n:032x}")
}

/// One text message the stand-in took: the request's `To`, `From` and `Body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The recipient.
    pub to: String,
    /// The sender.
    pub from: String,
    /// The text.
    pub body: String,
}

struct Shared {
    answer: Answer,
    /// The form of every request that passed the checks.
    seen: Mutex<Vec<BTreeMap<String, String>>>,
}

impl Shared {
    fn seen(&self) -> MutexGuard<'_, Vec<BTreeMap<String, String>>> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running stand-in.
#[derive(Clone)]
pub struct Twilio {
    /// The base URL to configure as the account's `endpoint`.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl Twilio {
    /// Starts a stand-in on a free loopback port that answers `answer` to every request
    /// that passes its checks.
    pub async fn start(answer: Answer) -> Self {
        let shared = Arc::new(Shared {
            answer,
            seen: Mutex::default(),
        });
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                axum::routing::post(create_message),
            )
            .with_state(Arc::clone(&shared));
        let address = crate::serve(app).await;
        Self {
            endpoint: format!("http://{address}"),
            shared,
        }
    }

    /// The form fields of every request that passed the checks, in arrival order.
    pub fn requests(&self) -> Vec<BTreeMap<String, String>> {
        self.shared.seen().clone()
    }

    /// The text messages of every request that passed the checks, in arrival order.
    pub fn texts(&self) -> Vec<Text> {
        let field = |form: &BTreeMap<String, String>, name: &str| form.get(name).cloned().unwrap_or_default();
        self.shared
            .seen()
            .iter()
            .map(|form| Text {
                to: field(form, "To"),
                from: field(form, "From"),
                body: field(form, "Body"),
            })
            .collect()
    }
}

fn error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authenticated(headers: &HeaderMap, account_in_path: &str) -> bool {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    credentials.as_deref() == Some(&format!("{ACCOUNT_SID}:{AUTH_TOKEN}")) && account_in_path == ACCOUNT_SID
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authenticated(&headers, &account) {
        return error(401, 20003, "Authenticate");
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(to) = form.get("To") else {
        return error(400, 21604, "A 'To' phone number is required.");
    };
    if !form.contains_key("From") && !form.contains_key("MessagingServiceSid") {
        return error(400, 21603, "A 'From' phone number is required.");
    }
    if form.get("Body").is_none_or(String::is_empty) {
        return error(400, 21602, "Message body is required.");
    }
    let e164 = to
        .strip_prefix('+')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if !e164 {
        return error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let created = {
        let mut seen = shared.seen();
        seen.push(form.clone());
        seen.len()
    };

    match shared.answer {
        Answer::Created => {
            let body = json!({
                "sid": message_sid(created),
                "account_sid": ACCOUNT_SID,
                "to": form["To"],
                "from": form.get("From"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            });
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Answer::Refuse(status, code, message) => error(status, code, message),
        Answer::TooManyRequests => {
            let mut response = error(429, 20429, "Too Many Requests");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("7"));
            response
        }
        Answer::Never => std::future::pending().await,
    }
}
