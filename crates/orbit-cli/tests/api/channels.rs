//! Provider accounts over HTTP: validation naming the field, the egress guard at
//! configuration, secrets sealed at rest and masked in answers, test sends through a
//! provider stand-in, and who may read and change accounts.

use crate::console_support::operator;
use crate::helpers::TestApp;
use orbit_test_support::twilio::{self, Twilio};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "do-not-leak-this-webhook-secret";

fn webhook(url: &str) -> Value {
    json!({"id": "crm", "name": "CRM 回调", "default": true,
           "config": {"provider": "webhook", "url": url, "secret": SECRET}})
}

#[tokio::test]
async fn internal_destinations_are_refused_unless_the_operator_allows_them() {
    let strict = TestApp::spawn().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:9/",
    ] {
        let (status, body) = strict.send(Method::POST, "/v1/channels", &webhook(url)).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["code"], "egress_refused", "{body}");
        assert_eq!(body["error"]["field"], "config.url", "{body}");
    }
    let allowed = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    let (status, body) = allowed
        .send(Method::POST, "/v1/channels", &webhook("http://127.0.0.1:9/hook"))
        .await;
    assert_eq!(status, 201, "{body}");
    // The metadata address stays refused: only the listed network opened.
    let (status, _) = allowed
        .send(
            Method::PUT,
            "/v1/channels/crm",
            &webhook("http://169.254.169.254/"),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_masked_in_answers_and_kept_across_a_masked_save() {
    let mut app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    let (status, created) = app
        .send(Method::POST, "/v1/channels", &webhook("http://127.0.0.1:9/hook"))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["channel"], "webhook");
    assert_eq!(created["provider"], "webhook");
    assert_ne!(created["config"]["secret"], SECRET);
    assert!(!created.to_string().contains(SECRET));

    // Saving the masked form back renames the account and keeps the secret.
    let mut resaved = json!({"name": "CRM 回调（新）", "config": created["config"].clone(), "default": true});
    resaved["config"]["timeout_ms"] = json!(5_000);
    let (status, body) = app.send(Method::PUT, "/v1/channels/crm", &resaved).await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = app.get("/v1/channels").await;
    assert_eq!(listed["channels"][0]["name"], "CRM 回调（新）");
    assert_eq!(
        listed["channels"][0]["config"]["secret"],
        created["config"]["secret"]
    );

    // Nothing on disk holds the secret in clear.
    app.kill();
    for entry in std::fs::read_dir(app.dir.path()).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{} holds the secret in clear",
                path.display()
            );
        }
    }
    app.start();
    let (status, body) = app.get("/v1/channels/crm").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_configurations_name_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"name": "x", "config": {"provider": "fax"}}), "config"),
        (
            json!({"name": "x", "config": {"provider": "webhook", "url": "ftp://x.example.com", "secret": SECRET}}),
            "config.url",
        ),
        (
            json!({"name": "x", "config": {"provider": "webhook", "url": "https://x.example.com", "secret": "short"}}),
            "config.secret",
        ),
        (
            json!({"name": "", "config": {"provider": "webhook", "url": "https://x.example.com", "secret": SECRET}}),
            "name",
        ),
        (json!({"name": "x", "colour": 1, "config": {}}), "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.send(Method::POST, "/v1/channels", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"]["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{body}: {answer}"
        );
    }
    let (status, _) = app.get("/v1/channels/nope").await;
    assert_eq!(status, 404);
    let (status, _) = app.send(Method::DELETE, "/v1/channels/nope", &Value::Null).await;
    assert_eq!(status, 404);
}

/// A Twilio account `id` on the stand-in.
fn twilio_account(id: &str, twilio: &Twilio) -> Value {
    json!({"id": id, "name": "Twilio 短信", "config": {"provider": "twilio",
           "account_sid": twilio::ACCOUNT_SID, "auth_token": twilio::AUTH_TOKEN,
           "from": "+15005550006", "endpoint": twilio.endpoint}})
}

#[tokio::test]
async fn a_test_send_goes_through_the_provider_and_answers_what_it_said() {
    let (taking, refusing) = (
        Twilio::start(twilio::Answer::Created).await,
        Twilio::start(twilio::Answer::Refuse(
            400,
            21610,
            "Attempt to send to unsubscribed recipient",
        ))
        .await,
    );
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    for (id, stand_in) in [("twilio", &taking), ("twilio-stop", &refusing)] {
        let (status, body) = app
            .send(Method::POST, "/v1/channels", &twilio_account(id, stand_in))
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let (status, sent) = app
        .send(
            Method::POST,
            "/v1/channels/twilio/test",
            &json!({"to": "138 0013 8000", "text": "Orbit 测试：通道正常"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["outcome"], "sent", "{sent}");
    assert_eq!(sent["address"], "+8613800138000", "{sent}");
    assert_eq!(sent["provider_message_id"], twilio::message_sid(1), "{sent}");
    let texts = taking.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(
        (texts[0].to.as_str(), texts[0].body.as_str()),
        ("+8613800138000", "Orbit 测试：通道正常")
    );

    // Without a text, a line naming the account goes.
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/channels/twilio/test",
            &json!({"to": "+8613900139000"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        taking.texts()[1].body.contains("Twilio 短信"),
        "{:?}",
        taking.texts()
    );

    let (status, refused) = app
        .send(
            Method::POST,
            "/v1/channels/twilio-stop/test",
            &json!({"to": "13800138000"}),
        )
        .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["outcome"], "permanent", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("unsubscribed recipient")),
        "the provider's words: {refused}"
    );

    for (body, code) in [
        (json!({}), "missing_field"),
        (json!({"to": "not a phone"}), "invalid_identity"),
    ] {
        let (status, answer) = app.send(Method::POST, "/v1/channels/twilio/test", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            (
                answer["error"]["code"].as_str(),
                answer["error"]["field"].as_str()
            ),
            (Some(code), Some("to")),
            "{answer}"
        );
    }
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/channels/nope/test",
            &json!({"to": "13800138000"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(taking.texts().len(), 2, "refused tests send nothing");
}

#[tokio::test]
async fn marketers_and_analysts_read_accounts_masked_and_change_nothing() {
    let stand_in = Twilio::start(twilio::Answer::Created).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    let (status, created) = app
        .send(Method::POST, "/v1/channels", &twilio_account("twilio", &stand_in))
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(
        created["receipt_url"].is_string(),
        "the admin sees the receipt URL: {created}"
    );

    for role in ["marketer", "analyst"] {
        let person = operator(&app, &format!("{role}@brand.cn"), role).await;
        let (status, listed) = person.get(&app, "/v1/channels").await;
        assert_eq!(status, 200, "{role}: {listed}");
        let (status, one) = person.get(&app, "/v1/channels/twilio").await;
        assert_eq!(status, 200, "{role}: {one}");
        for answer in [&listed["channels"][0], &one] {
            assert_eq!(answer["config"]["auth_token"], created["config"]["auth_token"]);
            assert_eq!(answer["receipt_url"], Value::Null, "{role}: {answer}");
            assert!(
                !answer.to_string().contains(twilio::AUTH_TOKEN),
                "{role}: {answer}"
            );
        }
        let changes = [
            (
                Method::POST,
                "/v1/channels/twilio/test",
                json!({"to": "13800138000"}),
            ),
            (
                Method::PUT,
                "/v1/channels/twilio",
                twilio_account("twilio", &stand_in),
            ),
            (Method::DELETE, "/v1/channels/twilio", Value::Null),
        ];
        for (method, path, body) in changes {
            let (status, answer) = person.send(&app, method.clone(), path, &body).await;
            assert_eq!(status, 403, "{role} {method} {path}: {answer}");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(role), "the refusal names the role: {message}");
        }
    }
    assert!(stand_in.texts().is_empty(), "no refused test went out");
}
