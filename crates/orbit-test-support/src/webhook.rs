//! A receiver of Orbit's webhooks, as a customer's endpoint would be: it takes a POST on
//! any path, checks the `Orbit-Signature` header over the raw body — recomputed here
//! from the documented scheme (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`),
//! independently of Orbit's code — and the signature's freshness, records every signed
//! delivery, and answers as the test tells it.
//!
//! A request without a valid signature is answered 401 and not recorded; a signed body
//! that is not JSON is answered 400 and not recorded.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use orbit_core::{Clock, SystemClock};
use serde_json::Value;
use sha2::Sha256;

/// The header carrying Orbit's signature.
pub const SIGNATURE_HEADER: &str = "orbit-signature";

/// How the receiver judges the signature's time.
#[derive(Clone)]
pub enum Freshness {
    /// Within this tolerance of the clock's time, either way: a receiver whose clock
    /// agrees with the server's.
    Within(Arc<dyn Clock>, Duration),
    /// Not judged: the server runs on a simulated clock the receiver cannot follow.
    /// The signed time is recorded ([`Delivery::signed_at`]) for the test to check.
    Unchecked,
}

/// How the receiver answers a signed delivery.
#[derive(Debug, Clone)]
pub struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: String,
    delay: Duration,
    never: bool,
}

impl Reply {
    /// An empty answer with `status`.
    ///
    /// # Panics
    /// When `status` is not an HTTP status code.
    pub fn status(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("an HTTP status code"),
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            never: false,
        }
    }

    /// No answer at all: the connection stays open and silent, so only the client's
    /// timeout ends the wait.
    pub fn never() -> Self {
        Self {
            never: true,
            ..Self::status(200)
        }
    }

    /// Answers with this body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header to the answer.
    ///
    /// # Panics
    /// When `value` is not a valid header value.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        let value = HeaderValue::from_str(value).expect("a header value");
        self.headers.push((HeaderName::from_static(name), value));
        self
    }

    /// Answers only after `delay`, as a receiver far away does.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Default for Reply {
    /// `200 OK`, at once.
    fn default() -> Self {
        Self::status(200)
    }
}

/// A delivery the receiver found correctly signed.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The path it was posted to.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// The time in its signature.
    pub signed_at: Timestamp,
    /// Its body.
    pub body: Value,
    /// What the receiver answered; `None` when it never answers ([`Reply::never`]).
    pub status: Option<StatusCode>,
}

impl Delivery {
    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Idempotency-Key` header, or `""`.
    pub fn idempotency_key(&self) -> &str {
        self.header("idempotency-key").unwrap_or_default()
    }

    /// The body's top-level string field `name`, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or_default()
    }
}

type Respond = dyn Fn(&Delivery) -> Reply + Send + Sync;

struct Shared {
    secret: String,
    freshness: Freshness,
    respond: Box<Respond>,
    seen: Mutex<Vec<Delivery>>,
}

impl Shared {
    fn seen(&self) -> MutexGuard<'_, Vec<Delivery>> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Configures a receiver before it starts.
pub struct Builder {
    secret: String,
    freshness: Freshness,
    respond: Box<Respond>,
}

impl Builder {
    /// Judges the signature's time this way (by default, within five minutes of the
    /// wall clock).
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// Answers each signed delivery with what `respond` says (by default `200 OK`).
    pub fn reply(mut self, respond: impl Fn(&Delivery) -> Reply + Send + Sync + 'static) -> Self {
        self.respond = Box::new(respond);
        self
    }

    /// Binds 127.0.0.1 on a free port and serves until the test's runtime ends.
    pub async fn start(self) -> WebhookReceiver {
        let shared = Arc::new(Shared {
            secret: self.secret,
            freshness: self.freshness,
            respond: self.respond,
            seen: Mutex::default(),
        });
        let state = Arc::clone(&shared);
        let app =
            axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                receive(Arc::clone(&state), method, uri, headers, body)
            });
        let address = crate::serve(app).await;
        WebhookReceiver {
            base: format!("http://{address}"),
            shared,
        }
    }
}

/// A running receiver.
#[derive(Clone)]
pub struct WebhookReceiver {
    base: String,
    shared: Arc<Shared>,
}

impl WebhookReceiver {
    /// A receiver of webhooks signed with `secret`.
    pub fn builder(secret: &str) -> Builder {
        Builder {
            secret: secret.to_owned(),
            freshness: Freshness::Within(Arc::new(SystemClock), Duration::from_secs(300)),
            respond: Box::new(|_| Reply::default()),
        }
    }

    /// A receiver of webhooks signed with `secret`, on the wall clock, answering
    /// `200 OK`.
    pub async fn start(secret: &str) -> Self {
        Self::builder(secret).start().await
    }

    /// The URL of `path` (which starts with `/`) on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every signed delivery so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.seen().clone()
    }

    /// The signed deliveries answered with a 2xx status.
    pub fn accepted(&self) -> Vec<Delivery> {
        let seen = self.shared.seen();
        let succeeded = |d: &&Delivery| d.status.is_some_and(|s| s.is_success());
        seen.iter().filter(succeeded).cloned().collect()
    }

    /// How many signed deliveries arrived so far.
    pub fn count(&self) -> usize {
        self.shared.seen().len()
    }
}

async fn receive(shared: Arc<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return (StatusCode::UNAUTHORIZED, "no signature").into_response();
    };
    let signed_at = match verify(&shared.secret, signature, &body, &shared.freshness) {
        Ok(at) => at,
        Err(refusal) => return (StatusCode::UNAUTHORIZED, refusal).into_response(),
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let mut delivery = Delivery {
        path: uri.path().to_owned(),
        headers,
        signed_at,
        body,
        status: None,
    };
    let reply = (shared.respond)(&delivery);
    delivery.status = (!reply.never).then_some(reply.status);
    shared.seen().push(delivery);
    if reply.never {
        std::future::pending::<()>().await;
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (reply.status, reply.body).into_response();
    response.headers_mut().extend(reply.headers);
    response
}

/// Checks `header` against `body` as a receiver does; answers the signed time, or why
/// the request is refused.
fn verify(secret: &str, header: &str, body: &[u8], freshness: &Freshness) -> Result<Timestamp, &'static str> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        match element.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| "malformed v1")?),
            _ => {}
        }
    }
    let seconds = timestamp.ok_or("no timestamp")?;
    let signed_at = Timestamp::from_second(seconds).map_err(|_| "timestamp out of range")?;
    if let Freshness::Within(clock, tolerance) = freshness {
        let age = clock.now().as_second().abs_diff(seconds);
        if age > tolerance.as_secs() {
            return Err("signature too old or from the future");
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{seconds}.").as_bytes());
    mac.update(body);
    let matches = signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok());
    if matches {
        Ok(signed_at)
    } else {
        Err("no signature matches")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_core::ManualClock;

    /// The example of Orbit's documentation of the scheme.
    const SECRET: &str = "whsec_orbit_test_0123456789";
    const BODY: &[u8] = br#"{"event":"order_paid","amount":"99.00"}"#;
    const HEADER: &str = "t=1731326400,v1=a86ed6df650eb082df68b04f78eed8e28e10c2273a567659ec07ab3625e32243";

    fn at(seconds: i64) -> Freshness {
        let now = Timestamp::from_second(seconds).expect("a time");
        Freshness::Within(Arc::new(ManualClock::new(now)), Duration::from_secs(300))
    }

    #[test]
    fn the_documented_example_verifies() {
        let signed_at = verify(SECRET, HEADER, BODY, &at(1_731_326_400 + 300)).expect("valid");
        assert_eq!(signed_at.as_second(), 1_731_326_400);
        assert!(verify(SECRET, HEADER, BODY, &Freshness::Unchecked).is_ok());
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_a_stale_time_is_refused() {
        let now = at(1_731_326_400);
        assert!(verify(SECRET, HEADER, br#"{"event":"order_paid","amount":"9.00"}"#, &now).is_err());
        assert!(verify("another-secret", HEADER, BODY, &now).is_err());
        assert!(verify(SECRET, HEADER, BODY, &at(1_731_326_400 + 301)).is_err());
        assert!(verify(SECRET, HEADER, BODY, &at(1_731_326_400 - 301)).is_err());
        assert!(verify(SECRET, "v1=00", BODY, &Freshness::Unchecked).is_err());
    }
}
