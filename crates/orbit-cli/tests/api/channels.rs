//! Provider accounts over HTTP: validation naming the field, the egress guard at
//! configuration, secrets sealed at rest and masked in answers.

use crate::helpers::TestApp;
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
