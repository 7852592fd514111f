//! `TestApp`: a data directory, keys, and a running `orbit serve` process.

use crate::contract::{CheckedClient, CheckedResponse};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_orbit");

/// Runs `orbit admin create-key` and returns the key (the last line printed).
pub fn create_key(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(["admin", "create-key", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .output()
        .expect("orbit runs");
    assert!(
        output.status.success(),
        "create-key failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    stdout.lines().last().expect("a key line").trim().to_owned()
}

/// A running server with a write key and an admin API key.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub write_key: String,
    pub api_key: String,
    /// Checks every answer against the server's `/openapi.json`.
    pub http: CheckedClient,
    shared_base: Arc<Mutex<String>>,
    process: Option<Child>,
    extra_args: Vec<String>,
}

/// A client for a server whose address `base` holds, answers checked by the contract.
fn client(base: &Arc<Mutex<String>>) -> CheckedClient {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    CheckedClient::new(http, base.clone())
}

impl TestApp {
    /// A fresh data directory, keys, and a server on it.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Like [`TestApp::spawn`], with more `orbit serve` arguments.
    pub async fn spawn_with(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let write_key = create_key(dir.path(), &["--kind", "write", "--source", "web"]);
        let api_key = create_key(dir.path(), &["--kind", "api", "--scopes", "admin"]);
        let shared_base = Arc::default();
        let mut app = Self {
            dir,
            base: String::new(),
            write_key,
            api_key,
            http: client(&shared_base),
            shared_base,
            process: None,
            extra_args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        app.start();
        app.wait_healthy().await;
        app
    }

    /// A copy of the data directory `fixture` (keys read from `keys`, lines
    /// `write_key=…` and `api_key=…`), and a server on the copy.
    pub async fn spawn_on_copy(fixture: &Path, keys: &Path, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(fixture).expect("fixture directory") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copied");
        }
        let keys = std::fs::read_to_string(keys).expect("keys file");
        let key = |name: &str| {
            keys.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .expect("the key is in the keys file")
                .to_owned()
        };
        let shared_base = Arc::default();
        let mut app = Self {
            write_key: key("write_key"),
            api_key: key("api_key"),
            dir,
            base: String::new(),
            http: client(&shared_base),
            shared_base,
            process: None,
            extra_args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        app.start();
        app.wait_healthy().await;
        app
    }

    /// Starts `orbit serve` on the data directory and reads its address.
    pub fn start(&mut self) {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
            .arg(self.dir.path())
            .args(&self.extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("orbit serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("a line").expect("readable");
        let address = line
            .strip_prefix("orbit listening on ")
            .expect("the listening line")
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.base = address.clone();
        *self.shared_base.lock().expect("lock") = address;
        self.process = Some(child);
    }

    /// Replaces the extra `orbit serve` arguments used by the next [`TestApp::start`].
    pub fn set_args(&mut self, args: &[&str]) {
        self.extra_args = args.iter().map(|a| (*a).to_owned()).collect();
    }

    /// Kills the server with SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server as an operator does (SIGTERM): it drains, writes its last
    /// engine snapshot and exits; waits for that, failing the test after 30 seconds.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.process.take() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("waitable") {
                assert!(status.success(), "orbit exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for orbit to stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of a metric without labels at `/metrics`.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn wait_healthy(&self) {
        wait_until("the server answers /health", || async {
            self.http
                .get(self.url("/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// POSTs JSON to a tracking endpoint with the write key as a Bearer token.
    pub async fn track(&self, path: &str, body: &Value) -> CheckedResponse {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.write_key)
            .json(body)
            .send()
            .await
            .expect("sent")
    }

    /// GETs an API path with the admin key; returns status and JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sends JSON to an API path with the admin key; returns status and JSON.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The profile holding an identity.
    pub async fn profile_by(&self, identity: &str) -> Value {
        let (status, body) = self
            .get(&format!("/v1/profiles?identity={}", urlencode(identity)))
            .await;
        assert_eq!(status, 200, "profile for {identity}: {body}");
        body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a request with the admin key and answers its JSON body, failing the test
/// unless the server answers 2xx.
pub async fn ok(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let (status, answer) = app.send(method, path, &body).await;
    assert!(
        (200..300).contains(&status),
        "{path}: {status} {answer} (sent {body})"
    );
    answer
}

/// Waits until the campaign `id` has completed.
pub async fn wait_campaign_completed(app: &TestApp, id: &str) {
    wait_until(&format!("campaign {id} completes"), || async {
        app.get(&format!("/v1/campaigns/{id}")).await.1["state"] == "completed"
    })
    .await;
}

/// Launches the campaign `id` and waits until it has completed.
pub async fn launch_and_finish(app: &TestApp, id: &str) {
    ok(
        app,
        reqwest::Method::POST,
        &format!("/v1/campaigns/{id}/launch"),
        serde_json::Value::Null,
    )
    .await;
    wait_campaign_completed(app, id).await;
}

pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `condition` until it holds, failing the test after 90 seconds: on a 2-core
/// machine the suite runs beside the crash tests' 100,000 people, which can hold a
/// server's storage for tens of seconds; a condition that holds returns at once.
pub async fn wait_until<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_until_within(Duration::from_secs(90), what, condition).await;
}

/// Polls `condition` until it holds, failing the test after `limit`.
pub async fn wait_until_within<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The identities of a profile as `type:value` strings, sorted.
pub fn identities(profile: &Value) -> Vec<String> {
    let mut all: Vec<String> = profile["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().expect("type"),
                i["value"].as_str().expect("value")
            )
        })
        .collect();
    all.sort();
    all
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}
