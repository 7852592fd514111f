//! Pausing and cancelling a campaign while a provider still holds one of its
//! messages: the provider asks to be tried again later, and that later must respect
//! what the marketer decided meanwhile.

use crate::helpers::ok;
use crate::helpers::{TestApp, wait_until};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// 10:00 in Shanghai.
const START: &str = "2026-11-23T02:00:00Z";
const SECRET: &str = "interruptions-webhook-secret-01234";

/// A webhook endpoint that holds each delivery until the test opens it, then
/// answers with the status the test set.
struct GatedHook {
    url: String,
    /// (idempotency key, user) of every delivery that arrived, held or not.
    arrived: Arc<Mutex<Vec<(String, String)>>>,
    /// What each delivery was answered, in order.
    answered: Arc<Mutex<Vec<StatusCode>>>,
    open: watch::Sender<Option<StatusCode>>,
}

impl GatedHook {
    async fn start() -> Self {
        let arrived: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let answered: Arc<Mutex<Vec<StatusCode>>> = Arc::default();
        let (open, gate) = watch::channel(None::<StatusCode>);
        let (log, answers) = (arrived.clone(), answered.clone());
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (log, answers) = (log.clone(), answers.clone());
                let mut gate = gate.clone();
                async move {
                    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let user = parsed["user"].as_str().unwrap_or_default().to_owned();
                    log.lock().expect("lock").push((key, user));
                    let answer = gate
                        .wait_for(Option::is_some)
                        .await
                        .expect("the gate")
                        .unwrap_or(StatusCode::OK);
                    answers.lock().expect("lock").push(answer);
                    answer
                }
            }),
        );
        let url = format!("http://{}/hook", orbit_test_support::serve(app).await);
        Self {
            url,
            arrived,
            answered,
            open,
        }
    }

    fn arrived(&self) -> Vec<(String, String)> {
        self.arrived.lock().expect("lock").clone()
    }

    fn answered(&self) -> Vec<StatusCode> {
        self.answered.lock().expect("lock").clone()
    }

    /// Answers every held and future delivery with `status`.
    fn answer(&self, status: StatusCode) {
        self.open.send_replace(Some(status));
    }
}

/// A workspace with `users` in the `members` segment, the gated webhook as its
/// account, and a webhook template naming the user.
async fn workspace(app: &TestApp, hook: &GatedHook, users: &[&str]) {
    for user in users {
        let events = json!({"events": [{"type": "identify", "user_id": user,
                                        "traits": {"plan": "member"}}]});
        ok(app, Method::POST, "/v1/events", events).await;
    }
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "members", "name": "会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "member"}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "crm", "name": "CRM", "config":
               {"provider": "webhook", "url": hook.url, "secret": SECRET}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/templates",
        json!({"id": "hook", "name": "hook", "content": {"channel": "webhook",
               "body": {"user": "{{ profile.identities.user_id }}", "campaign": "{{ campaign.id }}"}}}),
    )
    .await;
}

async fn launch(app: &TestApp, id: &str, extra: Value) {
    let mut campaign = json!({"id": id, "name": id, "segment": "members",
                              "variants": [{"name": "a", "messages": [{"template": "hook"}]}]});
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

/// `(sent, pending, suppressed)` of a campaign's report.
async fn tally(app: &TestApp, id: &str) -> (u64, u64, Value) {
    let report = ok(
        app,
        Method::GET,
        &format!("/v1/campaigns/{id}/report"),
        Value::Null,
    )
    .await;
    let variant = &report["variants"][0];
    (
        variant["sent"].as_u64().unwrap_or(0),
        variant["pending"].as_u64().unwrap_or(0),
        variant["suppressed"].clone(),
    )
}

async fn advance(app: &TestApp, by: &str) {
    ok(app, Method::POST, "/v1/clock", json!({"advance": by})).await;
}

#[tokio::test]
async fn a_message_retried_after_its_campaign_was_cancelled_is_not_sent() {
    let hook = GatedHook::start().await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook, &["mei"]).await;
    launch(&app, "flash-sale", json!({})).await;
    wait_until("the provider holds Mei's message", || async {
        hook.arrived().len() == 1
    })
    .await;
    ok(&app, Method::POST, "/v1/campaigns/flash-sale/cancel", Value::Null).await;
    // The provider is overloaded: try again later. Later, it would take it.
    hook.answer(StatusCode::SERVICE_UNAVAILABLE);
    wait_until("the provider answered", || async {
        hook.answered() == [StatusCode::SERVICE_UNAVAILABLE]
    })
    .await;
    hook.answer(StatusCode::OK);
    advance(&app, "PT5M").await;
    wait_until("nothing of the campaign is pending", || async {
        tally(&app, "flash-sale").await.1 == 0
    })
    .await;
    let (sent, _, suppressed) = tally(&app, "flash-sale").await;
    assert_eq!((sent, suppressed), (0, json!({"cancelled": 1})));
    assert_eq!(hook.arrived().len(), 1, "not posted again after the cancel");
}

#[tokio::test]
async fn a_message_retried_while_its_campaign_is_paused_waits_for_the_resume() {
    let hook = GatedHook::start().await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &hook, &["mei"]).await;
    launch(&app, "flash-sale", json!({})).await;
    wait_until("the provider holds Mei's message", || async {
        hook.arrived().len() == 1
    })
    .await;
    ok(&app, Method::POST, "/v1/campaigns/flash-sale/pause", Value::Null).await;
    hook.answer(StatusCode::SERVICE_UNAVAILABLE);
    wait_until("the provider answered", || async {
        hook.answered() == [StatusCode::SERVICE_UNAVAILABLE]
    })
    .await;
    hook.answer(StatusCode::OK);
    // A second campaign whose one message comes due in the same round as the retry:
    // once it is recorded, that round has been decided.
    launch(
        &app,
        "barrier",
        json!({"schedule": {"kind": "at", "at": "2026-11-23T02:04:00Z"}}),
    )
    .await;
    advance(&app, "PT5M").await;
    wait_until("the other campaign's message went", || async {
        tally(&app, "barrier").await.0 == 1
    })
    .await;
    assert_eq!(
        tally(&app, "flash-sale").await.0,
        0,
        "nothing goes while the campaign is paused"
    );
    let users_posted = |campaign_user: &str| {
        hook.arrived()
            .iter()
            .filter(|(_, user)| user == campaign_user)
            .count()
    };
    assert_eq!(
        users_posted("mei"),
        2,
        "the barrier reached Mei; the retry did not"
    );

    ok(&app, Method::POST, "/v1/campaigns/flash-sale/resume", Value::Null).await;
    crate::helpers::wait_campaign_completed(&app, "flash-sale").await;
    let (sent, pending, _) = tally(&app, "flash-sale").await;
    assert_eq!((sent, pending), (1, 0));
    let keys: Vec<String> = hook.arrived().into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], keys[2], "the retry carries the first attempt's key");
}
