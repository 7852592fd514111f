//! Start-up from the engine snapshot: written at shutdown (and on a schedule), used by
//! the next start with the log after it, and never showing other data than a rebuild
//! from the whole log; a damaged snapshot is ignored, and a kill while one is written
//! leaves the previous one usable.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// 10:00 in Shanghai on 2026-11-23.
const START: &str = "2026-11-23T02:00:00Z";
const USERS: [&str; 5] = ["u1", "u2", "u3", "u4", "u5"];

fn snapshot_path(app: &TestApp) -> PathBuf {
    app.dir.path().join("engine.snapshot")
}

async fn batch(app: &TestApp, events: Value) {
    let response = app.track("/v1/batch", &json!({"batch": events})).await;
    assert_eq!(response.status(), 200);
}

/// Moves the simulated clock by nothing: answers once segment transitions and tag
/// values reflect everything committed.
async fn settle(app: &TestApp) {
    let (status, body) = app
        .send(Method::POST, "/v1/clock", &json!({"advance": "PT0S"}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value) {
    let (status, answer) = app.send(method, path, &body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
}

fn city_segment(city: &str) -> Value {
    json!({"id": "in-city", "name": "同城", "condition":
        {"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": city}})
}

fn rule_tag(id: &str, event: &str) -> Value {
    json!({"id": id, "name": id, "family": "behaviour", "kind": "rule", "values": [
        {"value": "yes", "condition": {"type": "event", "event": event, "measure": {"kind": "did"},
                                       "window": {"kind": "ever"}}}]})
}

/// What the API shows of every user: profile, timeline, segments and tags; and the
/// segment's members. Two start-ups that hold the same state show the same.
async fn view(app: &TestApp) -> Value {
    let mut users = serde_json::Map::new();
    for user in USERS {
        let (status, profile) = app.get(&format!("/v1/profiles?identity=user_id:{user}")).await;
        if status == 404 {
            users.insert(user.into(), Value::Null);
            continue;
        }
        assert_eq!(status, 200, "{profile}");
        let id = profile["id"].as_str().expect("an id").to_owned();
        let (_, events) = app.get(&format!("/v1/profiles/{id}/events?limit=1000")).await;
        let (_, segments) = app.get(&format!("/v1/profiles/{id}/segments")).await;
        let (_, tags) = app.get(&format!("/v1/profiles/{id}/tags")).await;
        let tags: Vec<Value> = tags["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                json!([
                    t["tag"],
                    t["values"]
                        .as_array()
                        .map(|v| v.iter().map(|x| x["value"].clone()).collect::<Vec<_>>())
                ])
            })
            .collect();
        users.insert(
            user.into(),
            json!({"profile": profile, "events": events["data"], "segments": segments, "tags": tags}),
        );
    }
    let (_, members) = app.get("/v1/segments/in-city/members").await;
    json!({"users": users, "in_city": members["members"]})
}

#[tokio::test]
async fn a_start_from_the_snapshot_shows_what_a_rebuild_from_the_log_shows() {
    let mut app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    batch(
        &app,
        json!([
            {"type": "track", "anonymousId": "a1", "event": "product_viewed", "messageId": "m1"},
            {"type": "identify", "userId": "u1", "traits": {"city": "重庆"}, "messageId": "m2"},
            {"type": "identify", "userId": "u2", "traits": {"city": "重庆"}, "messageId": "m3"},
            {"type": "track", "userId": "u2", "event": "order_paid", "properties": {"amount": 30}, "messageId": "m4"},
            {"type": "identify", "userId": "u3", "traits": {"city": "成都"}, "messageId": "m5"},
            {"type": "track", "anonymousId": "a3", "event": "product_viewed", "messageId": "m6"}
        ]),
    )
    .await;
    send(&app, Method::POST, "/v1/segments", city_segment("重庆")).await;
    send(&app, Method::POST, "/v1/tags", rule_tag("buyer", "order_paid")).await;
    settle(&app).await;
    app.stop().await;
    assert!(snapshot_path(&app).exists(), "a snapshot is written at shutdown");

    app.start();
    assert!(app.metric("orbit_startup_snapshot_position").await > Some(0.0));
    assert_eq!(app.metric("orbit_startup_replayed_events").await, Some(0.0));
    // After the snapshot: a merge (u1 was a1), a new person, an erasure, a segment
    // redefined, a tag deleted and another created.
    batch(
        &app,
        json!([
            {"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "m7"},
            {"type": "track", "userId": "u1", "event": "order_paid", "properties": {"amount": 80}, "messageId": "m8"},
            {"type": "identify", "userId": "u4", "anonymousId": "a3", "traits": {"city": "成都"}, "messageId": "m9"},
            {"type": "track", "userId": "u5", "event": "product_viewed", "messageId": "m10"}
        ]),
    )
    .await;
    let erased = app.profile_by("user_id:u2").await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    send(&app, Method::DELETE, &format!("/v1/profiles/{erased}"), json!({})).await;
    send(&app, Method::PUT, "/v1/segments/in-city", city_segment("成都")).await;
    send(&app, Method::DELETE, "/v1/tags/buyer", json!({})).await;
    send(
        &app,
        Method::POST,
        "/v1/tags",
        rule_tag("viewer", "product_viewed"),
    )
    .await;
    settle(&app).await;
    // No snapshot since: the next start has the old one and the log after it.
    app.kill();

    app.start();
    assert!(app.metric("orbit_startup_snapshot_position").await > Some(0.0));
    assert!(app.metric("orbit_startup_replayed_events").await > Some(0.0));
    settle(&app).await;
    let from_snapshot = view(&app).await;
    assert_eq!(
        from_snapshot["users"]["u2"],
        Value::Null,
        "the erased person stays erased"
    );
    app.kill();

    std::fs::remove_file(snapshot_path(&app)).expect("removed");
    app.start();
    assert_eq!(app.metric("orbit_startup_snapshot_position").await, Some(0.0));
    settle(&app).await;
    let from_log = view(&app).await;
    assert_eq!(from_snapshot, from_log);
    assert_eq!(
        from_log["in_city"].as_array().map(Vec::len),
        Some(2),
        "u3, and u4 who arrived after the snapshot, live in 成都: {from_log}"
    );
}

#[tokio::test]
async fn a_damaged_snapshot_is_ignored_and_the_log_rebuilt() {
    let mut app = TestApp::spawn().await;
    batch(
        &app,
        json!([{"type": "track", "userId": "u1", "event": "product_viewed", "messageId": "m1"}]),
    )
    .await;
    app.stop().await;
    let path = snapshot_path(&app);
    let bytes = std::fs::read(&path).expect("a snapshot");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncated");
    app.start();
    assert_eq!(app.metric("orbit_startup_snapshot_position").await, Some(0.0));
    assert_eq!(app.metric("orbit_timeline_events").await, Some(1.0));
    let profile = app.profile_by("user_id:u1").await;
    assert!(profile["id"].is_string());
}

#[tokio::test]
async fn killing_the_server_while_it_writes_a_snapshot_leaves_the_previous_one_usable() {
    // A snapshot after every commit, so that one is being written most of the time.
    let mut app = TestApp::spawn_with(&["--snapshot-every-events", "1"]).await;
    let temporary = app.dir.path().join("engine.snapshot.tmp");
    let mut killed_mid_write = false;
    for attempt in 0..5 {
        let sender = {
            let (http, url, key) = (app.http.clone(), app.url("/v1/batch"), app.write_key.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let events: Vec<Value> = (0..200)
                        .map(|i| json!({"type": "track", "userId": format!("u{}", i % 50), "event": "page_viewed",
                                        "properties": {"n": n, "i": i}, "messageId": format!("{attempt}-{n}-{i}")}))
                        .collect();
                    let sent = http
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&json!({"batch": events}))
                        .send()
                        .await;
                    if !sent.is_ok_and(|r| r.status().is_success()) {
                        return;
                    }
                }
            })
        };
        // Once a snapshot exists, kill the server as soon as the next one is being written.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(snapshot_path(&app).exists() && temporary.exists()) {
            assert!(Instant::now() < deadline, "no snapshot write was seen");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        app.kill();
        sender.await.expect("the sender ends");
        if temporary.exists() {
            killed_mid_write = true;
            break;
        }
    }
    assert!(
        killed_mid_write,
        "the kill never landed while a snapshot was written"
    );

    app.start();
    assert!(
        app.metric("orbit_startup_snapshot_position").await > Some(0.0),
        "the previous snapshot is used"
    );
    assert!(!temporary.exists(), "the partial write is cleared away");
    let from_snapshot = counts(&app).await;
    assert!(from_snapshot.0 > Some(0.0));
    app.kill();
    std::fs::remove_file(snapshot_path(&app)).expect("removed");
    app.start();
    assert_eq!(app.metric("orbit_startup_snapshot_position").await, Some(0.0));
    assert_eq!(
        counts(&app).await,
        from_snapshot,
        "the same as a rebuild from the log"
    );
}

/// Events and profiles the engine holds.
async fn counts(app: &TestApp) -> (Option<f64>, Option<f64>) {
    (
        app.metric("orbit_timeline_events").await,
        app.metric("orbit_profiles").await,
    )
}
