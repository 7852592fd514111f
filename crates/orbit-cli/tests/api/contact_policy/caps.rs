//! Frequency caps: marketing messages per person per local day, across channels and
//! per channel, counted in the person's own time zone; transactional messages are
//! neither capped nor counted.

use super::{
    contact_policy, counts, hook, launch, member, report, sent_by_channel, set_clock, simulated, totals,
    users_of, wait_completed, workspace,
};
use orbit_test_support::twilio::{Answer, Twilio};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// 10:00 in Shanghai, 02:00 in London, on Monday 2026-11-23.
const MONDAY_MORNING: &str = "2026-11-23T02:00:00Z";

/// Launches a campaign and waits until it is done.
async fn run(app: &crate::helpers::TestApp, id: &str, templates: &[&str], extra: serde_json::Value) {
    launch(app, id, templates, extra).await;
    wait_completed(app, id).await;
}

#[tokio::test]
async fn a_person_over_the_daily_cap_is_suppressed_until_the_next_local_day() {
    let hook = hook().await;
    let app = simulated(MONDAY_MORNING).await;
    workspace(&app, Some(&hook), None).await;
    contact_policy(&app, "Asia/Shanghai", json!({"daily_cap": 3})).await;
    member(&app, "mei", json!({})).await;
    member(&app, "tom", json!({"time_zone": "Europe/London"})).await;
    let both = vec!["mei".to_owned(), "tom".to_owned()];
    let service = json!({"class": "transactional"});

    // A service message first: it does not use up the day's allowance.
    run(&app, "welcome", &["hook-service"], service.clone()).await;
    for id in ["monday-1", "monday-2", "monday-3"] {
        run(&app, id, &["hook"], json!({})).await;
        assert_eq!(users_of(&hook, id), both, "{id} reaches both");
    }
    run(&app, "monday-4", &["hook"], json!({})).await;
    assert_eq!(
        totals(&report(&app, "monday-4").await),
        counts(&[("frequency_cap", 2)])
    );
    assert_eq!(users_of(&hook, "monday-4"), Vec::<String>::new());
    // Over the cap, service messages still go.
    run(&app, "receipt", &["hook-service"], service).await;
    assert_eq!(users_of(&hook, "receipt"), both);

    // 00:30 on Tuesday in Shanghai is still 16:30 on Monday in London.
    set_clock(&app, "2026-11-23T16:30:00Z").await;
    run(&app, "tuesday", &["hook"], json!({})).await;
    assert_eq!(users_of(&hook, "tuesday"), vec!["mei".to_owned()]);
    assert_eq!(
        totals(&report(&app, "tuesday").await),
        counts(&[("sent", 1), ("frequency_cap", 1)])
    );
    // Tom's Tuesday starts at midnight in London.
    set_clock(&app, "2026-11-24T00:00:00Z").await;
    run(&app, "tuesday-london", &["hook"], json!({})).await;
    assert_eq!(users_of(&hook, "tuesday-london"), both);
}

#[tokio::test]
async fn campaigns_released_together_when_quiet_hours_end_still_respect_the_daily_cap() {
    let hook = hook().await;
    // 22:00 in Shanghai: every campaign waits for 09:00, then all come due at once.
    let app = simulated("2026-11-23T14:00:00Z").await;
    workspace(&app, Some(&hook), None).await;
    contact_policy(
        &app,
        "Asia/Shanghai",
        json!({"daily_cap": 2, "quiet_hours": {"start": "21:00", "end": "09:00"}}),
    )
    .await;
    for user in ["mei", "lei"] {
        member(&app, user, json!({})).await;
    }
    let campaigns = ["night-1", "night-2", "night-3", "night-4"];
    for id in campaigns {
        launch(&app, id, &["hook"], json!({})).await;
    }
    set_clock(&app, "2026-11-24T01:00:00Z").await;
    for id in campaigns {
        wait_completed(&app, id).await;
    }

    let deliveries = hook.deliveries();
    let keys: BTreeSet<&str> = deliveries.iter().map(|d| d.idempotency_key()).collect();
    assert_eq!(keys.len(), deliveries.len(), "each message posted once");
    let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
    for delivery in &deliveries {
        *per_user.entry(delivery.field("user")).or_default() += 1;
    }
    assert_eq!(
        per_user,
        BTreeMap::from([("lei", 2), ("mei", 2)]),
        "two messages each on Tuesday, however many campaigns came due together"
    );
    let mut all = BTreeMap::new();
    for id in campaigns {
        for (what, n) in totals(&report(&app, id).await) {
            *all.entry(what).or_default() += n;
        }
    }
    assert_eq!(all, counts(&[("sent", 4), ("frequency_cap", 4)]));
}

#[tokio::test]
async fn a_message_deferred_by_quiet_hours_counts_against_the_day_it_goes_out() {
    let hook = hook().await;
    // 20:00 in Shanghai.
    let app = simulated("2026-11-23T12:00:00Z").await;
    workspace(&app, Some(&hook), None).await;
    contact_policy(
        &app,
        "Asia/Shanghai",
        json!({"daily_cap": 1, "quiet_hours": {"start": "21:00", "end": "09:00"}}),
    )
    .await;
    member(&app, "mei", json!({})).await;
    run(&app, "evening", &["hook"], json!({})).await;
    assert_eq!(users_of(&hook, "evening"), vec!["mei".to_owned()]);

    // At 22:00 Monday's allowance is spent, but the message waits for Tuesday 09:00.
    set_clock(&app, "2026-11-23T14:00:00Z").await;
    launch(&app, "morning-news", &["hook"], json!({})).await;
    // A service message launched after it goes at once: when it is recorded, the
    // worker has decided about the news too, at 22:00.
    run(
        &app,
        "order-shipped",
        &["hook-service"],
        json!({"class": "transactional"}),
    )
    .await;
    assert_eq!(
        totals(&report(&app, "morning-news").await),
        counts(&[("pending", 1)]),
        "deferred, not capped"
    );
    set_clock(&app, "2026-11-24T01:00:00Z").await;
    wait_completed(&app, "morning-news").await;
    assert_eq!(users_of(&hook, "morning-news"), vec!["mei".to_owned()]);
    assert_eq!(
        totals(&report(&app, "morning-news").await),
        counts(&[("sent", 1)])
    );
}

#[tokio::test]
async fn a_channel_cap_falls_back_to_the_next_channel_instead_of_dropping_the_message() {
    let hook = hook().await;
    let twilio = Twilio::start(Answer::Created).await;
    let app = simulated(MONDAY_MORNING).await;
    workspace(&app, Some(&hook), Some(&twilio)).await;
    contact_policy(&app, "Asia/Shanghai", json!({"channel_caps": {"sms": 1}})).await;
    member(&app, "mei", json!({"phone": "13800138000"})).await;
    member(&app, "lei", json!({"phone": "13900139000"})).await;
    let texted = |campaign: &str| {
        let mut to: Vec<String> = twilio
            .texts()
            .into_iter()
            .filter(|t| t.body.ends_with(&format!(": {campaign}")))
            .map(|t| t.to)
            .collect();
        to.sort();
        to
    };
    let phones = vec!["+8613800138000".to_owned(), "+8613900139000".to_owned()];
    let both = vec!["lei".to_owned(), "mei".to_owned()];

    run(&app, "first", &["text", "hook"], json!({})).await;
    assert_eq!(texted("first"), phones, "SMS comes first in the list");
    assert_eq!(users_of(&hook, "first"), Vec::<String>::new());

    run(&app, "second", &["text", "hook"], json!({})).await;
    assert_eq!(texted("second"), Vec::<String>::new());
    assert_eq!(users_of(&hook, "second"), both, "SMS is used up: the webhook");
    assert_eq!(
        sent_by_channel(&report(&app, "second").await),
        counts(&[("webhook", 2)])
    );

    // With no channel left to fall back to, the cap suppresses.
    run(&app, "third", &["text"], json!({})).await;
    assert_eq!(
        totals(&report(&app, "third").await),
        counts(&[("channel_cap", 2)])
    );
    // Service messages are not capped.
    run(&app, "otp", &["text"], json!({"class": "transactional"})).await;
    assert_eq!(texted("otp"), phones);

    set_clock(&app, "2026-11-23T16:00:00Z").await;
    run(&app, "tuesday", &["text", "hook"], json!({})).await;
    assert_eq!(texted("tuesday"), phones, "a new local day, a new allowance");
    assert_eq!(twilio.texts().len(), 6, "{:?}", twilio.texts());
}
