//! Aliyun SMS against a stand-in for dysmsapi: it reads the form body, checks the
//! common parameters, the AccessKey, the timestamp window and the HMAC-SHA1
//! signature (recomputed here, independently of the connector), then the `SendSms`
//! parameters, before answering.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use orbit_channels::sms::aliyun::{AliyunSmsConfig, AliyunSmsConnector};
use orbit_channels::{Accepted, Connector};
use orbit_core::clock::Clock;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use super::*;

const KEY_ID: &str = "LTAI5tOrbitTestKey";
const SECRET: &str = "orbit-test-secret";

/// What the stand-in answers once the request has passed its checks.
#[derive(Clone, Copy)]
enum Answer {
    Sent,
    /// A dysmsapi error body with this HTTP status, `Code` and `Message`.
    Refuse(u16, &'static str, &'static str),
    /// A gateway's HTML error page.
    Unavailable,
    /// Nothing until well past the connector's timeout.
    Slow,
}

struct StandIn {
    answer: Answer,
    clock: Arc<dyn Clock>,
    /// The parameters of every request that passed the checks.
    seen: Mutex<Vec<BTreeMap<String, String>>>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "RequestId": "8906582E-6722-409A-A6C4-0E7863B733A5",
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The string to sign and signature Aliyun computes for a POST of `params`.
fn expected_signature(params: &BTreeMap<String, String>) -> (String, String) {
    let encode = |s: &str| utf8_percent_encode(s, UNRESERVED).to_string();
    let canonical = params
        .iter()
        .filter(|(name, _)| name.as_str() != "Signature")
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&%2F&{}", encode(&canonical));
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(format!("{SECRET}&").as_bytes()).expect("any key length");
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (to_sign, signature)
}

async fn send_sms(State(stand_in): State<Arc<StandIn>>, body: Bytes) -> Response {
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let common = [
        "AccessKeyId",
        "Action",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Signature",
        "Timestamp",
        "Version",
    ];
    for name in common {
        if !params.contains_key(name) {
            let message = format!("{name} is mandatory for this action.");
            return error(StatusCode::BAD_REQUEST, &format!("Missing{name}"), &message);
        }
    }
    let protocol_ok = params["Action"] == "SendSms"
        && params["Version"] == "2017-05-25"
        && params["SignatureMethod"] == "HMAC-SHA1"
        && params["SignatureVersion"] == "1.0";
    if !protocol_ok {
        return error(StatusCode::BAD_REQUEST, "InvalidParameter", "unsupported");
    }
    if params["AccessKeyId"] != KEY_ID {
        let message = "Specified access key is not found.";
        return error(StatusCode::NOT_FOUND, "InvalidAccessKeyId.NotFound", message);
    }
    let sent_at: jiff::Timestamp = match params["Timestamp"].parse() {
        Ok(at) => at,
        Err(_) => return error(StatusCode::BAD_REQUEST, "InvalidTimeStamp.Format", "bad"),
    };
    let skew = stand_in.clock.now().duration_since(sent_at).abs();
    if skew > jiff::SignedDuration::from_mins(15) {
        let message = "Specified time stamp or date value is expired.";
        return error(StatusCode::BAD_REQUEST, "InvalidTimeStamp.Expired", message);
    }
    let (to_sign, signature) = expected_signature(&params);
    if params["Signature"] != signature {
        let message = format!(
            "Specified signature is not matched with our calculation. server string to sign is:{to_sign}"
        );
        return error(StatusCode::BAD_REQUEST, "SignatureDoesNotMatch", &message);
    }
    for name in ["PhoneNumbers", "SignName", "TemplateCode"] {
        if params.get(name).is_none_or(String::is_empty) {
            let message = format!("{name} is mandatory for this action.");
            return error(StatusCode::BAD_REQUEST, &format!("Missing{name}"), &message);
        }
    }
    if let Some(template_param) = params.get("TemplateParam") {
        let is_object =
            serde_json::from_str::<serde_json::Value>(template_param).is_ok_and(|value| value.is_object());
        if !is_object {
            return error(StatusCode::OK, "isv.INVALID_JSON_PARAM", "JSON参数不合法");
        }
    }
    stand_in.seen.lock().expect("lock").push(params);

    match stand_in.answer {
        Answer::Sent => {
            let body = json!({
                "Message": "OK",
                "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                "Code": "OK",
                "BizId": "900619746936498440^0",
            });
            (StatusCode::OK, body.to_string()).into_response()
        }
        Answer::Refuse(status, code, message) => {
            error(StatusCode::from_u16(status).expect("status"), code, message)
        }
        Answer::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Temporarily Unavailable</html>",
        )
            .into_response(),
        Answer::Slow => {
            tokio::time::sleep(SLOW).await;
            (StatusCode::OK, "{}").into_response()
        }
    }
}

/// Starts a stand-in answering `answer`; returns it and a connector pointed at it,
/// signing with `secret` as `key_id`.
async fn start(answer: Answer, key_id: &str, secret: &str) -> (Arc<StandIn>, AliyunSmsConnector) {
    let stand_in = Arc::new(StandIn {
        answer,
        clock: clock(),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/", axum::routing::post(send_sms))
        .with_state(stand_in.clone());
    let endpoint = serve(app).await;
    let config: AliyunSmsConfig = serde_json::from_value(json!({
        "access_key_id": key_id,
        "access_key_secret": secret,
        "sign_name": "Orbit商城",
        "template_code": "SMS_0000001",
        "endpoint": endpoint,
    }))
    .expect("config");
    let connector = AliyunSmsConnector::new(config, http())
        .expect("valid config")
        .with_clock(clock());
    (stand_in, connector)
}

#[tokio::test]
async fn a_signed_template_message_is_accepted_with_its_biz_id() {
    let (stand_in, connector) = start(Answer::Sent, KEY_ID, SECRET).await;
    let message = text_message("+8613800138000", Some("SMS_4370"), &[("code", "4370")]);
    let accepted = connector.send(&message).await.expect("sent");
    assert_eq!(
        accepted,
        Accepted {
            provider_message_id: Some("900619746936498440^0".into()),
            parts: None,
        }
    );
    let seen = stand_in.seen.lock().expect("lock");
    let params = &seen[0];
    assert_eq!(params["PhoneNumbers"], "13800138000");
    assert_eq!(params["OutId"], "send-0001");
    assert_eq!(params["SignName"], "Orbit商城");
    assert_eq!(params["TemplateCode"], "SMS_4370");
    assert_eq!(params["TemplateParam"], r#"{"code":"4370"}"#);
    assert_eq!(params["Timestamp"], "2024-05-01T08:30:00Z");
}

#[tokio::test]
async fn an_international_number_goes_with_its_country_code_and_the_default_template() {
    let (stand_in, connector) = start(Answer::Sent, KEY_ID, SECRET).await;
    connector
        .send(&text_message("+85291234567", None, &[]))
        .await
        .expect("sent");
    let seen = stand_in.seen.lock().expect("lock");
    assert_eq!(seen[0]["PhoneNumbers"], "85291234567");
    assert_eq!(seen[0]["TemplateCode"], "SMS_0000001");
    assert!(!seen[0].contains_key("TemplateParam"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_as_signature_does_not_match() {
    let (stand_in, connector) = start(Answer::Sent, KEY_ID, "not-the-secret").await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "SignatureDoesNotMatch");
    assert!(stand_in.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_unknown_access_key_is_permanent() {
    let (_, connector) = start(Answer::Sent, "LTAI5tSomebodyElse", SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn an_illegal_number_is_permanent() {
    let answer = Answer::Refuse(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    let (_, connector) = start(answer, KEY_ID, SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "isv.MOBILE_NUMBER_ILLEGAL");
}

#[tokio::test]
async fn business_flow_control_is_throttled_for_the_window_it_names() {
    let answer = Answer::Refuse(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5");
    let (_, connector) = start(answer, KEY_ID, SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "isv.BUSINESS_LIMIT_CONTROL", Some(3_600_000));
}

#[tokio::test]
async fn a_system_error_is_retryable() {
    let answer = Answer::Refuse(500, "isp.SYSTEM_ERROR", "系统出现错误，请重新调用");
    let (_, connector) = start(answer, KEY_ID, SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "isp.SYSTEM_ERROR", None);
}

#[tokio::test]
async fn a_gateway_error_page_is_retryable() {
    let (_, connector) = start(Answer::Unavailable, KEY_ID, SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "503", None);
}

#[tokio::test]
async fn a_timeout_is_ambiguous_because_aliyun_does_not_deduplicate() {
    let (stand_in, connector) = start(Answer::Slow, KEY_ID, SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_ambiguous(result);
    // The request was taken before the answer was late: exactly the ambiguity.
    assert_eq!(stand_in.seen.lock().expect("lock").len(), 1);
}
