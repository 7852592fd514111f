//! Aliyun SMS (`dysmsapi`, `SendSms` over an RPC-style form POST): the stand-in reads the
//! form body, checks the common parameters, the AccessKey, the timestamp window and the
//! HMAC-SHA1 signature (recomputed here, independently of Orbit's connector), then the
//! `SendSms` parameters, refusing with Aliyun's own codes, before answering as the test
//! asks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use orbit_core::Clock;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

/// The AccessKey ID the stand-in knows.
pub const ACCESS_KEY_ID: &str = "LTAI5tOrbitTestKey";
/// Its secret.
pub const ACCESS_KEY_SECRET: &str = "orbit-test-secret";

/// How far the request's `Timestamp` may be from the stand-in's clock.
const TIMESTAMP_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// What the stand-in answers once a request has passed its checks.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// `Code: OK` with the `BizId` of [`biz_id`].
    Sent,
    /// A `dysmsapi` error body with this HTTP status, `Code` and `Message`.
    Refuse(u16, &'static str, &'static str),
    /// A gateway's HTML error page, `503`.
    Unavailable,
    /// No answer at all: only the client's timeout ends the wait.
    Never,
}

/// The `BizId` the stand-in answers for a send to `phone_numbers` (the request's
/// `PhoneNumbers`): derived from the number, so that a test can write the delivery
/// receipts Aliyun would push for it.
pub fn biz_id(phone_numbers: &str) -> String {
    format!("biz-{phone_numbers}")
}

struct Shared {
    answer: Answer,
    clock: Arc<dyn Clock>,
    /// The parameters of every request that passed the checks.
    seen: Mutex<Vec<BTreeMap<String, String>>>,
}

impl Shared {
    fn seen(&self) -> MutexGuard<'_, Vec<BTreeMap<String, String>>> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running stand-in.
#[derive(Clone)]
pub struct Aliyun {
    /// The base URL to configure as the account's `endpoint`.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl Aliyun {
    /// Starts a stand-in on a free loopback port that judges timestamps by `clock` and
    /// answers `answer` to every request that passes its checks.
    pub async fn start(answer: Answer, clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            answer,
            clock,
            seen: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::post(send_sms))
            .with_state(Arc::clone(&shared));
        let address = crate::serve(app).await;
        Self {
            endpoint: format!("http://{address}"),
            shared,
        }
    }

    /// The parameters of every request that passed the checks, in arrival order.
    pub fn requests(&self) -> Vec<BTreeMap<String, String>> {
        self.shared.seen().clone()
    }
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
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{ACCESS_KEY_SECRET}&").as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (to_sign, signature)
}

async fn send_sms(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let params: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
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
    if params["AccessKeyId"] != ACCESS_KEY_ID {
        let message = "Specified access key is not found.";
        return error(StatusCode::NOT_FOUND, "InvalidAccessKeyId.NotFound", message);
    }
    let sent_at: jiff::Timestamp = match params["Timestamp"].parse() {
        Ok(at) => at,
        Err(_) => return error(StatusCode::BAD_REQUEST, "InvalidTimeStamp.Format", "bad"),
    };
    let skew = shared.clock.now().duration_since(sent_at).abs();
    if skew > TIMESTAMP_WINDOW {
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
    let phone_numbers = params["PhoneNumbers"].clone();
    shared.seen().push(params);

    match shared.answer {
        Answer::Sent => {
            let body = json!({
                "Message": "OK",
                "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                "Code": "OK",
                "BizId": biz_id(&phone_numbers),
            });
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Answer::Refuse(status, code, message) => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
        ),
        Answer::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Temporarily Unavailable</html>",
        )
            .into_response(),
        Answer::Never => std::future::pending().await,
    }
}
