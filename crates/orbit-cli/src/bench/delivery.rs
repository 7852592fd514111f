//! `orbit bench delivery`: a broadcast to a local webhook endpoint through the real
//! server — segment, campaign run, contact policy, rendering, signing, the ledger —
//! beside the rate the same endpoint takes plain POSTs at, in the same run.

use crate::config::Config;
use crate::serve;
use clap::Args;
use orbit_core::WorkspaceId;
use orbit_store::KeyKind;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of `orbit bench delivery`.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// People in the audience.
    #[arg(long, default_value_t = 100_000)]
    people: usize,
    /// Percentage held out as control.
    #[arg(long, default_value_t = 10.0)]
    control_percent: f64,
    /// Concurrent requests of the plain-POST baseline (the worker's own concurrency).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// What the endpoint saw.
#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
}

async fn endpoint(seen: Arc<Seen>) -> anyhow::Result<std::net::SocketAddr> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let now = Instant::now();
                seen.first
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get_or_insert(now);
                *seen
                    .last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
                seen.count.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// Plain POSTs of a signed-size JSON body, `concurrency` at a time.
async fn baseline(url: &str, messages: usize, concurrency: usize) -> anyhow::Result<Duration> {
    let client = reqwest::Client::new();
    let body = json!({"user": "m000000", "text": "会员0您好，双十二金卡专享", "variant": "a"}).to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, url, body) = (client.clone(), next.clone(), url.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < messages {
                client
                    .post(&url)
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?;
            }
            Ok::<_, reqwest::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

pub(super) async fn call(
    client: &reqwest::Client,
    key: &str,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .request(method, &url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{url}: {status} {answer}");
    Ok(answer)
}

/// Runs the benchmark.
pub async fn run(args: DeliveryArgs) -> anyhow::Result<()> {
    println!(
        "delivery: {} people, {}% control, webhook endpoint on loopback",
        args.people, args.control_percent
    );
    let seen = Arc::new(Seen::default());
    let address = endpoint(seen.clone()).await?;
    let hook = format!("http://{address}/hook");
    let expected = args.people - (args.people as f64 * args.control_percent / 100.0) as usize;
    let plain = baseline(&hook, expected, args.concurrency).await?;
    let plain_rate = expected as f64 / plain.as_secs_f64();
    println!("  baseline  plain POSTs to the endpoint:          {plain_rate:>10.0} messages/s");
    seen.count.store(0, Ordering::Relaxed);
    *seen
        .first
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;

    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        log: "warn".into(),
        egress_allow: vec!["127.0.0.1/32".parse()?],
        ..Config::default()
    };
    let (running, key, stop) = super::start_with_admin_key(&config).await?;
    let base = format!("http://{}", running.address);
    let client = reqwest::Client::new();
    use reqwest::Method;

    let loading = Instant::now();
    for first in (0..args.people).step_by(1_000) {
        let events: Vec<Value> = (first..(first + 1_000).min(args.people))
            .map(|i| {
                json!({"type": "identify", "user_id": format!("m{i:06}"),
                            "traits": {"plan": "gold", "name": format!("会员{i}")}})
            })
            .collect();
        call(
            &client,
            &key,
            Method::POST,
            format!("{base}/v1/events"),
            json!({"events": events}),
        )
        .await?;
    }
    println!(
        "  audience  {} profiles loaded in {:.1} s",
        args.people,
        loading.elapsed().as_secs_f64()
    );
    call(
        &client,
        &key,
        Method::POST,
        format!("{base}/v1/channels"),
        json!({"id": "hook", "name": "bench", "default": true,
                "config": {"provider": "webhook", "url": hook, "secret": "bench-webhook-secret-0123456789"}}),
    )
    .await?;
    call(&client, &key, Method::POST, format!("{base}/v1/templates"),
         json!({"id": "hook", "name": "bench", "content": {"channel": "webhook", "body": {
             "user": "{{ profile.identities.user_id }}", "text": "{{ profile.traits.name }}您好，双十二金卡专享",
             "variant": "{{ campaign.variant }}"}}})).await?;
    call(
        &client,
        &key,
        Method::POST,
        format!("{base}/v1/segments"),
        json!({"id": "gold", "name": "gold", "condition":
                {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await?;
    call(
        &client,
        &key,
        Method::POST,
        format!("{base}/v1/campaigns"),
        json!({"id": "bench", "name": "bench", "segment": "gold", "control_percent": args.control_percent,
                "variants": [{"name": "a", "messages": [{"template": "hook"}]},
                             {"name": "b", "messages": [{"template": "hook"}]}]}),
    )
    .await?;

    let launched = Instant::now();
    call(
        &client,
        &key,
        Method::POST,
        format!("{base}/v1/campaigns/bench/launch"),
        Value::Null,
    )
    .await?;
    let deadline = launched + Duration::from_secs(1_800);
    loop {
        let state = call(
            &client,
            &key,
            Method::GET,
            format!("{base}/v1/campaigns/bench"),
            Value::Null,
        )
        .await?;
        if state["state"] == "completed" {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the campaign did not complete in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = seen.count.load(Ordering::Relaxed);
    let first = seen
        .first
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or(launched);
    let last = seen
        .last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or(launched);
    let sustained = delivered as f64 / last.duration_since(first).as_secs_f64().max(1e-9);
    println!(
        "  orbit     broadcast, policy on, signed webhooks:  {sustained:>10.0} messages/s  ({:.2}x the baseline rate)",
        sustained / plain_rate
    );
    let report = call(
        &client,
        &key,
        Method::GET,
        format!("{base}/v1/campaigns/bench/report"),
        Value::Null,
    )
    .await?;
    let variants: Vec<&Value> = report["variants"].as_array().into_iter().flatten().collect();
    let sent: u64 = variants.iter().filter_map(|v| v["sent"].as_u64()).sum();
    println!(
        "  latency   launch to first message: {:.0} ms; launch to last: {:.1} s; the endpoint got {delivered}, the report says {sent} sent",
        first.duration_since(launched).as_secs_f64() * 1_000.0,
        last.duration_since(launched).as_secs_f64()
    );
    anyhow::ensure!(
        delivered as u64 == sent,
        "every message sent reached the endpoint once"
    );
    for variant in variants {
        println!(
            "  report    {:<8} targeted {:>7}  sent {:>7}  suppressed {}",
            variant["variant"].as_str().unwrap_or(""),
            variant["targeted"],
            variant["sent"],
            variant["suppressed"]
        );
    }
    inbox_latency(&client, &running, &key, &base, args.people).await?;
    let _ = stop.send(());
    running.stopped().await
}

/// Sends everyone an inbox message, then times apps reading inboxes one request at
/// a time, beside `GET /health` on the same server as the baseline.
async fn inbox_latency(
    client: &reqwest::Client,
    running: &serve::Running,
    key: &str,
    base: &str,
    people: usize,
) -> anyhow::Result<()> {
    use reqwest::Method;
    let minted = running.hasher.mint(
        WorkspaceId::default_workspace(),
        orbit_engine::service::keys::KeySpec {
            kind: KeyKind::Write,
            name: "bench-app".into(),
            scopes: Vec::new(),
            source: Some(orbit_core::SourceId::parse("app")?),
        },
        0,
    );
    running.stores.keys.create_key(&minted.record).await?;
    call(
        client,
        key,
        Method::POST,
        format!("{base}/v1/templates"),
        json!({"id": "popup", "name": "popup", "content": {"channel": "inbox",
                "title": "红包雨来啦", "body": "{{ profile.traits.name }}，点击领取", "popup": true}}),
    )
    .await?;
    call(
        client,
        key,
        Method::POST,
        format!("{base}/v1/campaigns"),
        json!({"id": "rain", "name": "rain", "segment": "gold",
               "variants": [{"name": "a", "messages": [{"template": "popup"}]}]}),
    )
    .await?;
    let launched = Instant::now();
    call(
        client,
        key,
        Method::POST,
        format!("{base}/v1/campaigns/rain/launch"),
        Value::Null,
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(1_800);
    while call(
        client,
        key,
        Method::GET,
        format!("{base}/v1/campaigns/rain"),
        Value::Null,
    )
    .await?["state"]
        != "completed"
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the inbox campaign did not complete in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = launched.elapsed().as_secs_f64();
    println!(
        "  inbox     a broadcast to all {people}: launch to completed in {took:.1} s ({:.0} messages/s, each stored before it counts)",
        people as f64 / took
    );
    let reads = 2_000.min(people);
    let time = |path: String| {
        let client = client.clone();
        let secret = minted.secret.clone();
        async move {
            let started = Instant::now();
            let response = client
                .get(&path)
                .bearer_auth(&secret)
                .send()
                .await?
                .error_for_status()?;
            let body: Value = response.json().await?;
            Ok::<_, anyhow::Error>((started.elapsed(), body))
        }
    };
    let mut health = Vec::with_capacity(reads);
    let mut inbox = Vec::with_capacity(reads);
    for i in 0..reads {
        let person = (i * 7_919) % people;
        health.push(time(format!("{base}/health")).await?.0);
        let (took, body) = time(format!("{base}/v1/inbox?identity=user_id:m{person:06}")).await?;
        anyhow::ensure!(body["unread"] == 1, "m{person:06} has its message: {body}");
        inbox.push(took);
    }
    let percentile = |all: &mut Vec<Duration>, p: f64| {
        all.sort();
        all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1_000.0
    };
    let (health50, health99) = (percentile(&mut health, 0.5), percentile(&mut health, 0.99));
    let (inbox50, inbox99) = (percentile(&mut inbox, 0.5), percentile(&mut inbox, 0.99));
    println!("  baseline  GET /health:                p50 {health50:.3} ms  p99 {health99:.3} ms");
    println!(
        "  inbox     GET /v1/inbox ({reads} people): p50 {inbox50:.3} ms  p99 {inbox99:.3} ms  ({:.2}x the baseline p50)",
        inbox50 / health50
    );
    Ok(())
}
