use super::*;
use crate::{EgressPolicy, Recipient, SmsContent};

fn config() -> TencentSmsConfig {
    serde_json::from_value(serde_json::json!({
        "secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "secret_key": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "sms_sdk_app_id": "1400006666",
        "sign_name": "腾讯云",
        "template_id": "1110",
    }))
    .expect("config")
}

fn connector(config: TencentSmsConfig) -> TencentSmsConnector {
    let http = EgressPolicy::strict()
        .client(Duration::from_secs(1))
        .expect("client");
    TencentSmsConnector::new(config, http).expect("valid config")
}

fn message(address: &str, params: &[&str]) -> OutboundMessage {
    OutboundMessage {
        send_id: "send-7".into(),
        recipient: Recipient {
            profile_id: "p1".into(),
            address: address.into(),
        },
        content: Content::Sms(SmsContent {
            text: "【腾讯云】验证码 4370，5 分钟内有效".into(),
            template_code: None,
            params: params
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("p{i}"), (*v).to_owned()))
                .collect(),
        }),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).expect("in range")
}

fn header<'a>(request: &'a SignedRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[test]
fn the_defaults_are_the_public_endpoint_and_guangzhou() {
    let config = config();
    assert_eq!(config.endpoint, "https://sms.tencentcloudapi.com");
    assert_eq!(config.region, "ap-guangzhou");
    assert_eq!(config.validate(), Ok(()));
    let printed = format!("{config:?}");
    assert!(!printed.contains("Gu5t9x"), "{printed}");
}

#[test]
fn validation_names_the_bad_field() {
    let mut bad = config();
    bad.sms_sdk_app_id = String::new();
    assert_eq!(bad.validate().expect_err("empty").field, "sms_sdk_app_id");
    let mut bad = config();
    bad.endpoint = "sms.tencentcloudapi.com".into();
    assert_eq!(bad.validate().expect_err("no scheme").field, "endpoint");
}

#[test]
fn the_request_carries_the_documented_body_and_headers() {
    let request = connector(config())
        .signed_request(&message("+8618501234444", &["4370", "5"]), now())
        .expect("request");
    let body: serde_json::Value = serde_json::from_str(&request.body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "PhoneNumberSet": ["+8618501234444"],
            "SmsSdkAppId": "1400006666",
            "SignName": "腾讯云",
            "TemplateId": "1110",
            "TemplateParamSet": ["4370", "5"],
            "SessionContext": "send-7",
        })
    );
    assert_eq!(header(&request, "X-TC-Action"), "SendSms");
    assert_eq!(header(&request, "X-TC-Version"), "2021-01-11");
    assert_eq!(header(&request, "X-TC-Timestamp"), "1700000000");
    assert_eq!(header(&request, "X-TC-Region"), "ap-guangzhou");
    assert_eq!(
        header(&request, "Content-Type"),
        "application/json; charset=utf-8"
    );

    let expected = tc3::Tc3Request {
        secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service: "sms",
        host: "sms.tencentcloudapi.com",
        content_type: "application/json; charset=utf-8",
        payload: &request.body,
        timestamp: now(),
    };
    assert_eq!(header(&request, "Authorization"), expected.authorization());
    assert!(header(&request, "Authorization").starts_with(
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/sms/tc3_request, \
         SignedHeaders=content-type;host, Signature="
    ));
}

#[test]
fn the_signed_host_includes_a_non_default_port() {
    let mut local = config();
    local.endpoint = "http://127.0.0.1:8443".into();
    let request = connector(local)
        .signed_request(&message("+8618501234444", &[]), now())
        .expect("request");
    let expected = tc3::Tc3Request {
        secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service: "sms",
        host: "127.0.0.1:8443",
        content_type: "application/json; charset=utf-8",
        payload: &request.body,
        timestamp: now(),
    };
    assert_eq!(header(&request, "Authorization"), expected.authorization());
}

#[test]
fn without_a_template_or_a_valid_number_nothing_is_sent() {
    let mut no_template = config();
    no_template.template_id = None;
    let refused = connector(no_template)
        .signed_request(&message("+8618501234444", &[]), now())
        .expect_err("no template");
    assert!(matches!(refused, SendError::Permanent { code, .. } if code == "template_id"));
    let refused = connector(config())
        .signed_request(&message("18501234444", &[]), now())
        .expect_err("not e164");
    assert!(matches!(refused, SendError::Permanent { code, .. } if code == "recipient"));
}

#[test]
fn an_ok_number_is_accepted_with_its_serial_number_and_fee() {
    let body = r#"{"Response": {"SendStatusSet": [{"SerialNo": "5000:1045710669157053657849499619",
        "PhoneNumber": "+8618511122233", "Fee": 2, "SessionContext": "send-7", "Code": "Ok",
        "Message": "send success", "IsoCode": "CN"}], "RequestId": "a0aabda6"}}"#;
    assert_eq!(
        interpret_response(StatusCode::OK, body),
        Ok(Accepted {
            provider_message_id: Some("5000:1045710669157053657849499619".into()),
            parts: Some(2),
        })
    );
}

#[test]
fn a_refused_number_is_classified_by_its_code() {
    let body = |code: &str| {
        format!(
            r#"{{"Response": {{"SendStatusSet": [{{"SerialNo": "", "PhoneNumber": "+86185",
            "Fee": 0, "Code": "{code}", "Message": "words"}}], "RequestId": "r"}}}}"#
        )
    };
    assert_eq!(
        interpret_response(StatusCode::OK, &body("LimitExceeded.PhoneNumberDailyLimit")),
        Err(SendError::permanent(
            "LimitExceeded.PhoneNumberDailyLimit",
            "words"
        ))
    );
    assert_eq!(
        interpret_response(
            StatusCode::OK,
            &body("LimitExceeded.PhoneNumberThirtySecondLimit")
        ),
        Err(SendError::throttled(
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            "words",
            Some(Duration::from_secs(30))
        ))
    );
    assert!(matches!(
        interpret_response(
            StatusCode::OK,
            &body("InvalidParameterValue.IncorrectPhoneNumber")
        ),
        Err(SendError::Permanent { .. })
    ));
}

#[test]
fn request_errors_map_to_the_documented_outcomes() {
    for throttled in [
        "RequestLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "LimitExceeded.DeliveryFrequencyLimit",
        "LimitExceeded.AppDailyLimit",
    ] {
        assert!(
            matches!(
                classify_error(throttled, "m"),
                SendError::Retryable {
                    retry_after_ms: None,
                    ..
                }
            ),
            "{throttled}"
        );
    }
    for retryable in [
        "InternalError",
        "InternalError.Timeout",
        "FailedOperation.InsufficientBalanceInSmsPackage",
    ] {
        assert!(
            matches!(classify_error(retryable, "m"), SendError::Retryable { .. }),
            "{retryable}"
        );
    }
    for permanent in [
        "AuthFailure.SignatureFailure",
        "AuthFailure.SecretIdNotFound",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.PhoneNumberInBlacklist",
        "InvalidParameterValue.IncorrectPhoneNumber",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
        "MissingParameter",
        "SomethingNew",
    ] {
        assert_eq!(
            classify_error(permanent, "m"),
            SendError::permanent(permanent, "m"),
            "{permanent}"
        );
    }
    let body = r#"{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
        "Message": "The provided credentials could not be validated."}, "RequestId": "r"}}"#;
    assert!(matches!(
        interpret_response(StatusCode::OK, body),
        Err(SendError::Permanent { code, .. }) if code == "AuthFailure.SignatureFailure"
    ));
}

#[test]
fn an_unreadable_answer_is_ambiguous_on_success_and_classified_by_status_otherwise() {
    assert!(matches!(
        interpret_response(StatusCode::OK, "<html/>"),
        Err(SendError::Ambiguous { .. })
    ));
    assert!(matches!(
        interpret_response(StatusCode::OK, r#"{"Response": {"RequestId": "r"}}"#),
        Err(SendError::Ambiguous { .. })
    ));
    assert!(matches!(
        interpret_response(StatusCode::SERVICE_UNAVAILABLE, "<html/>"),
        Err(SendError::Retryable { code, .. }) if code == "503"
    ));
}
