//! The delivery worker against a real SQLite store and a real webhook receiver that
//! verifies every signature.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test binary: its helpers fail the test with expect and panic"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use orbit_channels::EgressPolicy;
use orbit_channels::registry::ProviderConfig;
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{
    CampaignState, Channel, ConsentRecord, ConsentStatus, Lane, MessageClass, SendKey, SuppressionReason,
    TemplateContent,
};
use orbit_core::{
    CampaignId, ChannelId, Clock, EventKind, Identity, ManualClock, NewEvent, ProfileId, SourceId,
    TemplateId, WorkspaceId,
};
use orbit_engine::IngestPipeline;
use orbit_engine::delivery::{Account, Accounts, CampaignAudience, CampaignRunner, DeliveryWorker};
use orbit_store::{CampaignRecord, NewSend, SendState, Stores, TemplateRecord};
use orbit_store_sqlite::{Durability, SqliteStore};
use orbit_test_support::webhook::{Freshness, Reply, WebhookReceiver};
use serde_json::json;

const SECRET: &str = "a-webhook-secret-of-some-length";

/// A receiver on the test's clock that answers after `latency`, as a provider far away
/// does, and fails deliveries for `fail_for` (the body's `who`) with a 503.
async fn receiver(clock: Arc<ManualClock>, fail_for: Option<String>, latency: Duration) -> WebhookReceiver {
    WebhookReceiver::builder(SECRET)
        .freshness(Freshness::Within(clock, Duration::from_secs(300)))
        .reply(move |delivery| {
            let failing = fail_for
                .as_deref()
                .is_some_and(|who| delivery.field("who") == who);
            Reply::status(if failing { 503 } else { 204 }).after(latency)
        })
        .start()
        .await
}

/// The idempotency keys of the deliveries `hook` accepted, in arrival order.
fn accepted_keys(hook: &WebhookReceiver) -> Vec<String> {
    hook.accepted()
        .iter()
        .map(|d| d.idempotency_key().to_owned())
        .collect()
}

fn ws() -> WorkspaceId {
    WorkspaceId::default_workspace()
}

fn identify(user: &str, name: &str, at: Timestamp) -> NewEvent {
    let mut traits = serde_json::Map::new();
    traits.insert("name".to_owned(), json!(name));
    NewEvent {
        workspace_id: ws(),
        source_id: SourceId::parse("app").expect("source"),
        message_id: format!("identify-{user}"),
        kind: EventKind::Identify,
        name: None,
        timestamp: at,
        received_at: at,
        identities: vec![Identity::parse_typed(&format!("user_id:{user}")).expect("identity")],
        user_id: Some(user.to_owned()),
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        traits,
        properties: serde_json::Map::new(),
        context: serde_json::Map::new(),
        issues: vec![],
    }
}

struct World {
    stores: Stores,
    pipeline: orbit_engine::PipelineHandle,
    clock: Arc<ManualClock>,
    worker: DeliveryWorker,
    profiles: Vec<ProfileId>,
    hook: WebhookReceiver,
    _dir: tempfile::TempDir,
}

const ORIGIN: &str = "campaign:spring:run:1";

async fn world(fail_for: Option<&str>) -> World {
    world_answering_after(fail_for, Duration::ZERO).await
}

async fn world_answering_after(fail_for: Option<&str>, latency: Duration) -> World {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&dir.path().join("orbit.db"), Durability::Normal)
        .await
        .expect("store");
    let stores = store.into_stores();
    // Noon in Shanghai, outside any quiet hours.
    let clock = Arc::new(ManualClock::new("2026-11-23T04:00:00Z".parse().expect("ts")));
    let pipeline = IngestPipeline::start(stores.clone(), clock.clone())
        .await
        .expect("pipeline");
    let outcomes = pipeline
        .append(
            ["u1", "u2", "u3", "u4"]
                .iter()
                .zip(["王小明", "李雷", "韩梅梅", "张伟"])
                .map(|(u, n)| identify(u, n, clock.now()))
                .collect(),
        )
        .await
        .expect("append");
    let profiles: Vec<ProfileId> = ["u1", "u2", "u3", "u4"]
        .iter()
        .map(|u| {
            pipeline
                .profile_by_identity(
                    &ws(),
                    &Identity::parse_typed(&format!("user_id:{u}")).expect("id"),
                )
                .expect("profile")
                .id
        })
        .collect();
    assert_eq!(outcomes.len(), 4);

    let hook = receiver(clock.clone(), fail_for.map(str::to_owned), latency).await;
    let config: ProviderConfig = serde_json::from_value(json!({
        "provider": "webhook", "url": hook.url("/hook"), "secret": SECRET
    }))
    .expect("config");
    let http = EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
        .client(std::time::Duration::from_secs(5))
        .expect("client");
    let accounts = Accounts::default();
    accounts.insert(
        ws(),
        Account::new(
            ChannelId::parse("crm-hook").expect("id"),
            Channel::Webhook,
            None,
            config.connect(http, clock.clone()).expect("connector"),
        ),
        true,
    );

    let promo = MessageClass::Marketing {
        topic: "promotions".to_owned(),
    };
    for (id, content) in [
        (
            "email-a",
            TemplateContent::Email {
                subject: "Hi".to_owned(),
                html: None,
                text: "{{ profile.traits.name }}".to_owned(),
            },
        ),
        (
            "hook-a",
            TemplateContent::Webhook {
                body: json!({"who": "{{ profile.traits.name }}", "variant": "{{ campaign.variant }}"}),
            },
        ),
    ] {
        stores
            .templates
            .save_template(
                &TemplateRecord {
                    workspace_id: ws(),
                    id: TemplateId::parse(id).expect("id"),
                    name: id.to_owned(),
                    class: promo.clone(),
                    content,
                    defaults: BTreeMap::new(),
                    created_at: clock.now(),
                    updated_at: clock.now(),
                },
                orbit_store::Write::Create,
            )
            .await
            .expect("template");
    }
    // Email first: nobody has an email account configured, so everyone falls back to
    // the webhook.
    let definition = serde_json::from_value(json!({
        "name": "春季", "segment": "everyone",
        "variants": [{"name": "a", "messages": [{"template": "email-a"}, {"template": "hook-a"}]}]
    }))
    .expect("definition");
    stores
        .campaigns
        .save_campaign(
            &CampaignRecord {
                workspace_id: ws(),
                id: CampaignId::parse("spring").expect("id"),
                definition,
                lifecycle: Lifecycle {
                    state: CampaignState::Running,
                    runs: 1,
                    next_run_at: None,
                },
                materialized_runs: 1,
                created_at: clock.now(),
                updated_at: clock.now(),
            },
            orbit_store::Write::Create,
        )
        .await
        .expect("campaign");

    let worker = DeliveryWorker::new(
        stores.clone(),
        pipeline.clone(),
        clock.clone(),
        accounts,
        Arc::new(orbit_engine::delivery::Inbox::default()),
        Arc::new(orbit_engine::delivery::TrackingLinks::new(
            [3; 32],
            "https://orbit.example.cn",
        )),
    );
    World {
        stores,
        pipeline,
        clock,
        worker,
        profiles,
        hook,
        _dir: dir,
    }
}

fn row(world: &World, profile: ProfileId, state: SendState) -> NewSend {
    NewSend {
        id: SendKey {
            workspace: &ws(),
            origin: ORIGIN,
            profile: &profile,
            lane: Lane::Priority,
        }
        .id(),
        workspace_id: ws(),
        origin: ORIGIN.to_owned(),
        campaign_id: Some(CampaignId::parse("spring").expect("id")),
        profile_id: profile,
        lane: Lane::Priority,
        variant: Some("a".to_owned()),
        marketing: true,
        state,
        suppression: (state == SendState::Suppressed).then_some(SuppressionReason::ControlGroup),
        not_before: world.clock.now(),
        created_at: world.clock.now(),
    }
}

#[tokio::test]
async fn messages_fall_back_respect_consent_and_skip_the_control_group() {
    let w = world(None).await;
    w.stores
        .consents
        .record_consent(
            &ws(),
            &w.profiles[1],
            &ConsentRecord {
                channel: None,
                topic: None,
                status: ConsentStatus::Unsubscribed,
                at: w.clock.now(),
            },
        )
        .await
        .expect("consent");
    let rows = vec![
        row(&w, w.profiles[0], SendState::Scheduled),
        row(&w, w.profiles[1], SendState::Scheduled),
        row(&w, w.profiles[2], SendState::Suppressed),
    ];
    w.stores.ledger.insert_sends(&rows).await.expect("insert");
    w.worker.start().await.expect("start");
    let report = w.worker.dispatch_once().await.expect("dispatch");
    let first = w
        .stores
        .ledger
        .send(&ws(), &rows[0].id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (report.claimed, report.accepted, report.suppressed),
        (2, 1, 1),
        "{first:?}"
    );

    let keys = accepted_keys(&w.hook);
    let bodies: Vec<serde_json::Value> = w.hook.accepted().into_iter().map(|d| d.body).collect();
    assert_eq!(
        keys,
        vec![rows[0].id.clone()],
        "one message, keyed by its ledger id"
    );
    assert_eq!(bodies[0], json!({"who": "王小明", "variant": "a"}));

    let first = w
        .stores
        .ledger
        .send(&ws(), &rows[0].id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (first.state, first.channel),
        (SendState::Accepted, Some(Channel::Webhook))
    );
    let second = w
        .stores
        .ledger
        .send(&ws(), &rows[1].id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (second.state, second.suppression),
        (SendState::Suppressed, Some(SuppressionReason::Unsubscribed))
    );
    // Nothing is left to do, and nothing goes twice.
    assert_eq!(w.worker.dispatch_once().await.expect("dispatch").claimed, 0);
    assert_eq!(accepted_keys(&w.hook).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_s_rows_settled_in_the_same_round_stay_within_the_daily_cap() {
    // A slow provider: every row of the round is decided before the first send ends.
    let w = world_answering_after(None, Duration::from_millis(300)).await;
    let mut workspace = w
        .stores
        .workspaces
        .workspace(&ws())
        .await
        .expect("read")
        .expect("the default workspace");
    workspace.settings.contact_policy.daily_cap = Some(2);
    w.stores
        .workspaces
        .save_workspace(&workspace)
        .await
        .expect("saved");
    w.pipeline.reload_settings().await.expect("reloaded");
    // Four campaigns' rows for one person, due together: one round claims them all.
    let rows: Vec<NewSend> = (1..=4)
        .map(|run| {
            let origin = format!("campaign:spring:run:{run}");
            let mut send = row(&w, w.profiles[0], SendState::Scheduled);
            send.id = SendKey {
                workspace: &ws(),
                origin: &origin,
                profile: &w.profiles[0],
                lane: Lane::Priority,
            }
            .id();
            send.origin = origin;
            send
        })
        .collect();
    w.stores.ledger.insert_sends(&rows).await.expect("insert");
    w.worker.start().await.expect("start");
    let report = w.worker.dispatch_once().await.expect("dispatch");
    assert_eq!((report.claimed, report.accepted, report.suppressed), (4, 2, 2));
    assert_eq!(accepted_keys(&w.hook).len(), 2);
    let mut reasons = Vec::new();
    for send in &rows {
        let stored = w
            .stores
            .ledger
            .send(&ws(), &send.id)
            .await
            .expect("read")
            .expect("row");
        reasons.push(stored.suppression);
    }
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            None,
            None,
            Some(SuppressionReason::FrequencyCap),
            Some(SuppressionReason::FrequencyCap)
        ]
    );
}

#[tokio::test]
async fn a_row_that_comes_back_after_its_campaign_was_cancelled_is_suppressed_not_sent() {
    let w = world(None).await;
    let id = CampaignId::parse("spring").expect("id");
    let mut campaign = w
        .stores
        .campaigns
        .campaign(&ws(), &id)
        .await
        .expect("read")
        .expect("campaign");
    campaign.lifecycle.state = CampaignState::Cancelled;
    w.stores
        .campaigns
        .save_campaign(&campaign, orbit_store::Write::Replace)
        .await
        .expect("saved");
    // Scheduled again after the cancel swept the campaign: a retry, or a restart
    // putting back what was in flight.
    let comeback = row(&w, w.profiles[0], SendState::Scheduled);
    w.stores
        .ledger
        .insert_sends(std::slice::from_ref(&comeback))
        .await
        .expect("insert");
    w.worker.start().await.expect("start");
    let report = w.worker.dispatch_once().await.expect("dispatch");
    assert_eq!((report.claimed, report.suppressed), (1, 1));
    assert!(accepted_keys(&w.hook).is_empty());
    let stored = w
        .stores
        .ledger
        .send(&ws(), &comeback.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (stored.state, stored.suppression),
        (SendState::Suppressed, Some(SuppressionReason::Cancelled))
    );
}

#[tokio::test]
async fn a_provider_outage_is_retried_with_backoff_and_a_crash_mid_send_is_resent_with_the_same_key() {
    let w = world(Some("张伟")).await;
    let failing = row(&w, w.profiles[3], SendState::Scheduled);
    let interrupted = row(&w, w.profiles[0], SendState::Scheduled);
    w.stores
        .ledger
        .insert_sends(&[failing.clone(), interrupted.clone()])
        .await
        .expect("insert");
    // A process claims both and stops before recording anything.
    assert_eq!(
        w.stores
            .ledger
            .claim_due(w.clock.now(), 10)
            .await
            .expect("claim")
            .len(),
        2
    );
    w.worker.start().await.expect("start");
    // Webhook receivers deduplicate on the key, so both went back to scheduled.
    assert!(w.stores.ledger.in_flight().await.expect("in flight").is_empty());

    let report = w.worker.dispatch_once().await.expect("dispatch");
    assert_eq!((report.accepted, report.deferred), (1, 1));
    assert_eq!(accepted_keys(&w.hook), vec![interrupted.id.clone()]);
    let retried = w
        .stores
        .ledger
        .send(&ws(), &failing.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(retried.state, SendState::Scheduled);
    assert_eq!(retried.attempts, 1);
    let wait = retried.next_attempt_at.duration_since(w.clock.now());
    assert!(
        wait >= jiff::SignedDuration::from_secs(48) && wait <= jiff::SignedDuration::from_secs(72),
        "first backoff about a minute with jitter: {wait:?}"
    );
    assert!(retried.last_error.as_deref().is_some_and(|e| e.contains("503")));
    // Not due yet.
    assert_eq!(w.worker.dispatch_once().await.expect("dispatch").claimed, 0);
    // Six attempts in all, then a dead letter.
    for _ in 0..5 {
        w.clock.set(
            w.stores
                .ledger
                .send(&ws(), &failing.id)
                .await
                .expect("read")
                .expect("row")
                .next_attempt_at,
        );
        assert_eq!(w.worker.dispatch_once().await.expect("dispatch").claimed, 1);
    }
    let dead = w
        .stores
        .ledger
        .send(&ws(), &failing.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!((dead.state, dead.attempts), (SendState::Failed, 6));
    assert_eq!(
        w.stores
            .ledger
            .dead_letters(&ws(), 10, None)
            .await
            .expect("dead")
            .len(),
        1
    );
    assert_eq!(accepted_keys(&w.hook), vec![interrupted.id.clone()]);
}

/// Everyone the pipeline knows, as the campaign's audience.
struct Everyone(orbit_engine::PipelineHandle, Vec<ProfileId>);

impl CampaignAudience for Everyone {
    fn members(&self, _: &WorkspaceId, _: &orbit_core::SegmentId) -> Result<Vec<ProfileId>, String> {
        Ok(self
            .1
            .iter()
            .filter(|p| self.0.profile(&ws(), **p).is_some())
            .copied()
            .collect())
    }
}

#[tokio::test]
async fn a_broadcast_splits_its_audience_pauses_resumes_and_completes_sending_each_person_once() {
    let w = world(None).await;
    let people: Vec<NewEvent> = (0..1_000)
        .map(|i| identify(&format!("member-{i}"), &format!("会员{i}"), w.clock.now()))
        .collect();
    w.pipeline.append(people).await.expect("append");
    let mut audience: Vec<ProfileId> = (0..1_000)
        .map(|i| {
            w.pipeline
                .profile_by_identity(
                    &ws(),
                    &Identity::parse_typed(&format!("user_id:member-{i}")).expect("id"),
                )
                .expect("profile")
                .id
        })
        .collect();
    audience.extend(&w.profiles);
    let definition = serde_json::from_value(json!({
        "name": "双十二", "segment": "everyone", "control_percent": 10,
        "variants": [
            {"name": "a", "messages": [{"template": "hook-a"}]},
            {"name": "b", "messages": [{"template": "email-a"}, {"template": "hook-a"}]}
        ]
    }))
    .expect("definition");
    let id = CampaignId::parse("double-12").expect("id");
    w.stores
        .campaigns
        .save_campaign(
            &CampaignRecord {
                workspace_id: ws(),
                id: id.clone(),
                definition,
                lifecycle: Lifecycle::draft(),
                materialized_runs: 0,
                created_at: w.clock.now(),
                updated_at: w.clock.now(),
            },
            orbit_store::Write::Create,
        )
        .await
        .expect("campaign");
    let runner = CampaignRunner::new(
        w.stores.clone(),
        w.clock.clone(),
        Arc::new(Everyone(w.pipeline.clone(), audience.clone())),
    );
    let launched = runner.launch(&ws(), &id).await.expect("launch");
    assert_eq!(
        (launched.lifecycle.state, launched.materialized_runs),
        (CampaignState::Running, 1)
    );
    // Launching twice is refused; the run is not written twice.
    assert!(runner.launch(&ws(), &id).await.is_err());

    runner.pause(&ws(), &id).await.expect("pause");
    assert_eq!(
        w.worker.dispatch_once().await.expect("dispatch").claimed,
        0,
        "paused sends nothing"
    );
    runner.resume(&ws(), &id).await.expect("resume");
    while w.worker.dispatch_once().await.expect("dispatch").claimed > 0 {}
    runner.tick().await.expect("tick");
    let done = w
        .stores
        .campaigns
        .campaign(&ws(), &id)
        .await
        .expect("read")
        .expect("campaign");
    assert_eq!(done.lifecycle.state, CampaignState::Completed);

    let report = w.stores.ledger.campaign_report(&ws(), &id).await.expect("report");
    let count = |f: &dyn Fn(&orbit_store::ReportRow) -> bool| {
        report.iter().filter(|r| f(r)).map(|r| r.count).sum::<u64>()
    };
    let control = count(&|r| r.suppression == Some(SuppressionReason::ControlGroup));
    let accepted = count(&|r| r.state == SendState::Accepted);
    let a = count(&|r| r.state == SendState::Accepted && r.variant.as_deref() == Some("a"));
    assert_eq!(
        control + accepted,
        audience.len() as u64,
        "everyone is either held out or sent once"
    );
    assert!((70..=130).contains(&control), "about 10% held out: {control}");
    assert!(
        (380..=520).contains(&a),
        "about half of the rest get variant a: {a}"
    );
    let keys = accepted_keys(&w.hook);
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(
        (keys.len(), distinct.len()),
        (accepted as usize, accepted as usize),
        "nobody twice"
    );
}
