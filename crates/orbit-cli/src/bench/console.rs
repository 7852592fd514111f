//! `orbit bench console`: the API calls behind each console page, timed on a brand of
//! the given size (the demo brand, made through the API), each beside the server's
//! cheapest answer (`GET /health`) timed the same way in the same run.

use crate::config::Config;
use crate::demo::{self, Api, DemoSize};
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Options of `orbit bench console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Customers in the brand.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(100..))]
    profiles: u64,
    /// Days of their history.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Timed requests per call, after two untimed ones.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..))]
    samples: u64,
}

/// A page's call, with the latency it must keep.
struct Call {
    page: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    target: Duration,
}

impl Call {
    fn get(page: &'static str, path: impl Into<String>) -> Self {
        Self {
            page,
            method: Method::GET,
            path: path.into(),
            body: None,
            target: Duration::from_millis(300),
        }
    }

    fn post(page: &'static str, path: impl Into<String>, body: Value) -> Self {
        Self {
            page,
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            target: Duration::from_millis(300),
        }
    }

    fn within(mut self, target: Duration) -> Self {
        self.target = target;
        self
    }
}

/// Latencies of one call, sorted.
struct Timing {
    sorted: Vec<Duration>,
}

impl Timing {
    fn quantile(&self, q: f64) -> Duration {
        let last = self.sorted.len().saturating_sub(1);
        let at = ((last as f64) * q).round() as usize;
        self.sorted.get(at).copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Makes the brand, then times every page's calls.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        log: "warn".into(),
        ..Config::default()
    };
    let (running, key, stop) = super::start_with_admin_key(&config).await?;
    let size = DemoSize {
        profiles: usize::try_from(args.profiles)?,
        days: args.days,
    };

    let loading = Instant::now();
    demo::make_brand(running.address, key.clone(), size).await?;
    let api = Api::new(running.address, key.clone())?;
    // A broadcast as big as a city's members, so its report reads a real ledger.
    api.post(
        "/v1/campaigns",
        &json!({"id": "city-broadcast", "name": "重庆门店新品", "segment": "chongqing-members",
                "control_percent": 10,
                "variants": [{"name": "a", "weight": 1, "messages": [{"template": "winback-inbox"}]}]}),
    )
    .await?;
    api.post("/v1/campaigns/city-broadcast/launch", &json!({}))
        .await?;
    demo::wait_until_completed(&api, "city-broadcast").await?;
    println!(
        "brand: {} customers, {} days of history, made through the API in {:.0} s",
        args.profiles,
        args.days,
        loading.elapsed().as_secs_f64()
    );

    let calls = page_calls(&api).await?;
    let client = reqwest::Client::new();
    let base = format!("http://{}", running.address);
    let time = |call: &Call| {
        let client = client.clone();
        let url = format!("{base}{}", call.path);
        let (method, body, key) = (call.method.clone(), call.body.clone(), key.clone());
        async move {
            let mut sorted = Vec::new();
            for round in 0..args.samples + 2 {
                let mut request = client.request(method.clone(), &url).bearer_auth(&key);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let started = Instant::now();
                let response = request.send().await?;
                let status = response.status();
                let bytes = response.bytes().await?;
                let took = started.elapsed();
                if !status.is_success() {
                    anyhow::bail!("{url} answered {status}: {}", String::from_utf8_lossy(&bytes));
                }
                if round >= 2 {
                    sorted.push(took);
                }
            }
            sorted.sort();
            Ok::<_, anyhow::Error>(Timing { sorted })
        }
    };

    let baseline = time(&Call::get("baseline", "/health")).await?;
    println!(
        "baseline  GET /health: p50 {:.2} ms, p95 {:.2} ms",
        ms(baseline.quantile(0.5)),
        ms(baseline.quantile(0.95))
    );
    println!(
        "{:<10} {:<52} {:>9} {:>9} {:>9} {:>8}  target",
        "page", "call", "p50 ms", "p95 ms", "max ms", "p50/base"
    );
    let mut missed = 0;
    for call in &calls {
        let timing = time(call).await?;
        let p95 = timing.quantile(0.95);
        let verdict = if p95 <= call.target { "ok" } else { "MISSED" };
        if p95 > call.target {
            missed += 1;
        }
        println!(
            "{:<10} {:<52} {:>9.2} {:>9.2} {:>9.2} {:>8.1}  p95 ≤ {} ms {verdict}",
            call.page,
            format!("{} {}", call.method, shorten(&call.path)),
            ms(timing.quantile(0.5)),
            ms(p95),
            ms(timing.quantile(1.0)),
            ms(timing.quantile(0.5)) / ms(baseline.quantile(0.5)).max(0.001),
            call.target.as_millis()
        );
    }
    println!(
        "{} of {} calls within their targets",
        calls.len() - missed,
        calls.len()
    );
    let _ = stop.send(());
    running.stopped().await
}

fn shorten(path: &str) -> String {
    if path.len() <= 52 {
        path.to_owned()
    } else {
        format!("{}…", &path[..51])
    }
}

/// The calls each page makes, on real ids read from the brand.
async fn page_calls(api: &Api) -> anyhow::Result<Vec<Call>> {
    let members = api.get("/v1/segments/chongqing-members/members?limit=1").await?;
    let member = &members["members"][0];
    let profile = member["profile_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the segment has no member: {members}"))?
        .to_owned();
    let phone = member["phone"].as_str().unwrap_or_default().to_owned();
    // What the segment builder sends as a marketer edits: traits, behaviour, a tag.
    let edited = json!({"type": "and", "conditions": [
        {"type": "trait", "trait": "city", "value_type": "string", "op": "in", "values": ["重庆", "成都"]},
        {"type": "event", "event": "order_paid", "measure": {"kind": "count", "compare": "gte", "value": 1},
         "window": {"kind": "last", "amount": 30, "unit": "days"}},
        {"type": "tag", "tag": "lifecycle"}
    ]});
    let live_count = Duration::from_millis(100);
    Ok(vec![
        Call::get("dashboard", "/v1/stats/overview"),
        Call::get("dashboard", "/v1/segments"),
        Call::get("dashboard", "/v1/segments/chongqing-members/history"),
        Call::get("profiles", format!("/v1/profiles?identity=phone:{phone}")),
        Call::get("profiles", format!("/v1/profiles/{profile}")),
        Call::get("profiles", format!("/v1/profiles/{profile}/events?limit=50")),
        Call::get("profiles", format!("/v1/profiles/{profile}/segments")),
        Call::get("profiles", format!("/v1/profiles/{profile}/tags")),
        Call::get("profiles", format!("/v1/profiles/{profile}/journeys")),
        Call::get("profiles", format!("/v1/profiles/{profile}/consent")),
        Call::get("profiles", format!("/v1/profiles/{profile}/messages?limit=20")),
        Call::post("segments", "/v1/segments/preview", json!({"condition": edited})).within(live_count),
        Call::get("segments", "/v1/segments/chongqing-members"),
        Call::get("segments", "/v1/segments/chongqing-members/members?limit=50"),
        Call::get(
            "segments",
            "/v1/segments/compare?a=chongqing-members&b=high-value",
        ),
        Call::get("tags", "/v1/tags"),
        Call::get("tags", "/v1/tag-libraries"),
        Call::get("content", "/v1/templates"),
        Call::post(
            "content",
            "/v1/templates/winback-inbox/preview",
            json!({"identity": format!("phone:{phone}")}),
        ),
        Call::get("campaigns", "/v1/campaigns"),
        Call::get("campaigns", "/v1/campaigns/city-broadcast/report"),
        Call::get("journeys", "/v1/journeys"),
        Call::get("journeys", "/v1/journeys/welcome"),
        Call::get("journeys", "/v1/journeys/welcome/report"),
        Call::get("channels", "/v1/channels"),
        Call::get("settings", "/v1/settings"),
        Call::get("settings", "/v1/keys"),
        Call::get("settings", "/v1/operators"),
        Call::get("settings", "/v1/audit?limit=50"),
    ])
}
