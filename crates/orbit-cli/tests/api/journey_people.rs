//! Journeys follow the person, on the simulated clock: the path each entry took on
//! their profile.

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

/// An event of a known member (`user_id`).
async fn track(app: &TestApp, who: (&str, &str), event: &str, properties: Value) {
    let (kind, id) = who;
    let body = json!({"events": [{"type": "track", "event": event, kind: id, "properties": properties}]});
    ok(app, Method::POST, "/v1/events", body).await;
}

fn member(id: &str) -> (&'static str, &str) {
    ("user_id", id)
}

async fn advance(app: &TestApp, by: &str) {
    ok(app, Method::POST, "/v1/clock", json!({"advance": by})).await;
}

/// A webhook account standing in for the SMS gateway, and the coupon's template.
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

async fn publish(app: &TestApp, journey: Value) {
    let id = journey["id"].as_str().expect("an id").to_owned();
    ok(app, Method::POST, "/v1/journeys", journey).await;
    ok(
        app,
        Method::POST,
        &format!("/v1/journeys/{id}/publish"),
        json!({}),
    )
    .await;
}

/// Who received a message, and when, in that order.
fn received(hook: &WebhookReceiver) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = hook
        .deliveries()
        .iter()
        .map(|d| (d.signed_at.to_string(), d.field("user").to_owned()))
        .collect();
    all.sort();
    all
}

fn expected(messages: &[(&str, &str)]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|(at, user)| ((*at).to_owned(), (*user).to_owned()))
        .collect()
}

async fn id_of(app: &TestApp, identity: &str) -> String {
    app.profile_by(identity).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn journeys_of(app: &TestApp, id: &str) -> Value {
    let (status, answer) = app.get(&format!("/v1/profiles/{id}/journeys")).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn step(node: &str, outcome: Option<&str>, at: &str) -> Value {
    json!({"node": node, "outcome": outcome, "at": at})
}

/// Seed 004 again: active in Chongqing, no order within 5 minutes → a coupon.
#[tokio::test]
async fn a_person_s_journeys_show_each_node_passed_with_its_outcome_and_time_and_the_exit() {
    let hook = WebhookReceiver::builder(SECRET)
        .freshness(Freshness::Unchecked)
        .start()
        .await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    publish(
        &app,
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
        }),
    )
    .await;
    track(&app, member("mei"), "app_active", json!({"city": "重庆"})).await;
    let mei = id_of(&app, "user_id:mei").await;
    wait_until("Mei's entry is on her profile", || async {
        journeys_of(&app, &mei).await["journeys"]
            .as_array()
            .is_some_and(|j| !j.is_empty())
    })
    .await;
    let waiting = journeys_of(&app, &mei).await;
    assert_eq!(waiting["profile_id"], json!(mei));
    let entry = &waiting["journeys"][0];
    assert_eq!(
        (
            &entry["journey"],
            &entry["name"],
            &entry["version"],
            &entry["key"],
            &entry["entered_at"]
        ),
        (
            &json!("cq-no-order"),
            &json!("重庆活跃 5 分钟未下单"),
            &json!(1),
            &Value::Null,
            &json!(START)
        ),
        "{waiting}"
    );
    assert!(entry["entry"].as_str().is_some_and(|e| !e.is_empty()), "{entry}");
    assert_eq!(
        entry["state"],
        json!({"status": "waiting", "node": "wait", "until": "2026-12-07T02:05:00Z", "for_event": true})
    );
    assert_eq!(
        entry["path"],
        json!({"steps": [step("wait", None, START)], "omitted": 0, "exit": null})
    );

    advance(&app, "PT5M").await;
    wait_until("Mei's coupon arrives", || async { !hook.deliveries().is_empty() }).await;
    assert_eq!(received(&hook), expected(&[("2026-12-07T02:05:00Z", "mei")]));
    let done = journeys_of(&app, &mei).await;
    assert_eq!(done["journeys"].as_array().map(Vec::len), Some(1), "{done}");
    let at = "2026-12-07T02:05:00Z";
    let exit = json!({"node": "done", "reason": "completed", "at": at});
    assert_eq!(
        done["journeys"][0]["state"],
        json!({"status": "exited", "node": "done", "reason": "completed", "at": at})
    );
    assert_eq!(
        done["journeys"][0]["path"],
        json!({"steps": [
                  step("wait", None, START),
                  step("wait", Some("on_timeout"), at),
                  step("nudge", Some("next"), at),
                  step("done", None, at)],
               "omitted": 0, "exit": exit})
    );

    // Bad ids name the field; an id nobody holds is not found, as for other profile calls.
    let (status, bad) = app.get("/v1/profiles/not-a-profile/journeys").await;
    assert_eq!(
        (status, &bad["error"]["code"], &bad["error"]["field"]),
        (400, &json!("invalid_id"), &json!("id")),
        "{bad}"
    );
    let (status, unknown) = app
        .get("/v1/profiles/01890a5d-ac96-774b-bcce-b302099a8057/journeys")
        .await;
    assert_eq!(
        (status, &unknown["error"]["code"]),
        (404, &json!("not_found")),
        "{unknown}"
    );
}
