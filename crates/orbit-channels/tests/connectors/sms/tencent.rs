//! Tencent Cloud SMS against a stand-in for sms.tencentcloudapi.com: it checks the
//! `X-TC-*` common headers, parses the `TC3-HMAC-SHA256` Authorization, recomputes
//! the signature over the content type, host and body it received (independently
//! of the connector), then the `SendSms` body, before answering — with HTTP 200 and
//! the outcome in the body, as Tencent does.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use orbit_channels::sms::tencent::{TencentSmsConfig, TencentSmsConnector};
use orbit_channels::{Accepted, Connector};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

const SECRET_ID: &str = "AKIDorbitTestSecretId";
const SECRET_KEY: &str = "orbit-test-secret-key";
const APP_ID: &str = "1400006666";

/// What the stand-in answers once the request has passed its checks.
#[derive(Clone, Copy)]
enum Answer {
    Sent,
    /// `Response.Error` with this code.
    RequestError(&'static str),
    /// A `SendStatusSet` entry refusing the number with this code.
    NumberRefused(&'static str),
    /// A gateway's HTML error page.
    Unavailable,
    /// Nothing until well past the connector's timeout.
    Slow,
}

struct StandIn {
    answer: Answer,
    clock: Arc<dyn Clock>,
    /// The body of every request that passed the checks.
    seen: Mutex<Vec<Value>>,
}

fn respond(response: Value) -> Response {
    let mut response = response;
    response["RequestId"] = json!("ed93f3cb-f35e-473f-b9f3-0d451b8b79c6");
    (StatusCode::OK, json!({ "Response": response }).to_string()).into_response()
}

fn error(code: &str, message: &str) -> Response {
    respond(json!({ "Error": { "Code": code, "Message": message } }))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The signature Tencent computes for what it received.
fn expected_signature(content_type: &str, host: &str, body: &[u8], timestamp: i64) -> String {
    let canonical = format!(
        "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(body))
    );
    let date = jiff::Timestamp::from_second(timestamp)
        .expect("in range")
        .strftime("%Y-%m-%d")
        .to_string();
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac_sha256(format!("TC3{SECRET_KEY}").as_bytes(), &date);
    let key = hmac_sha256(&key, "sms");
    let key = hmac_sha256(&key, "tc3_request");
    hex::encode(hmac_sha256(&key, &to_sign))
}

/// Checks what Tencent's gateway checks before the SMS service sees the request.
/// Refusals are `(Code, Message)` as Tencent puts them in `Response.Error`.
fn authenticate(
    stand_in: &StandIn,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (&'static str, &'static str)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("x-tc-action") != "SendSms" || header("x-tc-version") != "2021-01-11" {
        return Err(("InvalidAction", "The requested action does not exist."));
    }
    if header("x-tc-region").is_empty() {
        return Err(("MissingParameter", "The request is missing X-TC-Region."));
    }
    let Ok(timestamp) = header("x-tc-timestamp").parse::<i64>() else {
        return Err(("MissingParameter", "The request is missing X-TC-Timestamp."));
    };
    if (stand_in.clock.now().as_second() - timestamp).abs() > 300 {
        return Err(("AuthFailure.SignatureExpire", "Signature expired."));
    }
    let authorization = header("authorization");
    let Some(fields) = authorization.strip_prefix("TC3-HMAC-SHA256 ") else {
        return Err(("AuthFailure.InvalidAuthorization", "Invalid Authorization."));
    };
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
    };
    let credential: Vec<&str> = field("Credential").split('/').collect();
    if credential.len() != 4 || credential[2] != "sms" || credential[3] != "tc3_request" {
        return Err(("AuthFailure.InvalidAuthorization", "Invalid Credential."));
    }
    if credential[0] != SECRET_ID {
        return Err(("AuthFailure.SecretIdNotFound", "The SecretId is not found."));
    }
    if field("SignedHeaders") != "content-type;host" {
        return Err(("AuthFailure.InvalidAuthorization", "Invalid SignedHeaders."));
    }
    let expected = expected_signature(header("content-type"), header("host"), body, timestamp);
    if field("Signature") != expected {
        return Err((
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    Ok(())
}

async fn send_sms(State(stand_in): State<Arc<StandIn>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((code, message)) = authenticate(&stand_in, &headers, &body) {
        return error(code, message);
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            "FailedOperation.FailResolvePacket",
            "Failed to parse the request packet.",
        );
    };
    for name in ["PhoneNumberSet", "SmsSdkAppId", "TemplateId"] {
        if request.get(name).is_none() {
            return error("MissingParameter", &format!("The request is missing {name}."));
        }
    }
    if request["SmsSdkAppId"] != APP_ID {
        return error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist.");
    }
    let numbers = request["PhoneNumberSet"].as_array().cloned().unwrap_or_default();
    let e164 = numbers
        .iter()
        .all(|n| n.as_str().is_some_and(|n| n.starts_with('+') && n.len() > 8));
    if numbers.is_empty() || !e164 {
        return error(
            "InvalidParameterValue.IncorrectPhoneNumber",
            "Incorrect phone number.",
        );
    }
    stand_in.seen.lock().expect("lock").push(request.clone());
    let number = numbers[0].clone();
    let status = |code: &str, message: &str, serial: &str, fee: u32| {
        json!({
            "SerialNo": serial, "PhoneNumber": number, "Fee": fee,
            "SessionContext": request["SessionContext"], "Code": code,
            "Message": message, "IsoCode": "CN",
        })
    };

    match stand_in.answer {
        Answer::Sent => respond(json!({
            "SendStatusSet": [status("Ok", "send success", "5000:1045710669157053657849499619", 2)],
        })),
        Answer::NumberRefused(code) => respond(json!({
            "SendStatusSet": [status(code, "the number was refused", "", 0)],
        })),
        Answer::RequestError(code) => error(code, "the request was refused"),
        Answer::Unavailable => (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response(),
        Answer::Slow => {
            tokio::time::sleep(SLOW).await;
            respond(json!({}))
        }
    }
}

/// Starts a stand-in answering `answer`; returns it and a connector pointed at it,
/// signing with `secret_key`.
async fn start(answer: Answer, secret_key: &str) -> (Arc<StandIn>, TencentSmsConnector) {
    let stand_in = Arc::new(StandIn {
        answer,
        clock: clock(),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/", axum::routing::post(send_sms))
        .with_state(stand_in.clone());
    let endpoint = serve(app).await;
    let config: TencentSmsConfig = serde_json::from_value(json!({
        "secret_id": SECRET_ID,
        "secret_key": secret_key,
        "sms_sdk_app_id": APP_ID,
        "sign_name": "Orbit商城",
        "template_id": "1110",
        "endpoint": endpoint,
    }))
    .expect("config");
    let connector = TencentSmsConnector::new(config, http())
        .expect("valid config")
        .with_clock(clock());
    (stand_in, connector)
}

fn message() -> OutboundMessage {
    text_message("+8618501234444", None, &[("code", "4370"), ("minutes", "5")])
}

#[tokio::test]
async fn a_signed_message_is_accepted_with_its_serial_number_and_fee() {
    let (stand_in, connector) = start(Answer::Sent, SECRET_KEY).await;
    let accepted = connector.send(&message()).await.expect("sent");
    assert_eq!(
        accepted,
        Accepted {
            provider_message_id: Some("5000:1045710669157053657849499619".into()),
            parts: Some(2),
        }
    );
    let seen = stand_in.seen.lock().expect("lock");
    assert_eq!(seen[0]["PhoneNumberSet"], json!(["+8618501234444"]));
    assert_eq!(seen[0]["TemplateId"], "1110");
    assert_eq!(seen[0]["TemplateParamSet"], json!(["4370", "5"]));
    assert_eq!(seen[0]["SignName"], "Orbit商城");
    assert_eq!(seen[0]["SessionContext"], "send-0001");
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_as_signature_failure() {
    let (stand_in, connector) = start(Answer::Sent, "not-the-key").await;
    let result = connector.send(&message()).await;
    assert_permanent(result, "AuthFailure.SignatureFailure");
    assert!(stand_in.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_unapproved_template_is_permanent() {
    let answer = Answer::RequestError("FailedOperation.TemplateIncorrectOrUnapproved");
    let (_, connector) = start(answer, SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_permanent(result, "FailedOperation.TemplateIncorrectOrUnapproved");
}

#[tokio::test]
async fn a_number_over_its_daily_limit_is_permanent_for_this_message() {
    let answer = Answer::NumberRefused("LimitExceeded.PhoneNumberDailyLimit");
    let (_, connector) = start(answer, SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_permanent(result, "LimitExceeded.PhoneNumberDailyLimit");
}

#[tokio::test]
async fn a_number_sent_to_within_thirty_seconds_waits_thirty_seconds() {
    let answer = Answer::NumberRefused("LimitExceeded.PhoneNumberThirtySecondLimit");
    let (_, connector) = start(answer, SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_retryable(result, "LimitExceeded.PhoneNumberThirtySecondLimit", Some(30_000));
}

#[tokio::test]
async fn request_throttling_is_retryable() {
    let (_, connector) = start(Answer::RequestError("RequestLimitExceeded"), SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_retryable(result, "RequestLimitExceeded", None);
}

#[tokio::test]
async fn an_internal_error_is_retryable() {
    let (_, connector) = start(Answer::RequestError("InternalError.OtherError"), SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_retryable(result, "InternalError.OtherError", None);
}

#[tokio::test]
async fn a_gateway_error_page_is_retryable() {
    let (_, connector) = start(Answer::Unavailable, SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_retryable(result, "502", None);
}

#[tokio::test]
async fn a_timeout_is_ambiguous_because_tencent_does_not_deduplicate() {
    let (stand_in, connector) = start(Answer::Slow, SECRET_KEY).await;
    let result = connector.send(&message()).await;
    assert_ambiguous(result);
    assert_eq!(stand_in.seen.lock().expect("lock").len(), 1);
}
