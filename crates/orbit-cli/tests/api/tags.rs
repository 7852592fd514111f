//! Tags end to end on the simulated clock: rule tags that follow events and time, RFM
//! groups of a known population, imported and manual values, tags in segments,
//! industry libraries, segment comparison and bad input.

use crate::helpers::{TestApp, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

mod compare;
mod libraries;

/// 10:00 in Shanghai on 2026-11-23.
const START: &str = "2026-11-23T02:00:00Z";
const DAY_SECS: i64 = 86_400;

/// The simulated clock's start minus `days` days, as RFC 3339.
fn days_ago(days: i64) -> String {
    let start: jiff::Timestamp = START.parse().expect("a time");
    (start - jiff::SignedDuration::from_secs(days * DAY_SECS)).to_string()
}

fn event(user: &str, name: &str, days: i64, properties: Value) -> Value {
    let at = days_ago(days);
    json!({"event": name, "user_id": user, "timestamp": at, "properties": properties,
           "message_id": format!("{user}-{name}-{at}")})
}

async fn send(app: &TestApp, events: Vec<Value>) {
    let (status, body) = app
        .send(Method::POST, "/v1/events", &json!({"events": events}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn identify(app: &TestApp, user: &str, traits: Value) {
    let body = json!({"events": [{"type": "identify", "user_id": user, "traits": traits,
                                   "timestamp": days_ago(400)}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
}

async fn profile_id(app: &TestApp, user: &str) -> String {
    app.profile_by(&format!("user_id:{user}")).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// A user's tag values, by tag.
async fn tags_of(app: &TestApp, user: &str) -> BTreeMap<String, Vec<String>> {
    let id = profile_id(app, user).await;
    let (status, body) = app.get(&format!("/v1/profiles/{id}/tags")).await;
    assert_eq!(status, 200, "{body}");
    body["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            let values = t["values"].as_array().expect("values");
            let values = values
                .iter()
                .map(|v| v["value"].as_str().expect("text").to_owned());
            (t["tag"].as_str().expect("tag").to_owned(), values.collect())
        })
        .collect()
}

async fn value_of(app: &TestApp, user: &str, tag: &str) -> Option<String> {
    tags_of(app, user).await.get(tag).map(|v| v.join(","))
}

async fn create_tag(app: &TestApp, tag: Value) -> Value {
    let (status, body) = app.send(Method::POST, "/v1/tags", &tag).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn advance(app: &TestApp, by: &str) {
    let (status, body) = app.send(Method::POST, "/v1/clock", &json!({"advance": by})).await;
    assert_eq!(status, 200, "{body}");
}

async fn delete(app: &TestApp, path: &str) -> u16 {
    app.http
        .delete(app.url(path))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

fn active_within(days: u32) -> Value {
    json!({"type": "event", "measure": {"kind": "did"}, "window": {"kind": "last", "amount": days, "unit": "days"}})
}

/// Waits until `user`'s value of `tag` is `expected` (background refreshes follow
/// commits and clock moves).
async fn wait_for_value(app: &TestApp, user: &str, tag: &str, expected: Option<&str>) {
    wait_until(&format!("{user}'s {tag} is {expected:?}"), || async {
        value_of(app, user, tag).await.as_deref() == expected
    })
    .await;
}

#[tokio::test]
async fn a_lifecycle_tag_follows_events_and_the_passage_of_time() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    send(
        &app,
        vec![
            event("fresh", "page_viewed", 1, json!({})),
            event("regular", "page_viewed", 100, json!({})),
            event("regular", "page_viewed", 2, json!({})),
            event("quiet", "page_viewed", 45, json!({})),
            event("gone", "page_viewed", 200, json!({})),
        ],
    )
    .await;
    let stage = create_tag(
        &app,
        json!({"id": "stage", "name": "生命周期", "family": "lifecycle", "kind": "rule", "values": [
            {"value": "new", "label": {"zh": "新客", "en": "New"},
             "condition": {"type": "event", "measure": {"kind": "first_time"},
                           "window": {"kind": "last", "amount": 7, "unit": "days"}}},
            {"value": "active", "condition": active_within(30)},
            {"value": "silent", "condition": active_within(90)},
            {"value": "churned", "condition": {"type": "event", "measure": {"kind": "did"}, "window": {"kind": "ever"}}}
        ]}),
    )
    .await;
    // First match: "fresh" is active too, but "new" comes first.
    assert_eq!(
        stage["counts"],
        json!({"new": 1, "active": 1, "silent": 1, "churned": 1}),
        "{stage}"
    );
    assert_eq!(value_of(&app, "fresh", "stage").await.as_deref(), Some("new"));
    assert_eq!(
        value_of(&app, "regular", "stage").await.as_deref(),
        Some("active")
    );
    assert_eq!(value_of(&app, "quiet", "stage").await.as_deref(), Some("silent"));
    assert_eq!(value_of(&app, "gone", "stage").await.as_deref(), Some("churned"));

    // A segment on the tag, and the tag cannot go while the segment names it.
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "lapsing", "name": "沉默用户", "condition":
                    {"type": "tag", "tag": "stage", "values": ["silent", "churned"]}}),
        )
        .await;
    assert_eq!((status, &body["size"]), (201, &json!(2)), "{body}");
    assert_eq!(delete(&app, "/v1/tags/stage").await, 409);

    // An event arrives: the quiet user is active again.
    send(&app, vec![event("quiet", "page_viewed", 0, json!({}))]).await;
    wait_for_value(&app, "quiet", "stage", Some("active")).await;
    let (_, lapsing) = app.get("/v1/segments/lapsing").await;
    assert_eq!(lapsing["size"], 1, "{lapsing}");

    // Ten days pass: "fresh" first came 11 days ago, no longer new but active.
    advance(&app, "P10D").await;
    wait_for_value(&app, "fresh", "stage", Some("active")).await;
    // Thirty more: nobody has been seen for 30 days.
    advance(&app, "P30D").await;
    wait_for_value(&app, "fresh", "stage", Some("silent")).await;
    assert_eq!(
        value_of(&app, "regular", "stage").await.as_deref(),
        Some("silent")
    );
    assert_eq!(value_of(&app, "quiet", "stage").await.as_deref(), Some("silent"));
    let (_, tags) = app.get("/v1/tags").await;
    assert!(tags["refreshed"]["everyone_evaluated_at"].is_string(), "{tags}");
}

#[tokio::test]
async fn rfm_groups_a_known_population() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    // Eight buyers, each dimension split four good and four bad: recency 2 or 120
    // days, 3 orders or 1, 900 or 30 yuan in all. Scores by mid-rank: the bad half
    // (0 + 4/2) / 8 = 0.25 → 2, the good half (4 + 4/2) / 8 = 0.75 → 4; the average
    // is 3, so good is high and bad low, and each buyer lands in the group its
    // pattern names.
    let buyers = [
        ("v1", true, true, true, "important_value"),
        ("v2", true, false, true, "important_development"),
        ("v3", false, true, true, "important_retention"),
        ("v4", false, false, true, "important_win_back"),
        ("v5", true, true, false, "general_value"),
        ("v6", true, false, false, "general_development"),
        ("v7", false, true, false, "general_retention"),
        ("v8", false, false, false, "general_win_back"),
    ];
    let mut events = Vec::new();
    for (user, recent, frequent, big, _) in buyers {
        let last = if recent { 2 } else { 120 };
        let orders = if frequent { 3 } else { 1 };
        let total = if big { 900.0 } else { 30.0 };
        for i in 0..orders {
            events.push(event(
                user,
                "order_paid",
                last + 10 * i,
                json!({"order_id": format!("{user}-{i}"), "amount": total / orders as f64}),
            ));
        }
    }
    events.push(event("browser", "page_viewed", 1, json!({})));
    events.push(event("long-ago", "order_paid", 400, json!({"amount": 5000})));
    send(&app, events).await;
    let rfm = create_tag(
        &app,
        json!({"id": "rfm", "name": "RFM 客户价值", "family": "rfm", "kind": "rfm"}),
    )
    .await;
    assert_eq!(rfm["values"].as_array().map(Vec::len), Some(8), "{rfm}");
    assert_eq!(rfm["values"][0]["label"]["zh"], "重要价值客户");
    assert_eq!(rfm["profiles"], 8, "buyers in the last 365 days only");

    for (user, recent, frequent, big, group) in buyers {
        assert_eq!(
            value_of(&app, user, "rfm").await.as_deref(),
            Some(group),
            "{user}"
        );
        let id = profile_id(&app, user).await;
        let (_, body) = app.get(&format!("/v1/profiles/{id}/tags")).await;
        let scores = &body["tags"][0]["rfm"];
        let expect = |good: bool| if good { 4 } else { 2 };
        assert_eq!(
            (&scores["r"], &scores["f"], &scores["m"]),
            (
                &json!(expect(recent)),
                &json!(expect(frequent)),
                &json!(expect(big))
            ),
            "{user}: {body}"
        );
        assert_eq!(scores["recency_days"], if recent { 2 } else { 120 });
    }
    assert_eq!(value_of(&app, "browser", "rfm").await, None);
    assert_eq!(value_of(&app, "long-ago", "rfm").await, None);
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/profiles/{}/tags/rfm", profile_id(&app, "v1").await),
            &json!({"values": ["important_value"]}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("computed_tag")),
        "{body}"
    );
}

#[tokio::test]
async fn imported_and_manual_tags_are_set_by_file_and_by_hand() {
    let mut app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    for (user, phone) in [
        ("u1", "13800138001"),
        ("u2", "13800138002"),
        ("u3", "13800138003"),
    ] {
        identify(&app, user, json!({"phone": phone})).await;
    }
    let u3 = profile_id(&app, "u3").await;
    create_tag(
        &app,
        json!({"id": "member-level", "name": "线下会员等级", "family": "basic", "kind": "imported",
               "values": [{"value": "gold"}, {"value": "silver"}]}),
    )
    .await;
    let csv = format!(
        "identity,value\nphone:13800138001,gold\nuser_id:u2,silver\nphone:13800138009,gold\n\
         nonsense,gold\nuser_id:u1,platinum\nprofile_id:{u3},silver\n"
    );
    let response = app
        .http
        .post(app.url("/v1/tags/member-level/import"))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        (&answer["lines"], &answer["assigned"], &answer["profiles"]),
        (&json!(6), &json!(3), &json!(3)),
        "{answer}"
    );
    let unmatched: Vec<(u64, &str)> = answer["unmatched"]
        .as_array()
        .expect("unmatched")
        .iter()
        .map(|u| {
            (
                u["line"].as_u64().expect("line"),
                u["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        unmatched,
        [
            (4, "unknown_profile"),
            (5, "invalid_identity"),
            (6, "invalid_value")
        ]
    );
    assert_eq!(
        value_of(&app, "u1", "member-level").await.as_deref(),
        Some("gold")
    );
    assert_eq!(
        value_of(&app, "u3", "member-level").await.as_deref(),
        Some("silver")
    );

    // JSON lines, replacing the whole tag: only u2 keeps a value.
    let response = app
        .http
        .post(app.url("/v1/tags/member-level/import?replace=true"))
        .bearer_auth(&app.api_key)
        .header("content-type", "application/x-ndjson")
        .body("{\"identity\": \"user_id:u2\", \"value\": \"gold\"}\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(value_of(&app, "u1", "member-level").await, None);
    assert_eq!(
        value_of(&app, "u2", "member-level").await.as_deref(),
        Some("gold")
    );

    // A manual tag, set and removed by hand, seen by a segment.
    create_tag(
        &app,
        json!({"id": "kol", "name": "达人", "family": "business", "kind": "manual"}),
    )
    .await;
    let u1 = profile_id(&app, "u1").await;
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/profiles/{u1}/tags/kol"),
            &json!({"values": ["美妆", "美妆", "母婴"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["values"], json!(["母婴", "美妆"]));
    let (status, preview) = app
        .send(
            Method::POST,
            "/v1/segments/preview",
            &json!({"condition": {"type": "tag", "tag": "kol", "values": ["美妆"]}}),
        )
        .await;
    assert_eq!((status, &preview["size"]), (200, &json!(1)), "{preview}");
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/profiles/{u1}/tags/kol"),
            &json!({"values": []}),
        )
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("values")));

    // Assigned values survive a restart.
    app.kill();
    app.start();
    assert_eq!(
        value_of(&app, "u2", "member-level").await.as_deref(),
        Some("gold")
    );
    let u2 = profile_id(&app, "u2").await;
    let (_, export) = app.get(&format!("/v1/profiles/{u2}/export")).await;
    assert_eq!(
        export["assigned_tags"],
        json!({"member-level": ["gold"]}),
        "the personal data export lists assigned values"
    );
    assert_eq!(
        tags_of(&app, "u1").await.get("kol"),
        Some(&vec!["母婴".to_owned(), "美妆".to_owned()])
    );
    assert_eq!(delete(&app, &format!("/v1/profiles/{u1}/tags/kol")).await, 204);
    assert_eq!(value_of(&app, "u1", "kol").await, None);
}

#[tokio::test]
async fn bad_tag_input_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let lately = active_within(30);
    create_tag(
        &app,
        json!({"id": "base", "name": "基础", "family": "business", "kind": "rule",
               "values": [{"value": "yes", "condition": lately}]}),
    )
    .await;
    create_tag(
        &app,
        json!({"id": "derived", "name": "派生", "family": "business", "kind": "rule",
               "values": [{"value": "yes", "condition": {"type": "tag", "tag": "base"}}]}),
    )
    .await;
    let zero = json!({"type": "event", "measure": {"kind": "did"},
                      "window": {"kind": "last", "amount": 0, "unit": "days"}});
    let cases = [
        (
            json!({"name": "x", "family": "basic", "kind": "rule", "values": [
                {"value": "a", "condition": lately}, {"value": "b", "condition": lately},
                {"value": "c", "condition": zero}]}),
            400,
            "values[2].condition.window.amount",
        ),
        (
            json!({"name": "x", "family": "nope", "kind": "manual"}),
            400,
            "family",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule"}),
            400,
            "values",
        ),
        (
            json!({"id": "base", "name": "x", "family": "basic", "kind": "manual"}),
            409,
            "id",
        ),
        (
            json!({"id": "loop", "name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": {"type": "tag", "tag": "loop"}}]}),
            400,
            "values[0].condition.tag",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": {"type": "tag", "tag": "ghost"}}]}),
            400,
            "values[0].condition.tag",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": {"type": "segment", "segment": "vip"}}]}),
            400,
            "values[0].condition.segment",
        ),
    ];
    for (body, status, field) in cases {
        let (got, answer) = app.send(Method::POST, "/v1/tags", &body).await;
        assert_eq!(
            (got, answer["error"]["field"].as_str()),
            (status, Some(field)),
            "{body}: {answer}"
        );
    }
    // base may not come to name derived (a loop), nor be deleted while named.
    let (status, answer) = app
        .send(
            Method::PUT,
            "/v1/tags/base",
            &json!({"name": "x", "family": "basic", "kind": "rule",
                    "values": [{"value": "a", "condition": {"type": "tag", "tag": "derived"}}]}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("base → derived → base")
    );
    assert_eq!(delete(&app, "/v1/tags/base").await, 409);
    assert_eq!(delete(&app, "/v1/tags/derived").await, 204);
    assert_eq!(delete(&app, "/v1/tags/base").await, 204);
    assert_eq!(app.get("/v1/tags/base").await.0, 404);
    assert_eq!(app.get("/v1/tags/Bad!").await.0, 400);

    create_tag(
        &app,
        json!({"id": "upload", "name": "上传", "family": "business", "kind": "imported"}),
    )
    .await;
    let response = app
        .http
        .post(app.url("/v1/tags/upload/import"))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body("phone,tag\n13800138000,x\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["error"]["field"], "header", "{answer}");
}
