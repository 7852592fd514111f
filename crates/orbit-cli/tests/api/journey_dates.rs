//! Date and schedule entries on the simulated clock (scenario 6 and seed 002): a
//! year after a purchase, birthdays at 09:00 local time with late greetings skipped
//! after downtime, and a weekly schedule over a segment.

use crate::helpers::{TestApp, wait_until};
use crate::journey_support::{events, gateway, in_shanghai, ok, receiver, report, sent, set_clock, texts};
use orbit_test_support::webhook::WebhookReceiver;
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "journey-dates-webhook-secret-0123";

/// Starts a server in Shanghai's time zone with a webhook account standing in for
/// the SMS gateway and one template per message.
async fn shanghai_app(hook: &WebhookReceiver, at: &str, templates: &[(&str, &str)]) -> TestApp {
    let app = TestApp::spawn_with(&["--simulated-clock", at, "--egress-allow", "127.0.0.1/32"]).await;
    in_shanghai(&app).await;
    gateway(&app, hook, "/sms", SECRET).await;
    texts(&app, "transactional", templates).await;
    app
}

/// Creates and publishes a journey that sends one template and leaves.
async fn publish_sender(app: &TestApp, id: &str, entry: Value, template: &str, extra: Value) {
    let mut journey = json!({
        "id": id, "name": id, "entry": entry, "start": "send",
        "nodes": {"send": {"type": "send", "messages": [{"template": template}], "next": "done"},
                  "done": {"type": "exit"}}
    });
    if let (Some(journey), Some(extra)) = (journey.as_object_mut(), extra.as_object()) {
        journey.extend(extra.clone());
    }
    ok(app, Method::POST, "/v1/journeys", journey).await;
    ok(
        app,
        Method::POST,
        &format!("/v1/journeys/{id}/publish"),
        json!({}),
    )
    .await;
}

/// Who received what, and when, in order of arrival.
fn received(hook: &WebhookReceiver) -> Vec<(String, String, String)> {
    crate::journey_support::received(hook, "/sms")
}

async fn restart_at(app: &mut TestApp, at: &str) {
    app.kill();
    app.set_args(&["--simulated-clock", at, "--egress-allow", "127.0.0.1/32"]);
    app.start();
}

/// Scenario 6: one year after an air-conditioner order, a cleaning-service SMS at
/// 10:00 local time, through a restart in between; other orders start nothing.
#[tokio::test]
async fn a_year_after_an_air_conditioner_order_the_cleaning_offer_goes_out_at_ten() {
    let hook = receiver(SECRET).await;
    // 2026-03-14 14:30 in Shanghai.
    let mut app = shanghai_app(
        &hook,
        "2026-03-14T06:30:00Z",
        &[("ac-clean", "空调清洗服务 8 折")],
    )
    .await;
    publish_sender(
        &app,
        "ac-care",
        json!({"type": "date", "repeat": "after", "offset": "P1Y", "time_of_day": "10:00",
               "from": {"kind": "event", "event": "order_paid", "filters": [
                   {"property": "category", "value_type": "string", "op": "eq", "value": "空调"}]}}),
        "ac-clean",
        json!({}),
    )
    .await;
    events(
        &app,
        json!([
            {"type": "track", "event": "order_paid", "user_id": "mei", "properties": {"category": "空调"}},
            {"type": "track", "event": "order_paid", "user_id": "lei", "properties": {"category": "电视"}}
        ]),
    )
    .await;
    set_clock(&app, "2026-09-01T00:00:00Z").await;
    // The date is stored: a restart half-way through the year keeps it.
    restart_at(&mut app, "2026-09-01T00:00:00Z").await;
    set_clock(&app, "2027-03-14T01:59:59Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(received(&hook), vec![], "nothing before 10:00");
    set_clock(&app, "2027-03-14T02:00:00Z").await;
    wait_until("the cleaning offer arrives", || async {
        !received(&hook).is_empty()
    })
    .await;
    set_clock(&app, "2028-03-14T02:00:00Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        received(&hook),
        vec![sent("mei", "空调清洗服务 8 折", "2027-03-14T02:00:00Z")],
        "once, a year after, at 10:00 Shanghai time"
    );
    let report = report(&app, "ac-care").await;
    assert_eq!(
        (report["entered"].clone(), report["exited"].clone()),
        (json!(1), json!({"completed": 1}))
    );
}

/// Scenario 6: birthday greetings at 09:00 in each person's own time zone, every
/// year; after downtime a greeting up to 6 hours late still goes out, a later one is
/// skipped and recorded as late.
#[tokio::test]
async fn birthday_greetings_go_out_at_nine_local_and_more_than_six_hours_late_are_skipped() {
    let hook = receiver(SECRET).await;
    let mut app = shanghai_app(
        &hook,
        "2026-12-07T00:00:00Z",
        &[("birthday", "生日快乐，送你一张蛋糕券")],
    )
    .await;
    events(
        &app,
        json!([
            {"type": "identify", "user_id": "lei", "traits": {"birthday": "1992-12-08"}},
            {"type": "identify", "user_id": "mei", "traits": {"birthday": "1990-12-08", "time_zone": "Europe/Berlin"}},
            {"type": "identify", "user_id": "wang", "traits": {"birthday": "1985-12-09"}},
            {"type": "identify", "user_id": "zhao", "traits": {"birthday": "not a date"}}
        ]),
    )
    .await;
    publish_sender(
        &app,
        "birthday",
        json!({"type": "date", "from": {"kind": "trait", "trait": "birthday"}, "repeat": "anniversary",
               "time_of_day": "09:00", "lateness_limit": "PT6H"}),
        "birthday",
        json!({}),
    )
    .await;
    // Someone who tells us their birthday after publication is greeted too, and so is
    // someone whose birthday an operator corrects through the API (no event).
    events(
        &app,
        json!([{"type": "identify", "user_id": "sun", "traits": {"birthday": "2001-12-08"}}]),
    )
    .await;
    let zhao = app.profile_by("user_id:zhao").await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    ok(
        &app,
        Method::PATCH,
        &format!("/v1/profiles/{zhao}/traits"),
        json!({"birthday": "1995-12-08"}),
    )
    .await;

    // Lei, Sun and Zhao: 09:00 in Shanghai is 01:00 UTC.
    set_clock(&app, "2026-12-08T00:59:59Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(received(&hook), vec![], "nothing before 09:00");
    set_clock(&app, "2026-12-08T01:00:00Z").await;
    wait_until("three greetings", || async { received(&hook).len() == 3 }).await;

    // Down from 02:00 to 10:00 UTC: Mei's 09:00 in Berlin (08:00 UTC) is two hours
    // late at the restart, within the limit.
    set_clock(&app, "2026-12-08T02:00:00Z").await;
    restart_at(&mut app, "2026-12-08T10:00:00Z").await;
    wait_until("Mei's late greeting", || async { received(&hook).len() == 4 }).await;

    // Down again past Wang's 09:00 (01:00 UTC on the 9th) by seven hours: skipped.
    restart_at(&mut app, "2026-12-09T08:00:00Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut first_year = received(&hook);
    first_year.sort();
    assert_eq!(
        first_year,
        vec![
            sent("lei", "生日快乐，送你一张蛋糕券", "2026-12-08T01:00:00Z"),
            sent("mei", "生日快乐，送你一张蛋糕券", "2026-12-08T10:00:00Z"),
            sent("sun", "生日快乐，送你一张蛋糕券", "2026-12-08T01:00:00Z"),
            sent("zhao", "生日快乐，送你一张蛋糕券", "2026-12-08T01:00:00Z"),
        ]
    );
    let report = report(&app, "birthday").await;
    assert_eq!(report["entered"], json!(5), "{report}");
    assert_eq!(report["exited"], json!({"completed": 4, "late": 1}), "{report}");

    // A year later everyone is greeted again, once, each at their own 09:00.
    set_clock(&app, "2027-12-08T01:00:00Z").await;
    wait_until("Lei's, Sun's and Zhao's", || async { received(&hook).len() == 7 }).await;
    set_clock(&app, "2027-12-08T08:00:00Z").await;
    wait_until("Mei's", || async { received(&hook).len() == 8 }).await;
    set_clock(&app, "2027-12-09T01:00:00Z").await;
    wait_until("Wang's", || async { received(&hook).len() == 9 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second_year: Vec<(String, String, String)> = received(&hook).into_iter().skip(4).collect();
    let mut who: Vec<String> = second_year.iter().map(|(user, _, _)| user.clone()).collect();
    who.sort();
    assert_eq!(who, vec!["lei", "mei", "sun", "wang", "zhao"]);
    let wang = second_year
        .iter()
        .find(|(user, _, _)| user == "wang")
        .map(|(_, _, at)| at.clone());
    assert_eq!(wang.as_deref(), Some("2027-12-09T01:00:00Z"));
}

/// A weekly schedule over a segment: every member at Monday 10:00 Shanghai time,
/// new members the week after (once ever), and a Monday missed while down done once
/// at start-up.
#[tokio::test]
async fn a_weekly_schedule_enters_the_segment_every_monday_at_ten() {
    let hook = receiver(SECRET).await;
    // Monday 2026-12-07, 09:00 in Shanghai.
    let mut app = shanghai_app(&hook, "2026-12-07T01:00:00Z", &[("weekly", "本周会员日")]).await;
    ok(
        &app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
    let member = |user: &str| json!({"type": "identify", "user_id": user, "traits": {"plan": "gold"}});
    events(&app, json!([member("mei"), member("lei")])).await;
    events(
        &app,
        json!([{"type": "identify", "user_id": "wang", "traits": {"plan": "silver"}}]),
    )
    .await;
    publish_sender(
        &app,
        "members-day",
        json!({"type": "schedule", "segment": "gold", "cron": "0 10 * * MON"}),
        "weekly",
        json!({}),
    )
    .await;
    set_clock(&app, "2026-12-07T01:59:59Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(received(&hook), vec![]);
    set_clock(&app, "2026-12-07T02:00:00Z").await;
    wait_until("the first Monday", || async { received(&hook).len() == 2 }).await;

    events(&app, json!([member("zhao")])).await;
    set_clock(&app, "2026-12-14T02:00:00Z").await;
    wait_until("the second Monday", || async { received(&hook).len() == 3 }).await;

    // Sun joins; the server is down over two Mondays and does the latest once.
    events(&app, json!([member("sun")])).await;
    set_clock(&app, "2026-12-15T00:00:00Z").await;
    restart_at(&mut app, "2026-12-29T00:00:00Z").await;
    wait_until("the missed Monday", || async { received(&hook).len() == 4 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut got = received(&hook);
    got.sort();
    assert_eq!(
        got,
        vec![
            sent("lei", "本周会员日", "2026-12-07T02:00:00Z"),
            sent("mei", "本周会员日", "2026-12-07T02:00:00Z"),
            sent("sun", "本周会员日", "2026-12-29T00:00:00Z"),
            sent("zhao", "本周会员日", "2026-12-14T02:00:00Z"),
        ]
    );
}
