//! `orbit bench journeys`, date entries: publishing a birthday journey over everyone,
//! what the planned birthdays cost in memory, how fast they enter, and the start-up
//! with them — each beside the same data directory without the journey.

use std::time::Instant;

use serde_json::{Value, json};

use super::delivery::call;
use super::journeys::{Child, send_each, start};
use crate::config::Config;

/// Date entries: as many people as wait in the timer measurement, each with a
/// birthday trait, all on one day so that one move of the clock fires them all. The
/// publication works out everyone's next birthday (timed against publishing a journey
/// with an event entry on the same server); the memory that costs, the rate the
/// birthdays then enter (durably), and the start-up with them planned, each beside the
/// same data directory without the journey.
pub(super) async fn birthdays(people: usize) -> anyhow::Result<()> {
    use reqwest::Method;
    println!("journeys: {people} birthdays");
    let clock: jiff::Timestamp = "2026-12-07T02:00:00Z".parse()?;
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir()?;
    let server = start(
        &Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().to_path_buf(),
            log: "warn".into(),
            simulated_clock: Some(clock),
            ..Config::default()
        },
        None,
    )
    .await?;
    send_each(
        &client,
        &server,
        people,
        |i| json!({"type": "identify", "user_id": format!("w{i:07}"), "traits": {"birthday": "1990-12-08"}}),
    )
    .await?;
    let key = server.shut_down().await?;

    let child = Child::start(dir.path(), clock).await?;
    let (baseline_memory, baseline_startup) = (child.resident_bytes(), child.started_in);
    let publish = |id: &str, entry: Value| {
        let journey = json!({"id": id, "name": id, "entry": entry, "start": "wait",
            "nodes": {"wait": {"type": "wait", "duration": "P1D", "next": "done"}, "done": {"type": "exit"}}});
        let (client, key, base, id) = (client.clone(), key.clone(), child.base.clone(), id.to_owned());
        async move {
            call(
                &client,
                &key,
                Method::POST,
                format!("{base}/v1/journeys"),
                journey,
            )
            .await?;
            let started = Instant::now();
            call(
                &client,
                &key,
                Method::POST,
                format!("{base}/v1/journeys/{id}/publish"),
                Value::Null,
            )
            .await?;
            anyhow::Ok(started.elapsed())
        }
    };
    let plain_publish = publish("signups", json!({"type": "event", "event": "signed_up"})).await?;
    let planning = publish(
        "birthday",
        json!({"type": "date", "from": {"kind": "trait", "trait": "birthday"}, "repeat": "anniversary",
               "time_of_day": "09:00"}),
    )
    .await?;
    let memory = child.resident_bytes();
    let (firing, report) = child
        .move_clock(&client, &key, json!({"set": "2026-12-08T09:00:00Z"}), "birthday")
        .await?;
    child.stop();
    anyhow::ensure!(
        report["entered"].as_u64() == Some(people as u64),
        "every birthday entered: {report}"
    );
    let restarted = Child::start(dir.path(), "2026-12-08T09:00:00Z".parse()?).await?;
    let startup = restarted.started_in;
    restarted.stop();

    println!(
        "  planning  publishing the birthday journey over {people} people: {:.2} s; an event-entry journey (baseline): {:.3} s",
        planning.as_secs_f64(),
        plain_publish.as_secs_f64()
    );
    println!(
        "  memory    {:.0} bytes per planned birthday ({:.0} MiB resident vs {:.0} MiB before publishing)",
        memory.saturating_sub(baseline_memory) as f64 / people as f64,
        memory as f64 / 1_048_576.0,
        baseline_memory as f64 / 1_048_576.0
    );
    println!(
        "  orbit     birthdays entered at 09:00, stored durably: {:>10.0} entries/s  ({:.2} s for {people})",
        people as f64 / firing.as_secs_f64(),
        firing.as_secs_f64()
    );
    println!(
        "  start-up  with the journey and {people} in it: {:.2} s; the same data without the journey (baseline): {:.2} s",
        startup.as_secs_f64(),
        baseline_startup.as_secs_f64()
    );
    Ok(())
}
