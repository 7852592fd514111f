//! Aliyun SMS against the stand-in for dysmsapi from `orbit-test-support`: it reads the
//! form body, checks the common parameters, the AccessKey, the timestamp window and the
//! HMAC-SHA1 signature (recomputed there, independently of the connector), then the
//! `SendSms` parameters, before answering.

use orbit_channels::sms::aliyun::{AliyunSmsConfig, AliyunSmsConnector};
use orbit_channels::{Accepted, Connector};
use orbit_test_support::aliyun::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, Aliyun, Answer, biz_id};
use serde_json::json;

use super::*;

/// Starts a stand-in answering `answer`; returns it and a connector pointed at it,
/// signing with `secret` as `key_id`.
async fn start(answer: Answer, key_id: &str, secret: &str) -> (Aliyun, AliyunSmsConnector) {
    let stand_in = Aliyun::start(answer, clock()).await;
    let config: AliyunSmsConfig = serde_json::from_value(json!({
        "access_key_id": key_id,
        "access_key_secret": secret,
        "sign_name": "Orbit商城",
        "template_code": "SMS_0000001",
        "endpoint": stand_in.endpoint,
    }))
    .expect("config");
    let connector = AliyunSmsConnector::new(config, http())
        .expect("valid config")
        .with_clock(clock());
    (stand_in, connector)
}

#[tokio::test]
async fn a_signed_template_message_is_accepted_with_its_biz_id() {
    let (stand_in, connector) = start(Answer::Sent, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let message = text_message("+8613800138000", Some("SMS_4370"), &[("code", "4370")]);
    let accepted = connector.send(&message).await.expect("sent");
    assert_eq!(
        accepted,
        Accepted {
            provider_message_id: Some(biz_id("13800138000")),
            parts: None,
        }
    );
    let seen = stand_in.requests();
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
    let (stand_in, connector) = start(Answer::Sent, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    connector
        .send(&text_message("+85291234567", None, &[]))
        .await
        .expect("sent");
    let seen = stand_in.requests();
    assert_eq!(seen[0]["PhoneNumbers"], "85291234567");
    assert_eq!(seen[0]["TemplateCode"], "SMS_0000001");
    assert!(!seen[0].contains_key("TemplateParam"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_as_signature_does_not_match() {
    let (stand_in, connector) = start(Answer::Sent, ACCESS_KEY_ID, "not-the-secret").await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "SignatureDoesNotMatch");
    assert!(stand_in.requests().is_empty());
}

#[tokio::test]
async fn an_unknown_access_key_is_permanent() {
    let (_, connector) = start(Answer::Sent, "LTAI5tSomebodyElse", ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn an_illegal_number_is_permanent() {
    let answer = Answer::Refuse(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    let (_, connector) = start(answer, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_permanent(result, "isv.MOBILE_NUMBER_ILLEGAL");
}

#[tokio::test]
async fn business_flow_control_is_throttled_for_the_window_it_names() {
    let answer = Answer::Refuse(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5");
    let (_, connector) = start(answer, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "isv.BUSINESS_LIMIT_CONTROL", Some(3_600_000));
}

#[tokio::test]
async fn a_system_error_is_retryable() {
    let answer = Answer::Refuse(500, "isp.SYSTEM_ERROR", "系统出现错误，请重新调用");
    let (_, connector) = start(answer, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "isp.SYSTEM_ERROR", None);
}

#[tokio::test]
async fn a_gateway_error_page_is_retryable() {
    let (_, connector) = start(Answer::Unavailable, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_retryable(result, "503", None);
}

#[tokio::test]
async fn a_timeout_is_ambiguous_because_aliyun_does_not_deduplicate() {
    let (stand_in, connector) = start(Answer::Never, ACCESS_KEY_ID, ACCESS_KEY_SECRET).await;
    let result = connector.send(&text_message("+8613800138000", None, &[])).await;
    assert_ambiguous(result);
    // The request was taken before the answer was late: exactly the ambiguity.
    assert_eq!(stand_in.requests().len(), 1);
}
