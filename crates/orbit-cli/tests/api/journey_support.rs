//! What the journey tests share: calls that must succeed, events and the clock, a
//! webhook account standing in for the SMS gateway with text templates, and who
//! received what, when.

use crate::helpers::TestApp;
pub use crate::helpers::ok;
use orbit_test_support::webhook::{Delivery, Freshness, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};

/// One track event of a user.
pub async fn track(app: &TestApp, user: &str, event: &str, properties: Value) {
    events(
        app,
        json!([{"type": "track", "event": event, "user_id": user, "properties": properties}]),
    )
    .await;
}

/// A batch of events.
pub async fn events(app: &TestApp, batch: Value) {
    ok(app, Method::POST, "/v1/events", json!({ "events": batch })).await;
}

/// Sets the simulated clock.
pub async fn set_clock(app: &TestApp, at: &str) {
    ok(app, Method::POST, "/v1/clock", json!({ "set": at })).await;
}

/// Moves the simulated clock on.
pub async fn advance(app: &TestApp, by: &str) {
    ok(app, Method::POST, "/v1/clock", json!({ "advance": by })).await;
}

/// The workspace's default account `gateway`: a webhook to `path` standing in for the
/// SMS gateway, which also signs journeys' own posts.
pub async fn gateway(app: &TestApp, hook: &WebhookReceiver, path: &str, secret: &str) {
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "gateway", "name": "短信网关", "default": true,
               "config": {"provider": "webhook", "url": hook.url(path), "secret": secret}}),
    )
    .await;
}

/// Templates of `class` on the gateway, each posting the user id and its text.
pub async fn texts(app: &TestApp, class: &str, templates: &[(&str, &str)]) {
    for (id, text) in templates {
        ok(
            app,
            Method::POST,
            "/v1/templates",
            json!({"id": id, "name": id, "class": class,
                   "content": {"channel": "webhook", "body": {
                       "user": "{{ profile.identities.user_id }}", "text": text}}}),
        )
        .await;
    }
}

/// The posts that reached `path`, in order of arrival.
pub fn on_path(hook: &WebhookReceiver, path: &str) -> Vec<Delivery> {
    hook.deliveries().into_iter().filter(|d| d.path == path).collect()
}

/// Who received which text, and when it was first sent, in order of arrival. A post
/// repeated with the same idempotency key (a server killed after the post and before
/// recording it re-posts it, as ADR 0009 allows) is one message, listed once.
pub fn received(hook: &WebhookReceiver, path: &str) -> Vec<(String, String, String)> {
    let mut seen = std::collections::HashSet::new();
    on_path(hook, path)
        .iter()
        .filter(|d| seen.insert(d.idempotency_key().to_owned()))
        .map(|d| sent(d.field("user"), d.field("text"), &d.signed_at.to_string()))
        .collect()
}

/// One message as [`received`] lists it.
pub fn sent(user: &str, text: &str, at: &str) -> (String, String, String) {
    (user.to_owned(), text.to_owned(), at.to_owned())
}

/// A journey's report.
pub async fn report(app: &TestApp, id: &str) -> Value {
    ok(
        app,
        Method::GET,
        &format!("/v1/journeys/{id}/report"),
        Value::Null,
    )
    .await
}

/// A receiver for posts signed with `secret`, whatever time the simulated clock
/// signs them at.
pub async fn receiver(secret: &str) -> WebhookReceiver {
    WebhookReceiver::builder(secret)
        .freshness(Freshness::Unchecked)
        .start()
        .await
}

/// Sets the workspace's time zone to Shanghai's.
pub async fn in_shanghai(app: &TestApp) {
    ok(
        app,
        Method::PUT,
        "/v1/settings",
        json!({"time_zone": "Asia/Shanghai"}),
    )
    .await;
}

/// Seed 004: active in Chongqing and no order within 5 minutes → a coupon message.
pub fn chongqing_journey() -> Value {
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
