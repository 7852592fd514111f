use std::collections::BTreeMap;

use super::*;
use crate::{EgressPolicy, Recipient, SmsContent};

fn config() -> AliyunSmsConfig {
    serde_json::from_value(serde_json::json!({
        "access_key_id": "testId",
        "access_key_secret": "testSecret",
        "sign_name": "阿里云短信测试",
        "template_code": "SMS_0001",
    }))
    .expect("config")
}

fn connector() -> AliyunSmsConnector {
    let http = EgressPolicy::strict()
        .client(Duration::from_secs(1))
        .expect("client");
    AliyunSmsConnector::new(config(), http).expect("valid config")
}

fn message(address: &str, template: Option<&str>, params: &[(&str, &str)]) -> OutboundMessage {
    OutboundMessage {
        send_id: "send-42".into(),
        recipient: Recipient {
            profile_id: "p1".into(),
            address: address.into(),
        },
        content: Content::Sms(SmsContent {
            text: "【阿里云短信测试】您的验证码是1234".into(),
            template_code: template.map(str::to_owned),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }),
    }
}

fn now() -> Timestamp {
    "2024-05-01T08:30:00Z".parse().expect("timestamp")
}

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[test]
fn the_defaults_are_the_public_endpoint_and_hangzhou() {
    let config = config();
    assert_eq!(config.endpoint, "https://dysmsapi.aliyuncs.com");
    assert_eq!(config.region_id, "cn-hangzhou");
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn validation_names_the_bad_field_and_unknown_fields_are_refused() {
    let mut bad = config();
    bad.sign_name = " ".into();
    assert_eq!(bad.validate().expect_err("blank").field, "sign_name");
    let mut bad = config();
    bad.endpoint = "ftp://dysmsapi.aliyuncs.com".into();
    assert_eq!(bad.validate().expect_err("scheme").field, "endpoint");
    let unknown = serde_json::from_value::<AliyunSmsConfig>(serde_json::json!({
        "access_key_id": "a", "access_key_secret": "b", "sign_name": "c", "sign": "d",
    }));
    assert!(unknown.is_err());
}

#[test]
fn debug_never_prints_the_secret() {
    let printed = format!("{:?}", config());
    assert!(!printed.contains("testSecret"), "{printed}");
    assert!(printed.contains("<redacted>"));
}

#[test]
fn the_body_carries_every_sendsms_parameter_and_a_post_signature() {
    let body = connector()
        .signed_body(
            &message("+8613800138000", None, &[("code", "1234"), ("product", "orbit")]),
            "nonce-1",
            now(),
        )
        .expect("body");
    let params = form(&body);
    let expected = [
        ("AccessKeyId", "testId"),
        ("Action", "SendSms"),
        ("Format", "JSON"),
        ("OutId", "send-42"),
        ("PhoneNumbers", "13800138000"),
        ("RegionId", "cn-hangzhou"),
        ("SignName", "阿里云短信测试"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "nonce-1"),
        ("SignatureVersion", "1.0"),
        ("TemplateCode", "SMS_0001"),
        ("TemplateParam", r#"{"code":"1234","product":"orbit"}"#),
        ("Timestamp", "2024-05-01T08:30:00Z"),
        ("Version", "2017-05-25"),
    ];
    for (name, value) in expected {
        assert_eq!(params.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(params.len(), expected.len() + 1);

    let unsigned: Vec<(&str, &str)> = expected.to_vec();
    let to_sign = signature::string_to_sign("POST", &signature::canonicalized_query(&unsigned));
    assert_eq!(params["Signature"], signature::sign("testSecret", &to_sign));
    // The body is the canonical query itself: spaces are %20, never '+'.
    assert!(body.contains("Timestamp=2024-05-01T08%3A30%3A00Z"));
}

#[test]
fn the_message_template_wins_and_no_params_means_no_template_param() {
    let body = connector()
        .signed_body(&message("+8613800138000", Some("SMS_9999"), &[]), "n", now())
        .expect("body");
    let params = form(&body);
    assert_eq!(params["TemplateCode"], "SMS_9999");
    assert!(!params.contains_key("TemplateParam"));
}

#[test]
fn international_numbers_keep_their_country_code_without_plus() {
    for (address, expected) in [
        ("+85212345678", "85212345678"),
        ("+14155550100", "14155550100"),
        ("+8613800138000", "13800138000"),
    ] {
        let body = connector()
            .signed_body(&message(address, None, &[]), "n", now())
            .expect("body");
        assert_eq!(form(&body)["PhoneNumbers"], expected);
    }
}

#[test]
fn a_message_aliyun_cannot_take_is_refused_before_sending() {
    let mut no_template = config();
    no_template.template_code = None;
    let http = EgressPolicy::strict()
        .client(Duration::from_secs(1))
        .expect("client");
    let connector = AliyunSmsConnector::new(no_template, http).expect("valid");
    let refused = connector
        .signed_body(&message("+8613800138000", None, &[]), "n", now())
        .expect_err("no template");
    assert!(matches!(refused, SendError::Permanent { code, .. } if code == "template_code"));

    let refused = self::connector()
        .signed_body(&message("13800138000", None, &[]), "n", now())
        .expect_err("not e164");
    assert!(matches!(refused, SendError::Permanent { code, .. } if code == "recipient"));

    let mut email = message("+8613800138000", None, &[]);
    email.content = Content::Webhook(crate::WebhookContent {
        body: serde_json::json!({}),
    });
    let refused = self::connector()
        .signed_body(&email, "n", now())
        .expect_err("not sms");
    assert!(matches!(refused, SendError::Permanent { code, .. } if code == "content"));
}

#[test]
fn ok_is_accepted_with_the_biz_id() {
    let accepted = interpret_response(
        StatusCode::OK,
        r#"{"Message":"OK","RequestId":"F655A8D5","Code":"OK","BizId":"9006197469364984^0"}"#,
    )
    .expect("accepted");
    assert_eq!(
        accepted.provider_message_id.as_deref(),
        Some("9006197469364984^0")
    );
}

#[test]
fn error_codes_map_to_the_documented_outcomes() {
    let outcome = |status: u16, code: &str, message: &str| {
        let body = serde_json::json!({"Code": code, "Message": message, "RequestId": "r"});
        interpret_response(StatusCode::from_u16(status).expect("status"), &body.to_string())
            .expect_err("error")
    };
    assert_eq!(
        outcome(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
        SendError::throttled(
            "isv.BUSINESS_LIMIT_CONTROL",
            "触发分钟级流控Permits:1",
            Some(Duration::from_secs(60))
        )
    );
    assert!(matches!(
        outcome(200, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10"),
        SendError::Retryable {
            retry_after_ms: Some(86_400_000),
            ..
        }
    ));
    for retryable in [
        "Throttling.User",
        "Throttling",
        "isv.DAY_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "ServiceUnavailable",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
    ] {
        assert!(
            matches!(outcome(400, retryable, "m"), SendError::Retryable { ref code, .. } if code == retryable),
            "{retryable}"
        );
    }
    for permanent in [
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "InvalidAccessKeyId.NotFound",
        "SignatureDoesNotMatch",
    ] {
        assert_eq!(
            outcome(400, permanent, "words"),
            SendError::permanent(permanent, "words"),
            "{permanent}"
        );
    }
    // An unknown code is permanent unless the status says Aliyun itself failed.
    assert!(matches!(
        outcome(400, "isv.SOMETHING_NEW", "m"),
        SendError::Permanent { .. }
    ));
    assert!(matches!(
        outcome(503, "isv.SOMETHING_NEW", "m"),
        SendError::Retryable { .. }
    ));
}

#[test]
fn an_unreadable_answer_is_ambiguous_on_success_and_classified_by_status_otherwise() {
    assert!(matches!(
        interpret_response(StatusCode::OK, "<html>gateway</html>"),
        Err(SendError::Ambiguous { .. })
    ));
    assert!(matches!(
        interpret_response(StatusCode::BAD_GATEWAY, "<html>gateway</html>"),
        Err(SendError::Retryable { code, .. }) if code == "502"
    ));
    assert!(matches!(
        interpret_response(StatusCode::NOT_FOUND, "no"),
        Err(SendError::Permanent { code, .. }) if code == "404"
    ));
}
