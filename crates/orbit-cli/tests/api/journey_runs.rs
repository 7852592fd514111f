//! Journeys moving people, on the simulated clock: who received what, and when.

use crate::helpers::{TestApp, wait_until};
use crate::journey_support::{advance, chongqing_journey, gateway, in_shanghai, ok, receiver, texts, track};
use orbit_test_support::webhook::WebhookReceiver;
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "journey-webhook-secret-0123456789";
/// 10:00 in Chongqing (UTC+8) on 2026-12-07.
const START: &str = "2026-12-07T02:00:00Z";

/// A webhook account standing in for the SMS gateway, and the nudge's template.
async fn workspace(app: &TestApp, hook: &WebhookReceiver) {
    gateway(app, hook, "/sms", SECRET).await;
    texts(app, "marketing", &[("cq-coupon", "火锅券已到账，今日有效")]).await;
}

fn users(hook: &WebhookReceiver) -> Vec<String> {
    let mut users: Vec<String> = hook
        .deliveries()
        .iter()
        .map(|d| d.field("user").to_owned())
        .collect();
    users.sort();
    users
}

#[tokio::test]
async fn no_order_within_five_minutes_of_being_active_in_chongqing_sends_one_coupon_at_minute_five() {
    let hook = receiver(SECRET).await;
    let mut app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    ok(&app, Method::POST, "/v1/journeys", chongqing_journey()).await;
    ok(&app, Method::POST, "/v1/journeys/cq-no-order/publish", json!({})).await;

    track(&app, "mei", "app_active", json!({"city": "重庆"})).await;
    track(&app, "lei", "app_active", json!({"city": "重庆"})).await;
    track(&app, "wang", "app_active", json!({"city": "成都"})).await;
    advance(&app, "PT4M").await;
    // Lei orders in minute four: the absence never happens for him.
    track(&app, "lei", "order_paid", json!({"amount": 59.9})).await;
    advance(&app, "PT59S").await;
    // Nothing before the five minutes are up.
    assert!(hook.deliveries().is_empty(), "early: {:?}", users(&hook));
    advance(&app, "PT1S").await;
    wait_until("Mei's coupon arrives", || async { !hook.deliveries().is_empty() }).await;
    assert_eq!(users(&hook), vec!["mei"]);
    let signed_at = hook.deliveries()[0].signed_at;
    assert_eq!(signed_at, "2026-12-07T02:05:00Z".parse().expect("time"));

    let report = ok(&app, Method::GET, "/v1/journeys/cq-no-order/report", Value::Null).await;
    assert_eq!(
        (report["entered"].clone(), report["in_journey"].clone()),
        (json!(2), json!(0)),
        "{report}"
    );
    assert_eq!(report["exited"], json!({"completed": 2}));
    let node = |id: &str| {
        report["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["node"] == id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(node("wait")["entered"], 2);
    assert_eq!(node("wait")["outcomes"], json!({"on_event": 1, "on_timeout": 1}));
    assert_eq!(node("nudge")["entered"], 1);

    // Once ever: being active again does not enter Mei again, and time alone sends
    // nothing more, through a crash and a restart.
    track(&app, "mei", "app_active", json!({"city": "重庆"})).await;
    advance(&app, "PT10M").await;
    let (_, clock) = app.get("/v1/clock").await;
    let now = clock["now"].as_str().expect("now").to_owned();
    app.kill();
    app.set_args(&["--simulated-clock", &now, "--egress-allow", "127.0.0.1/32"]);
    app.start();
    advance(&app, "PT1H").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(users(&hook), vec!["mei"], "exactly one message");
}

/// Scenario 1: installed the app yesterday and did not order → the first-order gift
/// at 10:00 today, in the workspace's time zone.
#[tokio::test]
async fn yesterdays_installs_without_an_order_get_the_first_order_gift_at_ten_today() {
    let hook = receiver(SECRET).await;
    // 20:00 in Shanghai on 6 December.
    let app = TestApp::spawn_with(&[
        "--simulated-clock",
        "2026-12-06T12:00:00Z",
        "--egress-allow",
        "127.0.0.1/32",
    ])
    .await;
    in_shanghai(&app).await;
    workspace(&app, &hook).await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        json!({
            "id": "first-order-gift", "name": "首单礼",
            "entry": {"type": "event", "event": "app_installed"},
            "start": "ten",
            "nodes": {
                "ten": {"type": "wait_until", "until": {"kind": "time_of_day", "time": "10:00", "days_later": 1},
                        "next": "ordered"},
                "ordered": {"type": "branch", "paths": [{"name": "ordered", "condition":
                            {"type": "since_entry", "event": "order_paid", "compare": "gte", "count": 1},
                            "next": "done"}], "default": "gift"},
                "gift": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
                "done": {"type": "exit"}
            }
        }),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys/first-order-gift/publish",
        json!({}),
    )
    .await;
    track(&app, "mei", "app_installed", json!({})).await;
    track(&app, "lei", "app_installed", json!({})).await;
    advance(&app, "PT2H").await;
    track(&app, "lei", "order_paid", json!({"amount": 88})).await;
    // 09:59:59 the next morning: nothing yet.
    ok(
        &app,
        Method::POST,
        "/v1/clock",
        json!({"set": "2026-12-07T01:59:59Z"}),
    )
    .await;
    assert!(hook.deliveries().is_empty());
    advance(&app, "PT1S").await;
    wait_until("Mei's gift arrives", || async { !hook.deliveries().is_empty() }).await;
    assert_eq!(users(&hook), vec!["mei"]);
    assert_eq!(
        hook.deliveries()[0].signed_at,
        "2026-12-07T02:00:00Z".parse().expect("time")
    );
    let report = ok(
        &app,
        Method::GET,
        "/v1/journeys/first-order-gift/report",
        Value::Null,
    )
    .await;
    let branch = report["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["node"] == "ordered"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        branch["outcomes"],
        json!({"default": 1, "ordered": 1}),
        "{report}"
    );
}

/// A segment entry: whoever becomes a gold member gets the welcome, once; a client
/// sending a look-alike `segment_entered` event enters nobody.
#[tokio::test]
async fn becoming_a_member_of_a_segment_enters_the_journey() {
    let hook = WebhookReceiver::start(SECRET).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    ok(
        &app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        json!({"id": "gold-welcome", "name": "金卡欢迎",
               "entry": {"type": "segment", "segment": "gold", "on": "entered"},
               "start": "hello",
               "nodes": {"hello": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
                         "done": {"type": "exit"}}}),
    )
    .await;
    ok(&app, Method::POST, "/v1/journeys/gold-welcome/publish", json!({})).await;
    let identify = |user: &str, plan: &str| json!({"events": [{"type": "identify", "user_id": user, "traits": {"plan": plan}}]});
    ok(&app, Method::POST, "/v1/events", identify("mei", "gold")).await;
    ok(&app, Method::POST, "/v1/events", identify("lei", "silver")).await;
    track(&app, "lei", "segment_entered", json!({"segment_id": "gold"})).await;
    wait_until("Mei's welcome arrives", || async {
        !hook.deliveries().is_empty()
    })
    .await;
    // Leaving and coming back does not welcome her twice (once ever).
    ok(&app, Method::POST, "/v1/events", identify("mei", "silver")).await;
    ok(&app, Method::POST, "/v1/events", identify("mei", "gold")).await;
    wait_until("Orbit announced her second entry", || async {
        let profile = app.profile_by("user_id:mei").await;
        let id = profile["id"].as_str().unwrap_or_default().to_owned();
        let (_, events) = app.get(&format!("/v1/profiles/{id}/events?limit=100")).await;
        let entries = events["data"]
            .as_array()
            .map(|events| events.iter().filter(|e| e["event"] == "segment_entered").count())
            .unwrap_or(0);
        entries == 2
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(users(&hook), vec!["mei"]);
}

/// An API entry with its own properties: the reminder waits for the day before the
/// booked time those properties carry; the same idempotency key enters nobody twice.
#[tokio::test]
async fn an_api_call_enters_a_person_once_per_idempotency_key() {
    let hook = receiver(SECRET).await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    in_shanghai(&app).await;
    workspace(&app, &hook).await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        json!({"id": "drive-reminder", "name": "试驾提醒", "entry": {"type": "api"},
               "reentry": {"kind": "always"}, "start": "eve",
               "nodes": {
                   "eve": {"type": "wait_until", "until": {"kind": "entry_property", "property": "booked_at",
                           "offset": "-P1D", "time": "10:00"}, "next": "remind"},
                   "remind": {"type": "send", "class": "transactional",
                              "messages": [{"template": "cq-coupon"}], "next": "done"},
                   "done": {"type": "exit"}}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys/drive-reminder/publish",
        json!({}),
    )
    .await;
    track(&app, "mei", "app_opened", json!({})).await;
    let booking = json!({"identity": "user_id:mei", "idempotency_key": "booking-8812",
                         "properties": {"booked_at": "2026-12-10T15:00:00+08:00"}});
    let first = ok(
        &app,
        Method::POST,
        "/v1/journeys/drive-reminder/entries",
        booking.clone(),
    )
    .await;
    let again = ok(&app, Method::POST, "/v1/journeys/drive-reminder/entries", booking).await;
    assert_eq!(first["entered"], true, "{first}");
    assert_eq!(first, again, "the same key finds the same entry");
    let (status, unknown) = app
        .send(
            Method::POST,
            "/v1/journeys/drive-reminder/entries",
            &json!({"identity": "user_id:nobody"}),
        )
        .await;
    assert_eq!(status, 404, "{unknown}");
    let (status, not_api) = app
        .send(
            Method::POST,
            "/v1/journeys/nope/entries",
            &json!({"identity": "user_id:mei"}),
        )
        .await;
    assert_eq!(status, 404, "{not_api}");

    // 10:00 in Shanghai on the 9th is 02:00 UTC.
    ok(
        &app,
        Method::POST,
        "/v1/clock",
        json!({"set": "2026-12-09T01:59:59Z"}),
    )
    .await;
    assert!(hook.deliveries().is_empty());
    advance(&app, "PT1S").await;
    wait_until("the reminder arrives", || async { !hook.deliveries().is_empty() }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(users(&hook), vec!["mei"], "one reminder for one booking");
    assert_eq!(
        hook.deliveries()[0].signed_at,
        "2026-12-09T02:00:00Z".parse().expect("time")
    );
}

/// Scenario 12: whoever has shared products more than ten times in total — shares
/// made before the journey existed included — gets one "KOC share gift" webhook at
/// the share that reaches the count, never a second.
#[tokio::test]
async fn the_tenth_share_earns_one_koc_gift_and_never_a_second() {
    let hook = WebhookReceiver::start(SECRET).await;
    let gift = WebhookReceiver::start(SECRET).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    for _ in 0..4 {
        track(&app, "mei", "product_shared", json!({"product_id": "tea-1"})).await;
    }
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        json!({"id": "koc", "name": "KOC 分享礼",
               "entry": {"type": "event_count", "event": "product_shared", "threshold": 10},
               "start": "gift",
               "nodes": {"gift": {"type": "webhook", "url": gift.url("/koc"), "next": "done"},
                         "done": {"type": "exit"}}}),
    )
    .await;
    ok(&app, Method::POST, "/v1/journeys/koc/publish", json!({})).await;
    for _ in 0..5 {
        track(&app, "mei", "product_shared", json!({"product_id": "tea-2"})).await;
        track(&app, "lei", "product_shared", json!({"product_id": "tea-2"})).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(gift.count(), 0, "nine shares earn nothing");
    for _ in 0..3 {
        track(&app, "mei", "product_shared", json!({"product_id": "tea-3"})).await;
    }
    wait_until("Mei's gift is posted", || async { gift.count() >= 1 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let report = ok(&app, Method::GET, "/v1/journeys/koc/report", Value::Null).await;
    assert_eq!(report["entered"], 1, "{report}");
    let keys: std::collections::BTreeSet<String> = gift
        .deliveries()
        .iter()
        .map(|d| d.idempotency_key().to_owned())
        .collect();
    assert_eq!(keys.len(), 1, "one gift, however often it is posted");
    let body = gift.deliveries()[0].body.to_string();
    assert!(body.contains("\"mei\"") && !body.contains("\"lei\""), "{body}");
}
