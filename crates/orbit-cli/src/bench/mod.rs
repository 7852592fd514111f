//! `orbit bench`: measured throughput, each figure beside a baseline from the same run.

use crate::config::{Config, Durability};
use crate::serve;
use clap::{Args, Subcommand};
use orbit_core::resolution::{IdentityGraph, IdentityPolicy};
use orbit_core::trait_rules::TraitRules;
use orbit_core::{Identity, IdentityKind, ProfileId, WorkspaceId};
use orbit_store::KeyKind;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod audience;
mod console;
mod delivery;
mod journey_dates;
mod journeys;
mod restart;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// A 5-condition segment on the audience index, beside SQL over SQLite.
    Audience(audience::AudienceArgs),
    /// Durable ingestion over HTTP on loopback, identity resolution included; then
    /// start-up on that data, from the engine snapshot and from the whole log.
    Ingest(IngestArgs),
    /// A broadcast campaign delivered to a webhook endpoint on loopback.
    Delivery(delivery::DeliveryArgs),
    /// Journeys: event-to-message latency under sustained ingest, timer transitions
    /// a second, and the memory and start-up cost of people waiting.
    Journeys(journeys::JourneysArgs),
    /// Identity resolution alone, in memory.
    Resolve(ResolveArgs),
    /// The API calls behind every console page, on a demo brand of the given size.
    Console(console::ConsoleArgs),
}

/// Options of `orbit bench ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Events to send.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Distinct people the events come from.
    #[arg(long, default_value_t = 100_000)]
    people: usize,
    /// `full` or `normal` (see `orbit serve --help`).
    #[arg(long, value_enum, default_value_t = Durability::Full)]
    durability: Durability,
}

/// Options of `orbit bench resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Events to resolve.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Distinct people the events come from.
    #[arg(long, default_value_t = 100_000)]
    people: usize,
}

/// Starts a server in this process on `config`, with an admin API key; the server, the
/// key, and the sender that stops it.
async fn start_with_admin_key(
    config: &Config,
) -> anyhow::Result<(serve::Running, String, tokio::sync::oneshot::Sender<()>)> {
    serve::init_logging(config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = serve::start(config, async move {
        let _ = stopped.await;
    })
    .await?;
    let key = crate::demo::mint_admin_key(
        &running.stores,
        &running.hasher,
        &WorkspaceId::default_workspace(),
        "bench",
    )
    .await?;
    Ok((running, key, stop))
}

/// Runs a benchmark and prints its figures.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    match command {
        BenchCommand::Ingest(args) => ingest(args).await,
        BenchCommand::Audience(args) => audience::run(args).await,
        BenchCommand::Delivery(args) => delivery::run(args).await,
        BenchCommand::Journeys(args) => journeys::run(args).await,
        BenchCommand::Console(args) => console::run(args).await,
        BenchCommand::Resolve(args) => {
            resolve(args);
            Ok(())
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// A deterministic generator (splitmix64), so every run sends the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const CITIES: [&str; 6] = ["重庆", "上海", "北京", "成都", "广州", "杭州"];
const EVENTS: [&str; 5] = [
    "page_viewed",
    "product_viewed",
    "added_to_cart",
    "checkout_started",
    "order_paid",
];

/// One request body: `batch` Segment events from random people.
fn batch_body(rng: &mut Rng, first: usize, batch: usize, people: usize) -> Vec<u8> {
    let events: Vec<serde_json::Value> = (0..batch)
        .map(|i| {
            let person = rng.below(people);
            let n = first + i;
            if rng.below(20) == 0 {
                json!({"type": "identify", "userId": format!("member-{person}"), "anonymousId": format!("anon-{person}"),
                       "messageId": format!("bench-{n}"),
                       "traits": {"email": format!("p{person}@example.com"), "phone": format!("138{:08}", person),
                                  "city": CITIES[person % CITIES.len()]},
                       "context": {"device": {"id": format!("dev-{person}")}}})
            } else {
                json!({"type": "track", "anonymousId": format!("anon-{person}"), "event": EVENTS[rng.below(EVENTS.len())],
                       "messageId": format!("bench-{n}"),
                       "properties": {"product_id": format!("sku-{}", rng.below(5_000)), "price": 59.9, "category": "饮品/果茶"},
                       "context": {"library": {"name": "orbit-bench"}, "device": {"id": format!("dev-{person}")}}})
            }
        })
        .collect();
    serde_json::to_vec(&json!({"batch": events, "sentAt": "2026-11-23T10:00:00Z"})).unwrap_or_default()
}

/// Posts every body with `concurrency` connections; returns the elapsed time.
async fn post_all(
    url: String,
    key: String,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, key, bodies, next) = (
            client.clone(),
            url.clone(),
            key.clone(),
            bodies.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return Ok::<(), anyhow::Error>(());
                };
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "request failed: {}",
                    response.status()
                );
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

/// A server that reads each body and answers at once: the cost of HTTP on loopback.
async fn sink_server() -> anyhow::Result<std::net::SocketAddr> {
    let app = axum::Router::new().route(
        "/sink",
        axum::routing::post(|body: axum::body::Bytes| async move {
            axum::Json(json!({"success": true, "bytes": body.len()}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let batches = args.events.div_ceil(args.batch);
    let mut rng = Rng(42);
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..batches)
            .map(|b| batch_body(&mut rng, b * args.batch, args.batch, args.people))
            .collect(),
    );
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let total = batches * args.batch;
    println!(
        "ingest: {total} events in {batches} requests of {}, {} connections, {} people, {:.0} bytes/event, durability={}",
        args.batch,
        args.concurrency,
        args.people,
        bytes as f64 / total as f64,
        args.durability
    );

    let sink = sink_server().await?;
    let baseline = post_all(
        format!("http://{sink}/sink"),
        String::new(),
        bodies.clone(),
        args.concurrency,
    )
    .await?;
    println!(
        "  baseline  HTTP loopback, body read and dropped: {:>10.0} events/s",
        rate(total, baseline)
    );

    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        durability: args.durability,
        log: "warn".into(),
        // A snapshot only when the bench asks for one, so that it times the write.
        snapshot_every: None,
        snapshot_every_events: None,
        ..Config::default()
    };
    serve::init_logging(&config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = serve::start(&config, async move {
        let _ = stopped.await;
    })
    .await?;
    let minted = running.hasher.mint(
        WorkspaceId::default_workspace(),
        orbit_engine::service::keys::KeySpec {
            kind: KeyKind::Write,
            name: "bench".into(),
            scopes: Vec::new(),
            source: None,
        },
        0,
    );
    running.stores.keys.create_key(&minted.record).await?;

    let acked = post_all(
        format!("http://{}/v1/batch", running.address),
        minted.secret,
        bodies,
        args.concurrency,
    )
    .await?;
    println!(
        "  orbit     durable ingest, OneID applied:          {:>10.0} events/s  ({:.2}x baseline time)",
        rate(total, acked),
        acked.as_secs_f64() / baseline.as_secs_f64()
    );
    commit_summary(&format!("http://{}/metrics", running.address), acked).await?;
    let db_bytes = std::fs::metadata(dir.path().join(crate::data_dir::DATABASE_FILE)).map_or(0, |m| m.len());
    println!(
        "  database: {:.1} MiB ({:.0} bytes/event)",
        db_bytes as f64 / 1048576.0,
        db_bytes as f64 / total as f64
    );
    let written = running.snapshots.write_now().await?;
    let _ = stop.send(());
    running.stopped().await?;

    // Start-up on what was just written.
    restart::measure(&config, total, written).await
}

/// Prints how the ingest's commits went, from the server's own metrics: how many, how
/// large, how long each phase took, and the share of the run the single writer was busy.
async fn commit_summary(metrics_url: &str, elapsed: Duration) -> anyhow::Result<()> {
    let text = reqwest::get(metrics_url).await?.text().await?;
    let value = |name: &str| -> f64 {
        let found = text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '));
        found.and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    };
    let commits = value("orbit_ingest_commit_events_count");
    let busy = value("orbit_ingest_commit_duration_seconds_sum");
    println!(
        "  commits   {commits:.0}, {:.0} events each, {:.2} ms each; the writer busy {:.0}% of the run",
        value("orbit_ingest_commit_events_sum") / commits.max(1.0),
        busy * 1e3 / commits.max(1.0),
        busy * 100.0 / elapsed.as_secs_f64()
    );
    let phases: Vec<String> = [
        "begin",
        "claim",
        "resolve",
        "append",
        "profiles",
        "sync",
        "timelines",
        "audiences",
    ]
    .iter()
    .map(|phase| {
        let sum = value(&format!(
            "orbit_ingest_commit_phase_seconds_sum{{phase=\"{phase}\"}}"
        ));
        format!("{phase} {:.2}", sum * 1e3 / commits.max(1.0))
    })
    .collect();
    println!("            phases (ms per commit): {}", phases.join(", "));
    Ok(())
}

fn resolve(args: ResolveArgs) {
    let mut rng = Rng(7);
    let events: Vec<Vec<Identity>> = (0..args.events)
        .map(|_| {
            let person = rng.below(args.people);
            let mut ids = vec![
                Identity {
                    kind: IdentityKind::AnonymousId,
                    value: format!("anon-{person}"),
                },
                Identity {
                    kind: IdentityKind::DeviceId,
                    value: format!("dev-{person}"),
                },
            ];
            if rng.below(20) == 0 {
                ids.push(Identity {
                    kind: IdentityKind::UserId,
                    value: format!("member-{person}"),
                });
                ids.push(Identity {
                    kind: IdentityKind::Phone,
                    value: format!("+86138{person:08}"),
                });
            }
            ids
        })
        .collect();
    let identities: usize = events.iter().map(Vec::len).sum();
    println!(
        "resolve: {} events, {identities} identities, {} people",
        args.events, args.people
    );

    // Baseline: the same identities into a plain hash map, one lookup or insert each.
    let started = Instant::now();
    let mut plain: HashMap<&Identity, u32> = HashMap::new();
    for (n, event) in events.iter().enumerate() {
        for identity in event {
            plain.entry(identity).or_insert(n as u32);
        }
    }
    let baseline = started.elapsed();
    println!(
        "  baseline  HashMap entry per identity:  {:>12.0} events/s",
        rate(args.events, baseline)
    );

    let (policy, rules) = (IdentityPolicy::default(), TraitRules::default());
    let mut graph = IdentityGraph::default();
    let mut counter = 0u128;
    let at = jiff::Timestamp::UNIX_EPOCH;
    let started = Instant::now();
    for event in &events {
        graph.resolve(event, at, &policy, &rules, &mut || {
            counter += 1;
            ProfileId::mint(at, counter)
        });
    }
    let elapsed = started.elapsed();
    println!(
        "  orbit     OneID resolution:            {:>12.0} events/s  ({:.2}x baseline time)  -> {} profiles",
        rate(args.events, elapsed),
        elapsed.as_secs_f64() / baseline.as_secs_f64(),
        graph.profile_count()
    );
    drop(plain);
}
