//! Every kind of bad input gets a clear JSON error naming the field; valid items of a
//! batch are kept.

use crate::helpers::{TestApp, gzip};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    path: &'static str,
    key: Key,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

enum Key {
    Write,
    Api,
    Bogus,
    None,
}

enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

fn cases() -> Vec<Case> {
    let future = "2099-01-01T00:00:00Z";
    let ok = json!({"type": "track", "userId": "u", "event": "e"});
    let oversized = vec![b' '; orbit_ingest::MAX_BODY_BYTES + 1];
    let bomb = gzip(&vec![b' '; orbit_ingest::MAX_BODY_BYTES + 10]);
    vec![
        Case {
            name: "malformed JSON",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Raw(b"{\"userId\": ".to_vec()),
            status: 400,
            code: "malformed_json",
            field: None,
        },
        Case {
            name: "empty body",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Raw(Vec::new()),
            status: 400,
            code: "empty_body",
            field: None,
        },
        Case {
            name: "properties of the wrong type",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": "u", "event": "e", "properties": [1]})),
            status: 400,
            code: "wrong_type",
            field: Some("properties"),
        },
        Case {
            name: "userId of the wrong type",
            path: "/v1/identify",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": {"id": 1}})),
            status: 400,
            code: "wrong_type",
            field: Some("userId"),
        },
        Case {
            name: "missing event name",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": "u"})),
            status: 400,
            code: "missing_field",
            field: Some("event"),
        },
        Case {
            name: "blank event name",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": "u", "event": "  "})),
            status: 400,
            code: "invalid_event_name",
            field: Some("event"),
        },
        Case {
            name: "no identity at all",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"event": "e"})),
            status: 400,
            code: "missing_identity",
            field: Some("userId"),
        },
        Case {
            name: "unknown type in a batch",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"batch": [{"type": "purchase", "userId": "u"}]})),
            status: 400,
            code: "unknown_type",
            field: Some("batch[0].type"),
        },
        Case {
            name: "batch that is not an array",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"batch": {"type": "track"}})),
            status: 400,
            code: "wrong_type",
            field: Some("batch"),
        },
        Case {
            name: "timestamp far in the future",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": "u", "event": "e", "timestamp": future})),
            status: 400,
            code: "timestamp_in_future",
            field: Some("timestamp"),
        },
        Case {
            name: "unparseable timestamp",
            path: "/v1/track",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"userId": "u", "event": "e", "timestamp": "next tuesday"})),
            status: 400,
            code: "invalid_timestamp",
            field: Some("timestamp"),
        },
        Case {
            name: "body over the size limit",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[],
            body: Body::Raw(oversized),
            status: 413,
            code: "body_too_large",
            field: None,
        },
        Case {
            name: "gzip that inflates over the limit",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[("content-encoding", "gzip")],
            body: Body::Raw(bomb),
            status: 413,
            code: "body_too_large",
            field: None,
        },
        Case {
            name: "bad gzip",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[("content-encoding", "gzip")],
            body: Body::Raw(b"not gzip at all".to_vec()),
            status: 400,
            code: "bad_gzip",
            field: None,
        },
        Case {
            name: "unknown content encoding",
            path: "/v1/batch",
            key: Key::Write,
            headers: &[("content-encoding", "br")],
            body: Body::Json(json!({"batch": []})),
            status: 415,
            code: "unsupported_encoding",
            field: None,
        },
        Case {
            name: "unknown write key",
            path: "/v1/track",
            key: Key::Bogus,
            headers: &[],
            body: Body::Json(ok.clone()),
            status: 401,
            code: "unauthorized",
            field: None,
        },
        Case {
            name: "no key at all",
            path: "/v1/track",
            key: Key::None,
            headers: &[],
            body: Body::Json(ok.clone()),
            status: 401,
            code: "unauthorized",
            field: None,
        },
        Case {
            name: "an API key on the tracking API",
            path: "/v1/track",
            key: Key::Api,
            headers: &[],
            body: Body::Json(ok),
            status: 401,
            code: "unauthorized",
            field: None,
        },
        Case {
            name: "native batch without events",
            path: "/v1/events",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"items": []})),
            status: 400,
            code: "missing_field",
            field: Some("events"),
        },
        Case {
            name: "native identity of a bad type name",
            path: "/v1/events",
            key: Key::Write,
            headers: &[],
            body: Body::Json(json!({"events": [{"event": "e", "identities": {"Bad Type": "x"}}]})),
            status: 400,
            code: "invalid_identity",
            field: Some("events[0].identities.Bad Type"),
        },
    ]
}

#[tokio::test]
async fn each_bad_input_gets_a_clear_json_error() {
    let app = TestApp::spawn().await;
    for case in cases() {
        let mut request = app
            .http
            .post(app.url(case.path))
            .header("content-type", "application/json");
        request = match case.key {
            Key::Write => request.bearer_auth(&app.write_key),
            Key::Api => request.bearer_auth(&app.api_key),
            Key::Bogus => request.bearer_auth("wk_00000000000000000000000000000000"),
            Key::None => request,
        };
        for (name, value) in case.headers {
            request = request.header(*name, *value);
        }
        request = match case.body {
            Body::Json(value) => request.body(value.to_string()),
            Body::Raw(bytes) => request.body(bytes),
        };
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.name);
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: a message",
            case.name
        );
        match case.field {
            Some(field) => assert_eq!(body["error"]["field"], field, "{}: {body}", case.name),
            None => assert!(body["error"].get("field").is_none(), "{}: {body}", case.name),
        }
    }
    let (_, health) = app.get("/health").await;
    assert_eq!(health["log_head"], 0, "nothing from a refused request was stored");
}

#[tokio::test]
async fn a_batch_keeps_its_valid_items_and_names_the_rejected_ones() {
    let app = TestApp::spawn().await;
    // Over the 64 KiB an event may be, in a body well within the request limit.
    let huge = "评".repeat(30_000);
    let batch = json!({"batch": [
        {"type": "track", "userId": "keep-1", "event": "order_paid", "messageId": "m1"},
        {"type": "track", "userId": "u", "messageId": "m2"},
        {"type": "track", "userId": "keep-2", "event": "order_paid", "messageId": "m3"},
        {"type": "identify", "userId": "u", "timestamp": "2099-01-01T00:00:00Z", "messageId": "m4"},
        {"type": "track", "userId": "u", "event": "review_posted", "properties": {"text": huge}, "messageId": "m5"}
    ]});
    let response = app.track("/v1/batch", &batch).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["accepted"], 2);
    let rejected: Vec<(i64, &str)> = body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().expect("index"),
                r["field"].as_str().expect("field"),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [(1, "batch[1].event"), (3, "batch[3].timestamp"), (4, "batch[4]")]
    );
    assert_eq!(body["rejected"][2]["code"], "event_too_large");
    app.profile_by("user_id:keep-1").await;
    app.profile_by("user_id:keep-2").await;
    let (status, _) = app.get("/v1/profiles?identity=user_id:u").await;
    assert_eq!(status, 404, "nothing of the rejected items was stored");
}

#[tokio::test]
async fn invalid_contacts_are_flagged_on_the_profile_not_used() {
    let app = TestApp::spawn().await;
    let body =
        json!({"userId": "flagged", "traits": {"email": "not-an-email", "phone": "12345", "city": "成都"}});
    assert_eq!(app.track("/v1/identify", &body).await.status(), 200);
    let profile = app.profile_by("user_id:flagged").await;
    assert_eq!(crate::helpers::identities(&profile), ["user_id:flagged"]);
    let fields: Vec<&str> = profile["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["traits.email", "traits.phone"]);
    assert_eq!(
        profile["issues"][0]["raw"], "not-an-email",
        "the raw value is kept for audit"
    );
    assert!(
        profile["traits"].get("email").is_none(),
        "an invalid email is not a usable trait"
    );
    assert_eq!(profile["traits"]["city"], "成都");
}
