use super::*;
use crate::{EgressPolicy, Recipient, SmsContent};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";

fn config() -> TwilioConfig {
    serde_json::from_value(serde_json::json!({
        "account_sid": ACCOUNT,
        "auth_token": "secret-token",
        "from": "+15005550006",
    }))
    .expect("config")
}

fn connector(config: TwilioConfig) -> TwilioConnector {
    let http = EgressPolicy::strict()
        .client(Duration::from_secs(1))
        .expect("client");
    TwilioConnector::new(config, http).expect("valid config")
}

fn message(address: &str) -> OutboundMessage {
    OutboundMessage {
        send_id: "send-9".into(),
        recipient: Recipient {
            profile_id: "p1".into(),
            address: address.into(),
        },
        content: Content::Sms(SmsContent {
            text: "Your table is ready 🍽".into(),
            template_code: None,
            params: vec![],
        }),
    }
}

#[test]
fn the_defaults_are_the_public_api_and_the_token_is_secret() {
    let config = config();
    assert_eq!(config.endpoint, "https://api.twilio.com");
    assert_eq!(config.validate(), Ok(()));
    assert!(!format!("{config:?}").contains("secret-token"));
}

#[test]
fn validation_names_the_bad_field() {
    let mut bad = config();
    bad.account_sid = "AC123".into();
    assert_eq!(bad.validate().expect_err("short").field, "account_sid");
    let mut bad = config();
    bad.from = None;
    assert_eq!(bad.validate().expect_err("no sender").field, "from");
    bad.messaging_service_sid = Some("MGnot-a-sid".into());
    assert_eq!(
        bad.validate().expect_err("bad service").field,
        "messaging_service_sid"
    );
    bad.messaging_service_sid = Some(SERVICE.into());
    assert_eq!(bad.validate(), Ok(()));
    bad.status_callback = Some("ftp://orbit.example/cb".into());
    assert_eq!(bad.validate().expect_err("scheme").field, "status_callback");
    bad.status_callback = Some("https://orbit.example/cb?ws=1".into());
    assert_eq!(bad.validate(), Ok(()));
}

#[test]
fn the_form_holds_to_from_body_and_the_callback() {
    let mut with_callback = config();
    with_callback.status_callback = Some("https://orbit.example/hooks/twilio".into());
    let form = connector(with_callback)
        .form(&message("+14155550100"))
        .expect("form");
    assert_eq!(
        form,
        vec![
            ("To", "+14155550100".to_owned()),
            ("From", "+15005550006".to_owned()),
            ("Body", "Your table is ready 🍽".to_owned()),
            ("StatusCallback", "https://orbit.example/hooks/twilio".to_owned()),
        ]
    );
}

#[test]
fn a_messaging_service_replaces_from() {
    let mut with_service = config();
    with_service.messaging_service_sid = Some(SERVICE.into());
    let form = connector(with_service)
        .form(&message("+14155550100"))
        .expect("form");
    assert!(form.contains(&("MessagingServiceSid", SERVICE.to_owned())));
    assert!(!form.iter().any(|(name, _)| *name == "From"));
}

#[test]
fn a_created_message_is_accepted_with_its_sid_and_segments() {
    let body = r#"{"sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued",
        "num_segments": "2", "to": "+14155550100"}"#;
    assert_eq!(
        interpret_response(StatusCode::CREATED, None, body),
        Ok(Accepted {
            provider_message_id: Some("SM1f0e8ae6ade43cb3c0ce4525424e404f".into()),
            parts: Some(2),
        })
    );
}

#[test]
fn error_answers_map_to_the_documented_outcomes() {
    let error = |status: u16, code: u32, wait: Option<u64>| {
        let body = serde_json::json!({"code": code, "message": "words", "status": status});
        interpret_response(
            StatusCode::from_u16(status).expect("status"),
            wait.map(Duration::from_secs),
            &body.to_string(),
        )
        .expect_err("error")
    };
    assert_eq!(
        error(429, 20429, Some(3)),
        SendError::throttled("20429", "words", Some(Duration::from_secs(3)))
    );
    for permanent in [21211, 21614, 21610, 20003] {
        assert_eq!(
            error(400, permanent, None),
            SendError::permanent(permanent.to_string(), "words")
        );
    }
    assert!(matches!(error(503, 20503, None), SendError::Retryable { .. }));
    assert!(matches!(error(500, 20500, None), SendError::Ambiguous { .. }));
    assert!(matches!(error(504, 20504, None), SendError::Ambiguous { .. }));
}

#[test]
fn an_error_without_a_json_body_is_classified_by_status() {
    assert_eq!(
        interpret_response(StatusCode::BAD_GATEWAY, None, "<html>bad gateway</html>"),
        Err(SendError::retryable("502", "<html>bad gateway</html>"))
    );
    assert!(matches!(
        interpret_response(StatusCode::CREATED, None, "not json"),
        Err(SendError::Ambiguous { .. })
    ));
}
