//! Text message connectors against local stand-ins for Aliyun, Tencent Cloud and
//! Twilio (Aliyun's and Twilio's from `orbit-test-support`, which the black-box tests
//! share). Each stand-in parses the request the way its provider does, recomputes the
//! signature (or checks the credentials) with the secret and refuses a bad one with
//! the provider's own error, checks the required parameters, and then answers as the
//! test asks: success, a provider error, throttling, a 5xx, or too slowly.

mod aliyun;
mod tencent;
mod twilio;

use std::sync::Arc;
use std::time::Duration;

use orbit_channels::{Content, EgressPolicy, HttpClient, OutboundMessage, Recipient, SendError, SmsContent};
use orbit_core::clock::{Clock, ManualClock};

/// How long connectors wait for an answer in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How long Tencent's stand-in playing slow takes to answer: well past [`TIMEOUT`].
const SLOW: Duration = Duration::from_secs(3);

/// The instant every connector signs with and every stand-in checks against.
fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        "2024-05-01T08:30:00Z".parse().expect("timestamp"),
    ))
}

/// A client allowed to reach the stand-ins on loopback and nothing else internal.
fn http() -> HttpClient {
    EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("network")])
        .client(TIMEOUT)
        .expect("client")
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: axum::Router) -> String {
    format!("http://{}", orbit_test_support::serve(app).await)
}

/// A rendered text message for `address`.
fn text_message(address: &str, template_code: Option<&str>, params: &[(&str, &str)]) -> OutboundMessage {
    OutboundMessage {
        send_id: "send-0001".into(),
        recipient: Recipient {
            profile_id: "profile-1".into(),
            address: address.into(),
        },
        content: Content::Sms(SmsContent {
            text: "Your code is 4370".into(),
            template_code: template_code.map(str::to_owned),
            params: params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }),
    }
}

/// Asserts `result` is a permanent error with `code`.
#[track_caller]
fn assert_permanent<T: std::fmt::Debug>(result: Result<T, SendError>, expected: &str) {
    match result {
        Err(SendError::Permanent { code, .. }) => assert_eq!(code, expected),
        other => panic!("expected permanent {expected}, got {other:?}"),
    }
}

/// Asserts `result` is a retryable error with `code` and the given wait.
#[track_caller]
fn assert_retryable<T: std::fmt::Debug>(result: Result<T, SendError>, expected: &str, wait_ms: Option<u64>) {
    match result {
        Err(SendError::Retryable {
            code, retry_after_ms, ..
        }) => {
            assert_eq!(code, expected);
            assert_eq!(retry_after_ms, wait_ms);
        }
        other => panic!("expected retryable {expected}, got {other:?}"),
    }
}

/// Asserts `result` is ambiguous: the message may or may not have gone.
#[track_caller]
fn assert_ambiguous<T: std::fmt::Debug>(result: Result<T, SendError>) {
    assert!(
        matches!(result, Err(SendError::Ambiguous { .. })),
        "expected ambiguous, got {result:?}"
    );
}
