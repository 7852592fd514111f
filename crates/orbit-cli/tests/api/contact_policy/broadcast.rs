//! A broadcast to 100,000 people with a 10% control group and two variants, the
//! server killed with SIGKILL in the middle of sending and started again.

use super::{hook, ok, report, workspace};
use crate::helpers::{TestApp, wait_until_within};
use orbit_core::ProfileId;
use orbit_core::messaging::{Arm, Split, VariantWeight};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

const AUDIENCE: usize = 100_000;
const CAMPAIGN: &str = "double-12";

/// Sends the audience to the running server in batches of 2,000, four at a time.
async fn send_audience(app: &TestApp) {
    let mut batches = tokio::task::JoinSet::new();
    let chunks: Vec<Vec<usize>> = (0..AUDIENCE)
        .collect::<Vec<_>>()
        .chunks(2_000)
        .map(<[usize]>::to_vec)
        .collect();
    let mut chunks = chunks.into_iter();
    loop {
        while batches.len() < 4 {
            let Some(chunk) = chunks.next() else { break };
            let events: Vec<Value> = chunk
                .iter()
                .map(|i| {
                    json!({"type": "identify", "user_id": format!("m{i:06}"),
                                "traits": {"plan": "member", "name": format!("会员{i}")}})
                })
                .collect();
            let request = app
                .http
                .post(app.url("/v1/events"))
                .bearer_auth(&app.api_key)
                .json(&json!({"events": events}));
            batches.spawn(async move { request.send().await.expect("sent").status().as_u16() });
        }
        match batches.join_next().await {
            Some(status) => assert_eq!(status.expect("joined"), 200),
            None => break,
        }
    }
}

/// Who is in the campaign's audience: user id → profile id.
async fn audience(app: &TestApp) -> HashMap<String, ProfileId> {
    let export = app
        .http
        .get(app.url("/v1/segments/members/members?format=jsonl"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("text");
    export
        .lines()
        .map(|line| {
            let member: Value = serde_json::from_str(line).expect("a member");
            (
                member["user_id"].as_str().expect("user id").to_owned(),
                ProfileId::parse(member["profile_id"].as_str().expect("profile id")).expect("a profile id"),
            )
        })
        .collect()
}

fn per_variant(report: &Value) -> BTreeMap<String, Value> {
    report["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| (v["variant"].as_str().expect("name").to_owned(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_100k_killed_mid_send_reaches_everyone_outside_control_exactly_once() {
    let began = Instant::now();
    // How long each step took, printed for the CI log: the test must stay short.
    let mut phases: Vec<(&str, Duration)> = Vec::new();
    let hook = hook().await;
    let mut app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    send_audience(&app).await;
    phases.push(("audience sent", began.elapsed()));
    workspace(&app, Some(&hook), None).await;
    phases.push(("workspace", began.elapsed()));
    let members = audience(&app).await;
    assert_eq!(members.len(), AUDIENCE, "everyone is in the segment");
    phases.push(("segment exported", began.elapsed()));
    ok(
        &app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": CAMPAIGN, "name": "双十二", "segment": "members", "control_percent": 10,
               "variants": [{"name": "a", "messages": [{"template": "hook"}]},
                            {"name": "b", "messages": [{"template": "hook"}]}]}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("/v1/campaigns/{CAMPAIGN}/launch"),
        Value::Null,
    )
    .await;
    phases.push(("launched", began.elapsed()));

    wait_until_within(
        Duration::from_secs(120),
        "a fifth of the messages went",
        || async { hook.count() >= AUDIENCE / 5 },
    )
    .await;
    app.kill();
    let before_kill = hook.count();
    phases.push(("killed", began.elapsed()));
    app.start();
    phases.push(("restarted", began.elapsed()));
    wait_until_within(
        Duration::from_secs(180),
        "the campaign completes after the restart",
        || async { app.get(&format!("/v1/campaigns/{CAMPAIGN}")).await.1["state"] == "completed" },
    )
    .await;
    phases.push(("completed", began.elapsed()));
    eprintln!("100k broadcast, {before_kill} delivered before the kill: {phases:?}");

    // The oracle: the split the campaign defines, applied to each member.
    let split = Split {
        control_percent: 10.0,
        variants: ["a", "b"]
            .map(|name| VariantWeight {
                name: name.to_owned(),
                weight: 1,
            })
            .to_vec(),
    };
    let arm_of = |profile: &ProfileId| match split.assign(CAMPAIGN, profile) {
        Arm::Control => "control",
        Arm::Variant(0) => "a",
        Arm::Variant(_) => "b",
    };
    let deliveries = hook.deliveries();
    let mut keys_by_user: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for d in &deliveries {
        let user = d.field("user");
        let profile = members.get(user).expect("a delivery to a member");
        assert_eq!(
            d.field("variant"),
            arm_of(profile),
            "{user} got the content of its own arm"
        );
        keys_by_user.entry(user).or_default().insert(d.idempotency_key());
    }
    let mut arms: BTreeMap<&str, u64> = BTreeMap::new();
    for (user, profile) in &members {
        let arm = arm_of(profile);
        *arms.entry(arm).or_default() += 1;
        let keys = keys_by_user.get(user.as_str()).map_or(0, BTreeSet::len);
        let expected = usize::from(arm != "control");
        assert_eq!(keys, expected, "{user} ({arm}) got {keys} distinct messages");
    }

    // A message in flight at the kill is posted again with the same key, which the
    // receiver deduplicates on: at most the rounds the worker had claimed (two of
    // 512 rows) repeat, each message at most once more.
    let mut posts_per_key: HashMap<&str, usize> = HashMap::new();
    for d in &deliveries {
        *posts_per_key.entry(d.idempotency_key()).or_default() += 1;
    }
    let repeats = deliveries.len() - posts_per_key.len();
    assert!(
        posts_per_key.values().all(|n| *n <= 2) && repeats <= 2 * 512,
        "{repeats} repeated posts, before the kill {before_kill}"
    );

    let variants = per_variant(&report(&app, CAMPAIGN).await);
    let mut accounted = 0;
    for (arm, target) in [("control", 10.0), ("a", 45.0), ("b", 45.0)] {
        let v = &variants[arm];
        let targeted = v["targeted"].as_u64().expect("targeted");
        assert_eq!(
            targeted, arms[arm],
            "the report counts {arm} as the split puts it"
        );
        let (sent, control) = (
            v["sent"].as_u64().unwrap_or(0),
            v["suppressed"]["control_group"].as_u64().unwrap_or(0),
        );
        let suppressed: u64 = v["suppressed"]
            .as_object()
            .expect("suppressed")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert_eq!(
            (
                v["failed"].as_u64(),
                v["ambiguous"].as_u64(),
                v["pending"].as_u64()
            ),
            (Some(0), Some(0), Some(0)),
            "{arm}: {v}"
        );
        if arm == "control" {
            assert_eq!((sent, control), (0, targeted), "control is only held out: {v}");
        } else {
            // Nobody here has a reason to be suppressed: no caps, no consent records.
            assert_eq!((sent, suppressed), (targeted, 0), "{arm} is sent: {v}");
        }
        accounted += sent + suppressed;
        let share = targeted as f64 * 100.0 / AUDIENCE as f64;
        assert!(
            (share - target).abs() <= 1.0,
            "{arm} holds {share:.2}% of the audience, {target}% ± 1 wanted"
        );
    }
    assert_eq!(accounted, AUDIENCE as u64, "nobody is lost: {variants:?}");
    let sent: u64 = ["a", "b"]
        .iter()
        .map(|arm| variants[*arm]["sent"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        sent as usize,
        keys_by_user.len(),
        "every message the report counts as sent arrived"
    );
    assert_eq!(
        posts_per_key.len(),
        keys_by_user.len(),
        "one key per person, no key shared"
    );
    assert!(
        before_kill < keys_by_user.len(),
        "the kill came mid-send: {before_kill} of {sent}"
    );
}
