//! Quiet hours: marketing launched at night waits for the end of the window in each
//! person's own time zone, then goes; service messages go at once.

use super::{
    contact_policy, counts, hook, launch, member, report, set_clock, simulated, totals, users_of,
    wait_completed, workspace,
};
use crate::helpers::wait_until;
use jiff::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;

fn at(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

#[tokio::test]
async fn marketing_launched_in_quiet_hours_waits_for_each_person_s_local_morning() {
    let hook = hook().await;
    // Midnight in Shanghai, 08:00 in Los Angeles, 16:00 in London.
    let app = simulated("2026-11-23T16:00:00Z").await;
    workspace(&app, Some(&hook), None).await;
    contact_policy(
        &app,
        "Asia/Shanghai",
        json!({"quiet_hours": {"start": "21:00", "end": "09:00"}}),
    )
    .await;
    member(&app, "mei", json!({})).await;
    member(&app, "ana", json!({"time_zone": "America/Los_Angeles"})).await;
    member(&app, "tom", json!({"time_zone": "Europe/London"})).await;
    let sent = |app_report: &serde_json::Value| totals(app_report).get("sent").copied();
    // (user, signed at) of a campaign's deliveries, by user.
    let received = |campaign: &str| -> BTreeMap<String, Timestamp> {
        hook.deliveries()
            .into_iter()
            .filter(|d| d.field("campaign") == campaign)
            .map(|d| (d.field("user").to_owned(), d.signed_at))
            .collect()
    };

    launch(&app, "night-sale", &["hook"], json!({})).await;
    // The three rows are claimed together: once Tom's is recorded, the others were
    // decided in the same round.
    wait_until("Tom, outside quiet hours, gets it", || async {
        sent(&report(&app, "night-sale").await) == Some(1)
    })
    .await;
    assert_eq!(
        received("night-sale"),
        BTreeMap::from([("tom".to_owned(), at("2026-11-23T16:00:00Z"))])
    );
    assert_eq!(
        totals(&report(&app, "night-sale").await),
        counts(&[("sent", 1), ("pending", 2)]),
        "deferred, not dropped"
    );

    // A service message is not deferred.
    launch(
        &app,
        "order-shipped",
        &["hook-service"],
        json!({"class": "transactional"}),
    )
    .await;
    wait_completed(&app, "order-shipped").await;
    let now = at("2026-11-23T16:00:00Z");
    assert_eq!(
        received("order-shipped"),
        BTreeMap::from([
            ("ana".to_owned(), now),
            ("mei".to_owned(), now),
            ("tom".to_owned(), now)
        ])
    );
    assert_eq!(received("night-sale").len(), 1, "marketing still waits");

    // 09:00 in Los Angeles.
    set_clock(&app, "2026-11-23T17:00:00Z").await;
    wait_until("Ana gets it at her morning", || async {
        sent(&report(&app, "night-sale").await) == Some(2)
    })
    .await;
    assert_eq!(
        received("night-sale").get("ana"),
        Some(&at("2026-11-23T17:00:00Z"))
    );
    assert!(
        !received("night-sale").contains_key("mei"),
        "not yet 09:00 in Shanghai"
    );

    // 09:00 in Shanghai.
    set_clock(&app, "2026-11-24T01:00:00Z").await;
    wait_completed(&app, "night-sale").await;
    assert_eq!(
        received("night-sale"),
        BTreeMap::from([
            ("ana".to_owned(), at("2026-11-23T17:00:00Z")),
            ("mei".to_owned(), at("2026-11-24T01:00:00Z")),
            ("tom".to_owned(), at("2026-11-23T16:00:00Z"))
        ])
    );
    assert_eq!(users_of(&hook, "night-sale").len(), 3, "each person got it once");
    assert_eq!(totals(&report(&app, "night-sale").await), counts(&[("sent", 3)]));
}
