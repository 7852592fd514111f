//! wechat connector tests: the official account and mini-program connectors against a
//! local WeChat server that issues stable access tokens, refuses invalidated ones with
//! 40001 and checks every message body.

mod mini_program;
mod official_account;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use orbit_channels::{EgressPolicy, HttpClient};
use serde_json::{Value, json};

const APP_ID: &str = "wx0123456789abcdef";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";

fn http(timeout: Duration) -> HttpClient {
    EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
        .client(timeout)
        .expect("client")
}

/// 2024-05-01 20:00 in Beijing.
fn start() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("time")
}

/// How the local WeChat answers a message send.
#[derive(Clone)]
enum Answer {
    /// `errcode` 0, with `msgid` when given.
    Accept(Option<u64>),
    /// A non-zero `errcode`.
    Errcode(i64, &'static str),
    /// An HTTP status without a WeChat body.
    Status(u16),
    /// Answer only after the client has given up.
    Stall,
}

/// A local WeChat API server.
struct Wechat {
    token_requests: AtomicUsize,
    forced_refreshes: AtomicUsize,
    issued: AtomicUsize,
    current: Mutex<Option<String>>,
    /// Tokens the message APIs refuse with 40001.
    refused: Mutex<HashSet<String>>,
    /// Normal mode keeps handing out the current token even when it is refused.
    sticky: bool,
    token_errcode: Mutex<Option<(i64, &'static str)>>,
    /// Sends carrying a refused token wait here until this many arrived.
    hold_refused: Option<Arc<tokio::sync::Barrier>>,
    answer: Mutex<Answer>,
    /// Accepted sends: the API path, the token and the body.
    accepted: Mutex<Vec<(&'static str, String, Value)>>,
    /// What a send's body must be, by API path.
    expected: Mutex<HashMap<&'static str, Value>>,
    problems: Mutex<Vec<String>>,
}

impl Wechat {
    fn new() -> Self {
        Self {
            token_requests: AtomicUsize::new(0),
            forced_refreshes: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            current: Mutex::new(None),
            refused: Mutex::new(HashSet::new()),
            sticky: false,
            token_errcode: Mutex::new(None),
            hold_refused: None,
            answer: Mutex::new(Answer::Accept(Some(200_228_332))),
            accepted: Mutex::new(Vec::new()),
            expected: Mutex::new(HashMap::new()),
            problems: Mutex::new(Vec::new()),
        }
    }

    /// Refuses the first token it will issue, as if it had been invalidated.
    fn refusing_the_first_token(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self.refused
            .lock()
            .expect("lock")
            .insert("ACCESS_TOKEN_1".to_owned());
        self
    }

    fn expect_body(&self, path: &'static str, body: Value) {
        self.expected.lock().expect("lock").insert(path, body);
    }

    fn set_answer(&self, answer: Answer) {
        *self.answer.lock().expect("lock") = answer;
    }

    fn problem(&self, what: String) {
        self.problems.lock().expect("lock").push(what);
    }

    fn assert_no_problems(&self) {
        let problems = self.problems.lock().expect("lock");
        assert!(problems.is_empty(), "the WeChat server saw: {problems:?}");
    }

    fn tokens_used(&self) -> Vec<String> {
        self.accepted
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, token, _)| token.clone())
            .collect()
    }

    fn issue(&self) -> String {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("ACCESS_TOKEN_{n}");
        *self.current.lock().expect("lock") = Some(token.clone());
        token
    }
}

async fn stable_token(State(wechat): State<Arc<Wechat>>, axum::Json(body): axum::Json<Value>) -> Response {
    wechat.token_requests.fetch_add(1, Ordering::SeqCst);
    if let Some((errcode, errmsg)) = *wechat.token_errcode.lock().expect("lock") {
        return axum::Json(json!({"errcode": errcode, "errmsg": errmsg})).into_response();
    }
    let force_refresh = body.get("force_refresh").and_then(Value::as_bool);
    let expected = json!({
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": APP_SECRET,
        "force_refresh": force_refresh.unwrap_or(false),
    });
    if body != expected {
        wechat.problem(format!("stable_token body {body}"));
    }
    if body.get("appid") != Some(&json!(APP_ID)) {
        return axum::Json(json!({"errcode": 40013, "errmsg": "invalid appid"})).into_response();
    }
    if body.get("secret") != Some(&json!(APP_SECRET)) {
        return axum::Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"})).into_response();
    }
    let token = if force_refresh == Some(true) {
        wechat.forced_refreshes.fetch_add(1, Ordering::SeqCst);
        wechat.issue()
    } else {
        let current = wechat.current.lock().expect("lock").clone();
        match current {
            Some(token) if wechat.sticky || !wechat.refused.lock().expect("lock").contains(&token) => token,
            _ => wechat.issue(),
        }
    };
    axum::Json(json!({"access_token": token, "expires_in": 7200})).into_response()
}

async fn message_send(
    wechat: Arc<Wechat>,
    path: &'static str,
    query: HashMap<String, String>,
    body: Value,
) -> Response {
    let token = query.get("access_token").cloned().unwrap_or_default();
    let issued = wechat.current.lock().expect("lock").is_some()
        && token.starts_with("ACCESS_TOKEN_")
        && token["ACCESS_TOKEN_".len()..]
            .parse::<usize>()
            .is_ok_and(|n| n >= 1 && n <= wechat.issued.load(Ordering::SeqCst));
    let refused = wechat.refused.lock().expect("lock").contains(&token);
    if !issued || refused {
        if let Some(barrier) = &wechat.hold_refused
            && tokio::time::timeout(Duration::from_secs(5), barrier.wait())
                .await
                .is_err()
        {
            wechat.problem("the concurrent sends never overlapped".to_owned());
        }
        return axum::Json(json!({
            "errcode": 40001,
            "errmsg": "invalid credential, access_token is invalid or not latest rid: 6638e5a1-1c2d"
        }))
        .into_response();
    }
    if let Some(expected) = wechat.expected.lock().expect("lock").get(path)
        && *expected != body
    {
        wechat.problem(format!("{path} body {body}, expected {expected}"));
    }
    let answer = wechat.answer.lock().expect("lock").clone();
    match answer {
        Answer::Accept(msgid) => {
            wechat.accepted.lock().expect("lock").push((path, token, body));
            match msgid {
                Some(msgid) => axum::Json(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid})),
                None => axum::Json(json!({"errcode": 0, "errmsg": "ok"})),
            }
            .into_response()
        }
        Answer::Errcode(errcode, errmsg) => {
            axum::Json(json!({"errcode": errcode, "errmsg": errmsg})).into_response()
        }
        Answer::Status(status) => StatusCode::from_u16(status).expect("status").into_response(),
        Answer::Stall => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
        }
    }
}

const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";
const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";

async fn serve(wechat: Wechat) -> (Arc<Wechat>, String) {
    let wechat = Arc::new(wechat);
    let app = Router::new()
        .route("/cgi-bin/stable_token", post(stable_token))
        .route(
            TEMPLATE_SEND,
            post(
                |State(w): State<Arc<Wechat>>,
                 Query(q): Query<HashMap<String, String>>,
                 axum::Json(b): axum::Json<Value>| message_send(w, TEMPLATE_SEND, q, b),
            ),
        )
        .route(
            SUBSCRIBE_SEND,
            post(
                |State(w): State<Arc<Wechat>>,
                 Query(q): Query<HashMap<String, String>>,
                 axum::Json(b): axum::Json<Value>| message_send(w, SUBSCRIBE_SEND, q, b),
            ),
        )
        .with_state(wechat.clone());
    let addr = orbit_test_support::serve(app).await;
    (wechat, format!("http://{addr}"))
}
