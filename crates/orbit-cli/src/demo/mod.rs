//! `orbit serve --demo`: a server that starts with a generated brand — customers and
//! their history, tags, segments, templates, a finished campaign with its report and a
//! live journey — and an admin to log in with, so a newcomer sees a working console.
//!
//! The brand is made through the server's own HTTP API, as a user would make it, on
//! first start in an empty data directory. A `demo.json` in the directory marks it as
//! made: later starts serve it as it is and print the same login.

mod brand;

use crate::generate::native_line;
use anyhow::{Context, bail};
use orbit_core::{Clock, SystemClock, WorkspaceId};
use orbit_engine::KeyHasher;
use orbit_engine::service::keys::KeySpec;
use orbit_engine::service::operators::NewOperator;
use orbit_engine::service::{Operators, SessionPolicy};
use orbit_store::{KeyKind, Scope, Stores};
use orbit_synthetic::Population;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file that marks a data directory as holding the demo brand, with its login.
const MARKER_FILE: &str = "demo.json";
/// The demo's workspace.
const WORKSPACE: &str = "default";
/// The demo admin's login.
const ADMIN_LOGIN: &str = "admin";
/// People who signed up this recently arrive after the welcome journey is published,
/// so it shows people entering, waiting and converting.
const RECENT_DAYS: i64 = 7;
/// Events per ingestion request, about.
const BATCH: usize = 500;
/// Ingestion requests in flight at once: the server commits concurrent batches together.
const IN_FLIGHT: usize = 4;

/// The data directory the demo uses when none is named: never the default
/// `./orbit-data`, which may hold a brand's real data.
pub const DEFAULT_DATA_DIR: &str = "./orbit-demo";

/// How big a brand to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    /// How many customers.
    pub profiles: usize,
    /// Days of their history, ending now.
    pub days: u32,
}

/// What `demo.json` keeps: the login to print on every start.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    login: String,
    password: String,
    profiles: usize,
    made_at: String,
}

/// The login a demo server prints.
#[derive(Debug)]
pub struct DemoLogin {
    /// The operator's login.
    pub login: String,
    /// Their password.
    pub password: String,
}

/// Refuses a data directory that holds something other than the demo, before the
/// server opens it.
pub fn check_data_dir(dir: &Path) -> anyhow::Result<()> {
    let has_marker = dir.join(MARKER_FILE).exists();
    let has_database = dir.join(crate::data_dir::DATABASE_FILE).exists();
    if has_database && !has_marker {
        bail!(
            "--demo makes a demo brand in an empty data directory, and {} already holds data; \
             name another one with --data-dir (the default for --demo is {DEFAULT_DATA_DIR})",
            dir.display()
        );
    }
    Ok(())
}

/// Makes the demo brand in a freshly started server, or reads the login of one made
/// before.
pub async fn prepare(
    data_dir: &Path,
    address: SocketAddr,
    stores: &Stores,
    hasher: &KeyHasher,
    size: DemoSize,
) -> anyhow::Result<DemoLogin> {
    let marker_path = data_dir.join(MARKER_FILE);
    if let Ok(text) = std::fs::read_to_string(&marker_path) {
        let marker: Marker =
            serde_json::from_str(&text).with_context(|| format!("reading {}", marker_path.display()))?;
        return Ok(DemoLogin {
            login: marker.login,
            password: marker.password,
        });
    }
    let workspace = WorkspaceId::parse(WORKSPACE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secret = mint_admin_key(stores, hasher, &workspace, "demo set-up").await?;
    make_brand(address, secret, size).await?;
    let password = random_password();
    Operators::new(stores.operators.clone(), hasher.clone(), SessionPolicy::default())
        .create(
            &workspace,
            NewOperator {
                login: ADMIN_LOGIN.to_owned(),
                name: Some("演示管理员".to_owned()),
                role: "admin".to_owned(),
                password: password.clone(),
            },
        )
        .await
        .context("creating the demo admin")?;
    write_marker(
        &marker_path,
        &Marker {
            login: ADMIN_LOGIN.to_owned(),
            password: password.clone(),
            profiles: size.profiles,
            made_at: SystemClock.now().to_string(),
        },
    )?;
    Ok(DemoLogin {
        login: ADMIN_LOGIN.to_owned(),
        password,
    })
}

/// An admin API key named `name`, stored like any key (and listed in the console); its
/// secret.
pub async fn mint_admin_key(
    stores: &Stores,
    hasher: &KeyHasher,
    workspace: &WorkspaceId,
    name: &str,
) -> anyhow::Result<String> {
    let spec = KeySpec {
        kind: KeyKind::Api,
        name: name.to_owned(),
        scopes: vec![Scope::Admin],
        source: None,
    };
    let minted = hasher.mint(workspace.clone(), spec, SystemClock.now().as_millisecond());
    stores.keys.create_key(&minted.record).await?;
    Ok(minted.secret)
}

fn random_password() -> String {
    let random = format!("{}", uuid::Uuid::new_v4().simple());
    format!("demo-{}", &random[..12])
}

fn write_marker(path: &PathBuf, marker: &Marker) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // It holds a password.
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    serde_json::to_writer_pretty(file, marker)?;
    Ok(())
}

/// Makes the brand through the API at `address` with an admin `key`, in the order a
/// marketer would: history, tags, audiences, content, the welcome journey, the newest
/// customers (who enter it), and a campaign run to its end.
pub async fn make_brand(address: SocketAddr, key: String, size: DemoSize) -> anyhow::Result<()> {
    let api = &Api::new(address, key)?;
    let population = Population {
        profiles: size.profiles,
        days: size.days,
        seed: 2026,
        end: SystemClock.now(),
    };
    let recent_since = population
        .end
        .checked_sub(jiff::SignedDuration::from_hours(24 * RECENT_DAYS))
        .unwrap_or(population.end);
    let (earlier, recent): (Vec<usize>, Vec<usize>) =
        (0..population.profiles).partition(|&index| population.person(index).first_seen < recent_since);
    tracing::info!(people = earlier.len(), "demo: loading customers' history");
    ingest(api, &population, &earlier).await?;

    api.post(
        &format!("/v1/tag-libraries/{}/install", brand::TAG_LIBRARY),
        &json!({}),
    )
    .await?;
    for segment in brand::segments() {
        api.post("/v1/segments", &segment).await?;
    }
    for template in brand::templates() {
        api.post("/v1/templates", &template).await?;
    }
    let journey = brand::welcome_journey();
    let journey_id = journey["id"].as_str().unwrap_or_default().to_owned();
    api.post("/v1/journeys", &journey).await?;
    api.post(&format!("/v1/journeys/{journey_id}/publish"), &json!({}))
        .await?;

    tracing::info!(people = recent.len(), "demo: loading the newest customers");
    ingest(api, &population, &recent).await?;

    let campaign = brand::campaign();
    let campaign_id = campaign["id"].as_str().unwrap_or_default().to_owned();
    api.post("/v1/campaigns", &campaign).await?;
    api.post(&format!("/v1/campaigns/{campaign_id}/launch"), &json!({}))
        .await?;
    wait_until_completed(api, &campaign_id).await
}

/// Sends the people's events in batches of whole people, a few batches in flight:
/// one person's events stay in one request, in time order, so journeys see each
/// person's sign-up before their first order.
async fn ingest(api: &Api, population: &Population, people: &[usize]) -> anyhow::Result<()> {
    let mut in_flight = tokio::task::JoinSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    for &index in people {
        batch.extend(population.events(index).iter().map(native_line));
        if batch.len() >= BATCH {
            if in_flight.len() == IN_FLIGHT
                && let Some(sent) = in_flight.join_next().await
            {
                sent??;
            }
            let body = json!({ "events": std::mem::take(&mut batch) });
            let api = api.clone();
            in_flight.spawn(async move { api.post("/v1/events", &body).await });
        }
    }
    if !batch.is_empty() {
        api.post("/v1/events", &json!({ "events": batch })).await?;
    }
    while let Some(sent) = in_flight.join_next().await {
        sent??;
    }
    Ok(())
}

/// Waits until a launched campaign has sent or settled every message.
pub async fn wait_until_completed(api: &Api, campaign: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let report = api.get(&format!("/v1/campaigns/{campaign}/report")).await?;
        let pending: u64 = report["variants"]
            .as_array()
            .map(|variants| variants.iter().filter_map(|v| v["pending"].as_u64()).sum())
            .unwrap_or(0);
        if report["state"] == "completed" && pending == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the demo campaign did not finish in 5 minutes: {report}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The server's own API, called as any client calls it.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    /// A client of the server at `address`, with an API key.
    pub fn new(address: SocketAddr, key: String) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            base: format!("http://{address}"),
            key,
        })
    }

    /// Posts JSON; the JSON answer, or an error naming the path and the answer.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body);
        Self::answer(path, request.send().await).await
    }

    /// Reads a path; the JSON answer, or an error naming the path and the answer.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        Self::answer(path, request.send().await).await
    }

    async fn answer(path: &str, sent: reqwest::Result<reqwest::Response>) -> anyhow::Result<Value> {
        let response = sent.with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("making the demo brand: {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
