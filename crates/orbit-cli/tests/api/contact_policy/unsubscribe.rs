//! Unsubscribes through the consent API: decided when a message goes, not when its
//! run was written; per topic; and never stopping service messages unless the
//! channel is blocked.

use super::{
    counts, hook, launch, member, ok, profile_id, report, sent_by_channel, set_clock, simulated, totals,
    users_of, wait_completed, workspace,
};
use crate::helpers::{TestApp, wait_until};
use orbit_test_support::twilio::{Answer, Twilio};
use reqwest::Method;
use serde_json::{Value, json};

/// Noon in Shanghai.
const NOON: &str = "2026-11-23T04:00:00Z";

async fn consent(app: &TestApp, user: &str, change: Value) {
    let profile = profile_id(app, user).await;
    ok(
        app,
        Method::POST,
        &format!("/v1/profiles/{profile}/consent"),
        change,
    )
    .await;
}

#[tokio::test]
async fn a_person_who_unsubscribes_after_the_run_is_written_is_never_sent_marketing() {
    let hook = hook().await;
    let app = simulated(NOON).await;
    workspace(&app, Some(&hook), None).await;
    for user in ["mei", "lei", "kai"] {
        member(&app, user, json!({})).await;
    }
    // One a minute: the first goes now, the others wait for the clock.
    launch(&app, "weekly", &["hook"], json!({"throttle_per_minute": 1})).await;
    wait_until("the first message went", || async {
        totals(&report(&app, "weekly").await).get("sent") == Some(&1)
    })
    .await;
    let first = users_of(&hook, "weekly");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        totals(&report(&app, "weekly").await),
        counts(&[("sent", 1), ("pending", 2)]),
        "the other rows are written and waiting"
    );
    let waiting: Vec<&str> = ["kai", "lei", "mei"]
        .into_iter()
        .filter(|u| *u != first[0])
        .collect();
    let (leaving, staying) = (waiting[0], waiting[1]);
    consent(&app, leaving, json!({"status": "unsubscribed"})).await;

    set_clock(&app, "2026-11-23T04:02:00Z").await;
    wait_completed(&app, "weekly").await;
    let mut expected = vec![first[0].clone(), staying.to_owned()];
    expected.sort();
    assert_eq!(users_of(&hook, "weekly"), expected);
    assert_eq!(
        totals(&report(&app, "weekly").await),
        counts(&[("sent", 2), ("unsubscribed", 1)]),
        "the queued row ends suppressed"
    );
}

#[tokio::test]
async fn leaving_one_topic_stops_that_topic_only() {
    let hook = hook().await;
    let app = simulated(NOON).await;
    workspace(&app, Some(&hook), None).await;
    for user in ["mei", "lei"] {
        member(&app, user, json!({})).await;
    }
    consent(
        &app,
        "mei",
        json!({"topic": "newsletter", "status": "unsubscribed"}),
    )
    .await;
    launch(&app, "digest", &["hook"], json!({"topic": "newsletter"})).await;
    launch(&app, "sale", &["hook"], json!({"topic": "promotions"})).await;
    wait_completed(&app, "digest").await;
    wait_completed(&app, "sale").await;
    assert_eq!(users_of(&hook, "digest"), vec!["lei".to_owned()]);
    assert_eq!(
        totals(&report(&app, "digest").await),
        counts(&[("sent", 1), ("unsubscribed", 1)])
    );
    assert_eq!(users_of(&hook, "sale"), vec!["lei".to_owned(), "mei".to_owned()]);
}

#[tokio::test]
async fn service_messages_reach_the_unsubscribed_but_not_a_blocked_channel() {
    let hook = hook().await;
    let twilio = Twilio::start(Answer::Created).await;
    let app = simulated(NOON).await;
    workspace(&app, Some(&hook), Some(&twilio)).await;
    member(&app, "mei", json!({"phone": "13800138000"})).await;
    member(&app, "lei", json!({"phone": "13900139000"})).await;
    member(&app, "kai", json!({"phone": "13700137000"})).await;
    // 退订 everything; 回复TD on SMS; blocked everywhere (a complaint).
    consent(&app, "mei", json!({"status": "unsubscribed"})).await;
    consent(&app, "lei", json!({"channel": "sms", "status": "blocked"})).await;
    consent(&app, "kai", json!({"status": "blocked"})).await;

    launch(&app, "sale", &["text", "hook"], json!({})).await;
    wait_completed(&app, "sale").await;
    assert_eq!(
        totals(&report(&app, "sale").await),
        counts(&[("sent", 1), ("blocked", 1), ("unsubscribed", 1)])
    );
    assert_eq!(
        users_of(&hook, "sale"),
        vec!["lei".to_owned()],
        "a block on SMS leaves Lei's webhook open to marketing"
    );

    launch(
        &app,
        "order-shipped",
        &["text", "hook-service"],
        json!({"class": "transactional"}),
    )
    .await;
    wait_completed(&app, "order-shipped").await;
    let texted: Vec<String> = twilio.texts().into_iter().map(|t| t.to).collect();
    assert_eq!(texted, vec!["+8613800138000".to_owned()], "only Mei by SMS");
    assert_eq!(
        users_of(&hook, "order-shipped"),
        vec!["lei".to_owned()],
        "Lei's SMS is blocked: the next channel"
    );
    let shipped = report(&app, "order-shipped").await;
    assert_eq!(
        totals(&shipped),
        counts(&[("sent", 2), ("blocked", 1)]),
        "{shipped}"
    );
    assert_eq!(sent_by_channel(&shipped), counts(&[("sms", 1), ("webhook", 1)]));
}
