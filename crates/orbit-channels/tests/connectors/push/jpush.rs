//! JPush against a local server that checks Basic auth, issues cids and answers a
//! repeated cid with the first push's result, as JPush does.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orbit_channels::push::jpush::{JpushConfig, JpushConnector};
use orbit_channels::{Connector, SendError};
use orbit_core::ManualClock;
use serde_json::{Value, json};

use super::{Answer, failure_response, http, push, serve, start};

const APP_KEY: &str = "7d431e42dfa6a6d693ac2d04";
const MASTER_SECRET: &str = "5e987ac6d2e04d95a9d8f0d1";

struct Jpush {
    cid_requests: AtomicUsize,
    issued_cids: Mutex<HashSet<String>>,
    /// What each cid's first successful push answered.
    pushed: Mutex<HashMap<String, String>>,
    push_cids: Mutex<Vec<String>>,
    answer: Mutex<Answer>,
    /// Whether a stalled push is delivered before the answer is lost.
    deliver_before_stall: bool,
    /// Stall only the first push request.
    stall_once: bool,
    problems: Mutex<Vec<String>>,
}

impl Jpush {
    fn new() -> Self {
        Self {
            cid_requests: AtomicUsize::new(0),
            issued_cids: Mutex::new(HashSet::new()),
            pushed: Mutex::new(HashMap::new()),
            push_cids: Mutex::new(Vec::new()),
            answer: Mutex::new(Answer::Accept),
            deliver_before_stall: false,
            stall_once: false,
            problems: Mutex::new(Vec::new()),
        }
    }

    fn problem(&self, what: String) {
        self.problems.lock().expect("lock").push(what);
    }

    fn check_auth(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Basic {}", STANDARD.encode(format!("{APP_KEY}:{MASTER_SECRET}")));
        let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&expected);
        if !ok {
            self.problem(format!("authorization {:?}", headers.get("authorization")));
        }
        ok
    }

    fn deliveries(&self) -> usize {
        self.pushed.lock().expect("lock").len()
    }
}

fn auth_failed() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": {"code": 1004, "message": "Authen failed"}})),
    )
        .into_response()
}

async fn cid(State(jpush): State<Arc<Jpush>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if !jpush.check_auth(&headers) {
        return auth_failed();
    }
    if query.as_deref() != Some("count=10&type=push") {
        jpush.problem(format!("cid query {query:?}"));
    }
    let n = jpush.cid_requests.fetch_add(1, Ordering::SeqCst);
    let cids: Vec<String> = (0..10)
        .map(|i| format!("{APP_KEY}-128eeb45-471d-4ae5-b1e9-{n:06}{i:06}"))
        .collect();
    jpush
        .issued_cids
        .lock()
        .expect("lock")
        .extend(cids.iter().cloned());
    axum::Json(json!({"cidlist": cids})).into_response()
}

async fn push_endpoint(
    State(jpush): State<Arc<Jpush>>,
    headers: HeaderMap,
    axum::Json(mut body): axum::Json<Value>,
) -> Response {
    if !jpush.check_auth(&headers) {
        return auth_failed();
    }
    let cid = body
        .as_object_mut()
        .and_then(|o| o.remove("cid"))
        .and_then(|c| c.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !jpush.issued_cids.lock().expect("lock").contains(&cid) {
        jpush.problem(format!("cid {cid} was not issued"));
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"code": 1003, "message": "cid is invalid"}})),
        )
            .into_response();
    }
    jpush.push_cids.lock().expect("lock").push(cid.clone());
    let expected = json!({
        "platform": "all",
        "audience": {"registration_id": ["1a0018970a8b1b2c"]},
        "notification": {
            "alert": "Everything 20% off until Sunday",
            "android": {"alert": "Everything 20% off until Sunday", "title": "Spring sale", "extras": {"campaign_id": "c-42"}},
            "ios": {"alert": {"title": "Spring sale", "body": "Everything 20% off until Sunday"}, "extras": {"campaign_id": "c-42"}}
        },
        "options": {"apns_production": false, "time_to_live": 86400}
    });
    if body != expected {
        jpush.problem(format!("push body {body}"));
    }
    // A repeated cid gets the first successful push's answer; nothing is pushed again.
    if let Some(msg_id) = jpush.pushed.lock().expect("lock").get(&cid).cloned() {
        return axum::Json(json!({"sendno": "0", "msg_id": msg_id})).into_response();
    }
    let answer = jpush.answer.lock().expect("lock").clone();
    match answer {
        Answer::Accept => {
            let msg_id = deliver(&jpush, &cid);
            axum::Json(json!({"sendno": "0", "msg_id": msg_id})).into_response()
        }
        Answer::Fail {
            status,
            body,
            headers,
        } => failure_response(status, body, headers),
        Answer::Stall => {
            if jpush.deliver_before_stall {
                deliver(&jpush, &cid);
            }
            if jpush.stall_once {
                *jpush.answer.lock().expect("lock") = Answer::Accept;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({"sendno": "0", "msg_id": "too late"})).into_response()
        }
    }
}

fn deliver(jpush: &Jpush, cid: &str) -> String {
    let mut pushed = jpush.pushed.lock().expect("lock");
    let msg_id = format!("18100{}", 1_828_256_757 + pushed.len());
    pushed.insert(cid.to_owned(), msg_id.clone());
    msg_id
}

async fn start_jpush(jpush: Jpush, timeout: Duration) -> (Arc<Jpush>, JpushConnector) {
    let jpush = Arc::new(jpush);
    let app = Router::new()
        .route("/v3/push/cid", get(cid))
        .route("/v3/push", post(push_endpoint))
        .with_state(jpush.clone());
    let addr = serve(app).await;
    let config = JpushConfig {
        app_key: APP_KEY.to_owned(),
        master_secret: MASTER_SECRET.into(),
        apns_production: false,
        time_to_live: Some(86_400),
        endpoint: format!("http://{addr}"),
    };
    let connector = JpushConnector::new(config, http(timeout))
        .expect("connector")
        .with_clock(Arc::new(ManualClock::new(start())));
    (jpush, connector)
}

fn failure(status: u16, code: i64, headers: Vec<(&'static str, String)>) -> Answer {
    Answer::Fail {
        status,
        body: json!({"error": {"code": code, "message": format!("error {code}")}}),
        headers,
    }
}

#[tokio::test]
async fn pushes_with_basic_auth_and_an_issued_cid_per_send() {
    let (jpush, connector) = start_jpush(Jpush::new(), Duration::from_secs(5)).await;
    assert_eq!(connector.provider(), "jpush");

    let first = connector
        .send(&push("s-1", "1a0018970a8b1b2c"))
        .await
        .expect("accepted");
    let second = connector
        .send(&push("s-2", "1a0018970a8b1b2c"))
        .await
        .expect("accepted");
    assert_eq!(first.provider_message_id.as_deref(), Some("181001828256757"));
    assert_eq!(second.provider_message_id.as_deref(), Some("181001828256758"));
    assert_eq!(
        jpush.cid_requests.load(Ordering::SeqCst),
        1,
        "cids come ten at a time"
    );
    let cids = jpush.push_cids.lock().expect("lock").clone();
    assert_ne!(cids[0], cids[1], "each send has its own cid");

    // The same send again reuses its cid: JPush answers with the first result and
    // does not push twice.
    let again = connector
        .send(&push("s-1", "1a0018970a8b1b2c"))
        .await
        .expect("accepted");
    assert_eq!(again, first);
    assert_eq!(jpush.push_cids.lock().expect("lock")[2], cids[0]);
    assert_eq!(jpush.deliveries(), 2);
    assert!(
        jpush.problems.lock().expect("lock").is_empty(),
        "{:?}",
        jpush.problems
    );
}

#[tokio::test]
async fn a_lost_answer_is_asked_again_with_the_same_cid_and_pushed_once() {
    let mut server = Jpush::new();
    server.deliver_before_stall = true;
    server.stall_once = true;
    *server.answer.lock().expect("lock") = Answer::Stall;
    let (jpush, connector) = start_jpush(server, Duration::from_millis(500)).await;

    let accepted = connector
        .send(&push("s-1", "1a0018970a8b1b2c"))
        .await
        .expect("settled by the second ask");
    assert_eq!(accepted.provider_message_id.as_deref(), Some("181001828256757"));
    let cids = jpush.push_cids.lock().expect("lock").clone();
    assert_eq!(cids.len(), 2);
    assert_eq!(cids[0], cids[1], "the second ask repeats the cid");
    assert_eq!(jpush.deliveries(), 1, "pushed once");
}

#[tokio::test]
async fn answers_lost_twice_are_ambiguous() {
    let server = Jpush::new();
    *server.answer.lock().expect("lock") = Answer::Stall;
    let (jpush, connector) = start_jpush(server, Duration::from_millis(400)).await;
    let error = connector
        .send(&push("s-1", "1a0018970a8b1b2c"))
        .await
        .expect_err("no answer");
    assert!(matches!(error, SendError::Ambiguous { .. }), "{error:?}");
    assert_eq!(jpush.push_cids.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn error_codes_become_the_right_outcomes() {
    let (jpush, connector) = start_jpush(Jpush::new(), Duration::from_secs(5)).await;
    let message = push("s-1", "1a0018970a8b1b2c");

    for (status, code) in [(400, 1011), (400, 1003), (401, 1004), (403, 2003), (403, 2004)] {
        *jpush.answer.lock().expect("lock") = failure(status, code, Vec::new());
        assert_eq!(
            connector.send(&message).await.expect_err("refused"),
            SendError::Permanent {
                code: code.to_string(),
                message: format!("error {code}"),
            }
        );
    }

    *jpush.answer.lock().expect("lock") = failure(
        429,
        2002,
        vec![
            ("x-rate-limit-limit", "600".to_owned()),
            ("x-rate-limit-remaining", "0".to_owned()),
            ("x-rate-limit-reset", "17".to_owned()),
        ],
    );
    assert_eq!(
        connector.send(&message).await.expect_err("throttled"),
        SendError::Retryable {
            code: "2002".to_owned(),
            message: "error 2002".to_owned(),
            retry_after_ms: Some(17_000),
        }
    );

    *jpush.answer.lock().expect("lock") = failure(500, 1000, Vec::new());
    assert!(matches!(
        connector.send(&message).await.expect_err("internal"),
        SendError::Retryable { code, .. } if code == "1000"
    ));

    *jpush.answer.lock().expect("lock") = Answer::Fail {
        status: 503,
        body: json!("service unavailable"),
        headers: Vec::new(),
    };
    assert!(matches!(
        connector.send(&message).await.expect_err("unavailable"),
        SendError::Retryable { code, .. } if code == "503"
    ));
    // Every attempt of the one send reused its cid.
    let cids = jpush.push_cids.lock().expect("lock").clone();
    assert!(cids.iter().all(|cid| *cid == cids[0]));
    assert_eq!(jpush.deliveries(), 0);
}

#[tokio::test]
async fn wrong_credentials_are_permanent() {
    let jpush = Arc::new(Jpush::new());
    let app = Router::new()
        .route("/v3/push/cid", get(cid))
        .route("/v3/push", post(push_endpoint))
        .with_state(jpush.clone());
    let addr = serve(app).await;
    let wrong = JpushConnector::new(
        JpushConfig {
            app_key: APP_KEY.to_owned(),
            master_secret: "wrong-secret".into(),
            apns_production: false,
            time_to_live: Some(86_400),
            endpoint: format!("http://{addr}"),
        },
        http(Duration::from_secs(5)),
    )
    .expect("connector");
    let error = wrong
        .send(&push("s-1", "1a0018970a8b1b2c"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, SendError::Permanent { code, .. } if code == "1004"),
        "{error:?}"
    );
    assert_eq!(jpush.deliveries(), 0);
}
