//! The dashboard's numbers (`GET /v1/stats/overview`) after known events and messages
//! sent through a stand-in SMS provider: days are the workspace's, on the simulated
//! clock; they survive a restart; the next day starts from zero while the week keeps
//! what was sent.

use crate::console_support::operator;
use crate::helpers::ok;
use crate::helpers::{TestApp, wait_until};
use orbit_core::ManualClock;
use orbit_test_support::aliyun::{self, Aliyun};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// 10:00 on 3 December in Shanghai.
const START: &str = "2026-12-03T02:00:00Z";

async fn overview(app: &TestApp) -> Value {
    ok(app, Method::GET, "/v1/stats/overview", Value::Null).await
}

fn report_of(phone: &str, success: bool) -> Value {
    json!({"phone_number": phone, "send_time": "2026-12-03 10:00:00", "report_time": "2026-12-03 10:00:05",
           "success": success, "err_code": if success { "DELIVERED" } else { "MK:0001" },
           "err_msg": if success { "用户接收成功" } else { "空号" },
           "sms_size": "1", "biz_id": aliyun::biz_id(phone), "out_id": ""})
}

/// Three people and two page views: one at 01:00 today in Shanghai (still yesterday
/// in UTC), one at 23:00 yesterday; two segments on the people's plans.
async fn people(app: &TestApp) {
    let mut settings = ok(app, Method::GET, "/v1/settings", Value::Null).await;
    settings["time_zone"] = json!("Asia/Shanghai");
    ok(app, Method::PUT, "/v1/settings", settings).await;
    ok(
        app,
        Method::POST,
        "/v1/events",
        json!({"events": [
            {"type": "identify", "user_id": "m0", "traits": {"phone": "13800138000", "plan": "gold", "name": "小美"}},
            {"type": "identify", "user_id": "m1", "traits": {"phone": "13900139000", "plan": "gold", "name": "小雷"}},
            {"type": "identify", "user_id": "m2", "traits": {"plan": "silver", "name": "小茶"}},
            {"type": "track", "user_id": "m0", "event": "page_viewed", "timestamp": "2026-12-02T17:00:00Z"},
            {"type": "track", "user_id": "m1", "event": "page_viewed", "timestamp": "2026-12-02T15:00:00Z"}
        ]}),
    )
    .await;
    for (id, plan) in [("gold", "gold"), ("silver", "silver")] {
        ok(
            app,
            Method::POST,
            "/v1/segments",
            json!({"id": id, "name": id, "condition":
                   {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": plan}}),
        )
        .await;
    }
}

/// An SMS account on the stand-in, a template, the campaign `double-12` to the gold
/// segment sent and its receipts pushed (one delivered, one bounced), a second
/// campaign scheduled for later, and a live journey.
async fn messages(app: &TestApp, stand_in: &Aliyun) {
    let account = ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "aliyun", "name": "阿里云短信", "config": {"provider": "aliyun_sms",
               "access_key_id": aliyun::ACCESS_KEY_ID, "access_key_secret": aliyun::ACCESS_KEY_SECRET,
               "sign_name": "奥比特", "endpoint": stand_in.endpoint}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/templates",
        json!({"id": "sale-sms", "name": "双十二短信", "class": "marketing",
               "content": {"channel": "sms", "text": "{{ profile.traits.name }}您好，双十二专场开启",
                           "provider_template": "SMS_1234",
                           "params": [{"name": "name", "value": "{{ profile.traits.name }}"}]}}),
    )
    .await;
    for (id, schedule) in [
        ("double-12", json!({"kind": "now"})),
        ("new-year", json!({"kind": "at", "at": "2026-12-31T02:00:00Z"})),
    ] {
        ok(
            app,
            Method::POST,
            "/v1/campaigns",
            json!({"id": id, "name": id, "segment": "gold", "schedule": schedule,
                   "variants": [{"name": "a", "messages": [{"template": "sale-sms"}]}]}),
        )
        .await;
        ok(
            app,
            Method::POST,
            &format!("/v1/campaigns/{id}/launch"),
            Value::Null,
        )
        .await;
    }
    crate::helpers::wait_campaign_completed(app, "double-12").await;
    let receipts = json!([report_of("13800138000", true), report_of("13900139000", false)]);
    let receipt_url = account["receipt_url"].as_str().expect("a receipt URL");
    let pushed = reqwest::Client::new()
        .post(receipt_url)
        .json(&receipts)
        .send()
        .await
        .expect("pushed");
    assert_eq!(pushed.status(), 200);

    ok(
        app,
        Method::POST,
        "/v1/journeys",
        json!({"id": "welcome", "name": "欢迎旅程",
               "entry": {"type": "event", "event": "app_active"},
               "start": "nudge",
               "nodes": {"nudge": {"type": "send", "messages": [{"template": "sale-sms"}], "next": "done"},
                         "done": {"type": "exit"}}}),
    )
    .await;
    ok(app, Method::POST, "/v1/journeys/welcome/publish", json!({})).await;
}

/// The overview without the moment it was taken, which differs between two reads.
fn numbers(mut overview: Value) -> Value {
    overview.as_object_mut().expect("an object").remove("at");
    overview
}

fn week(ending: &str, today: (u64, u64), yesterday: (u64, u64)) -> Value {
    let last = jiff::civil::Date::strptime("%Y-%m-%d", ending).expect("a date");
    let days: Vec<Value> = (0..7)
        .rev()
        .map(|back| {
            let date = last.checked_sub(jiff::Span::new().days(back)).expect("a date");
            let (sent, delivered) = match back {
                0 => today,
                1 => yesterday,
                _ => (0, 0),
            };
            json!({"date": date.to_string(), "sent": sent, "delivered": delivered})
        })
        .collect();
    Value::Array(days)
}

#[tokio::test]
async fn the_overview_counts_today_in_the_workspace_s_zone_and_keeps_the_week() {
    let stand_in = Aliyun::start(
        aliyun::Answer::Sent,
        Arc::new(ManualClock::new(START.parse().expect("a time"))),
    )
    .await;
    let mut app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    people(&app).await;
    messages(&app, &stand_in).await;

    let segments = json!([
        {"id": "gold", "name": "gold", "type": "dynamic", "size": 2},
        {"id": "silver", "name": "silver", "type": "dynamic", "size": 1}
    ]);
    // Three identify calls, the page view at 01:00, and the two receipts recorded as
    // message_delivered and message_bounced; the page view at 23:00 was yesterday.
    let today = json!({
        "today": "2026-12-03", "time_zone": "Asia/Shanghai",
        "events_today": 6, "new_profiles_today": 3, "profiles_total": 3,
        "messages_sent_today": 2, "messages_delivered_today": 1,
        "messages_by_day": week("2026-12-03", (2, 1), (0, 0)),
        "active_campaigns": 1, "active_journeys": 1,
        "segments": segments,
    });
    wait_until("the receipts are on the timelines", || async {
        overview(&app).await["events_today"] == 6
    })
    .await;
    assert_eq!(numbers(overview(&app).await), today);

    // An analyst reads the dashboard too.
    let analyst = operator(&app, "ana@brand.cn", "analyst").await;
    let (status, seen) = analyst.get(&app, "/v1/stats/overview").await;
    assert_eq!((status, numbers(seen)), (200, today.clone()));

    // The counts come back whole after a restart (the simulated clock starts over at
    // the same moment).
    app.stop().await;
    app.start();
    wait_until("the server answers again", || async {
        app.get("/v1/stats/overview").await.0 == 200
    })
    .await;
    assert_eq!(numbers(overview(&app).await), today);

    // The next day starts from zero; the week keeps yesterday's messages.
    ok(&app, Method::POST, "/v1/clock", json!({"advance": "P1D"})).await;
    let next_day = json!({
        "today": "2026-12-04", "time_zone": "Asia/Shanghai",
        "events_today": 0, "new_profiles_today": 0, "profiles_total": 3,
        "messages_sent_today": 0, "messages_delivered_today": 0,
        "messages_by_day": week("2026-12-04", (0, 0), (2, 1)),
        "active_campaigns": 1, "active_journeys": 1,
        "segments": segments,
    });
    assert_eq!(numbers(overview(&app).await), next_day);
}

#[tokio::test]
async fn a_key_without_audience_reads_is_refused_the_overview() {
    let app = TestApp::spawn().await;
    let (status, key) = app
        .send(
            Method::POST,
            "/v1/keys",
            &json!({"kind": "api", "scopes": ["profiles:read"]}),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let answer = app
        .http
        .get(app.url("/v1/stats/overview"))
        .bearer_auth(key["key"].as_str().expect("the secret"))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 403);
    let (status, empty) = app.get("/v1/stats/overview").await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        (
            &empty["events_today"],
            &empty["profiles_total"],
            &empty["time_zone"]
        ),
        (&json!(0), &json!(0), &json!("UTC"))
    );
    assert_eq!(empty["messages_by_day"].as_array().map(Vec::len), Some(7));
}
