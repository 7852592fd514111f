//! Journey nodes that act beyond messages to the person: a call task for the call
//! centre, a signed webhook, a staff notice by email or webhook, a place in a static
//! segment; each done once, and done again after a crash only in ways its receiver
//! recognises (the same task, the same idempotency key, the same `Message-ID`).

use crate::helpers::{TestApp, wait_until};
use crate::journey_support::{gateway, in_shanghai, ok, on_path, received, sent, set_clock, texts, track};
use orbit_test_support::smtp::SmtpServer;
use orbit_test_support::webhook::{Freshness, Reply, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const SECRET: &str = "journey-actions-secret-0123456789";
/// 10:00 in Shanghai on 2026-12-07.
const START: &str = "2026-12-07T02:00:00Z";

async fn profile_id(app: &TestApp, user: &str) -> String {
    let profile = app.profile_by(&format!("user_id:{user}")).await;
    profile["id"].as_str().expect("an id").to_owned()
}

/// Scenario 13, the 4S test drive: reminded at 10:00 the day before the time the
/// booking carries; whoever arrives is welcomed with the hotline and asked for a
/// rating at 10:00 the next day; a no-show becomes a call task; a rating of 7 or more
/// is thanked and makes a promoter (a static segment), less gets an apology SMS, is
/// posted to the CRM as an apology case, and the dealer's manager, read from a trait,
/// is told by email.
fn test_drive(crm: &str) -> Value {
    json!({
        "id": "test-drive", "name": "4S 试驾",
        "entry": {"type": "event", "event": "test_drive_booked", "key": "booking_id"},
        "start": "eve",
        "nodes": {
            "eve": {"type": "wait_until", "until": {"kind": "entry_property", "property": "booked_at",
                    "offset": "-P1D", "time": "10:00"}, "next": "remind"},
            "remind": {"type": "send", "class": "transactional",
                       "messages": [{"template": "drive-reminder"}], "next": "arrival"},
            "arrival": {"type": "wait_for_event", "event": "store_arrived", "same_key": true,
                        "timeout": "P2D", "on_event": "welcome", "on_timeout": "call"},
            "welcome": {"type": "send", "class": "transactional",
                        "messages": [{"template": "welcome-hotline"}], "next": "next_day"},
            "next_day": {"type": "wait_until", "until": {"kind": "time_of_day", "time": "10:00", "days_later": 1},
                         "next": "ask"},
            "ask": {"type": "send", "class": "transactional",
                    "messages": [{"template": "rate-drive"}], "next": "rating"},
            "call": {"type": "call_task", "purpose": "客户未到店：电话邀约再次试驾", "next": "done"},
            "rating": {"type": "wait_for_event", "event": "drive_rated", "timeout": "P3D",
                       "on_event": "score", "on_timeout": "done"},
            "score": {"type": "branch", "paths": [{"name": "happy", "condition": {"type": "wait_event",
                      "filter": {"property": "score", "value_type": "number", "op": "gte", "value": 7}},
                      "next": "thanks"}], "default": "sorry"},
            "thanks": {"type": "send", "class": "transactional",
                       "messages": [{"template": "drive-thanks"}], "next": "promoter"},
            "promoter": {"type": "add_to_segment", "segment": "promoters", "next": "done"},
            "sorry": {"type": "send", "class": "transactional",
                      "messages": [{"template": "drive-apology"}], "next": "apology"},
            "apology": {"type": "webhook", "url": crm, "next": "manager"},
            "manager": {"type": "notify_staff", "to": {"kind": "trait", "trait": "dealer_manager_email"},
                        "subject": "{{ profile.traits.name }}在{{ event.store }}试驾后打了低分",
                        "next": "done"},
            "done": {"type": "exit"}
        }
    })
}

/// The SMS gateway (a webhook account, which also signs journeys' posts), the SMTP
/// relay, the templates, the promoters segment and the people.
async fn dealership(app: &TestApp, hook: &WebhookReceiver, smtp: &SmtpServer) {
    in_shanghai(app).await;
    gateway(app, hook, "/sms", SECRET).await;
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "mail", "name": "邮件", "config": {"provider": "smtp", "host": "127.0.0.1",
               "port": smtp.addr.port(), "security": "none", "from_address": "journeys@dealer.example"}}),
    )
    .await;
    texts(
        app,
        "transactional",
        &[
            ("drive-reminder", "明天试驾"),
            ("welcome-hotline", "欢迎到店，投诉热线 400-800"),
            ("rate-drive", "请为昨天的试驾打分"),
            ("drive-thanks", "感谢您的好评"),
            ("drive-apology", "抱歉没让您满意，经理会联系您"),
        ],
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "promoters", "name": "推荐者", "type": "static", "members": []}),
    )
    .await;
    for (user, name, phone) in [
        ("mei", "小美", "+8613800138001"),
        ("lei", "小雷", "+8613800138002"),
        ("wang", "小王", "+8613800138003"),
    ] {
        let traits = json!({"name": name, "phone": phone, "dealer_manager_email": "manager@dealer.example"});
        ok(
            app,
            Method::POST,
            "/v1/events",
            json!({"events": [{"type": "identify", "user_id": user, "traits": traits}]}),
        )
        .await;
    }
}

async fn call_tasks(app: &TestApp) -> Vec<Value> {
    let page = ok(app, Method::GET, "/v1/call-tasks", Value::Null).await;
    page["tasks"].as_array().cloned().unwrap_or_default()
}

async fn promoters(app: &TestApp) -> Vec<String> {
    let page = ok(app, Method::GET, "/v1/segments/promoters/members", Value::Null).await;
    page["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["profile_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn message_id(message: &orbit_test_support::smtp::Received) -> (String, String, String) {
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .expect("a MIME message");
    (
        parsed.message_id().expect("a Message-ID").to_owned(),
        parsed.subject().expect("a subject").to_owned(),
        parsed.body_text(0).expect("a text part").into_owned(),
    )
}

#[tokio::test]
async fn the_test_drive_files_a_call_task_posts_the_apology_tells_the_manager_and_keeps_the_promoters() {
    // The CRM is briefly down: its first answer is a 503, so the post is retried.
    let crm_calls = Arc::new(AtomicUsize::new(0));
    let counted = crm_calls.clone();
    let hook = WebhookReceiver::builder(SECRET)
        .freshness(Freshness::Unchecked)
        .reply(move |d| {
            if d.path == "/crm/apology" && counted.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(503)
            } else {
                Reply::default()
            }
        })
        .start()
        .await;
    let smtp = SmtpServer::builder().start().await;
    let mut app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    dealership(&app, &hook, &smtp).await;
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        test_drive(&hook.url("/crm/apology")),
    )
    .await;
    ok(&app, Method::POST, "/v1/journeys/test-drive/publish", json!({})).await;

    // Booked for 14:00 on 9 December; the store is the entry event's.
    for user in ["mei", "lei", "wang"] {
        track(
            &app,
            user,
            "test_drive_booked",
            json!({"booking_id": format!("b-{user}"), "booked_at": "2026-12-09T06:00:00Z", "store": "4S旗舰店"}),
        )
        .await;
    }
    wait_until("the three bookings enter", || async {
        let report = ok(&app, Method::GET, "/v1/journeys/test-drive/report", Value::Null).await;
        report["entered"] == 3
    })
    .await;
    set_clock(&app, "2026-12-08T02:00:00Z").await;
    wait_until("three reminders go out", || async {
        on_path(&hook, "/sms").len() == 3
    })
    .await;

    // Lei and Wang arrive; Mei does not.
    set_clock(&app, "2026-12-09T06:00:00Z").await;
    track(&app, "lei", "store_arrived", json!({"booking_id": "b-lei"})).await;
    track(&app, "wang", "store_arrived", json!({"booking_id": "b-wang"})).await;
    wait_until("two welcomes go out", || async {
        on_path(&hook, "/sms").len() == 5
    })
    .await;
    assert!(
        call_tasks(&app).await.is_empty(),
        "nobody is called before the wait is over"
    );
    // 10:00 the day after the visit: the rating requests; and the no-show's two days
    // are up at the same moment.
    set_clock(&app, "2026-12-10T02:00:00Z").await;
    wait_until("two rating requests go out", || async {
        on_path(&hook, "/sms").len() == 7
    })
    .await;
    let tasks = call_tasks(&app).await;
    let mei = profile_id(&app, "mei").await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = tasks[0].clone();
    assert_eq!(
        (
            task["profile_id"].as_str(),
            task["phone"].as_str(),
            task["script"].as_str(),
            task["status"].as_str(),
            &task["campaign"]
        ),
        (
            Some(mei.as_str()),
            Some("+8613800138001"),
            Some("客户未到店：电话邀约再次试驾"),
            Some("open"),
            &Value::Null
        ),
        "{task}"
    );

    // Lei is happy and becomes a promoter; Wang is not.
    track(&app, "lei", "drive_rated", json!({"score": 9})).await;
    track(&app, "wang", "drive_rated", json!({"score": 4})).await;
    let lei = profile_id(&app, "lei").await;
    let wang = profile_id(&app, "wang").await;
    wait_until("Lei is a promoter", || async {
        promoters(&app).await == vec![lei.clone()]
    })
    .await;
    wait_until("the manager's email arrives", || async {
        smtp.messages().len() == 1
    })
    .await;
    wait_until("the apology is posted, the 503 retried", || async {
        on_path(&hook, "/crm/apology").len() == 2
    })
    .await;
    wait_until("the thanks and the apology go out", || async {
        on_path(&hook, "/sms").len() == 9
    })
    .await;
    let mut sms = received(&hook, "/sms");
    sms.sort();
    let at = sent;
    assert_eq!(
        sms,
        vec![
            at("lei", "感谢您的好评", "2026-12-10T02:00:00Z"),
            at("lei", "明天试驾", "2026-12-08T02:00:00Z"),
            at("lei", "欢迎到店，投诉热线 400-800", "2026-12-09T06:00:00Z"),
            at("lei", "请为昨天的试驾打分", "2026-12-10T02:00:00Z"),
            at("mei", "明天试驾", "2026-12-08T02:00:00Z"),
            at("wang", "抱歉没让您满意，经理会联系您", "2026-12-10T02:00:00Z"),
            at("wang", "明天试驾", "2026-12-08T02:00:00Z"),
            at("wang", "欢迎到店，投诉热线 400-800", "2026-12-09T06:00:00Z"),
            at("wang", "请为昨天的试驾打分", "2026-12-10T02:00:00Z"),
        ],
        "who received what, and when"
    );

    let apology = on_path(&hook, "/crm/apology");
    assert_eq!(
        apology
            .iter()
            .map(|d| d.status.map(|s| s.as_u16()))
            .collect::<Vec<_>>(),
        vec![Some(503), Some(200)]
    );
    let key = apology[0].idempotency_key().to_owned();
    assert_eq!(key.len(), 32, "the effect's id: {key}");
    assert_eq!(apology[1].idempotency_key(), key, "a retry carries the same key");
    let body = &apology[1].body;
    assert_eq!(body["type"], "journey_webhook");
    assert_eq!(body["id"], key.as_str());
    assert_eq!(
        (
            &body["journey"],
            &body["version"],
            &body["node"],
            &body["profile_id"]
        ),
        (&json!("test-drive"), &json!(1), &json!("apology"), &json!(wang)),
        "{body}"
    );
    assert!(body["entry"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    assert_eq!(body["traits"]["name"], "小王");
    assert!(
        body["identities"]
            .as_array()
            .is_some_and(|ids| ids.contains(&json!({"type": "user_id", "value": "wang"}))),
        "{body}"
    );
    assert_eq!(body["entry_event"]["name"], "test_drive_booked");
    assert_eq!(body["entry_event"]["properties"]["booking_id"], "b-wang");

    let mail = smtp.messages();
    assert_eq!(mail[0].rcpt_to, vec!["manager@dealer.example".to_owned()]);
    let (first_message_id, subject, text) = message_id(&mail[0]);
    assert_eq!(subject, "小王在4S旗舰店试驾后打了低分");
    assert!(
        text.contains("test-drive") && text.contains(&wang) && text.contains("b-wang"),
        "{text}"
    );

    let report = ok(&app, Method::GET, "/v1/journeys/test-drive/report", Value::Null).await;
    assert_eq!(report["exited"], json!({"completed": 3}), "{report}");

    // A crash after the effects were done and before they were marked done: every one
    // is done again on restart, and each is recognised as the same.
    let (_, clock) = app.get("/v1/clock").await;
    let now = clock["now"].as_str().expect("now").to_owned();
    app.stop().await;
    forget_effects_were_done(&app).await;
    app.set_args(&["--simulated-clock", &now, "--egress-allow", "127.0.0.1/32"]);
    app.start();
    wait_until("the apology is posted again", || async {
        on_path(&hook, "/crm/apology").len() == 3
    })
    .await;
    wait_until("the manager's email is sent again", || async {
        smtp.messages().len() == 2
    })
    .await;
    let apology = on_path(&hook, "/crm/apology");
    assert_eq!(
        apology[2].idempotency_key(),
        key,
        "the repeat carries the same key"
    );
    let (second_message_id, _, _) = message_id(&smtp.messages()[1]);
    assert_eq!(
        second_message_id, first_message_id,
        "the repeat is the same email"
    );
    assert_eq!(call_tasks(&app).await, tasks, "the same one task");
    assert_eq!(promoters(&app).await, vec![lei.clone()]);
    assert_eq!(
        on_path(&hook, "/sms").len(),
        9,
        "the ledger holds each message once"
    );
}

/// Marks every journey effect not done, as a crash between doing and marking leaves
/// them; the server is stopped.
async fn forget_effects_were_done(app: &TestApp) {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(app.dir.path().join("orbit.db"));
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("the database opens");
    let changed = sqlx::query("UPDATE journey_effects SET done_at = NULL")
        .execute(&mut db)
        .await
        .expect("effects updated")
        .rows_affected();
    assert!(changed > 0);
    db.close().await.expect("closed");
}

#[tokio::test]
async fn a_refusing_receiver_is_not_retried_and_notices_go_where_they_can() {
    let hook = WebhookReceiver::builder(SECRET)
        .reply(|d| {
            if d.path == "/crm" {
                Reply::status(410)
            } else {
                Reply::default()
            }
        })
        .start()
        .await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    ok(
        &app,
        Method::POST,
        "/v1/channels",
        json!({"id": "hooks", "name": "回调", "config": {"provider": "webhook", "url": hook.url("/default"),
               "secret": SECRET}}),
    )
    .await;

    // An internal address the operator did not allow is refused at publication, as a
    // provider webhook's is.
    let journey = |crm: &str| {
        json!({
            "id": "complaints", "name": "投诉",
            "entry": {"type": "event", "event": "complaint_filed"},
            "start": "crm",
            "nodes": {
                "crm": {"type": "webhook", "url": crm, "next": "desk"},
                "desk": {"type": "notify_staff", "to": {"kind": "webhook", "url": hook.url("/desk")},
                         "subject": "投诉：{{ profile.traits.name }}（{{ event.topic }}）", "next": "boss"},
                "boss": {"type": "notify_staff", "to": {"kind": "entry_property", "property": "manager_email"},
                         "subject": "投诉", "next": "done"},
                "done": {"type": "exit"}
            }
        })
    };
    ok(
        &app,
        Method::POST,
        "/v1/journeys",
        journey("http://10.20.30.40/crm"),
    )
    .await;
    let (status, refused) = app
        .send(Method::POST, "/v1/journeys/complaints/publish", &json!({}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_journey");
    assert_eq!(refused["error"]["field"], "nodes.crm.url");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--egress-allow")),
        "{refused}"
    );

    ok(
        &app,
        Method::PUT,
        "/v1/journeys/complaints",
        journey(&hook.url("/crm")),
    )
    .await;
    ok(&app, Method::POST, "/v1/journeys/complaints/publish", json!({})).await;
    ok(
        &app,
        Method::POST,
        "/v1/events",
        json!({"events": [{"type": "identify", "user_id": "mei", "traits": {"name": "小美"}}]}),
    )
    .await;
    track(&app, "mei", "complaint_filed", json!({"topic": "售后"})).await;
    wait_until("Mei's complaint leaves the journey", || async {
        let report = ok(&app, Method::GET, "/v1/journeys/complaints/report", Value::Null).await;
        report["exited"] == json!({"completed": 1})
    })
    .await;

    wait_until("the desk is told", || async {
        !on_path(&hook, "/desk").is_empty()
    })
    .await;
    let desk = on_path(&hook, "/desk");
    assert_eq!(desk[0].body["type"], "staff_notice");
    assert_eq!(desk[0].body["subject"], "投诉：小美（售后）");
    assert_eq!(desk[0].body["node"], "desk");
    // A later event makes the runner do a round again: the 410 is not retried.
    track(&app, "mei", "page_viewed", json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let crm = on_path(&hook, "/crm");
    assert_eq!(crm.len(), 1, "a 4xx is final: {crm:?}");
    assert_ne!(crm[0].idempotency_key(), desk[0].idempotency_key());
    assert_eq!(hook.count(), 2, "the notice with no address went nowhere");
}

/// A receiver that never answers holds up its own posts only: another journey's
/// message reaches the ledger and the gateway while the post still waits.
#[tokio::test]
async fn a_receiver_that_never_answers_delays_no_other_journey() {
    let hook = WebhookReceiver::builder(SECRET)
        .freshness(Freshness::Unchecked)
        .reply(|d| {
            if d.path == "/stuck" {
                Reply::never()
            } else {
                Reply::default()
            }
        })
        .start()
        .await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    gateway(&app, &hook, "/sms", SECRET).await;
    texts(&app, "transactional", &[("hello", "欢迎")]).await;
    for (id, event, node) in [
        (
            "crm-sync",
            "complaint_filed",
            json!({"type": "webhook", "url": hook.url("/stuck"), "next": "done"}),
        ),
        (
            "welcome",
            "signed_up",
            json!({"type": "send", "messages": [{"template": "hello"}], "next": "done"}),
        ),
    ] {
        ok(
            &app,
            Method::POST,
            "/v1/journeys",
            json!({"id": id, "name": id, "entry": {"type": "event", "event": event}, "start": "act",
                   "nodes": {"act": node, "done": {"type": "exit"}}}),
        )
        .await;
        ok(
            &app,
            Method::POST,
            &format!("/v1/journeys/{id}/publish"),
            json!({}),
        )
        .await;
    }
    track(&app, "mei", "complaint_filed", json!({})).await;
    wait_until("the stuck post is under way", || async {
        !on_path(&hook, "/stuck").is_empty()
    })
    .await;
    track(&app, "lei", "signed_up", json!({})).await;
    // The post waits for its 10-second timeout, four times; the welcome does not.
    crate::helpers::wait_until_within(
        std::time::Duration::from_secs(5),
        "Lei's welcome arrives",
        || async { !on_path(&hook, "/sms").is_empty() },
    )
    .await;
    assert_eq!(on_path(&hook, "/sms")[0].field("user"), "lei");
}
