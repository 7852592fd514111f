//! Journeys follow the person, on the simulated clock: the path each entry took on
//! their profile, runs carried over when OneID merges two profiles, and an erased
//! person taken out of every journey.

use crate::helpers::{TestApp, wait_until};
use crate::journey_support::{advance, chongqing_journey, events, gateway, ok, receiver, texts};
use orbit_test_support::webhook::WebhookReceiver;
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "journey-webhook-secret-0123456789";
/// 10:00 in Chongqing (UTC+8) on 2026-12-07.
const START: &str = "2026-12-07T02:00:00Z";

/// An event of a known member (`user_id`) or an anonymous visitor (`anonymous_id`).
async fn track(app: &TestApp, who: (&str, &str), event: &str, properties: Value) {
    let (kind, id) = who;
    events(
        app,
        json!([{"type": "track", "event": event, kind: id, "properties": properties}]),
    )
    .await;
}

fn member(id: &str) -> (&'static str, &str) {
    ("user_id", id)
}

fn visitor(id: &str) -> (&'static str, &str) {
    ("anonymous_id", id)
}

/// Identifies a member, and links the anonymous visitor they were when given.
async fn identify(app: &TestApp, user: &str, anonymous: Option<&str>) {
    let mut event = json!({"type": "identify", "user_id": user});
    if let Some(anonymous) = anonymous {
        event["anonymous_id"] = json!(anonymous);
    }
    events(app, json!([event])).await;
}

/// A webhook account standing in for the SMS gateway, and the coupon's template.
async fn workspace(app: &TestApp, hook: &WebhookReceiver) {
    gateway(app, hook, "/sms", SECRET).await;
    texts(app, "marketing", &[("cq-coupon", "火锅券已到账，今日有效")]).await;
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

async fn report(app: &TestApp, journey: &str) -> Value {
    ok(
        app,
        Method::GET,
        &format!("/v1/journeys/{journey}/report"),
        Value::Null,
    )
    .await
}

fn step(node: &str, outcome: Option<&str>, at: &str) -> Value {
    json!({"node": node, "outcome": outcome, "at": at})
}

/// Seed 004 again: active in Chongqing, no order within 5 minutes → a coupon.
#[tokio::test]
async fn a_person_s_journeys_show_each_node_passed_with_its_outcome_and_time_and_the_exit() {
    let hook = receiver(SECRET).await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    publish(&app, chongqing_journey()).await;
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

/// Two timed waits for an order, then a coupon: people further along have passed more
/// nodes.
fn two_waits() -> Value {
    json!({
        "id": "no-order-twice", "name": "两次未下单",
        "entry": {"type": "event", "event": "app_opened"},
        "start": "first",
        "nodes": {
            "first": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT10M",
                      "on_event": "done", "on_timeout": "second"},
            "second": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT10M",
                       "on_event": "done", "on_timeout": "nudge"},
            "nudge": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
            "done": {"type": "exit"}
        }
    })
}

/// Anonymous visitors are in the journey when they log in as members. Mei was further
/// along herself: one run, one coupon, and the visitor's entry leaves as merged. Zhao
/// was behind his anonymous self: his own entry leaves and the visitor's carries on
/// under him. Lei and Wang were not in the journey: the visitors' entries move to them,
/// Lei's timer fires once under him, and Wang's order ends his wait.
#[tokio::test]
async fn runs_follow_a_merge_the_one_further_along_carrying_on_and_moved_runs_firing_once() {
    let hook = receiver(SECRET).await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    publish(&app, two_waits()).await;
    // Members known before anyone visits: their profiles are the older ones.
    for user in ["lei", "wang", "zhao"] {
        identify(&app, user, None).await;
    }
    advance(&app, "PT1M").await;

    // 02:01: Mei and an anonymous visitor open the app; at 02:11 both wait a second time.
    track(&app, member("mei"), "app_opened", json!({})).await;
    track(&app, visitor("anon-13"), "app_opened", json!({})).await;
    advance(&app, "PT10M").await;
    advance(&app, "PT2M").await;
    // 02:13: three more visitors and Zhao open the app.
    for anonymous in ["anon-7", "anon-9", "anon-11"] {
        track(&app, visitor(anonymous), "app_opened", json!({})).await;
    }
    track(&app, member("zhao"), "app_opened", json!({})).await;
    wait_until("six people are in the journey", || async {
        report(&app, "no-order-twice").await["entered"] == 6
    })
    .await;
    let anon_7 = id_of(&app, "anonymous_id:anon-7").await;
    let anon_9 = id_of(&app, "anonymous_id:anon-9").await;

    identify(&app, "mei", Some("anon-7")).await;
    identify(&app, "lei", Some("anon-9")).await;
    identify(&app, "wang", Some("anon-11")).await;
    identify(&app, "zhao", Some("anon-13")).await;
    track(&app, member("wang"), "order_paid", json!({"amount": 88})).await;
    let mei = id_of(&app, "user_id:mei").await;
    let lei = id_of(&app, "user_id:lei").await;
    assert_eq!(
        id_of(&app, "anonymous_id:anon-9").await,
        lei,
        "the member survives"
    );
    wait_until("the merges and Wang's order are matched", || async {
        report(&app, "no-order-twice").await["exited"] == json!({"completed": 1, "merged": 2})
    })
    .await;

    // 02:21: Mei and Zhao (as the visitor he was) time out of the second wait.
    advance(&app, "PT8M").await;
    wait_until("two coupons arrive", || async { hook.deliveries().len() >= 2 }).await;
    // 02:23: Lei's carried-over entry times out of its first wait, 02:33 of its second.
    advance(&app, "PT2M").await;
    advance(&app, "PT10M").await;
    wait_until("three coupons arrive", || async { hook.deliveries().len() >= 3 }).await;
    advance(&app, "PT1H").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        received(&hook),
        expected(&[
            ("2026-12-07T02:21:00Z", "mei"),
            ("2026-12-07T02:21:00Z", "zhao"),
            ("2026-12-07T02:33:00Z", "lei"),
        ]),
        "one coupon each, from the entry that carried on"
    );

    let report = report(&app, "no-order-twice").await;
    assert_eq!(
        (&report["entered"], &report["in_journey"], &report["exited"]),
        (&json!(6), &json!(0), &json!({"completed": 4, "merged": 2})),
        "{report}"
    );

    // Mei's journeys: the visitor's entry, merged away at its first wait, then her own.
    let mine = journeys_of(&app, &mei).await;
    let states: Vec<(&Value, &Value)> = mine["journeys"]
        .as_array()
        .expect("journeys")
        .iter()
        .map(|j| (&j["profile_id"], &j["state"]))
        .collect();
    let merged_at = "2026-12-07T02:13:00Z";
    assert_eq!(
        states,
        vec![
            (
                &json!(anon_7),
                &json!({"status": "exited", "node": "first", "reason": "merged", "at": merged_at})
            ),
            (
                &json!(mei),
                &json!({"status": "exited", "node": "done", "reason": "completed",
                        "at": "2026-12-07T02:21:00Z"})
            ),
        ],
        "{mine}"
    );

    // Lei's carried-over entry, read by the visitor's id too: the visitor's path, then his.
    let his = journeys_of(&app, &anon_9).await;
    assert_eq!(his, journeys_of(&app, &lei).await);
    assert_eq!(his["profile_id"], json!(lei));
    let entry = &his["journeys"][0];
    assert_eq!(his["journeys"].as_array().map(Vec::len), Some(1), "{his}");
    assert_eq!(entry["profile_id"], json!(lei));
    assert_eq!(entry["entered_at"], json!(merged_at));
    let (timed_out, second_out) = ("2026-12-07T02:23:00Z", "2026-12-07T02:33:00Z");
    assert_eq!(
        entry["path"]["steps"],
        json!([
            step("first", None, merged_at),
            step("first", Some("on_timeout"), timed_out),
            step("second", None, timed_out),
            step("second", Some("on_timeout"), second_out),
            step("nudge", Some("next"), second_out),
            step("done", None, second_out),
        ])
    );
}

/// An erased person leaves every journey at once: the message their timer would have
/// sent never goes, the report counts them as erased, and their journeys are gone.
#[tokio::test]
async fn an_erased_person_leaves_every_journey_and_their_timer_sends_nothing() {
    let hook = receiver(SECRET).await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook).await;
    publish(
        &app,
        json!({
            "id": "trial-reminder", "name": "试用提醒",
            "entry": {"type": "event", "event": "trial_started"},
            "start": "day",
            "nodes": {
                "day": {"type": "wait", "duration": "P1D", "next": "remind"},
                "remind": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
                "done": {"type": "exit"}
            }
        }),
    )
    .await;
    publish(&app, two_waits()).await;
    track(&app, member("mei"), "trial_started", json!({})).await;
    track(&app, member("mei"), "app_opened", json!({})).await;
    track(&app, member("lei"), "trial_started", json!({})).await;
    wait_until("Mei and Lei wait", || async {
        report(&app, "trial-reminder").await["entered"] == 2
            && report(&app, "no-order-twice").await["entered"] == 1
    })
    .await;
    let mei = id_of(&app, "user_id:mei").await;

    let (status, erased) = app
        .send(Method::DELETE, &format!("/v1/profiles/{mei}"), &json!({}))
        .await;
    assert_eq!(status, 200, "{erased}");
    // Straight after the answer, before any clock moves.
    assert_eq!(
        report(&app, "trial-reminder").await["exited"],
        json!({"erased": 1})
    );
    assert_eq!(
        report(&app, "no-order-twice").await["exited"],
        json!({"erased": 1})
    );

    advance(&app, "P1D").await;
    wait_until("Lei's reminder arrives", || async {
        !hook.deliveries().is_empty()
    })
    .await;
    advance(&app, "P1D").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        received(&hook),
        expected(&[("2026-12-08T02:00:00Z", "lei")]),
        "nothing for Mei"
    );
    let trial = report(&app, "trial-reminder").await;
    assert_eq!(
        (&trial["entered"], &trial["in_journey"], &trial["exited"]),
        (&json!(2), &json!(0), &json!({"completed": 1, "erased": 1})),
        "{trial}"
    );
    let (status, gone) = app.get(&format!("/v1/profiles/{mei}/journeys")).await;
    assert_eq!(
        (status, &gone["error"]["code"]),
        (404, &json!("not_found")),
        "{gone}"
    );
}
