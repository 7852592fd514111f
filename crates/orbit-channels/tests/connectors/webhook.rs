//! The webhook connector against a receiver on loopback that verifies every delivery
//! the way a real receiver does: signature over the raw body, freshness, idempotency
//! key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use jiff::Timestamp;
use orbit_channels::webhook::{WebhookConfig, WebhookConnector, sign, verify};
use orbit_channels::{
    Connector, Content, EgressPolicy, OutboundMessage, Recipient, SendError, WebhookContent,
};
use orbit_core::ManualClock;

const SECRET: &str = "whsec_orbit_test_0123456789";
const SENT_AT: &str = "2025-11-11T12:00:00Z";

/// What the receiver accepted.
#[derive(Debug, Clone)]
struct Delivery {
    body: serde_json::Value,
    idempotency_key: String,
    send_id: String,
    content_type: String,
    tenant: Option<String>,
}

#[derive(Clone)]
struct Receiver {
    now: Timestamp,
    accepted: Arc<Mutex<Vec<Delivery>>>,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn receive(
    State(receiver): State<Receiver>,
    Path(behaviour): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(signature) = header(&headers, "orbit-signature") else {
        return (StatusCode::UNAUTHORIZED, "no signature").into_response();
    };
    if let Err(e) = verify(SECRET, &signature, &body, receiver.now, Duration::from_secs(300)) {
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let Ok(parsed) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let delivery = Delivery {
        body: parsed,
        idempotency_key: header(&headers, "idempotency-key").unwrap_or_default(),
        send_id: header(&headers, "orbit-send-id").unwrap_or_default(),
        content_type: header(&headers, "content-type").unwrap_or_default(),
        tenant: header(&headers, "x-tenant"),
    };
    receiver
        .accepted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(delivery);
    match behaviour.as_str() {
        "ok" => (StatusCode::OK, r#"{"id":"evt_20251111_1","received":true}"#).into_response(),
        "empty" => StatusCode::NO_CONTENT.into_response(),
        "throttled" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "7")], "slow down").into_response(),
        "broken" => (StatusCode::INTERNAL_SERVER_ERROR, "database unavailable").into_response(),
        "refused" => (
            StatusCode::BAD_REQUEST,
            format!("invalid event: {}", "x".repeat(900)),
        )
            .into_response(),
        "slow" => {
            // Never answers: the connector's timeout must end the wait.
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

struct TestReceiver {
    base: String,
    accepted: Arc<Mutex<Vec<Delivery>>>,
}

impl TestReceiver {
    async fn start() -> Self {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let receiver = Receiver {
            now: SENT_AT.parse().expect("timestamp"),
            accepted: Arc::clone(&accepted),
        };
        let app = Router::new()
            .route(
                "/hop",
                post(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
            )
            .route("/hooks/{behaviour}", post(receive))
            .with_state(receiver);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, accepted }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn accepted(&self) -> Vec<Delivery> {
        self.accepted.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn config(url: String, timeout_ms: u64) -> WebhookConfig {
    WebhookConfig {
        url,
        secret: SECRET.into(),
        timeout_ms,
        headers: [("X-Tenant".to_owned(), "shop-7".into())].into(),
    }
}

fn connector(config: WebhookConfig, policy: EgressPolicy) -> WebhookConnector {
    let http = policy.client(Duration::from_secs(30)).expect("http client");
    let clock = ManualClock::new(SENT_AT.parse().expect("timestamp"));
    WebhookConnector::new(config, http)
        .expect("valid config")
        .with_clock(Arc::new(clock))
}

fn loopback() -> EgressPolicy {
    EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
}

fn delivery(send_id: &str) -> OutboundMessage {
    OutboundMessage {
        send_id: send_id.to_owned(),
        recipient: Recipient {
            profile_id: "p-42".to_owned(),
            address: String::new(),
        },
        content: Content::Webhook(WebhookContent {
            body: serde_json::json!({
                "event": "coupon_issued",
                "profile_id": "p-42",
                "coupon": {"code": "DOUBLE11", "名称": "双十一满减券"},
            }),
        }),
    }
}

#[tokio::test]
async fn a_signed_delivery_is_verified_by_the_receiver_and_accepted_with_its_id() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/ok"), 5_000), loopback());
    assert_eq!(webhook.provider(), "webhook");
    let accepted = webhook.send(&delivery("send-1")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id.as_deref(), Some("evt_20251111_1"));
    let deliveries = receiver.accepted();
    assert_eq!(deliveries.len(), 1);
    let got = &deliveries[0];
    assert_eq!(got.body["coupon"]["名称"], "双十一满减券");
    assert_eq!(got.idempotency_key, "send-1");
    assert_eq!(got.send_id, "send-1");
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.tenant.as_deref(), Some("shop-7"));
}

#[tokio::test]
async fn a_2xx_without_an_id_is_accepted_without_one() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/empty"), 5_000), loopback());
    let accepted = webhook.send(&delivery("send-2")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id, None);
}

#[tokio::test]
async fn the_receiver_rejects_a_tampered_body() {
    let receiver = TestReceiver::start().await;
    let now: Timestamp = SENT_AT.parse().expect("timestamp");
    let signed = br#"{"event":"coupon_issued","amount":"5.00"}"#;
    let tampered = br#"{"event":"coupon_issued","amount":"500.00"}"#;
    let answer = reqwest::Client::new()
        .post(receiver.url("/hooks/ok"))
        .header("Orbit-Signature", sign(SECRET, now, signed))
        .header("Content-Type", "application/json")
        .body(tampered.to_vec())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(receiver.accepted().is_empty());
}

#[tokio::test]
async fn a_429_is_retryable_after_the_wait_the_receiver_asked_for() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/throttled"), 5_000), loopback());
    let error = webhook.send(&delivery("send-3")).await.expect_err("throttled");
    assert_eq!(
        error,
        SendError::Retryable {
            code: "429".to_owned(),
            message: "slow down".to_owned(),
            retry_after_ms: Some(7_000),
        }
    );
}

#[tokio::test]
async fn a_500_is_retryable() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/broken"), 5_000), loopback());
    let error = webhook.send(&delivery("send-4")).await.expect_err("failed");
    assert!(
        matches!(&error, SendError::Retryable { code, message, .. } if code == "500" && message == "database unavailable"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_400_is_permanent_with_the_start_of_the_answer() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/refused"), 5_000), loopback());
    let error = webhook.send(&delivery("send-5")).await.expect_err("refused");
    let SendError::Permanent { code, message } = error else {
        panic!("a 400 should be permanent: {error:?}");
    };
    assert_eq!(code, "400");
    assert!(message.starts_with("invalid event: xxx"), "{message}");
    assert_eq!(message.chars().count(), 500);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retryable_because_it_deduplicates() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/slow"), 300), loopback());
    let message = delivery("send-6");
    let outcome = tokio::time::timeout(Duration::from_secs(10), webhook.send(&message))
        .await
        .expect("the connector gave up on its own");
    let error = outcome.expect_err("timed out");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(
        receiver.accepted().len(),
        1,
        "the receiver had the delivery: only its idempotency key makes the retry safe"
    );
}

#[tokio::test]
async fn a_strict_policy_refuses_a_loopback_url_at_configuration_and_at_send_time() {
    let receiver = TestReceiver::start().await;
    let config = config(receiver.url("/hooks/ok"), 5_000);
    let refused = config
        .check_destination(&EgressPolicy::strict())
        .await
        .expect_err("refused at configuration");
    assert_eq!(refused.field, "url");
    assert!(config.check_destination(&loopback()).await.is_ok());

    let error = connector(config, EgressPolicy::strict())
        .send(&delivery("send-7"))
        .await
        .expect_err("refused at send time");
    assert!(
        matches!(&error, SendError::Permanent { code, .. } if code == "egress_refused"),
        "{error:?}"
    );
    assert!(receiver.accepted().is_empty());
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_permanently_refused() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hop"), 5_000), loopback());
    let error = webhook.send(&delivery("send-8")).await.expect_err("refused");
    assert!(
        matches!(&error, SendError::Permanent { code, message } if code == "egress_refused" && message.contains("169.254.169.254")),
        "{error:?}"
    );
}

#[tokio::test]
async fn content_for_another_channel_is_permanent() {
    let receiver = TestReceiver::start().await;
    let webhook = connector(config(receiver.url("/hooks/ok"), 5_000), loopback());
    let mut message = delivery("send-9");
    message.content = Content::Email(orbit_channels::EmailContent {
        subject: "hi".to_owned(),
        html: None,
        text: "hi".to_owned(),
        unsubscribe_url: None,
    });
    let error = webhook.send(&message).await.expect_err("refused");
    assert!(
        matches!(&error, SendError::Permanent { code, .. } if code == "content"),
        "{error:?}"
    );
    assert!(receiver.accepted().is_empty());
}
