//! Dynamic segments announce each real membership change with exactly one
//! `segment_entered` or `segment_exited` event on the profile, whether an event or time
//! alone caused it, and never for the members a segment starts with.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// 10:00 in Shanghai on 2026-11-23.
const START: &str = "2026-11-23T02:00:00Z";

/// Events sent at the simulated "now": no timestamp, so the server's clock stamps them.
async fn send(app: &TestApp, user: &str, name: &str, properties: Value) {
    let body = json!({"events": [{"event": name, "user_id": user, "properties": properties}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
}

async fn create(app: &TestApp, id: &str, condition: Value) {
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": id, "name": format!("{id} 人群"), "condition": condition}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Moves the simulated clock; the answer comes once every change it caused is in the log.
async fn advance(app: &TestApp, by: &str) -> Value {
    let (status, body) = app.send(Method::POST, "/v1/clock", &json!({"advance": by})).await;
    assert_eq!(status, 200, "{body}");
    body["segment_transitions"].clone()
}

/// Waits until the watcher has looked at everything committed so far: a clock move of
/// zero runs a sweep and answers after it.
async fn settle(app: &TestApp) {
    advance(app, "PT0S").await;
}

/// The `(event, segment_id)` transitions on a user's timeline, oldest first.
async fn transitions(app: &TestApp, user: &str) -> Vec<(String, String)> {
    let profile = app.profile_by(&format!("user_id:{user}")).await;
    let id = profile["id"].as_str().expect("profile id");
    let (status, body) = app.get(&format!("/v1/profiles/{id}/events?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    let mut found: Vec<(String, String)> = body["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| matches!(e["event"].as_str(), Some("segment_entered" | "segment_exited")))
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["properties"]["segment_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    found.reverse();
    found
}

fn entered(segment: &str) -> (String, String) {
    ("segment_entered".to_owned(), segment.to_owned())
}

fn exited(segment: &str) -> (String, String) {
    ("segment_exited".to_owned(), segment.to_owned())
}

#[tokio::test]
async fn time_alone_moves_people_out_of_a_window_segment_once() {
    let mut app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    send(&app, "early", "page_viewed", json!({})).await;
    create(
        &app,
        "active-hour",
        json!({"type": "event", "measure": {"kind": "did"},
               "window": {"kind": "last", "amount": 1, "unit": "hours"}}),
    )
    .await;
    settle(&app).await;
    // A member from the start gets no entry event.
    assert_eq!(transitions(&app, "early").await, vec![]);

    send(&app, "late", "page_viewed", json!({})).await;
    settle(&app).await;
    assert_eq!(transitions(&app, "late").await, vec![entered("active-hour")]);

    // Another event keeps "late" in: no second entry.
    send(&app, "late", "product_viewed", json!({"sku": "tea-1"})).await;
    settle(&app).await;
    assert_eq!(transitions(&app, "late").await, vec![entered("active-hour")]);

    // Time alone takes both out, each exactly once.
    let moved = advance(&app, "PT2H").await;
    assert_eq!(moved, json!({"entered": 0, "exited": 2}));
    // Crossing an hour on the simulated clock takes the segments' sizes too.
    let (_, history) = app.get("/v1/segments/active-hour/history").await;
    let sizes: Vec<i64> = history["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p["size"].as_i64())
        .collect();
    assert_eq!(sizes, vec![1, 0], "{history}");
    assert_eq!(transitions(&app, "early").await, vec![exited("active-hour")]);
    let expected = vec![entered("active-hour"), exited("active-hour")];
    assert_eq!(transitions(&app, "late").await, expected);
    assert_eq!(advance(&app, "PT1H").await, json!({"entered": 0, "exited": 0}));

    // Back in on new activity; a restart neither repeats nor forgets an announcement.
    send(&app, "early", "page_viewed", json!({})).await;
    settle(&app).await;
    let early = vec![exited("active-hour"), entered("active-hour")];
    assert_eq!(transitions(&app, "early").await, early);
    let (_, clock) = app.get("/v1/clock").await;
    let now = clock["now"].as_str().expect("now").to_owned();
    app.kill();
    // The simulated clock starts where it was stopped, as a wall clock would have.
    app.set_args(&["--simulated-clock", &now]);
    app.start();
    settle(&app).await;
    assert_eq!(transitions(&app, "early").await, early);
    assert_eq!(transitions(&app, "late").await, expected);
    assert_eq!(advance(&app, "PT90M").await, json!({"entered": 0, "exited": 1}));
    let early = vec![
        exited("active-hour"),
        entered("active-hour"),
        exited("active-hour"),
    ];
    assert_eq!(transitions(&app, "early").await, early);
}

#[tokio::test]
async fn events_move_people_in_and_out_and_definitions_reset_without_announcing() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let big_spender = json!({"type": "event", "event": "order_paid",
        "measure": {"kind": "aggregate", "function": "sum", "property": "amount",
                    "compare": "gte", "value": 100},
        "window": {"kind": "ever"}});
    let not_refunded = json!({"type": "not", "condition": {"type": "event",
        "event": "order_refunded", "measure": {"kind": "did"}, "window": {"kind": "ever"}}});
    create(
        &app,
        "big-spenders",
        json!({"type": "and", "conditions": [big_spender, not_refunded]}),
    )
    .await;
    // A segment naming another follows it.
    create(
        &app,
        "big-in-chongqing",
        json!({"type": "and", "conditions": [
            {"type": "segment", "segment": "big-spenders"},
            {"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": "重庆"}]}),
    )
    .await;
    let body = json!({"events": [{"type": "identify", "user_id": "mei", "traits": {"city": "重庆"}}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");

    send(&app, "mei", "order_paid", json!({"amount": 60})).await;
    settle(&app).await;
    assert_eq!(transitions(&app, "mei").await, vec![]);

    send(&app, "mei", "order_paid", json!({"amount": 45})).await;
    send(&app, "mei", "order_paid", json!({"amount": 10})).await;
    settle(&app).await;
    let mut seen = vec![entered("big-spenders"), entered("big-in-chongqing")];
    let mut got = transitions(&app, "mei").await;
    got.sort();
    seen.sort();
    assert_eq!(got, seen);

    send(&app, "mei", "order_refunded", json!({"amount": 45})).await;
    settle(&app).await;
    let got = transitions(&app, "mei").await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[2..].contains(&exited("big-spenders")), "{got:?}");
    assert!(got[2..].contains(&exited("big-in-chongqing")), "{got:?}");

    // Redefining the segment takes its members as they stand, announcing nobody.
    let (status, body) = app
        .send(
            Method::PUT,
            "/v1/segments/big-spenders",
            &json!({"name": "big", "condition": big_spender}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["size"], 1);
    settle(&app).await;
    // …but segments naming it follow it, and announce that.
    let got = transitions(&app, "mei").await;
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[4], entered("big-in-chongqing"));

    // A deleted segment announces nothing more.
    let (status, _) = app
        .send(Method::DELETE, "/v1/segments/big-in-chongqing", &json!({}))
        .await;
    assert_eq!(status, 204);
    let body = json!({"events": [{"type": "identify", "user_id": "mei", "traits": {"city": "成都"}}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
    settle(&app).await;
    assert_eq!(transitions(&app, "mei").await.len(), 5);
}

#[tokio::test]
async fn transition_events_sent_by_clients_do_not_count_as_announcements() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    create(
        &app,
        "viewers",
        json!({"type": "event", "event": "product_viewed", "measure": {"kind": "did"},
               "window": {"kind": "ever"}}),
    )
    .await;
    // A forged entry from a client's source leaves the announced membership alone.
    send(&app, "kai", "segment_entered", json!({"segment_id": "viewers"})).await;
    send(&app, "kai", "product_viewed", json!({})).await;
    settle(&app).await;
    let got = transitions(&app, "kai").await;
    assert_eq!(got, vec![entered("viewers"), entered("viewers")]);
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/keys",
            &json!({"kind": "write", "source": "orbit"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "source", "{body}");
}
