//! A data directory written by Orbit 0.1 before the typed API contract
//! (`tests/fixtures/data-dir-0.1`, made by `make-data-dir-0.1.sh`) opens unchanged:
//! its keys, profiles, segments, tags and templates are there, and its sealed provider
//! configurations still decrypt — sending a masked secret back keeps the stored one,
//! which a message then proves by being signed with it.

use crate::helpers::{TestApp, wait_until};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use orbit_channels::webhook;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Secrets the fixture's accounts were configured with.
const WEBHOOK_SECRET: &str = "fixture-webhook-secret-0123456789";
const WEBHOOK_HEADER_TOKEN: &str = "fixture-header-token";
const SMTP_PASSWORD: &str = "fixture-smtp-password";
const ALIYUN_SECRET: &str = "fixture-aliyun-secret";
const MASK: &str = "••••••";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A receiver that keeps the users of the deliveries signed with the fixture's secret
/// and carrying its secret header; others are refused.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/crm",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let now = orbit_core::Clock::now(&orbit_core::SystemClock);
                let signature = header(webhook::SIGNATURE_HEADER);
                let signed = webhook::verify(
                    WEBHOOK_SECRET,
                    &signature,
                    &body,
                    now,
                    std::time::Duration::from_secs(300),
                );
                if signed.is_err() || header("x-api-token") != WEBHOOK_HEADER_TOKEN {
                    return StatusCode::UNAUTHORIZED;
                }
                let parsed: Value = serde_json::from_slice(&body).expect("json");
                let user = parsed["user"].as_str().unwrap_or_default().to_owned();
                log.lock().expect("lock").push(user);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/crm", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_data_directory_of_orbit_0_1_opens_and_its_sealed_secrets_still_work() {
    let (url, deliveries) = receiver().await;
    let app = TestApp::spawn_on_copy(
        &fixtures().join("data-dir-0.1"),
        &fixtures().join("data-dir-0.1.keys"),
        &["--egress-allow", "127.0.0.1/32"],
    )
    .await;

    // Profiles, resolved identities and traits.
    let mei = app.profile_by("phone:13800138000").await;
    assert_eq!(mei["traits"]["city"], "重庆");
    assert_eq!(app.profile_by("email:mei@example.com").await["id"], mei["id"]);
    app.profile_by("user_id:member-2").await;

    // Segments, tags (rule and manually assigned) and templates.
    let (status, segments) = app.get("/v1/segments").await;
    assert_eq!(status, 200, "{segments}");
    let size = |id: &str| {
        segments["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["size"].clone())
    };
    assert_eq!(size("gold"), Some(json!(1)));
    assert_eq!(size("picked"), Some(json!(1)));
    let (_, tags) = app
        .get(&format!("/v1/profiles/{}/tags", mei["id"].as_str().expect("id")))
        .await;
    let held: Vec<&str> = tags["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["tag"].as_str())
        .collect();
    assert!(
        held.contains(&"city_tier") && held.contains(&"vip_manual"),
        "{tags}"
    );
    let (status, template) = app.get("/v1/templates/sms-hello").await;
    assert_eq!(
        (status, &template["defaults"]["profile.traits.name"]),
        (200, &json!("会员"))
    );

    // Accounts answer masked, and no secret leaves the server.
    let (status, channels) = app.get("/v1/channels").await;
    assert_eq!(status, 200, "{channels}");
    let text = channels.to_string();
    for secret in [WEBHOOK_SECRET, WEBHOOK_HEADER_TOKEN, SMTP_PASSWORD, ALIYUN_SECRET] {
        assert!(!text.contains(secret), "a secret is shown: {text}");
    }
    let accounts = channels["channels"].as_array().expect("channels");
    assert_eq!(accounts.len(), 3, "{channels}");

    // Each account saved back as shown keeps its sealed secrets; the webhook's moves to
    // this test's receiver.
    for account in accounts {
        let id = account["id"].as_str().expect("id");
        let mut config = account["config"].clone();
        if id == "crm" {
            assert_eq!(config["secret"], MASK);
            assert_eq!(config["headers"]["X-Api-Token"], MASK);
            config["url"] = json!(url);
        }
        let (status, saved) = app
            .send(
                Method::PUT,
                &format!("/v1/channels/{id}"),
                &json!({"name": account["name"], "default": account["default"], "config": config}),
            )
            .await;
        assert_eq!(status, 200, "{id}: {saved}");
    }

    // The webhook account signs with the secret sealed by 0.1, and sends its header.
    let (status, launched) = app
        .send(Method::POST, "/v1/campaigns/gold-hello/launch", &Value::Null)
        .await;
    assert_eq!(status, 200, "{launched}");
    wait_until("the fixture's webhook account delivers, signed", || async {
        !deliveries.lock().expect("lock").is_empty()
    })
    .await;
    assert_eq!(*deliveries.lock().expect("lock"), vec!["member-1".to_owned()]);

    // The write key minted by 0.1 still sends events.
    let response = app
        .track(
            "/v1/track",
            &json!({"userId": "member-2", "event": "order_paid", "properties": {"amount": 10}}),
        )
        .await;
    assert_eq!(response.status(), 200);
}
