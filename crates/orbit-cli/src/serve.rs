//! `orbit serve`.

use crate::config::{Config, LogFormat};
use crate::data_dir;
use crate::demo;
use anyhow::Context;
use clap::Args;
use orbit_core::{ManualClock, SystemClock};
use orbit_engine::snapshot::{SnapshotFile, Snapshotter};
use orbit_engine::{
    Engine, EngineClock, EngineSettings, IngestPipeline, KeyHasher, StartupReport, StartupSource,
};
use orbit_server::{AppState, ServerSettings};
use orbit_store::{LogPosition, Stores};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tracing_subscriber::EnvFilter;

/// Options of `orbit serve`; each may also be set in `orbit.toml` or as `ORBIT_<NAME>`.
#[derive(Debug, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env ORBIT_LISTEN]. Port 0 picks a free port.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// Data directory [default: ./orbit-data; env ORBIT_DATA_DIR].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// `full`: an acknowledged event survives power loss (default). `normal`: faster;
    /// survives a crash of Orbit, but a power loss may lose the last commits [env ORBIT_DURABILITY].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    durability: Option<String>,
    /// Region for phone numbers without a country code [default: CN; env ORBIT_DEFAULT_REGION].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    default_region: Option<String>,
    /// Refuse events stamped more than this many hours in the future [default: 24].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_future_hours: Option<u32>,
    /// Log filter [default: info; env ORBIT_LOG; RUST_LOG overrides].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// Log format: text or json [default: text; env ORBIT_LOG_FORMAT].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    /// Run on a simulated clock stopped at this RFC 3339 time, moved only by
    /// `POST /v1/clock` (for demos and scenario tests; never in production).
    #[arg(long, value_name = "TIME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated_clock: Option<String>,
    /// Internal networks connectors may reach, comma-separated CIDRs; loopback,
    /// private, link-local and cloud-metadata addresses are refused otherwise
    /// [env ORBIT_EGRESS_ALLOW].
    #[arg(long, value_name = "CIDRS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    egress_allow: Option<String>,
    /// The URL people's devices reach this server at, for tracked links, unsubscribe
    /// links and receipt URLs [default: http:// and the listening address; env ORBIT_PUBLIC_URL].
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    /// Minutes between snapshots of the engine's memory, when the log moved; one is
    /// also written at shutdown, and start-up replays only the log after the newest.
    /// 0: on a schedule never [default: 10; env ORBIT_SNAPSHOT_EVERY_MINUTES].
    #[arg(long, value_name = "MINUTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_every_minutes: Option<u32>,
    /// Also snapshot once the log grew by this many events since the last snapshot;
    /// 0: never [default: 1000000; env ORBIT_SNAPSHOT_EVERY_EVENTS].
    #[arg(long, value_name = "EVENTS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_every_events: Option<u64>,
    /// A console session ends after this many minutes without a request
    /// [default: 480; env ORBIT_SESSION_IDLE_MINUTES].
    #[arg(long, value_name = "MINUTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    session_idle_minutes: Option<u32>,
    /// A console session ends this many hours after login, however active (at least 1)
    /// [default: 24; env ORBIT_SESSION_HOURS].
    #[arg(long, value_name = "HOURS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    session_hours: Option<u32>,
    /// A TOML configuration file [default: ./orbit.toml when present].
    #[arg(long)]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Start with a generated demo brand (customers, tags, segments, templates, a
    /// finished campaign, a live journey) and an admin to log in with; made on first
    /// start in an empty data directory [data directory default: ./orbit-demo].
    #[arg(long)]
    #[serde(skip)]
    demo: bool,
    /// How many customers the demo brand has.
    #[arg(long, value_name = "N", default_value_t = 2_000, requires = "demo",
          value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    #[serde(skip)]
    demo_profiles: u64,
}

pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(mut args: ServeArgs) -> anyhow::Result<()> {
    if args.demo && args.data_dir.is_none() {
        args.data_dir = Some(PathBuf::from(demo::DEFAULT_DATA_DIR));
    }
    let config = Config::load(args.config.as_deref(), &args)?;
    init_logging(&config);
    if args.demo {
        demo::check_data_dir(&config.data_dir)?;
    }
    let running = start(&config, shutdown_signal()).await?;
    // Tests and scripts read the bound address (port 0 picks one) from this line.
    println!("orbit listening on http://{}", running.address);
    if args.demo {
        let size = demo::DemoSize {
            profiles: usize::try_from(args.demo_profiles)?,
            days: 60,
        };
        let login = demo::prepare(
            &config.data_dir,
            running.address,
            &running.stores,
            &running.hasher,
            size,
        )
        .await
        .with_context(|| {
            format!(
                "making the demo brand failed; remove {} and start again",
                config.data_dir.display()
            )
        })?;
        println!(
            "demo ready: open http://{}/ and log in as {} with the password {}",
            running.address, login.login, login.password
        );
    }
    running.stopped().await?;
    tracing::info!("orbit stopped");
    Ok(())
}

/// A server started in this process.
pub struct Running {
    /// The address it listens on.
    pub address: SocketAddr,
    /// Its storage ports.
    pub stores: Stores,
    /// Its key hasher.
    pub hasher: KeyHasher,
    /// The HTTP server; ends after `shutdown` resolves and requests drain.
    pub server: JoinHandle<anyhow::Result<()>>,
    /// The data directory's lock, released when this is dropped.
    pub lock: std::fs::File,
    /// Writes snapshots of the engine's memory.
    pub snapshots: Arc<Snapshotter>,
    /// How the engine's memory was loaded.
    pub startup: StartupReport,
}

impl Running {
    /// Waits for the HTTP server to end (after `shutdown` resolved), writes a last
    /// snapshot of the engine's memory, and releases the data directory.
    pub async fn stopped(self) -> anyhow::Result<()> {
        let served = self.server.await.context("the server task failed")?;
        // Even after a failed server: the snapshot only shortens the next start-up.
        if let Err(error) = self.snapshots.write_now().await {
            tracing::warn!(error = %error, "writing the engine snapshot at shutdown failed");
        }
        drop(self.lock);
        served
    }
}

/// Opens the data directory, starts the ingest pipeline and the HTTP server.
pub async fn start(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let lock = data_dir::lock(&config.data_dir)?;
    let (store, hasher) = data_dir::open(&config.data_dir, config.durability.into()).await?;
    let stores = store.into_stores();
    let clock = match config.simulated_clock {
        Some(start) => {
            tracing::warn!(now = %start, "running on a simulated clock");
            EngineClock::Simulated(ManualClock::new(start))
        }
        None => EngineClock::Wall(Arc::new(SystemClock)),
    };
    let now = clock.now_source();

    let snapshot = SnapshotFile::in_dir(&config.data_dir);
    let pipeline = IngestPipeline::start_from(stores.clone(), now.clone(), Some(&snapshot))
        .await
        .context("starting the ingest pipeline")?;
    let startup = pipeline.startup().clone();
    let snapshots = Arc::new(Snapshotter::new(
        pipeline.clone(),
        stores.events.clone(),
        snapshot,
        now.clone(),
        match startup.source {
            StartupSource::Snapshot(position) => position,
            StartupSource::Log => LogPosition(0),
        },
    ));
    tokio::spawn(orbit_engine::maintenance::prune_message_ids_forever(
        stores.events.clone(),
        now.clone(),
        Duration::from_secs(3_600),
    ));
    tokio::spawn(orbit_engine::maintenance::prune_done_effects_forever(
        stores.journey_runs.clone(),
        now.clone(),
        Duration::from_secs(3_600),
    ));
    // Bound before anything is built on the public URL, which defaults to this address.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config.public_url(address);
    if config.public_url.is_none() {
        tracing::info!(%public_url, "links in messages lead to this address; set --public-url for people's devices to reach them");
    }
    let engine_settings = EngineSettings {
        default_region: config.default_region,
        egress: config.egress(),
        public_url: public_url.clone(),
        sessions: config.session_policy(),
    };
    let engine = Engine::load(stores.clone(), pipeline, hasher.clone(), clock, engine_settings)
        .await
        .context("loading the engine")?;
    // The metrics recorder exists from here on.
    let state = AppState::new(
        engine.clone(),
        ServerSettings {
            default_region: config.default_region,
            max_future: config.max_future,
            secure_cookies: public_url.starts_with("https://"),
        },
    );
    orbit_engine::metrics::record_startup(&startup);
    tokio::spawn(snapshots.clone().run(config.snapshot_policy()));
    // Tag values are computed before anything is answered; a previous process's
    // half-sent messages are settled before anything new goes out.
    engine.start().await.context("starting the engine")?;
    tracing::info!(%address, data_dir = %config.data_dir.display(), durability = %config.durability, "orbit is serving");
    let server = tokio::spawn(async move {
        let app = orbit_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    });
    Ok(Running {
        address,
        stores,
        hasher,
        server,
        lock,
        snapshots,
        startup,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
