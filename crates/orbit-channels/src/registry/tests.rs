//! The tagged configuration: reading, masking, keeping masked secrets, and the sealed
//! format that must keep opening.

use super::*;
use crate::Secret;
use serde_json::json;

#[test]
fn configurations_read_tagged_and_mask_their_secrets() {
    let config: ProviderConfig = serde_json::from_value(json!({
        "provider": "webhook",
        "url": "https://hooks.example.com/orbit",
        "secret": "0123456789abcdef0123"
    }))
    .expect("parses");
    assert_eq!(config.channel(), Channel::Webhook);
    assert_eq!(config.validate(), Ok(()));
    let masked = config.masked();
    assert_eq!(masked["provider"], "webhook");
    assert_eq!(masked["secret"], MASK);
    assert_eq!(masked["url"], "https://hooks.example.com/orbit");

    let kept = ProviderConfig::parse_keeping_secrets(masked.clone(), Some(&config)).expect("kept");
    assert_eq!(kept, config);
    let mut changed = masked;
    changed["secret"] = json!("a-brand-new-secret-value");
    let replaced = ProviderConfig::parse_keeping_secrets(changed, Some(&config)).expect("parses");
    assert_ne!(replaced, config);

    let unknown = serde_json::from_value::<ProviderConfig>(json!({
        "provider": "webhook", "url": "https://x.example.com", "secret": "0123456789abcdef0123", "colour": 1
    }));
    assert!(unknown.is_err(), "unknown fields are refused");
    assert!(serde_json::from_value::<ProviderConfig>(json!({"provider": "fax"})).is_err());
}

#[test]
fn configurations_read_into_their_type_keep_the_secrets_sent_back_masked() {
    let stored: ProviderConfig = serde_json::from_value(json!({
        "provider": "webhook", "url": "https://hooks.example.com/orbit",
        "secret": "0123456789abcdef0123", "headers": {"Authorization": "Bearer abc"}
    }))
    .expect("stored");
    let mut shown = stored.masked();
    shown["headers"]["X-Tenant"] = json!("shop-7");
    let sent: ProviderConfig = serde_json::from_value(shown).expect("sent");
    let kept = sent.clone().keeping_secrets(Some(&stored)).expect("kept");
    let ProviderConfig::Webhook(webhook) = &kept else {
        panic!("a webhook")
    };
    assert_eq!(webhook.secret.expose(), "0123456789abcdef0123");
    assert_eq!(webhook.headers["Authorization"].expose(), "Bearer abc");
    assert_eq!(webhook.headers["X-Tenant"].expose(), "shop-7");
    assert_eq!(kept.validate(), Ok(()));

    // Nothing is taken from nothing, or from another provider's configuration.
    assert!(
        sent.clone()
            .keeping_secrets(None)
            .expect("as sent")
            .validate()
            .is_err()
    );
    let other: ProviderConfig = serde_json::from_value(json!({
        "provider": "aliyun_sms", "access_key_id": "LTAI5tExample", "access_key_secret": "secret",
        "sign_name": "奥比特", "template_code": "SMS_0001"
    }))
    .expect("other");
    assert!(
        sent.keeping_secrets(Some(&other))
            .expect("as sent")
            .validate()
            .is_err()
    );
}

/// Sealed configurations exactly as `serde_json::to_vec(&config)` wrote them while
/// secrets were plain strings (captured from that code): data directories hold them.
const SEALED_BEFORE_SECRETS_HAD_A_TYPE: [&str; 5] = [
    r#"{"provider":"webhook","url":"https://hooks.example.com/orbit","secret":"whsec_0123456789abcdef","timeout_ms":10000,"headers":{"Authorization":"Bearer abc","X-Tenant":"shop-7"}}"#,
    r#"{"provider":"smtp","host":"smtpdm.aliyun.com","port":null,"security":"starttls","username":"news@mail.example.cn","password":"s3cret","from_address":"news@mail.example.cn","from_name":"橙子商城","reply_to":null,"timeout_ms":30000,"extra_root_certificate":null,"hello_name":null}"#,
    r#"{"provider":"aliyun_sms","access_key_id":"LTAI5tExample","access_key_secret":"aliyunSecret0123","sign_name":"奥比特","template_code":"SMS_0001","region_id":"cn-hangzhou","endpoint":"https://dysmsapi.aliyuncs.com"}"#,
    r#"{"provider":"fcm","project_id":"orbit-test","client_email":"orbit@orbit-test.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n","private_key_id":"0123456789abcdef","token_uri":"https://oauth2.googleapis.com/token","endpoint":"https://fcm.googleapis.com"}"#,
    r#"{"provider":"wechat_official_account","app_id":"wx0123456789abcdef","app_secret":"0123456789abcdef0123456789abcdef","server_token":"orbitToken1","endpoint":"https://api.weixin.qq.com"}"#,
];

#[test]
fn configurations_sealed_before_secrets_had_a_type_open_and_seal_byte_for_byte_the_same() {
    for sealed in SEALED_BEFORE_SECRETS_HAD_A_TYPE {
        let config = ProviderConfig::from_sealed_json(sealed.as_bytes()).expect(sealed);
        let resealed = config.to_sealed_json().expect("seals");
        assert_eq!(String::from_utf8_lossy(&resealed), sealed);
        let value: serde_json::Value = serde_json::from_str(sealed).expect("json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&resealed).expect("json"),
            value
        );
    }
    let [webhook, smtp, aliyun, fcm, _] = SEALED_BEFORE_SECRETS_HAD_A_TYPE
        .map(|sealed| ProviderConfig::from_sealed_json(sealed.as_bytes()).expect(sealed));
    let ProviderConfig::Webhook(webhook) = webhook else {
        panic!("a webhook")
    };
    assert_eq!(webhook.secret.expose(), "whsec_0123456789abcdef");
    assert_eq!(webhook.headers["Authorization"].expose(), "Bearer abc");
    let ProviderConfig::Smtp(smtp) = smtp else {
        panic!("smtp")
    };
    assert_eq!(smtp.password.as_ref().map(Secret::expose), Some("s3cret"));
    let ProviderConfig::AliyunSms(aliyun) = aliyun else {
        panic!("aliyun")
    };
    assert_eq!(aliyun.access_key_secret.expose(), "aliyunSecret0123");
    let ProviderConfig::Fcm(fcm) = fcm else {
        panic!("fcm")
    };
    assert!(
        fcm.private_key
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
}

#[test]
fn every_secret_is_masked_and_nothing_else() {
    for sealed in SEALED_BEFORE_SECRETS_HAD_A_TYPE {
        let config = ProviderConfig::from_sealed_json(sealed.as_bytes()).expect(sealed);
        let masked = config.masked().to_string();
        for secret in [
            "whsec_",
            "Bearer",
            "shop-7",
            "s3cret",
            "aliyunSecret",
            "PRIVATE KEY",
            "0123456789abcdef0123456789abcdef",
            "orbitToken1",
        ] {
            assert!(!masked.contains(secret), "{masked}");
        }
        assert!(!format!("{config:?}").contains("s3cret"));
    }
    let smtp =
        ProviderConfig::from_sealed_json(SEALED_BEFORE_SECRETS_HAD_A_TYPE[1].as_bytes()).expect("smtp");
    let masked = smtp.masked();
    assert_eq!(masked["password"], MASK);
    assert_eq!(masked["username"], "news@mail.example.cn");
    assert_eq!(
        masked["reply_to"],
        serde_json::Value::Null,
        "an unset field stays unset"
    );
    let webhook =
        ProviderConfig::from_sealed_json(SEALED_BEFORE_SECRETS_HAD_A_TYPE[0].as_bytes()).expect("webhook");
    assert_eq!(
        webhook.masked()["headers"],
        json!({"Authorization": MASK, "X-Tenant": MASK})
    );
}

#[test]
fn masked_header_values_are_kept_key_by_key() {
    let stored =
        ProviderConfig::from_sealed_json(SEALED_BEFORE_SECRETS_HAD_A_TYPE[0].as_bytes()).expect("webhook");
    let mut form = stored.masked();
    form["headers"]["X-Tenant"] = json!("shop-8");
    let saved = ProviderConfig::parse_keeping_secrets(form, Some(&stored)).expect("parses");
    assert_eq!(saved.validate(), Ok(()));
    let ProviderConfig::Webhook(saved) = saved else {
        panic!("a webhook")
    };
    assert_eq!(saved.secret.expose(), "whsec_0123456789abcdef");
    assert_eq!(saved.headers["Authorization"].expose(), "Bearer abc");
    assert_eq!(saved.headers["X-Tenant"].expose(), "shop-8");
}

#[test]
fn a_mask_with_nothing_stored_behind_it_is_refused_by_name_and_never_sealed() {
    let stored =
        ProviderConfig::from_sealed_json(SEALED_BEFORE_SECRETS_HAD_A_TYPE[0].as_bytes()).expect("webhook");
    let mut form = stored.masked();
    form["headers"]["X-Extra"] = json!(MASK);
    let saved = ProviderConfig::parse_keeping_secrets(form.clone(), Some(&stored)).expect("parses");
    assert_eq!(saved.validate().expect_err("kept").field, "headers.X-Extra");
    assert!(saved.to_sealed_json().is_err());

    let created = ProviderConfig::parse_keeping_secrets(form, None).expect("parses");
    assert_eq!(
        created.validate().expect_err("kept").field,
        "headers.Authorization"
    );

    let smtp = json!({"provider": "smtp", "host": "smtp.example.com", "from_address": "a@example.com",
                      "username": "a", "password": MASK});
    let saved = ProviderConfig::parse_keeping_secrets(smtp, Some(&stored)).expect("parses");
    assert_eq!(
        saved
            .validate()
            .expect_err("another provider's secrets are not taken")
            .field,
        "password"
    );
}

#[test]
fn the_schema_has_one_object_per_provider_carrying_its_tag() {
    #[derive(utoipa::OpenApi)]
    #[openapi(components(schemas(ProviderConfig)))]
    struct Document;
    let document = serde_json::to_value(<Document as utoipa::OpenApi>::openapi()).expect("json");
    let schemas = &document["components"]["schemas"];
    let variants = schemas["ProviderConfig"]["oneOf"].as_array().expect("one of");
    let mut tags = Vec::new();
    for variant in variants {
        let tag = &variant["properties"]["provider"]["enum"];
        tags.push(tag[0].as_str().expect("one tag").to_owned());
        assert_eq!(variant["required"][0], "provider", "{variant}");
        let fields = variant["properties"].as_object().expect("properties");
        assert!(fields.len() > 1, "{variant}");
        for (name, field) in fields {
            assert!(
                field.get("description").is_some() || field.get("oneOf").is_some(),
                "{name} has no description"
            );
        }
    }
    let every_provider = [
        "smtp",
        "aliyun_sms",
        "tencent_sms",
        "twilio",
        "webhook",
        "fcm",
        "jpush",
        "wechat_official_account",
        "wechat_mini_program",
    ];
    assert_eq!(tags, every_provider);

    // Secrets are passwords, the headers' values included.
    assert_eq!(schemas["Secret"]["type"], "string");
    assert_eq!(schemas["Secret"]["format"], "password");
    let webhook = &variants[4];
    assert_eq!(
        webhook["properties"]["secret"]["$ref"],
        "#/components/schemas/Secret"
    );
    assert_eq!(
        webhook["properties"]["headers"]["additionalProperties"]["$ref"],
        "#/components/schemas/Secret"
    );
    assert_eq!(
        webhook["additionalProperties"], false,
        "unknown fields are refused"
    );
    for referenced in ["SmtpSecurity", "MiniProgramState", "Lang"] {
        assert!(schemas.get(referenced).is_some(), "{referenced}");
    }
}
