//! Journeys moving people, on the simulated clock: who received what, and when.

use crate::helpers::{TestApp, wait_until};
use orbit_test_support::webhook::{Freshness, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "journey-webhook-secret-0123456789";
/// 10:00 in Chongqing (UTC+8) on 2026-12-07.
const START: &str = "2026-12-07T02:00:00Z";

async fn ok(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let (status, answer) = app.send(method, path, &body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

async fn track(app: &TestApp, user: &str, event: &str, properties: Value) {
    let body =
        json!({"events": [{"type": "track", "event": event, "user_id": user, "properties": properties}]});
    ok(app, Method::POST, "/v1/events", body).await;
}

async fn advance(app: &TestApp, by: &str) {
    ok(app, Method::POST, "/v1/clock", json!({"advance": by})).await;
}

/// A webhook account standing in for the SMS gateway, and the nudge's template.
async fn workspace(app: &TestApp, hook: &WebhookReceiver) {
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "gateway", "name": "短信网关", "default": true,
               "config": {"provider": "webhook", "url": hook.url("/sms"), "secret": SECRET}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/templates",
        json!({"id": "cq-coupon", "name": "重庆满减券", "class": "marketing",
               "content": {"channel": "webhook", "body": {
                   "user": "{{ profile.identities.user_id }}", "text": "火锅券已到账，今日有效"}}}),
    )
    .await;
}

/// Seed 004: active in Chongqing and no order within 5 minutes → a coupon message.
fn chongqing_journey() -> Value {
    json!({
        "id": "cq-no-order", "name": "重庆活跃 5 分钟未下单",
        "entry": {"type": "event", "event": "app_active", "filters": [
            {"property": "city", "value_type": "string", "op": "eq", "value": "重庆"}]},
        "start": "wait",
        "nodes": {
            "wait": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT5M",
                     "on_event": "done", "on_timeout": "nudge"},
            "nudge": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
            "done": {"type": "exit"}
        }
    })
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
    let hook = WebhookReceiver::builder(SECRET)
        .freshness(Freshness::Unchecked)
        .start()
        .await;
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
