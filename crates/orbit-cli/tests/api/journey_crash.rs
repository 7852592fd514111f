//! Crash safety of journeys: kill -9 with 100,000 people waiting on timers, and again
//! while their timers fire and their messages go out; after each restart every timer
//! fires once and never early, nobody gets two messages for one node (a transport
//! re-post carries the same idempotency key) and nobody is lost.

use crate::helpers::{TestApp, wait_until_within};
use crate::journey_support::{gateway, ok, receiver, texts};
use orbit_test_support::webhook::WebhookReceiver;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SECRET: &str = "journey-crash-secret-0123456789";
const START: &str = "2026-12-07T02:00:00Z";
const PEOPLE: usize = 100_000;

/// Moves the simulated clock on. A move answers once everything it makes due is done,
/// which for 100,000 people in a debug build can take longer than the usual limit on
/// a request.
async fn advance(app: &TestApp, by: &str) {
    let response = reqwest::Client::new()
        .post(app.url("/v1/clock"))
        .bearer_auth(&app.api_key)
        .timeout(Duration::from_secs(300))
        .json(&json!({ "advance": by }))
        .send()
        .await
        .expect("the clock moved");
    assert!(response.status().is_success(), "{by}: {}", response.status());
}

fn at(offset_minutes: i64) -> jiff::Timestamp {
    let start: jiff::Timestamp = START.parse().expect("time");
    start + jiff::SignedDuration::from_mins(offset_minutes)
}

async fn setup(app: &TestApp, hook: &WebhookReceiver) {
    gateway(app, hook, "/m", SECRET).await;
    texts(app, "transactional", &[("msg-a", "a"), ("msg-b", "b")]).await;
    ok(
        app,
        Method::POST,
        "/v1/journeys",
        json!({"id": "onboarding", "name": "新客引导",
        "entry": {"type": "event", "event": "signed_up"},
        "start": "hour",
        "nodes": {
            "hour": {"type": "wait", "duration": "PT1H", "next": "split"},
            "split": {"type": "split", "paths": [{"name": "a", "weight": 1, "next": "send-a"},
                                                 {"name": "b", "weight": 1, "next": "opened"}]},
            "send-a": {"type": "send", "class": "transactional",
                       "messages": [{"template": "msg-a"}], "next": "done"},
            "opened": {"type": "wait_for_event", "event": "app_opened", "timeout": "PT30M",
                       "on_event": "done", "on_timeout": "send-b"},
            "send-b": {"type": "send", "class": "transactional",
                       "messages": [{"template": "msg-b"}], "next": "done"},
            "done": {"type": "exit"}
        }}),
    )
    .await;
    ok(app, Method::POST, "/v1/journeys/onboarding/publish", json!({})).await;
}

async fn send_all(app: &TestApp, event: &str, users: impl Iterator<Item = usize>) {
    let users: Vec<usize> = users.collect();
    for chunk in users.chunks(1_000) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"type": "track", "event": event, "user_id": format!("u{i:06}")}))
            .collect();
        ok(app, Method::POST, "/v1/events", json!({"events": events})).await;
    }
}

async fn report(app: &TestApp) -> Value {
    ok(app, Method::GET, "/v1/journeys/onboarding/report", Value::Null).await
}

fn outcome(report: &Value, node: &str, outcome: &str) -> u64 {
    report["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["node"] == node))
        .and_then(|n| n["outcomes"][outcome].as_u64())
        .unwrap_or(0)
}

fn restart_at(app: &mut TestApp, minutes: i64) {
    app.kill();
    let now = at(minutes).to_string();
    app.set_args(&["--simulated-clock", &now, "--egress-allow", "127.0.0.1/32"]);
    app.start();
}

#[tokio::test]
async fn killed_twice_with_100k_people_in_a_journey_every_timer_fires_once_and_never_early() {
    let hook = receiver(SECRET).await;
    let mut app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    setup(&app, &hook).await;
    send_all(&app, "signed_up", 0..PEOPLE).await;
    wait_until_within(Duration::from_secs(120), "everyone entered", || async {
        report(&app).await["entered"] == PEOPLE
    })
    .await;

    // Killed with everyone waiting on a timer.
    restart_at(&mut app, 0);
    advance(&app, "PT59M").await;
    assert!(hook.deliveries().is_empty(), "no timer fired early");

    // Killed again while the hour's timers fire and their messages go out.
    let advancing = {
        let (http, url, key) = (app.http.clone(), app.url("/v1/clock"), app.api_key.clone());
        tokio::spawn(async move {
            let _ = http
                .post(url)
                .bearer_auth(key)
                .json(&json!({"advance": "PT1M"}))
                .send()
                .await;
        })
    };
    wait_until_within(Duration::from_secs(120), "messages start to arrive", || async {
        hook.deliveries().len() >= 2_000
    })
    .await;
    restart_at(&mut app, 60);
    let _ = advancing.await;
    wait_until_within(
        Duration::from_secs(120),
        "branch a's messages all arrive",
        || async {
            let report = report(&app).await;
            let a = outcome(&report, "split", "a");
            a > 0 && distinct(&hook, "a") as u64 == a
        },
    )
    .await;

    // Some people open the app within the half hour; the others get message b at
    // the timeout, not before.
    advance(&app, "PT10M").await;
    send_all(&app, "app_opened", (0..PEOPLE).step_by(10)).await;
    advance(&app, "PT19M").await;
    assert_eq!(distinct(&hook, "b"), 0, "no timeout fired early");
    advance(&app, "PT1M").await;

    let report = report(&app).await;
    let (a, b) = (outcome(&report, "split", "a"), outcome(&report, "split", "b"));
    let timed_out = outcome(&report, "opened", "on_timeout");
    assert_eq!(a + b, PEOPLE as u64, "{report}");
    assert_eq!(timed_out + outcome(&report, "opened", "on_event"), b, "{report}");
    wait_until_within(
        Duration::from_secs(120),
        "branch b's messages all arrive",
        || async { distinct(&hook, "b") as u64 == timed_out },
    )
    .await;
    assert_eq!(report["entered"], PEOPLE, "{report}");
    assert_eq!(report["exited"], json!({"completed": PEOPLE}), "{report}");
    assert_eq!(report["in_journey"], 0);

    // One message per person and node: re-posts after a crash carry the same key.
    let mut keys: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for delivery in hook.deliveries() {
        keys.entry((
            delivery.field("user").to_owned(),
            delivery.field("text").to_owned(),
        ))
        .or_default()
        .insert(delivery.idempotency_key().to_owned());
        let earliest = if delivery.field("text") == "a" {
            at(60)
        } else {
            at(90)
        };
        assert!(delivery.signed_at >= earliest, "sent early: {delivery:?}");
    }
    assert!(
        keys.values().all(|k| k.len() == 1),
        "a person got two messages for one node"
    );
    let users: BTreeSet<&String> = keys.keys().map(|(user, _)| user).collect();
    assert_eq!(
        users.len() as u64,
        a + timed_out,
        "each person at most one message"
    );
}

/// People who received the message with `text`.
fn distinct(hook: &WebhookReceiver, text: &str) -> usize {
    hook.deliveries()
        .iter()
        .filter(|d| d.field("text") == text)
        .map(|d| d.field("user").to_owned())
        .collect::<BTreeSet<_>>()
        .len()
}
