//! `orbit bench journeys`: how fast a journey answers an event under sustained ingest,
//! how many durable transitions a second its timers make, and what a million waiting
//! people cost in memory and start-up — each beside a baseline from the same run.

use crate::config::Config;
use crate::serve;
use clap::Args;
use orbit_core::WorkspaceId;
use orbit_store::{KeyKind, Scope};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::delivery::call;

/// Options of `orbit bench journeys`.
#[derive(Debug, Args)]
pub struct JourneysArgs {
    /// Background events per second sent while the latency is measured.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// How long the latency is measured.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Journey-triggering events per second among them.
    #[arg(long, default_value_t = 50)]
    triggers: u64,
    /// People waiting on a timer, for transitions, memory and start-up.
    #[arg(long, default_value_t = 1_000_000)]
    waiting: usize,
}

/// A server on a fresh data directory, with an admin key.
pub(super) struct Server {
    running: serve::Running,
    stop: tokio::sync::oneshot::Sender<()>,
    key: String,
    base: String,
}

pub(super) async fn start(config: &Config, key: Option<String>) -> anyhow::Result<Server> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = serve::start(config, async move {
        let _ = stopped.await;
    })
    .await?;
    let key = match key {
        Some(key) => key,
        None => {
            let minted = running.hasher.mint(
                WorkspaceId::default_workspace(),
                orbit_engine::service::keys::KeySpec {
                    kind: KeyKind::Api,
                    name: "bench".into(),
                    scopes: vec![Scope::Admin],
                    source: None,
                },
                0,
            );
            running.stores.keys.create_key(&minted.record).await?;
            minted.secret
        }
    };
    let base = format!("http://{}", running.address);
    Ok(Server {
        running,
        stop,
        key,
        base,
    })
}

impl Server {
    async fn call(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        call(client, &self.key, method, format!("{}{path}", self.base), body).await
    }

    pub(super) async fn shut_down(self) -> anyhow::Result<String> {
        let _ = self.stop.send(());
        self.running.stopped().await?;
        Ok(self.key)
    }
}

/// Arrival time per user at the endpoint.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn endpoint(arrivals: Arrivals) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let arrivals = arrivals.clone();
            async move {
                let now = Instant::now();
                let user = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["user"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                arrivals
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(user)
                    .or_insert(now);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/hook"))
}

fn percentile(all: &mut [f64], p: f64) -> f64 {
    if all.is_empty() {
        return f64::NAN;
    }
    all.sort_by(f64::total_cmp);
    all[((all.len() as f64 * p) as usize).min(all.len() - 1)]
}

/// The wall clock, as the server reads it, to compare with the times it stores.
fn wall_now() -> jiff::Timestamp {
    orbit_core::Clock::now(&orbit_core::SystemClock)
}

/// Runs the benchmark.
pub async fn run(args: JourneysArgs) -> anyhow::Result<()> {
    latency(&args).await?;
    waiting(&args).await?;
    super::journey_dates::birthdays(args.waiting).await
}

/// Event → ledger and event → endpoint under sustained ingest.
async fn latency(args: &JourneysArgs) -> anyhow::Result<()> {
    use reqwest::Method;
    println!(
        "journeys: latency at {} events/s of background ingest for {} s, {} triggers/s",
        args.rate, args.seconds, args.triggers
    );
    let arrivals: Arrivals = Arc::default();
    let hook = endpoint(arrivals.clone()).await?;
    let client = reqwest::Client::new();
    let mut plain = Vec::new();
    for i in 0..500 {
        let started = Instant::now();
        client
            .post(&hook)
            .json(&json!({"user": format!("plain-{i}")}))
            .send()
            .await?
            .error_for_status()?;
        plain.push(started.elapsed().as_secs_f64() * 1_000.0);
    }

    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        log: "warn".into(),
        egress_allow: vec!["127.0.0.1/32".parse()?],
        ..Config::default()
    };
    serve::init_logging(&config);
    let server = start(&config, None).await?;
    server
        .call(
            &client,
            Method::POST,
            "/v1/channels",
            json!({"id": "hook", "name": "bench", "default": true,
            "config": {"provider": "webhook", "url": hook, "secret": "bench-webhook-secret-0123456789"}}),
        )
        .await?;
    server
        .call(&client, Method::POST, "/v1/templates", json!({"id": "nudge", "name": "nudge", "class": "transactional",
            "content": {"channel": "webhook", "body": {"user": "{{ profile.identities.user_id }}", "text": "购物车还在等你"}}}))
        .await?;
    server
        .call(&client, Method::POST, "/v1/journeys", json!({"id": "cart", "name": "cart",
            "entry": {"type": "event", "event": "checkout_started"}, "start": "nudge",
            "nodes": {"nudge": {"type": "send", "class": "transactional", "messages": [{"template": "nudge"}], "next": "done"},
                      "done": {"type": "exit"}}}))
        .await?;
    server
        .call(&client, Method::POST, "/v1/journeys/cart/publish", Value::Null)
        .await?;

    // Background ingest: a batch every 20 ms, at most 8 requests in flight.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let acked = Arc::new(AtomicU64::new(0));
    let background = {
        let (client, url, key, acked) = (
            client.clone(),
            format!("{}/v1/events", server.base),
            server.key.clone(),
            acked.clone(),
        );
        let per_tick = (args.rate / 50).max(1);
        tokio::spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(8));
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut n = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let events: Vec<Value> = (0..per_tick)
                    .map(|i| json!({"type": "track", "event": "page_viewed", "user_id": format!("v{}", (n + i) % 100_000)}))
                    .collect();
                n += per_tick;
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (client, url, key, acked) = (client.clone(), url.clone(), key.clone(), acked.clone());
                tokio::spawn(async move {
                    let sent = client
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&json!({"events": events}))
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status().is_success()) {
                        acked.fetch_add(per_tick, Ordering::Relaxed);
                    }
                    drop(slot);
                });
            }
        })
    };
    let started = Instant::now();
    let mut triggers: Vec<(String, Instant, jiff::Timestamp, f64)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.triggers.max(1) as f64));
    let mut i = 0;
    while Instant::now() < deadline {
        tick.tick().await;
        let user = format!("t{i:06}");
        i += 1;
        let sent = Instant::now();
        server
            .call(
                &client,
                Method::POST,
                "/v1/events",
                json!({"events": [{"type": "track", "event": "checkout_started", "user_id": user}]}),
            )
            .await?;
        triggers.push((
            user,
            Instant::now(),
            wall_now(),
            sent.elapsed().as_secs_f64() * 1_000.0,
        ));
    }
    background.await?;
    let sustained = acked.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let wait_until = Instant::now() + Duration::from_secs(60);
    while arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
        < triggers.len() + 500
    {
        anyhow::ensure!(
            Instant::now() < wait_until,
            "not every journey message arrived within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // When each message's ledger row was written, read from the database itself.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.path().join("orbit.db").display()
    ))
    .await?;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT profile_id, created_at FROM sends WHERE origin LIKE 'journey:%'")
            .fetch_all(&pool)
            .await?;
    let written: HashMap<String, i64> = rows.into_iter().collect();
    let mut to_ledger = Vec::new();
    let mut to_endpoint = Vec::new();
    let mut acks: Vec<f64> = triggers.iter().map(|t| t.3).collect();
    let arrived = arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for (user, acked_at, acked_wall, _) in &triggers {
        let profile = server
            .call(
                &client,
                Method::GET,
                &format!("/v1/profiles?identity=user_id:{user}"),
                Value::Null,
            )
            .await?;
        if let Some(ms) = profile["id"].as_str().and_then(|id| written.get(id)) {
            to_ledger.push((ms - acked_wall.as_millisecond()).max(0) as f64);
        }
        if let Some(at) = arrived.get(user) {
            to_endpoint.push(at.saturating_duration_since(*acked_at).as_secs_f64() * 1_000.0);
        }
    }
    anyhow::ensure!(
        to_endpoint.len() == triggers.len(),
        "every trigger's message arrived"
    );
    println!("  ingest    background, acknowledged:        {sustained:>10.0} events/s");
    println!(
        "  baseline  event acknowledged (the trigger's own request): p50 {:.2} ms  p99 {:.2} ms",
        percentile(&mut acks, 0.5),
        percentile(&mut acks, 0.99)
    );
    println!(
        "  baseline  plain POST to the endpoint:       p50 {:.2} ms  p99 {:.2} ms",
        percentile(&mut plain, 0.5),
        percentile(&mut plain, 0.99)
    );
    println!(
        "  orbit     acknowledged → ledger row ({} messages, 1 ms resolution): p50 {:.0} ms  p99 {:.0} ms",
        to_ledger.len(),
        percentile(&mut to_ledger, 0.5),
        percentile(&mut to_ledger, 0.99)
    );
    println!(
        "  orbit     acknowledged → at the endpoint:    p50 {:.2} ms  p99 {:.2} ms",
        percentile(&mut to_endpoint, 0.5),
        percentile(&mut to_endpoint, 0.99)
    );
    server.shut_down().await?;
    Ok(())
}

/// Sends `event` for every waiting person, 1,000 a request, 16 requests at a time.
async fn send_all(
    client: &reqwest::Client,
    server: &Server,
    people: usize,
    event: &'static str,
) -> anyhow::Result<Duration> {
    send_each(
        client,
        server,
        people,
        |i| json!({"type": "track", "event": event, "user_id": format!("w{i:07}")}),
    )
    .await
}

/// Sends one event per person, made by `event`, 1,000 a request, 16 requests at a time.
pub(super) async fn send_each(
    client: &reqwest::Client,
    server: &Server,
    people: usize,
    event: impl Fn(usize) -> Value,
) -> anyhow::Result<Duration> {
    let url = format!("{}/v1/events", server.base);
    let started = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for first in (0..people).step_by(1_000) {
        let events: Vec<Value> = (first..(first + 1_000).min(people)).map(&event).collect();
        let slot = slots.clone().acquire_owned().await?;
        let (client, url, key) = (client.clone(), url.clone(), server.key.clone());
        tasks.push(tokio::spawn(async move {
            let answer = client
                .post(&url)
                .bearer_auth(&key)
                .json(&json!({"events": events}))
                .send()
                .await;
            drop(slot);
            answer?.error_for_status().map(|_| ())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

/// `orbit serve` on a data directory in a process of its own, so its memory is its own.
pub(super) struct Child {
    process: std::process::Child,
    pub(super) base: String,
    pub(super) started_in: Duration,
}

impl Child {
    pub(super) async fn start(dir: &std::path::Path, clock: jiff::Timestamp) -> anyhow::Result<Self> {
        use std::io::BufRead;
        let started = Instant::now();
        let mut process = std::process::Command::new(std::env::current_exe()?)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--simulated-clock",
            ])
            .arg(clock.to_string())
            .arg("--data-dir")
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = process
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server printed nothing"))??;
        let base = line
            .strip_prefix("orbit listening on ")
            .ok_or_else(|| anyhow::anyhow!("unexpected first line {line:?}"))?
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        let client = reqwest::Client::new();
        while !client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Self {
            process,
            base,
            started_in: started.elapsed(),
        })
    }

    pub(super) fn resident_bytes(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/statm", self.process.id()))
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages * 4_096)
    }

    /// Moves the simulated clock (`change` is the body of `POST /v1/clock`), which
    /// answers once everything it made due is done; how long that took, and then
    /// `journey`'s report.
    pub(super) async fn move_clock(
        &self,
        client: &reqwest::Client,
        key: &str,
        change: Value,
        journey: &str,
    ) -> anyhow::Result<(Duration, Value)> {
        use reqwest::Method;
        let started = Instant::now();
        call(
            client,
            key,
            Method::POST,
            format!("{}/v1/clock", self.base),
            change,
        )
        .await?;
        let took = started.elapsed();
        let report = call(
            client,
            key,
            Method::GET,
            format!("{}/v1/journeys/{journey}/report", self.base),
            Value::Null,
        )
        .await?;
        Ok((took, report))
    }

    pub(super) fn stop(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Durable transitions a second, and what waiting people cost: the same events loaded
/// into two data directories, one with a journey that keeps everyone waiting on a
/// timer; each started afresh in a process of its own.
async fn waiting(args: &JourneysArgs) -> anyhow::Result<()> {
    use reqwest::Method;
    let people = args.waiting;
    println!("journeys: {people} people waiting on a timer");
    let clock: jiff::Timestamp = "2026-12-07T02:00:00Z".parse()?;
    let client = reqwest::Client::new();
    let config = |dir: &tempfile::TempDir| -> anyhow::Result<Config> {
        Ok(Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().to_path_buf(),
            log: "warn".into(),
            simulated_clock: Some(clock),
            ..Config::default()
        })
    };

    let plain = tempfile::tempdir()?;
    let server = start(&config(&plain)?, None).await?;
    send_all(&client, &server, people, "app_opened").await?;
    let ingest = send_all(&client, &server, people, "signed_up").await?;
    server.shut_down().await?;

    let with_journey = tempfile::tempdir()?;
    let server = start(&config(&with_journey)?, None).await?;
    send_all(&client, &server, people, "app_opened").await?;
    server
        .call(&client, Method::POST, "/v1/journeys", json!({"id": "hour", "name": "hour",
            "entry": {"type": "event", "event": "signed_up"}, "start": "hour",
            "nodes": {"hour": {"type": "wait", "duration": "PT1H", "next": "done"}, "done": {"type": "exit"}}}))
        .await?;
    server
        .call(&client, Method::POST, "/v1/journeys/hour/publish", Value::Null)
        .await?;
    let entering = Instant::now();
    send_all(&client, &server, people, "signed_up").await?;
    loop {
        let report = server
            .call(&client, Method::GET, "/v1/journeys/hour/report", Value::Null)
            .await?;
        if report["in_journey"].as_u64() == Some(people as u64) {
            break;
        }
        anyhow::ensure!(
            entering.elapsed() < Duration::from_secs(1_800),
            "people did not all enter in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entered = entering.elapsed();
    let key = server.shut_down().await?;

    eprintln!("  (starting both data directories afresh, each in a process of its own)");
    let baseline = Child::start(plain.path(), clock).await?;
    let (baseline_memory, baseline_startup) = (baseline.resident_bytes(), baseline.started_in);
    baseline.stop();
    let child = Child::start(with_journey.path(), clock).await?;
    let (memory, startup) = (child.resident_bytes(), child.started_in);
    let (firing, report) = child
        .move_clock(&client, &key, json!({"advance": "PT1H"}), "hour")
        .await?;
    child.stop();
    anyhow::ensure!(report["in_journey"] == 0, "everyone's timer fired: {report}");

    println!(
        "  baseline  ingest of the {people} entry events, no journey: {:>10.0} events/s",
        people as f64 / ingest.as_secs_f64()
    );
    println!(
        "  orbit     the same events entering a journey (durable): {:>10.0} entries/s",
        people as f64 / entered.as_secs_f64()
    );
    println!(
        "  orbit     timers fired, transitions stored:     {:>10.0} transitions/s  ({:.2} s for {people})",
        people as f64 / firing.as_secs_f64(),
        firing.as_secs_f64(),
    );
    println!(
        "  memory    {:.0} bytes per waiting person ({:.0} MiB resident after start-up vs {:.0} MiB for the same events without the journey)",
        memory.saturating_sub(baseline_memory) as f64 / people as f64,
        memory as f64 / 1_048_576.0,
        baseline_memory as f64 / 1_048_576.0
    );
    println!(
        "  start-up  with {people} waiting: {:.2} s; the same events without the journey (baseline): {:.2} s",
        startup.as_secs_f64(),
        baseline_startup.as_secs_f64()
    );
    Ok(())
}
