//! Crash safety: kill -9 during sustained ingestion loses no acknowledged event and
//! stores none twice, even when the client retries the batch it never heard back on.

use crate::helpers::TestApp;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const USERS: usize = 20;
const BATCH: usize = 100;

fn batch(n: usize) -> (Vec<String>, Value) {
    let ids: Vec<String> = (0..BATCH).map(|i| format!("crash-{n}-{i}")).collect();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"type": "track", "userId": format!("user-{}", (n * BATCH + i) % USERS), "event": "page_viewed", "messageId": id}))
        .collect();
    (ids, json!({"batch": events}))
}

#[tokio::test]
async fn killing_the_server_mid_ingest_loses_no_acknowledged_event() {
    let mut app = TestApp::spawn().await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let sender = {
        let (http, url, key, acked) = (
            app.http.clone(),
            app.url("/v1/batch"),
            app.write_key.clone(),
            acked.clone(),
        );
        tokio::spawn(async move {
            for n in 0.. {
                let (ids, body) = batch(n);
                match http.post(&url).bearer_auth(&key).json(&body).send().await {
                    Ok(r) if r.status().is_success() => acked.lock().expect("lock").extend(ids),
                    // No answer: the outcome is unknown, as for a real SDK.
                    _ => return n,
                }
            }
            unreachable!()
        })
    };
    crate::helpers::wait_until("some batches are acknowledged", || {
        let count = acked.lock().expect("lock").len();
        async move { count >= 30 * BATCH }
    })
    .await;
    app.kill();
    let unanswered = sender.await.expect("sender ends");

    app.start();
    // The SDK retries what it never heard back on.
    let (retried, body) = batch(unanswered);
    assert_eq!(app.track("/v1/batch", &body).await.status(), 200);

    let mut counts: HashMap<String, usize> = HashMap::new();
    for user in 0..USERS {
        let id = app.profile_by(&format!("user_id:user-{user}")).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let mut cursor = String::new();
        loop {
            let (status, page) = app
                .get(&format!("/v1/profiles/{id}/events?limit=1000{cursor}"))
                .await;
            assert_eq!(status, 200);
            for event in page["data"].as_array().expect("data") {
                *counts
                    .entry(event["message_id"].as_str().expect("id").to_owned())
                    .or_default() += 1;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 30 * BATCH);
    for id in acked.iter().chain(&retried) {
        assert_eq!(counts.get(id), Some(&1), "{id} is stored exactly once");
    }
    assert!(counts.values().all(|&c| c == 1), "no event is stored twice");
}
