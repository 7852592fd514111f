//! Segment SDK payloads, byte for byte as the SDKs send them, and the Python SDK itself.

use crate::helpers::{TestApp, gzip, identities};
use base64::Engine as _;
use orbit_test_support::require_tool;
use serde_json::{Value, json};
use std::process::Command;

/// The batch segment-analytics-python 2.x posts for track (anonymous) + identify + alias.
fn python_batch(write_key: &str) -> Value {
    let library = json!({"library": {"name": "analytics-python", "version": "2.4.0"}});
    json!({
        "batch": [
            {"properties": {"product_id": "sku-1", "name": "杨枝甘露"}, "anonymousId": "anon-42", "context": library,
             "timestamp": "2026-11-23T09:59:57.120000+00:00", "integrations": {}, "event": "product_viewed",
             "type": "track", "userId": null, "messageId": "0b7c3e1e-6a57-4a43-9d9b-1a0ad1d2c001"},
            {"traits": {"email": "Li.Na@Example.com", "phone": "139 0013 9000", "name": "李娜", "city": "重庆"},
             "anonymousId": null, "context": library, "timestamp": "2026-11-23T09:59:58.000000+00:00",
             "integrations": {}, "type": "identify", "userId": "member-42", "messageId": "0b7c3e1e-6a57-4a43-9d9b-1a0ad1d2c002"},
            {"previousId": "anon-42", "context": library, "timestamp": "2026-11-23T09:59:59.000000+00:00",
             "integrations": {}, "type": "alias", "userId": "member-42", "messageId": "0b7c3e1e-6a57-4a43-9d9b-1a0ad1d2c003"}
        ],
        "sentAt": "2026-11-23T10:00:00.000000+00:00",
        "writeKey": write_key
    })
}

#[tokio::test]
async fn python_sdk_gzip_batches_end_in_one_merged_profile() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&python_batch(&app.write_key)).expect("json");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", app.write_key));
    for _attempt in 0..2 {
        // The second post is an SDK retry: nothing may be stored twice.
        let response = app
            .http
            .post(app.url("/v1/batch"))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("Authorization", format!("Basic {basic}"))
            .header("User-Agent", "analytics-python/2.4.0")
            .body(gzip(&body))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
    }
    let profile = app.profile_by("user_id:member-42").await;
    assert_eq!(
        identities(&profile),
        [
            "anonymous_id:anon-42",
            "email:li.na@example.com",
            "phone:+8613900139000",
            "user_id:member-42"
        ]
    );
    assert_eq!(profile["traits"]["city"], "重庆");
    assert_eq!(
        profile["traits"]["phone"], "+8613900139000",
        "traits keep the cleaned phone"
    );
    let id = profile["id"].as_str().expect("id");
    let (_, timeline) = app.get(&format!("/v1/profiles/{id}/events")).await;
    let names: Vec<&str> = timeline["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        names,
        ["alias", "identify", "track"],
        "three events, newest first, each once"
    );
}

#[tokio::test]
async fn browser_sdks_send_text_plain_with_the_key_in_the_body() {
    let app = TestApp::spawn().await;
    let body = json!({
        "type": "identify", "anonymousId": "web-anon-1", "writeKey": app.write_key,
        "context": {"traits": {"email": "web@example.com"}, "library": {"name": "analytics.js", "version": "next-1.70.0"}},
        "messageId": "ajs-next-1", "timestamp": "2026-11-23T09:59:58.000Z", "sentAt": "2026-11-23T09:59:58.100Z"
    });
    let response = app
        .http
        .post(app.url("/v1/identify"))
        .header("Content-Type", "text/plain")
        .header("Origin", "https://shop.example.com")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("access-control-allow-origin"),
        "CORS is answered"
    );
    let profile = app.profile_by("email:web@example.com").await;
    assert_eq!(
        identities(&profile),
        ["anonymous_id:web-anon-1", "email:web@example.com"]
    );
}

#[tokio::test]
async fn cors_preflights_are_answered() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/v1/batch"))
        .header("Origin", "https://shop.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type,authorization")
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success());
    assert!(response.headers().contains_key("access-control-allow-methods"));
}

const PYTHON_SCRIPT: &str = r#"
import sys
from segment import analytics
failures = []
analytics.write_key = sys.argv[1]
analytics.host = sys.argv[2]
analytics.gzip = True
analytics.on_error = lambda error, batch: failures.append(str(error))
analytics.track(anonymous_id='py-anon', event='product_viewed', properties={'product_id': 'sku-9', 'name': '玫瑰花茶'})
analytics.identify('py-member', {'email': 'Py.User@Example.com', 'phone': '13700137000', 'tier': 'gold'})
analytics.track('py-member', 'order_paid', {'order_id': 'o-9', 'amount': 59.9, 'currency': 'CNY'})
analytics.alias('py-anon', 'py-member')
analytics.flush()
analytics.shutdown()
if failures:
    print('\n'.join(failures), file=sys.stderr)
    sys.exit(1)
"#;

#[tokio::test]
async fn the_python_sdk_itself_talks_to_orbit() {
    let mut probe = Command::new("python3");
    probe.args(["-c", "import segment.analytics"]);
    let install = "pip install segment-analytics-python; .ci/run installs it";
    if !require_tool("segment-analytics-python", &mut probe, install) {
        return;
    }
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let key = app.write_key.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", PYTHON_SCRIPT, &key, &base])
            .output()
            .expect("python runs")
    })
    .await
    .expect("joined");
    assert!(
        output.status.success(),
        "python SDK failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let profile = app.profile_by("user_id:py-member").await;
    assert_eq!(
        identities(&profile),
        [
            "anonymous_id:py-anon",
            "email:py.user@example.com",
            "phone:+8613700137000",
            "user_id:py-member"
        ]
    );
    assert_eq!(profile["traits"]["tier"], "gold");
    let id = profile["id"].as_str().expect("id");
    let (_, timeline) = app.get(&format!("/v1/profiles/{id}/events")).await;
    assert_eq!(timeline["data"].as_array().expect("data").len(), 4);
}
