//! Prometheus metrics at /metrics reflect what the server did.

use crate::helpers::TestApp;
use serde_json::json;

/// The value of the series of `name` whose labels include every pair in `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_events_requests_and_profiles() {
    let app = TestApp::spawn().await;
    let batch = json!({"batch": [
        {"type": "track", "event": "page_viewed", "userId": "u-1", "messageId": "m-1"},
        {"type": "track", "event": "page_viewed", "userId": "u-2", "messageId": "m-2"},
        {"type": "track", "event": "page_viewed", "userId": "u-2", "messageId": "m-2"},
        {"type": "track", "userId": "u-3", "messageId": "m-3"}
    ]});
    assert_eq!(app.track("/v1/batch", &batch).await.status(), 200);
    let (_, health) = app.get("/health").await;

    let response = app.http.get(app.url("/metrics")).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("text");
    let events = |outcome| sample(&text, "orbit_events_received_total", &[("outcome", outcome)]);
    assert_eq!(events("appended"), Some(2.0));
    assert_eq!(events("duplicate"), Some(1.0));
    assert_eq!(
        events("rejected"),
        Some(1.0),
        "the track call without an event name"
    );
    assert_eq!(
        sample(
            &text,
            "orbit_http_requests_total",
            &[("route", "/v1/batch"), ("method", "POST"), ("status", "200")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "orbit_log_head_position", &[]),
        health["log_head"].as_f64()
    );
    assert_eq!(sample(&text, "orbit_profiles", &[]), Some(2.0));
    assert_eq!(sample(&text, "orbit_timeline_events", &[]), Some(2.0));
    assert_eq!(
        sample(&text, "orbit_ingest_commit_events_count", &[]),
        Some(1.0),
        "one commit so far"
    );
}
