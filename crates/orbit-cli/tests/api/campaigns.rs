//! Broadcast campaigns end to end: a provider account, templates, a segment, a
//! campaign with a control group and two variants, delivered to a webhook receiver
//! that verifies every signature. A kill in the middle of sending is tested at scale
//! in `contact_policy::broadcast`.

use crate::helpers::TestApp;
use crate::helpers::ok;
use orbit_test_support::webhook::WebhookReceiver;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const SECRET: &str = "campaign-webhook-secret-0123456789";

/// A workspace with `n` gold members, a webhook account, two templates and a segment.
async fn brand(app: &TestApp, n: usize, url: &str) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"type": "identify", "user_id": format!("m{i:05}"),
                            "traits": {"plan": "gold", "name": format!("会员{i}")}})
            })
            .collect();
        ok(app, Method::POST, "/v1/events", json!({"events": events})).await;
    }
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "crm", "name": "CRM 回调", "default": true,
               "config": {"provider": "webhook", "url": url, "secret": SECRET}}),
    )
    .await;
    for (id, greeting) in [("hook-a", "您好"), ("hook-b", "欢迎回来")] {
        ok(
            app,
            Method::POST,
            "/v1/templates",
            json!({"id": id, "name": id, "class": "marketing",
                   "content": {"channel": "webhook", "body": {
                       "user": "{{ profile.identities.user_id }}",
                       "text": format!("{{{{ profile.traits.name }}}}{greeting}")}}}),
        )
        .await;
    }
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
}

fn campaign() -> Value {
    json!({
        "id": "double-12", "name": "双十二金卡专享", "segment": "gold", "control_percent": 10,
        "variants": [
            {"name": "a", "messages": [{"template": "hook-a"}]},
            {"name": "b", "messages": [{"template": "hook-b"}]}
        ]
    })
}

async fn report(app: &TestApp) -> Value {
    ok(app, Method::GET, "/v1/campaigns/double-12/report", Value::Null).await
}

async fn wait_completed(app: &TestApp) {
    crate::helpers::wait_campaign_completed(app, "double-12").await;
}

/// Per variant: (targeted, sent, control).
fn tallies(report: &Value) -> BTreeMap<String, (u64, u64, u64)> {
    report["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["variant"].as_str().expect("name").to_owned(),
                (
                    v["targeted"].as_u64().unwrap_or(0),
                    v["sent"].as_u64().unwrap_or(0),
                    v["suppressed"]["control_group"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_broadcast_reaches_everyone_outside_control_once_and_reports_per_variant() {
    // The server runs on the wall clock here, as the receiver does.
    let receiver = WebhookReceiver::start(SECRET).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    brand(&app, 1_000, &receiver.url("/crm")).await;
    let draft = ok(&app, Method::POST, "/v1/campaigns", campaign()).await;
    assert_eq!(draft["state"], "draft");
    // A template a live campaign uses cannot be deleted.
    let (status, body) = app
        .send(Method::DELETE, "/v1/templates/hook-a", &Value::Null)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("in_use")),
        "{body}"
    );
    ok(&app, Method::POST, "/v1/campaigns/double-12/launch", Value::Null).await;
    wait_completed(&app).await;

    let tallies = tallies(&report(&app).await);
    let (control_targeted, _, control) = tallies["control"];
    assert_eq!(control_targeted, control, "the control group is only suppressed");
    let sent = tallies["a"].1 + tallies["b"].1;
    assert_eq!(
        control + sent,
        1_000,
        "everyone is held out or sent once: {tallies:?}"
    );
    assert!((60..=140).contains(&control), "about 10% held out: {tallies:?}");

    let got = receiver.deliveries();
    let users: BTreeSet<&str> = got.iter().map(|d| d.field("user")).collect();
    let keys: BTreeSet<&str> = got.iter().map(|d| d.idempotency_key()).collect();
    assert_eq!(
        (got.len(), users.len(), keys.len()),
        (sent as usize, sent as usize, sent as usize)
    );

    // A finished campaign cannot be launched again or deleted; its report stays.
    let (status, body) = app
        .send(Method::POST, "/v1/campaigns/double-12/launch", &Value::Null)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("invalid_state"))
    );
    let (status, _) = app
        .send(Method::DELETE, "/v1/campaigns/double-12", &Value::Null)
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn inbox_campaigns_reach_the_app_which_reads_them_with_its_write_key() {
    let app = TestApp::spawn().await;
    for user in ["mei", "lei"] {
        ok(
            &app,
            Method::POST,
            "/v1/events",
            json!({"events": [{"type": "identify", "user_id": user,
                               "traits": {"plan": "gold", "name": user}}]}),
        )
        .await;
    }
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "popup", "name": "红包雨", "class": "marketing",
               "content": {"channel": "inbox", "title": "红包雨来啦",
                           "body": "{{ profile.traits.name }}，点击领取", "popup": true,
                           "link": "app://red-packets"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": "rain", "name": "红包雨", "segment": "gold",
               "variants": [{"name": "a", "messages": [{"template": "popup"}]}]}),
    )
    .await;
    crate::helpers::launch_and_finish(&app, "rain").await;

    let inbox = |identity: &'static str| {
        let request = app
            .http
            .get(app.url(&format!("/v1/inbox?identity={identity}")))
            .bearer_auth(&app.write_key);
        async move {
            let response = request.send().await.expect("inbox");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = inbox("user_id:mei").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unread"], 1);
    let message = &body["messages"][0];
    assert_eq!(
        (message["title"].as_str(), message["body"].as_str()),
        (Some("红包雨来啦"), Some("mei，点击领取"))
    );
    assert_eq!(
        (message["popup"].as_bool(), message["campaign"].as_str()),
        (Some(true), Some("rain"))
    );

    // Reading it marks it read; another person cannot read it.
    let id = message["id"].as_str().expect("id").to_owned();
    let read = app
        .http
        .post(app.url(&format!("/v1/inbox/{id}/read?identity=user_id:lei")))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status().as_u16(), 404);
    let read = app
        .http
        .post(app.url(&format!("/v1/inbox/{id}/read?identity=user_id:mei")))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(inbox("user_id:mei").await.1["unread"], 0);
    // Someone Orbit does not know yet has an empty inbox; an API key is refused.
    assert_eq!(inbox("user_id:nobody").await.1["messages"], json!([]));
    let refused = app
        .http
        .get(app.url("/v1/inbox?identity=user_id:mei"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("inbox");
    assert_eq!(refused.status().as_u16(), 401);
}

#[tokio::test]
async fn call_task_campaigns_file_tasks_the_call_centre_lists_exports_and_closes() {
    let app = TestApp::spawn().await;
    for (user, phone) in [("zhang", "13800138000"), ("li", "13900139000"), ("wang", "")] {
        let mut traits = json!({"plan": "test-drive", "name": user});
        if !phone.is_empty() {
            traits["phone"] = json!(phone);
        }
        ok(
            &app,
            Method::POST,
            "/v1/events",
            json!({"events": [{"type": "identify", "user_id": user, "traits": traits}]}),
        )
        .await;
    }
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "reinvite", "name": "二次邀约", "class": "marketing",
               "content": {"channel": "call_task", "script": "{{ profile.traits.name }}先生/女士，邀请您再次到店试驾"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/segments",
        json!({"id": "no-show", "name": "未到店", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "test-drive"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": "reinvite", "name": "二次邀约", "segment": "no-show",
               "variants": [{"name": "a", "messages": [{"template": "reinvite"}]}]}),
    )
    .await;
    crate::helpers::launch_and_finish(&app, "reinvite").await;

    let (_, listed) = app.get("/v1/call-tasks?status=open").await;
    let tasks = listed["tasks"].as_array().expect("tasks");
    let mut phones: Vec<&str> = tasks.iter().filter_map(|t| t["phone"].as_str()).collect();
    phones.sort_unstable();
    assert_eq!(phones, vec!["+8613800138000", "+8613900139000"], "{listed}");
    assert!(
        tasks
            .iter()
            .any(|t| t["script"] == "zhang先生/女士，邀请您再次到店试驾")
    );
    // Wang has no phone: suppressed, not filed.
    let report = ok(&app, Method::GET, "/v1/campaigns/reinvite/report", Value::Null).await;
    assert_eq!(report["variants"][0]["suppressed"]["no_address"], 1, "{report}");

    let csv = app
        .http
        .get(app.url("/v1/call-tasks?format=csv"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,phone,script,campaign,status,outcome,profile_id,created_at")
    );
    assert_eq!(lines.count(), 2, "{csv}");

    let id = tasks[0]["id"].as_str().expect("id");
    let closed = ok(
        &app,
        Method::PATCH,
        &format!("/v1/call-tasks/{id}"),
        json!({"status": "done", "outcome": "已预约周六试驾"}),
    )
    .await;
    assert_eq!(
        (closed["status"].as_str(), closed["outcome"].as_str()),
        (Some("done"), Some("已预约周六试驾"))
    );
    assert_eq!(
        app.get("/v1/call-tasks?status=open").await.1["tasks"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/v1/call-tasks/{id}"),
            &json!({"status": "maybe"}),
        )
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("status")));
}
