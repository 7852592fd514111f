//! `orbit import`: files into a data directory, read back through the API.

use crate::helpers::{BIN, TestApp};
use std::process::{Command, Output};

fn import(app: &TestApp, what: &str, file: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(["import", what])
        .arg(file)
        .arg("--data-dir")
        .arg(app.dir.path())
        .output()
        .expect("orbit runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn imports_profiles_and_events_and_reports_rejected_lines() {
    let mut app = TestApp::spawn().await;
    let profiles = app.dir.path().join("members.csv");
    std::fs::write(
        &profiles,
        "user_id,phone,email,city,points,traits.tier\n\
         m-1,138 0013 8000,Li@Example.com,重庆,120,gold\n\
         m-2,13900139000,wang@example.com,成都,80,\"silver\n(since May)\"\n\
         m-3,13700137000,上海,5\n\
         m-4,13600136000,not-an-email,上海,5,\n",
    )
    .expect("written");

    // The running server holds the data directory.
    let refused = import(&app, "profiles", &profiles);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    app.kill();
    let done = import(&app, "profiles", &profiles);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let summary = stdout(&done);
    assert!(summary.contains("3 stored"), "{summary}");
    assert!(
        summary.contains("1 rejected"),
        "a row with too few fields is refused: {summary}"
    );
    assert!(summary.contains("imported 4 profiles"), "{summary}");
    assert!(
        summary.contains("line 5:"),
        "the short row is named by its line, after a quoted field spanning two: {summary}"
    );

    let events = app.dir.path().join("orders.jsonl");
    std::fs::write(
        &events,
        [
            r#"{"event": "order_paid", "user_id": "m-1", "timestamp": "2026-11-01T10:00:00+08:00", "properties": {"order_id": "o-1", "amount": 59.9}}"#,
            r#"{"event": "order_paid", "user_id": "m-2", "properties": {"order_id": "o-2", "amount": 18}}"#,
            r#"{"event": "order_paid", "user_id": "m-1", "timestamp": "not a time"}"#,
            r#"{"event": "order_paid", "user_id": "m-1"#,
            "",
            r#"{"type": "launch", "user_id": "m-2"}"#,
        ]
        .join("\n"),
    )
    .expect("written");
    let done = import(&app, "events", &events);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let summary = stdout(&done);
    assert!(
        summary.contains("2 stored, 0 duplicates, 3 rejected"),
        "{summary}"
    );
    for expected in ["line 3: timestamp", "line 4:", "line 6: type"] {
        assert!(summary.contains(expected), "{expected:?} in {summary}");
    }
    // Lines without a message id are named by their content: a second run stores nothing.
    let again = stdout(&import(&app, "events", &events));
    assert!(again.contains("0 stored, 2 duplicates"), "{again}");

    app.start();
    let li = app.profile_by("phone:+8613800138000").await;
    assert_eq!(li["traits"]["email"], "li@example.com");
    assert_eq!(li["traits"]["points"], 120);
    assert_eq!(li["traits"]["tier"], "gold");
    let id = li["id"].as_str().expect("id");
    let (status, timeline) = app.get(&format!("/v1/profiles/{id}/events")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = timeline["data"]
        .as_array()
        .expect("a page of events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        names,
        ["order_paid"],
        "the order joined the imported member: {timeline}"
    );
    let wang = app.profile_by("email:wang@example.com").await;
    assert_eq!(wang["traits"]["city"], "成都");
    let flagged = app.profile_by("user_id:m-4").await;
    assert_eq!(
        flagged["issues"][0]["field"], "traits.email",
        "an invalid email is flagged: {flagged}"
    );
}

#[tokio::test]
async fn generated_customers_import_cleanly_and_read_back_as_profiles() {
    let mut app = TestApp::spawn().await;
    app.kill();
    let file = app.dir.path().join("customers.jsonl");
    let generate = |seed: &str| {
        Command::new(BIN)
            .args(["generate", "--profiles", "30", "--days", "20", "--seed", seed])
            .args(["--end", "2026-11-23T00:00:00Z", "--output"])
            .arg(&file)
            .output()
            .expect("orbit runs")
    };
    assert!(generate("5").status.success());
    let first = std::fs::read(&file).expect("written");
    assert!(generate("5").status.success());
    assert_eq!(
        std::fs::read(&file).expect("written"),
        first,
        "the same seed, the same file"
    );

    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&first)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let done = import(&app, "events", &file);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(
        stdout(&done).contains(&format!("{} stored, 0 duplicates, 0 rejected", lines.len())),
        "{}",
        stdout(&done)
    );

    app.start();
    let person = 3;
    let theirs = lines
        .iter()
        .filter(|l| l["anonymous_id"] == format!("anon-{person}"))
        .count();
    let profile = app.profile_by(&format!("user_id:member-{person}")).await;
    assert_eq!(
        profile["traits"]["city"],
        lines
            .iter()
            .find(|l| l["anonymous_id"] == format!("anon-{person}"))
            .expect("installed")["properties"]["city"]
    );
    let id = profile["id"].as_str().expect("id");
    let (_, page) = app.get(&format!("/v1/profiles/{id}/events?limit=1000")).await;
    assert_eq!(
        page["data"].as_array().expect("data").len(),
        theirs,
        "every event of the person is on one profile"
    );
}
