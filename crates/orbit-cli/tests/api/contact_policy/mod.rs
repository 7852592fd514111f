//! The contact policy as people meet it: campaigns sent through the real server to
//! local provider stand-ins, with the simulated clock standing in for the days and
//! nights that caps and quiet hours count. Each module is one rule: frequency caps,
//! quiet hours, unsubscribes, channel fallback, and a 100,000-person broadcast
//! interrupted by a kill.

mod broadcast;
mod caps;
mod fallback;
mod quiet_hours;
mod unsubscribe;

use crate::helpers::TestApp;
use crate::helpers::ok;
use orbit_test_support::twilio::{self, Twilio};
use orbit_test_support::webhook::{Freshness, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The webhook account's signing secret.
const HOOK_SECRET: &str = "contact-policy-webhook-secret-0123";
/// The sender the Twilio account is configured with.
const TWILIO_FROM: &str = "+15005550006";

/// A webhook endpoint that takes only correctly signed deliveries. The server runs on
/// a simulated clock, so the endpoint does not judge freshness; the signed time is
/// recorded for the scenarios to check.
async fn hook() -> WebhookReceiver {
    WebhookReceiver::builder(HOOK_SECRET)
        .freshness(Freshness::Unchecked)
        .start()
        .await
}

/// The users a campaign reached through `hook`, sorted, once per delivery (the
/// templates put `user`, `campaign` and `variant` in the body).
fn users_of(hook: &WebhookReceiver, campaign: &str) -> Vec<String> {
    let mut users: Vec<String> = hook
        .deliveries()
        .iter()
        .filter(|d| d.field("campaign") == campaign)
        .map(|d| d.field("user").to_owned())
        .collect();
    users.sort();
    users
}

/// A server on a simulated clock stopped at `start`, allowed to reach loopback.
async fn simulated(start: &str) -> TestApp {
    TestApp::spawn_with(&["--simulated-clock", start, "--egress-allow", "127.0.0.1/32"]).await
}

/// Sets the simulated clock; its answer comes once what the new time caused is done.
async fn set_clock(app: &TestApp, at: &str) {
    ok(app, Method::POST, "/v1/clock", json!({"set": at})).await;
}

/// Identifies a member of the `members` segment: `user` named after themselves, with
/// `traits` added (a `phone`, a `time_zone`).
async fn member(app: &TestApp, user: &str, traits: Value) {
    let mut all = json!({"plan": "member", "name": user});
    if let (Some(all), Some(extra)) = (all.as_object_mut(), traits.as_object()) {
        all.extend(extra.clone());
    }
    let events = json!({"events": [{"type": "identify", "user_id": user, "traits": all}]});
    ok(app, Method::POST, "/v1/events", events).await;
}

async fn profile_id(app: &TestApp, user: &str) -> String {
    app.profile_by(&format!("user_id:{user}")).await["id"]
        .as_str()
        .expect("a profile id")
        .to_owned()
}

/// Replaces the workspace's contact policy and time zone.
async fn contact_policy(app: &TestApp, time_zone: &str, policy: Value) {
    let (status, mut settings) = app.get("/v1/settings").await;
    assert_eq!(status, 200, "{settings}");
    settings["time_zone"] = json!(time_zone);
    settings["contact_policy"] = policy;
    ok(app, Method::PUT, "/v1/settings", settings).await;
}

/// The `members` segment and the templates the scenarios send: `hook` and
/// `hook-service` (webhook, naming the user, campaign and variant), `text` (SMS) and
/// `note` (inbox). Provider accounts for the stand-ins given.
async fn workspace(app: &TestApp, hook: Option<&WebhookReceiver>, twilio: Option<&Twilio>) {
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "members", "name": "会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "member"}}),
    )
    .await;
    if let Some(hook) = hook {
        ok(
            app,
            Method::POST,
            "/v1/channels",
            json!({"id": "crm", "name": "CRM 回调", "config":
                   {"provider": "webhook", "url": hook.url("/hook"), "secret": HOOK_SECRET}}),
        )
        .await;
    }
    if let Some(twilio) = twilio {
        ok(
            app,
            Method::POST,
            "/v1/channels",
            json!({"id": "twilio", "name": "Twilio", "config":
                   {"provider": "twilio", "account_sid": twilio::ACCOUNT_SID, "auth_token": twilio::AUTH_TOKEN,
                    "from": TWILIO_FROM, "endpoint": twilio.endpoint}}),
        )
        .await;
    }
    let webhook_body = json!({"channel": "webhook", "body": {
        "user": "{{ profile.identities.user_id }}",
        "campaign": "{{ campaign.id }}",
        "variant": "{{ campaign.variant }}"}});
    for (id, class, content) in [
        ("hook", "marketing", webhook_body.clone()),
        ("hook-service", "transactional", webhook_body),
        (
            "text",
            "marketing",
            json!({"channel": "sms", "text": "{{ profile.traits.name }}: {{ campaign.id }}"}),
        ),
        (
            "note",
            "marketing",
            json!({"channel": "inbox", "title": "{{ campaign.id }}", "body": "{{ profile.traits.name }}"}),
        ),
    ] {
        ok(
            app,
            Method::POST,
            "/v1/templates",
            json!({"id": id, "name": id, "class": class, "content": content}),
        )
        .await;
    }
}

/// Saves a one-variant campaign to `members` sending `templates` in priority order,
/// with `extra` fields (`class`, `topic`, `throttle_per_minute` …), and launches it.
async fn launch(app: &TestApp, id: &str, templates: &[&str], extra: Value) {
    let messages: Vec<Value> = templates.iter().map(|t| json!({"template": t})).collect();
    let mut campaign = json!({"id": id, "name": id, "segment": "members",
                              "variants": [{"name": "a", "messages": messages}]});
    if let (Some(campaign), Some(extra)) = (campaign.as_object_mut(), extra.as_object()) {
        campaign.extend(extra.clone());
    }
    ok(app, Method::POST, "/v1/campaigns", campaign).await;
    ok(
        app,
        Method::POST,
        &format!("/v1/campaigns/{id}/launch"),
        Value::Null,
    )
    .await;
}

async fn wait_completed(app: &TestApp, id: &str) {
    crate::helpers::wait_campaign_completed(app, id).await;
}

async fn report(app: &TestApp, id: &str) -> Value {
    ok(
        app,
        Method::GET,
        &format!("/v1/campaigns/{id}/report"),
        Value::Null,
    )
    .await
}

/// A report's totals over its variants: `sent`, `pending`, `failed`, `ambiguous` and
/// each suppression reason by name.
fn totals(report: &Value) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for variant in report["variants"].as_array().expect("variants") {
        for field in ["sent", "pending", "failed", "ambiguous"] {
            *totals.entry(field.to_owned()).or_default() += variant[field].as_u64().unwrap_or(0);
        }
        for (reason, count) in variant["suppressed"].as_object().expect("suppressed") {
            *totals.entry(reason.clone()).or_default() += count.as_u64().unwrap_or(0);
        }
    }
    totals.retain(|_, n| *n > 0);
    totals
}

/// Messages sent per channel, over the report's variants.
fn sent_by_channel(report: &Value) -> BTreeMap<String, u64> {
    let mut by_channel = BTreeMap::new();
    for variant in report["variants"].as_array().expect("variants") {
        for channel in variant["channels"].as_array().expect("channels") {
            let sent = channel["sent"].as_u64().unwrap_or(0);
            if sent > 0 {
                *by_channel
                    .entry(channel["channel"].as_str().expect("name").to_owned())
                    .or_default() += sent;
            }
        }
    }
    by_channel
}

/// A map literal for comparing with [`totals`] and [`sent_by_channel`].
fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}
