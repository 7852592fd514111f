//! FCM against a local server that verifies the service-account JWT with the
//! account's public key and checks the Bearer token of every send.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::SignedDuration;
use orbit_channels::push::fcm::{FcmConfig, FcmConnector};
use orbit_channels::{Connector, SendError};
use orbit_core::{Clock, ManualClock};
use serde_json::{Value, json};

use super::{Answer, failure_response, http, push, serve, start};

const TEST_KEY: &str = include_str!("../../fixtures/fcm-test-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../../fixtures/fcm-test-key.rsa-pub.pem");
const CLIENT_EMAIL: &str = "orbit-test@orbit-test.iam.gserviceaccount.com";
const PROJECT: &str = "orbit-test";

struct Fcm {
    clock: ManualClock,
    token_uri: Mutex<String>,
    token_requests: AtomicUsize,
    issued: Mutex<Vec<String>>,
    /// Tokens the messages endpoint refuses as expired or revoked.
    refused: Mutex<HashSet<String>>,
    /// Requests carrying a refused token wait here until this many arrived.
    hold_refused: Option<Arc<tokio::sync::Barrier>>,
    token_answer: Mutex<Option<(u16, Value)>>,
    stall_token: bool,
    answer: Mutex<Answer>,
    accepted: Mutex<Vec<(String, Value)>>,
    problems: Mutex<Vec<String>>,
}

impl Fcm {
    fn new(clock: &ManualClock) -> Self {
        Self {
            clock: clock.clone(),
            token_uri: Mutex::new(String::new()),
            token_requests: AtomicUsize::new(0),
            issued: Mutex::new(Vec::new()),
            refused: Mutex::new(HashSet::new()),
            hold_refused: None,
            token_answer: Mutex::new(None),
            stall_token: false,
            answer: Mutex::new(Answer::Accept),
            accepted: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
        }
    }

    fn problem(&self, what: String) {
        self.problems.lock().expect("lock").push(what);
    }

    fn assert_no_problems(&self) {
        let problems = self.problems.lock().expect("lock");
        assert!(problems.is_empty(), "the FCM server saw: {problems:?}");
    }

    /// Checks a JWT-bearer assertion as Google does: RS256 signature with the account's
    /// public key, then the claims.
    fn check_assertion(&self, jwt: &str) -> Result<(), String> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWT".to_owned());
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|e| e.to_string())?;
        let public_key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            pem_body(TEST_PUBLIC_KEY),
        );
        public_key
            .verify(format!("{header}.{claims}").as_bytes(), &signature)
            .map_err(|_| "the RS256 signature does not verify".to_owned())?;
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        if header != json!({"alg": "RS256", "typ": "JWT"}) {
            return Err(format!("header {header}"));
        }
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        let iat = self.clock.now().as_second();
        let expected = json!({
            "iss": CLIENT_EMAIL,
            "scope": "https://www.googleapis.com/auth/firebase.messaging",
            "aud": *self.token_uri.lock().expect("lock"),
            "iat": iat,
            "exp": iat + 3600,
        });
        if claims != expected {
            return Err(format!("claims {claims}, expected {expected}"));
        }
        Ok(())
    }
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("base64 PEM")
}

async fn token_endpoint(State(fcm): State<Arc<Fcm>>, headers: HeaderMap, body: String) -> Response {
    fcm.token_requests.fetch_add(1, Ordering::SeqCst);
    if fcm.stall_token {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if let Some((status, answer)) = fcm.token_answer.lock().expect("lock").clone() {
        return (StatusCode::from_u16(status).expect("status"), axum::Json(answer)).into_response();
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/x-www-form-urlencoded" {
        fcm.problem(format!("token request content type {content_type}"));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        fcm.problem(format!("grant_type {:?}", form.get("grant_type")));
    }
    let verdict = form
        .get("assertion")
        .ok_or_else(|| "no assertion".to_owned())
        .and_then(|jwt| fcm.check_assertion(jwt));
    if let Err(why) = verdict {
        fcm.problem(why.clone());
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response();
    }
    let token = {
        let mut issued = fcm.issued.lock().expect("lock");
        let token = format!("ya29.token-{}", issued.len() + 1);
        issued.push(token);
        issued.last().cloned().expect("issued")
    };
    axum::Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

async fn messages_send(
    State(fcm): State<Arc<Fcm>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if project != PROJECT {
        fcm.problem(format!("project {project}"));
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let known = fcm.issued.lock().expect("lock").contains(&bearer);
    let refused = fcm.refused.lock().expect("lock").contains(&bearer);
    if !known || refused {
        if let Some(barrier) = &fcm.hold_refused
            && tokio::time::timeout(Duration::from_secs(5), barrier.wait())
                .await
                .is_err()
        {
            fcm.problem("the concurrent sends never overlapped".to_owned());
        }
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {
                "code": 401,
                "message": "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "status": "UNAUTHENTICATED"
            }})),
        )
            .into_response();
    }
    let expected = json!({"message": {
        "token": "fcm-registration-token",
        "notification": {"title": "Spring sale", "body": "Everything 20% off until Sunday"},
        "data": {"campaign_id": "c-42"}
    }});
    if body != expected {
        fcm.problem(format!("message body {body}"));
    }
    let answer = fcm.answer.lock().expect("lock").clone();
    match answer {
        Answer::Accept => {
            fcm.accepted.lock().expect("lock").push((bearer, body));
            let n = fcm.accepted.lock().expect("lock").len();
            axum::Json(json!({"name": format!("projects/{PROJECT}/messages/0:150041531445527{n}")}))
                .into_response()
        }
        Answer::Fail {
            status,
            body,
            headers,
        } => failure_response(status, body, headers),
        Answer::Stall => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({"name": "too late"})).into_response()
        }
    }
}

async fn start_fcm(fcm: Fcm, timeout: Duration) -> (Arc<Fcm>, FcmConnector) {
    let fcm = Arc::new(fcm);
    let app = Router::new()
        .route("/token", post(token_endpoint))
        .route("/v1/projects/{project}/messages:send", post(messages_send))
        .with_state(fcm.clone());
    let addr = serve(app).await;
    let token_uri = format!("http://{addr}/token");
    *fcm.token_uri.lock().expect("lock") = token_uri.clone();
    let config = FcmConfig {
        project_id: PROJECT.to_owned(),
        client_email: CLIENT_EMAIL.to_owned(),
        private_key: TEST_KEY.into(),
        private_key_id: None,
        token_uri,
        endpoint: format!("http://{addr}"),
    };
    let connector = FcmConnector::new(config, http(timeout))
        .expect("connector")
        .with_clock(Arc::new(fcm.clock.clone()));
    (fcm, connector)
}

fn failure(status: u16, status_name: &str, error_code: &str) -> Answer {
    Answer::Fail {
        status,
        body: json!({"error": {
            "code": status,
            "message": format!("{error_code} from FCM"),
            "status": status_name,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
        }}),
        headers: Vec::new(),
    }
}

#[tokio::test]
async fn sends_with_a_service_account_token_and_reuses_it_until_it_nears_expiry() {
    let clock = ManualClock::new(start());
    let (fcm, connector) = start_fcm(Fcm::new(&clock), Duration::from_secs(5)).await;
    assert_eq!(connector.provider(), "fcm");

    let accepted = connector
        .send(&push("s-1", "fcm-registration-token"))
        .await
        .expect("accepted");
    assert_eq!(
        accepted.provider_message_id.as_deref(),
        Some("projects/orbit-test/messages/0:1500415314455271")
    );
    clock.advance(SignedDuration::from_secs(3000));
    connector
        .send(&push("s-2", "fcm-registration-token"))
        .await
        .expect("accepted");
    assert_eq!(
        fcm.token_requests.load(Ordering::SeqCst),
        1,
        "the token is cached"
    );

    // Within a minute of expiry the token is replaced; the new assertion carries the
    // new time (the server checks iat against the clock).
    clock.advance(SignedDuration::from_secs(560));
    connector
        .send(&push("s-3", "fcm-registration-token"))
        .await
        .expect("accepted");
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 2);
    let bearers: Vec<String> = fcm
        .accepted
        .lock()
        .expect("lock")
        .iter()
        .map(|(bearer, _)| bearer.clone())
        .collect();
    assert_eq!(bearers, ["ya29.token-1", "ya29.token-1", "ya29.token-2"]);
    fcm.assert_no_problems();
}

#[tokio::test]
async fn refreshes_a_refused_token_once_and_the_retried_send_succeeds() {
    let clock = ManualClock::new(start());
    let server = Fcm::new(&clock);
    server
        .refused
        .lock()
        .expect("lock")
        .insert("ya29.token-1".to_owned());
    let (fcm, connector) = start_fcm(server, Duration::from_secs(5)).await;

    let accepted = connector
        .send(&push("s-1", "fcm-registration-token"))
        .await
        .expect("accepted after a refresh");
    assert!(accepted.provider_message_id.is_some());
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(fcm.accepted.lock().expect("lock")[0].0, "ya29.token-2");
    fcm.assert_no_problems();
}

#[tokio::test]
async fn concurrent_sends_refused_together_share_one_refresh() {
    let clock = ManualClock::new(start());
    let mut server = Fcm::new(&clock);
    server.hold_refused = Some(Arc::new(tokio::sync::Barrier::new(2)));
    server
        .refused
        .lock()
        .expect("lock")
        .insert("ya29.token-1".to_owned());
    let (fcm, connector) = start_fcm(server, Duration::from_secs(10)).await;

    let first = push("s-1", "fcm-registration-token");
    let second = push("s-2", "fcm-registration-token");
    let (a, b) = tokio::join!(connector.send(&first), connector.send(&second));
    a.expect("first accepted");
    b.expect("second accepted");
    // One fetch for the first token, one refresh for both refusals.
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 2);
    assert!(
        fcm.accepted
            .lock()
            .expect("lock")
            .iter()
            .all(|(bearer, _)| bearer == "ya29.token-2")
    );
    fcm.assert_no_problems();
}

#[tokio::test]
async fn error_codes_become_the_right_outcomes() {
    let clock = ManualClock::new(start());
    let (fcm, connector) = start_fcm(Fcm::new(&clock), Duration::from_secs(5)).await;
    let message = push("s-1", "fcm-registration-token");

    for (status, name, code) in [
        (404, "NOT_FOUND", "UNREGISTERED"),
        (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
        (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
    ] {
        *fcm.answer.lock().expect("lock") = failure(status, name, code);
        let error = connector.send(&message).await.expect_err("refused");
        assert_eq!(
            error,
            SendError::Permanent {
                code: code.to_owned(),
                message: format!("{code} from FCM"),
            }
        );
    }

    let mut quota = failure(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED");
    if let Answer::Fail { headers, .. } = &mut quota {
        headers.push(("retry-after", "30".to_owned()));
    }
    *fcm.answer.lock().expect("lock") = quota;
    assert_eq!(
        connector.send(&message).await.expect_err("throttled"),
        SendError::Retryable {
            code: "QUOTA_EXCEEDED".to_owned(),
            message: "QUOTA_EXCEEDED from FCM".to_owned(),
            retry_after_ms: Some(30_000),
        }
    );

    let mut unavailable = failure(503, "UNAVAILABLE", "UNAVAILABLE");
    if let Answer::Fail { headers, .. } = &mut unavailable {
        headers.push(("retry-after", "5".to_owned()));
    }
    *fcm.answer.lock().expect("lock") = unavailable;
    assert!(matches!(
        connector.send(&message).await.expect_err("unavailable"),
        SendError::Retryable { code, retry_after_ms: Some(5_000), .. } if code == "UNAVAILABLE"
    ));

    *fcm.answer.lock().expect("lock") = failure(500, "INTERNAL", "INTERNAL");
    assert!(matches!(
        connector.send(&message).await.expect_err("internal"),
        SendError::Retryable { code, retry_after_ms: None, .. } if code == "INTERNAL"
    ));
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 1);
    fcm.assert_no_problems();
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_because_fcm_does_not_deduplicate() {
    let clock = ManualClock::new(start());
    let server = Fcm::new(&clock);
    *server.answer.lock().expect("lock") = Answer::Stall;
    let (_fcm, connector) = start_fcm(server, Duration::from_millis(500)).await;
    let error = connector
        .send(&push("s-1", "fcm-registration-token"))
        .await
        .expect_err("no answer");
    assert!(matches!(error, SendError::Ambiguous { .. }), "{error:?}");
}

#[tokio::test]
async fn token_endpoint_failures_send_nothing_and_are_sorted() {
    let clock = ManualClock::new(start());
    let server = Fcm::new(&clock);
    *server.token_answer.lock().expect("lock") = Some((
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
    ));
    let (fcm, connector) = start_fcm(server, Duration::from_secs(5)).await;
    let error = connector
        .send(&push("s-1", "fcm-registration-token"))
        .await
        .expect_err("bad key");
    assert!(
        matches!(&error, SendError::Permanent { code, message } if code == "invalid_grant" && message.contains("Invalid JWT Signature")),
        "{error:?}"
    );
    assert!(fcm.accepted.lock().expect("lock").is_empty());

    // A token endpoint that does not answer: nothing was sent, so it is retryable.
    let mut slow = Fcm::new(&clock);
    slow.stall_token = true;
    let (_slow, connector) = start_fcm(slow, Duration::from_millis(500)).await;
    let error = connector
        .send(&push("s-1", "fcm-registration-token"))
        .await
        .expect_err("no token");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
}
