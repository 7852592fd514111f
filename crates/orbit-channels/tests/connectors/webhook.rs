//! The webhook connector against a receiver on loopback (`orbit-test-support`'s) that
//! verifies every delivery the way a real receiver does: signature over the raw body,
//! freshness, idempotency key.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use orbit_channels::webhook::{WebhookConfig, WebhookConnector, sign};
use orbit_channels::{
    Connector, Content, EgressPolicy, OutboundMessage, Recipient, SendError, WebhookContent,
};
use orbit_core::ManualClock;
use orbit_test_support::webhook::{Delivery, Freshness, Reply, WebhookReceiver};

const SECRET: &str = "whsec_orbit_test_0123456789";
const SENT_AT: &str = "2025-11-11T12:00:00Z";

/// How the receiver answers: `/hooks/<behaviour>` names what it plays.
fn behave(delivery: &Delivery) -> Reply {
    match delivery.path.as_str() {
        "/hooks/ok" => Reply::status(200).body(r#"{"id":"evt_20251111_1","received":true}"#),
        "/hooks/empty" => Reply::status(204),
        "/hooks/throttled" => Reply::status(429).header("retry-after", "7").body("slow down"),
        "/hooks/broken" => Reply::status(500).body("database unavailable"),
        "/hooks/refused" => Reply::status(400).body(format!("invalid event: {}", "x".repeat(900))),
        // Never answers: the connector's timeout must end the wait.
        "/hooks/slow" => Reply::never(),
        "/hop" => Reply::status(307).header("location", "http://169.254.169.254/latest/meta-data/"),
        _ => Reply::status(404),
    }
}

/// A receiver whose clock reads [`SENT_AT`], the connector's.
async fn receiver() -> WebhookReceiver {
    let now = SENT_AT.parse().expect("timestamp");
    let freshness = Freshness::Within(Arc::new(ManualClock::new(now)), Duration::from_secs(300));
    WebhookReceiver::builder(SECRET)
        .freshness(freshness)
        .reply(behave)
        .start()
        .await
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
    let receiver = receiver().await;
    let webhook = connector(config(receiver.url("/hooks/ok"), 5_000), loopback());
    assert_eq!(webhook.provider(), "webhook");
    let accepted = webhook.send(&delivery("send-1")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id.as_deref(), Some("evt_20251111_1"));
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 1);
    let got = &deliveries[0];
    assert_eq!(got.body["coupon"]["名称"], "双十一满减券");
    assert_eq!(got.idempotency_key(), "send-1");
    assert_eq!(got.header("orbit-send-id"), Some("send-1"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-tenant"), Some("shop-7"));
}

#[tokio::test]
async fn a_2xx_without_an_id_is_accepted_without_one() {
    let receiver = receiver().await;
    let webhook = connector(config(receiver.url("/hooks/empty"), 5_000), loopback());
    let accepted = webhook.send(&delivery("send-2")).await.expect("accepted");
    assert_eq!(accepted.provider_message_id, None);
}

#[tokio::test]
async fn the_receiver_rejects_a_tampered_body() {
    let receiver = receiver().await;
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
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn a_429_is_retryable_after_the_wait_the_receiver_asked_for() {
    let receiver = receiver().await;
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
    let receiver = receiver().await;
    let webhook = connector(config(receiver.url("/hooks/broken"), 5_000), loopback());
    let error = webhook.send(&delivery("send-4")).await.expect_err("failed");
    assert!(
        matches!(&error, SendError::Retryable { code, message, .. } if code == "500" && message == "database unavailable"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_400_is_permanent_with_the_start_of_the_answer() {
    let receiver = receiver().await;
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
    let receiver = receiver().await;
    let webhook = connector(config(receiver.url("/hooks/slow"), 300), loopback());
    let message = delivery("send-6");
    let outcome = tokio::time::timeout(Duration::from_secs(10), webhook.send(&message))
        .await
        .expect("the connector gave up on its own");
    let error = outcome.expect_err("timed out");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(
        receiver.deliveries().len(),
        1,
        "the receiver had the delivery: only its idempotency key makes the retry safe"
    );
}

#[tokio::test]
async fn a_strict_policy_refuses_a_loopback_url_at_configuration_and_at_send_time() {
    let receiver = receiver().await;
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
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_permanently_refused() {
    let receiver = receiver().await;
    let webhook = connector(config(receiver.url("/hop"), 5_000), loopback());
    let error = webhook.send(&delivery("send-8")).await.expect_err("refused");
    assert!(
        matches!(&error, SendError::Permanent { code, message } if code == "egress_refused" && message.contains("169.254.169.254")),
        "{error:?}"
    );
}

#[tokio::test]
async fn content_for_another_channel_is_permanent() {
    let receiver = receiver().await;
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
    assert!(receiver.deliveries().is_empty());
}
