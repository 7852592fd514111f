//! Twilio against the stand-in for the Messages resource from `orbit-test-support`: it
//! checks HTTP Basic authentication against the account SID and auth token, the
//! account in the path, and the form fields Twilio requires, before answering with
//! Twilio's JSON (and `Retry-After` when it throttles). Status callbacks are then
//! signed here the way Twilio signs them and read back through the connector's
//! verifier.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use orbit_channels::sms::ReceiptError;
use orbit_channels::sms::twilio::{TwilioConfig, TwilioConnector, parse_receipts};
use orbit_channels::{Accepted, Connector, Receipt, ReceiptStatus};
use orbit_test_support::twilio::{ACCOUNT_SID, AUTH_TOKEN, Answer, Twilio, message_sid};
use serde_json::json;

use super::*;

const CALLBACK: &str = "https://orbit.example/hooks/twilio/7f3a?workspace=w1";

/// Starts a stand-in answering `answer`; returns it and a connector pointed at it,
/// authenticating with `auth_token`.
async fn start(answer: Answer, auth_token: &str) -> (Twilio, TwilioConnector) {
    let stand_in = Twilio::start(answer).await;
    let config: TwilioConfig = serde_json::from_value(json!({
        "account_sid": ACCOUNT_SID,
        "auth_token": auth_token,
        "from": "+15005550006",
        "status_callback": CALLBACK,
        "endpoint": stand_in.endpoint,
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
    let (stand_in, connector) = start(Answer::Created, AUTH_TOKEN).await;
    let accepted = connector.send(&message()).await.expect("sent");
    assert_eq!(
        accepted,
        Accepted {
            provider_message_id: Some(message_sid(1)),
            parts: Some(1),
        }
    );
    let seen = stand_in.requests();
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
    assert!(stand_in.requests().is_empty());
}

#[tokio::test]
async fn an_unsubscribed_recipient_is_permanent() {
    let answer = Answer::Refuse(400, 21610, "Attempt to send to unsubscribed recipient");
    let (_, connector) = start(answer, AUTH_TOKEN).await;
    assert_permanent(connector.send(&message()).await, "21610");
}

#[tokio::test]
async fn a_number_that_cannot_receive_sms_is_permanent() {
    let answer = Answer::Refuse(400, 21614, "'To' number is not a valid mobile number");
    let (_, connector) = start(answer, AUTH_TOKEN).await;
    assert_permanent(connector.send(&message()).await, "21614");
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let (_, connector) = start(Answer::TooManyRequests, AUTH_TOKEN).await;
    assert_retryable(connector.send(&message()).await, "20429", Some(7_000));
}

#[tokio::test]
async fn service_unavailable_is_retryable() {
    let answer = Answer::Refuse(503, 20503, "Service unavailable");
    let (_, connector) = start(answer, AUTH_TOKEN).await;
    assert_retryable(connector.send(&message()).await, "20503", None);
}

#[tokio::test]
async fn an_internal_server_error_is_ambiguous_as_twilio_warns() {
    let answer = Answer::Refuse(500, 20500, "Internal Server Error");
    let (_, connector) = start(answer, AUTH_TOKEN).await;
    assert_ambiguous(connector.send(&message()).await);
}

#[tokio::test]
async fn a_timeout_is_ambiguous_because_twilio_does_not_deduplicate() {
    let (stand_in, connector) = start(Answer::Never, AUTH_TOKEN).await;
    assert_ambiguous(connector.send(&message()).await);
    assert_eq!(stand_in.requests().len(), 1);
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
    let (_, connector) = start(Answer::Created, AUTH_TOKEN).await;
    let accepted = connector.send(&message()).await.expect("sent");
    let sid = accepted.provider_message_id.expect("sid");
    let (body, signature) = status_callback(
        AUTH_TOKEN,
        &[
            ("SmsSid", sid.as_str()),
            ("SmsStatus", "undelivered"),
            ("MessageStatus", "undelivered"),
            ("To", "+14155550100"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", ACCOUNT_SID),
            ("From", "+15005550006"),
            ("ErrorCode", "30006"),
            ("ApiVersion", "2010-04-01"),
        ],
    );
    assert_eq!(
        parse_receipts(CALLBACK, &body, Some(&signature), AUTH_TOKEN),
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
        parse_receipts(CALLBACK, &body, Some(&signature), AUTH_TOKEN),
        Err(ReceiptError::BadSignature)
    );
}
