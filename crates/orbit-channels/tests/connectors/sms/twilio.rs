//! Twilio against a stand-in for the Messages resource: it checks HTTP Basic
//! authentication against the account SID and auth token, the account in the
//! path, and the form fields Twilio requires, before answering with Twilio's JSON
//! (and `Retry-After` when it throttles). Status callbacks are then signed here
//! the way Twilio signs them and read back through the connector's verifier.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use orbit_channels::sms::ReceiptError;
use orbit_channels::sms::twilio::{TwilioConfig, TwilioConnector, parse_receipts};
use orbit_channels::{Accepted, Connector, Receipt, ReceiptStatus};
use serde_json::json;

use super::*;

const ACCOUNT: &str = "AC5ef872f6da5a21de157d80997a64bd33";
const TOKEN: &str = "orbit-test-auth-token";
const CALLBACK: &str = "https://orbit.example/hooks/twilio/7f3a?workspace=w1";

/// What the stand-in answers once the request has passed its checks.
#[derive(Clone, Copy)]
enum Answer {
    Created,
    /// An error body with this HTTP status and Twilio error code.
    Refuse(u16, u32, &'static str),
    /// `429` with code 20429 and `Retry-After: 7`.
    TooManyRequests,
    /// Nothing until well past the connector's timeout.
    Slow,
}

struct StandIn {
    answer: Answer,
    /// The form of every request that passed the checks.
    seen: Mutex<Vec<BTreeMap<String, String>>>,
}

fn error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    let status = StatusCode::from_u16(status).expect("status");
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
    credentials.as_deref() == Some(&format!("{ACCOUNT}:{TOKEN}")) && account_in_path == ACCOUNT
}

async fn create_message(
    State(stand_in): State<Arc<StandIn>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authenticated(&headers, &account) {
        return error(401, 20003, "Authenticate");
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
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
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if !e164 {
        return error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    stand_in.seen.lock().expect("lock").push(form.clone());

    match stand_in.answer {
        Answer::Created => {
            let body = json!({
                "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
                "account_sid": ACCOUNT,
                "to": form["To"],
                "from": form.get("From"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            });
            (StatusCode::CREATED, body.to_string()).into_response()
        }
        Answer::Refuse(status, code, message) => error(status, code, message),
        Answer::TooManyRequests => {
            let mut response = error(429, 20429, "Too Many Requests");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "7".parse().expect("header value"));
            response
        }
        Answer::Slow => {
            tokio::time::sleep(SLOW).await;
            error(500, 20500, "late")
        }
    }
}

/// Starts a stand-in answering `answer`; returns it and a connector pointed at it,
/// authenticating with `auth_token`.
async fn start(answer: Answer, auth_token: &str) -> (Arc<StandIn>, TwilioConnector) {
    let stand_in = Arc::new(StandIn {
        answer,
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(create_message),
        )
        .with_state(stand_in.clone());
    let endpoint = serve(app).await;
    let config: TwilioConfig = serde_json::from_value(json!({
        "account_sid": ACCOUNT,
        "auth_token": auth_token,
        "from": "+15005550006",
        "status_callback": CALLBACK,
        "endpoint": endpoint,
    }))
    .expect("config");
    let connector = TwilioConnector::new(config, http()).expect("valid config");
    (stand_in, connector)
}

fn message() -> OutboundMessage {
    text_message("+14155550100", None, &[])
}

#[tokio::test]
async fn a_message_is_created_with_its_sid_and_segments() {
    let (stand_in, connector) = start(Answer::Created, TOKEN).await;
    let accepted = connector.send(&message()).await.expect("sent");
    assert_eq!(
        accepted,
        Accepted {
            provider_message_id: Some("SM1f0e8ae6ade43cb3c0ce4525424e404f".into()),
            parts: Some(1),
        }
    );
    let seen = stand_in.seen.lock().expect("lock");
    assert_eq!(seen[0]["To"], "+14155550100");
    assert_eq!(seen[0]["From"], "+15005550006");
    assert_eq!(seen[0]["Body"], "Your code is 4370");
    assert_eq!(seen[0]["StatusCallback"], CALLBACK);
}

#[tokio::test]
async fn a_wrong_auth_token_is_permanent() {
    let (stand_in, connector) = start(Answer::Created, "not-the-token").await;
    let result = connector.send(&message()).await;
    assert_permanent(result, "20003");
    assert!(stand_in.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_unsubscribed_recipient_is_permanent() {
    let answer = Answer::Refuse(400, 21610, "Attempt to send to unsubscribed recipient");
    let (_, connector) = start(answer, TOKEN).await;
    assert_permanent(connector.send(&message()).await, "21610");
}

#[tokio::test]
async fn a_number_that_cannot_receive_sms_is_permanent() {
    let answer = Answer::Refuse(400, 21614, "'To' number is not a valid mobile number");
    let (_, connector) = start(answer, TOKEN).await;
    assert_permanent(connector.send(&message()).await, "21614");
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let (_, connector) = start(Answer::TooManyRequests, TOKEN).await;
    assert_retryable(connector.send(&message()).await, "20429", Some(7_000));
}

#[tokio::test]
async fn service_unavailable_is_retryable() {
    let answer = Answer::Refuse(503, 20503, "Service unavailable");
    let (_, connector) = start(answer, TOKEN).await;
    assert_retryable(connector.send(&message()).await, "20503", None);
}

#[tokio::test]
async fn an_internal_server_error_is_ambiguous_as_twilio_warns() {
    let answer = Answer::Refuse(500, 20500, "Internal Server Error");
    let (_, connector) = start(answer, TOKEN).await;
    assert_ambiguous(connector.send(&message()).await);
}

#[tokio::test]
async fn a_timeout_is_ambiguous_because_twilio_does_not_deduplicate() {
    let (stand_in, connector) = start(Answer::Slow, TOKEN).await;
    assert_ambiguous(connector.send(&message()).await);
    assert_eq!(stand_in.seen.lock().expect("lock").len(), 1);
}

/// A status callback as Twilio posts it: the form body and its signature, computed
/// here from the documented scheme with `token`.
fn status_callback(token: &str, fields: &[(&str, &str)]) -> (Vec<u8>, String) {
    let mut sorted = fields.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let signed: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(format!("{CALLBACK}{signed}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    (body.into_bytes(), signature)
}

#[tokio::test]
async fn a_status_callback_for_the_sent_message_becomes_its_receipt() {
    let (_, connector) = start(Answer::Created, TOKEN).await;
    let accepted = connector.send(&message()).await.expect("sent");
    let sid = accepted.provider_message_id.expect("sid");
    let (body, signature) = status_callback(
        TOKEN,
        &[
            ("SmsSid", sid.as_str()),
            ("SmsStatus", "undelivered"),
            ("MessageStatus", "undelivered"),
            ("To", "+14155550100"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("From", "+15005550006"),
            ("ErrorCode", "30006"),
            ("ApiVersion", "2010-04-01"),
        ],
    );
    assert_eq!(
        parse_receipts(CALLBACK, &body, Some(&signature), TOKEN),
        Ok(vec![Receipt {
            provider_message_id: sid,
            status: ReceiptStatus::Failed,
            detail: Some("undelivered: 30006".into()),
        }])
    );
}

#[tokio::test]
async fn a_status_callback_signed_with_another_token_is_refused() {
    let (body, signature) = status_callback(
        "someone-else",
        &[("MessageSid", "SM1"), ("MessageStatus", "delivered")],
    );
    assert_eq!(
        parse_receipts(CALLBACK, &body, Some(&signature), TOKEN),
        Err(ReceiptError::BadSignature)
    );
}
