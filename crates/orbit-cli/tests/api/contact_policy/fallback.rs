//! Channel fallback: a variant lists its channels in priority order, and each person
//! gets the message once, on the first channel they can receive — where they have an
//! address, the workspace has an account, and consent allows it.

use super::{
    TWILIO_FROM, counts, hook, launch, member, ok, profile_id, report, sent_by_channel, simulated, totals,
    users_of, wait_completed, workspace,
};
use crate::helpers::TestApp;
use orbit_test_support::twilio::{Answer, Twilio};
use reqwest::Method;
use serde_json::{Value, json};

const NOON: &str = "2026-11-23T04:00:00Z";

/// The titles of a person's inbox, newest first, read with the app's write key.
async fn inbox(app: &TestApp, user: &str) -> Vec<String> {
    let answer: Value = app
        .http
        .get(app.url(&format!("/v1/inbox?identity=user_id:{user}")))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json");
    answer["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn each_person_gets_the_message_once_on_the_first_channel_they_can_receive() {
    let hook = hook().await;
    let twilio = Twilio::start(Answer::Created).await;
    let app = simulated(NOON).await;
    workspace(&app, Some(&hook), Some(&twilio)).await;
    member(&app, "mei", json!({"phone": "13800138000"})).await;
    member(&app, "lei", json!({"phone": "+86 139 0013 9000"})).await;
    member(&app, "kai", json!({})).await;
    member(&app, "dan", json!({"phone": "13700137000"})).await;
    // Dan left marketing by SMS only.
    let dan = profile_id(&app, "dan").await;
    ok(
        &app,
        Method::POST,
        &format!("/v1/profiles/{dan}/consent"),
        json!({"channel": "sms", "status": "unsubscribed"}),
    )
    .await;

    launch(&app, "new-menu", &["text", "hook"], json!({})).await;
    wait_completed(&app, "new-menu").await;
    let mut texts = twilio.texts();
    texts.sort_by(|a, b| a.to.cmp(&b.to));
    let texted: Vec<(&str, &str, &str)> = texts
        .iter()
        .map(|t| (t.to.as_str(), t.from.as_str(), t.body.as_str()))
        .collect();
    assert_eq!(
        texted,
        vec![
            ("+8613800138000", TWILIO_FROM, "mei: new-menu"),
            ("+8613900139000", TWILIO_FROM, "lei: new-menu"),
        ],
        "those with a phone get it by SMS, rendered for them"
    );
    assert_eq!(
        users_of(&hook, "new-menu"),
        vec!["dan".to_owned(), "kai".to_owned()],
        "no phone, or no consent on SMS: the next channel, and only it"
    );
    let launched = report(&app, "new-menu").await;
    assert_eq!(totals(&launched), counts(&[("sent", 4)]));
    assert_eq!(sent_by_channel(&launched), counts(&[("sms", 2), ("webhook", 2)]));

    // The in-app inbox needs no account and no address: it catches everyone else.
    launch(&app, "popup", &["text", "note"], json!({})).await;
    wait_completed(&app, "popup").await;
    assert_eq!(inbox(&app, "kai").await, vec!["popup".to_owned()]);
    assert_eq!(inbox(&app, "dan").await, vec!["popup".to_owned()]);
    assert_eq!(inbox(&app, "mei").await, Vec::<String>::new());
    assert_eq!(
        twilio.texts().len(),
        4,
        "Mei and Lei got the popup campaign by SMS"
    );
    assert_eq!(
        sent_by_channel(&report(&app, "popup").await),
        counts(&[("inbox", 2), ("sms", 2)])
    );
}

#[tokio::test]
async fn a_channel_the_workspace_has_no_account_for_is_skipped() {
    let hook = hook().await;
    let app = simulated(NOON).await;
    // A webhook account, but no SMS provider.
    workspace(&app, Some(&hook), None).await;
    member(&app, "mei", json!({"phone": "13800138000"})).await;
    member(&app, "kai", json!({})).await;
    launch(&app, "new-menu", &["text", "hook"], json!({})).await;
    wait_completed(&app, "new-menu").await;
    assert_eq!(
        users_of(&hook, "new-menu"),
        vec!["kai".to_owned(), "mei".to_owned()]
    );
    assert_eq!(
        sent_by_channel(&report(&app, "new-menu").await),
        counts(&[("webhook", 2)])
    );
    // SMS alone, with no account: nobody has a usable address.
    launch(&app, "sms-only", &["text"], json!({})).await;
    wait_completed(&app, "sms-only").await;
    assert_eq!(
        totals(&report(&app, "sms-only").await),
        counts(&[("no_address", 2)])
    );
}
