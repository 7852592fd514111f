//! `orbit serve --demo`: one command gives a newcomer a brand to look at — customers,
//! tags, segments, templates, a finished campaign with its report, a live journey —
//! and a login; a second start serves the same brand with the same login.

use crate::helpers::BIN;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A demo server and what it printed.
pub(crate) struct Demo {
    child: Child,
    /// Where it listens, `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The admin operator's login it printed.
    pub(crate) login: String,
    /// Their password.
    pub(crate) password: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --demo` on `dir` with 300 customers and reads its ready lines.
pub(crate) fn start_demo(dir: &Path) -> Demo {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--demo-profiles",
            "300",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--log", "warn", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("orbit serve --demo starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("readable");
    let base = next()
        .strip_prefix("orbit listening on ")
        .expect("the listening line")
        .to_owned();
    let ready = next();
    let rest = ready
        .strip_prefix(&format!("demo ready: open {base}/ and log in as "))
        .unwrap_or_else(|| panic!("the demo's ready line names the address: {ready}"));
    let (login, password) = rest
        .split_once(" with the password ")
        .expect("the ready line names the login and password");
    let (login, password) = (login.to_owned(), password.to_owned());
    std::thread::spawn(move || for _ in lines {});
    Demo {
        child,
        base,
        login,
        password,
    }
}

/// Logs in as the console does; the session cookie.
pub(crate) async fn session(demo: &Demo) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/session", demo.base))
        .json(&json!({"login": demo.login, "password": demo.password}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "the printed login works");
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

/// A JSON answer read with the session `cookie`, which must succeed.
pub(crate) async fn read(cookie: &str, demo: &Demo, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", demo.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

#[tokio::test]
async fn the_demo_starts_with_a_brand_a_finished_campaign_and_a_live_journey() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = start_demo(dir.path());
    assert_eq!(demo.login, "admin");
    let cookie = session(&demo).await;

    let segments = read(&cookie, &demo, "/v1/segments").await;
    let segments = segments["segments"].as_array().expect("segments").clone();
    assert_eq!(segments.len(), 5, "{segments:?}");
    let size = |id: &str| {
        segments
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["size"].as_u64())
            .unwrap_or_else(|| panic!("segment {id}: {segments:?}"))
    };
    assert!(size("chongqing-members") > 0, "{segments:?}");
    assert!(size("lapsed-buyers") > 0, "{segments:?}");

    let tags = read(&cookie, &demo, "/v1/tags").await;
    assert!(
        tags["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t["id"] == "lifecycle"),
        "the tea library is installed: {tags}"
    );

    let report = read(&cookie, &demo, "/v1/campaigns/winback/report").await;
    assert_eq!(report["state"], "completed", "{report}");
    let variant = |name: &str| {
        report["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .find(|v| v["variant"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("variant {name}: {report}"))
    };
    let sent = variant("a")["sent"].as_u64().expect("sent");
    let control = variant("control");
    assert!(sent > 0, "{report}");
    assert!(control["targeted"].as_u64().expect("targeted") > 0, "{report}");
    assert_eq!(
        control["sent"].as_u64().unwrap_or(0),
        0,
        "the control group got nothing"
    );
    assert_eq!(
        variant("a")["targeted"].as_u64().unwrap_or(0) + control["targeted"].as_u64().unwrap_or(0),
        size("lapsed-buyers"),
        "everyone in the segment was targeted or held out: {report}"
    );

    let journey = read(&cookie, &demo, "/v1/journeys/welcome/report").await;
    assert!(
        journey["entered"].as_u64().expect("entered") > 0,
        "the newest customers entered the welcome journey: {journey}"
    );
    drop(demo);

    // The same data directory again: the brand is served as it is, same login.
    let again = start_demo(dir.path());
    let cookie = session(&again).await;
    let segments = read(&cookie, &again, "/v1/segments").await;
    assert_eq!(segments["segments"].as_array().expect("segments").len(), 5);
}

#[test]
fn the_demo_refuses_a_data_directory_that_holds_other_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::helpers::create_key(dir.path(), &["--kind", "api", "--scopes", "admin"]);
    let output = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("orbit runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--data-dir"),
        "the error says what to do: {stderr}"
    );
}
