//! Consent end to end on the simulated clock: changes recorded as of now and read back
//! oldest first; what they allow per channel for marketing and service messages;
//! opt-in channels; merged-away ids; bad input; keys and scopes.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// 20:00 in Shanghai on 2026-11-11.
const START: &str = "2026-11-11T12:00:00Z";

async fn person(app: &TestApp, user: &str) -> String {
    let body = json!({"events": [{"type": "identify", "user_id": user,
                                   "traits": {"name": "王小美", "phone": "13800138000"}}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
    app.profile_by(&format!("user_id:{user}")).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn record(app: &TestApp, profile: &str, change: Value) -> Value {
    let (status, answer) = app
        .send(Method::POST, &format!("/v1/profiles/{profile}/consent"), &change)
        .await;
    assert_eq!(status, 201, "{change} → {answer}");
    answer
}

async fn advance(app: &TestApp) {
    let (status, body) = app
        .send(Method::POST, "/v1/clock", &json!({"advance": "PT1H"}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// `(allowed, reason)` of a class of message on a channel.
fn verdict<'a>(view: &'a Value, channel: &str, class: &str) -> (bool, &'a Value) {
    let v = &view["resolved"][channel][class];
    (v["allowed"].as_bool().expect("allowed"), &v["reason"])
}

#[tokio::test]
async fn consent_changes_are_recorded_and_decide_marketing_and_service_messages() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let mei = person(&app, "mei").await;
    let (status, empty) = app.get(&format!("/v1/profiles/{mei}/consent")).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["profile_id"], mei.as_str());
    assert_eq!(empty["topic"], "promotions");
    assert_eq!(empty["records"], json!([]));
    assert_eq!(
        empty["resolved"]["sms"],
        json!({"marketing": {"status": null, "allowed": true, "reason": null},
               "transactional": {"status": null, "allowed": true, "reason": null}})
    );
    assert_eq!(
        empty["resolved"].as_object().expect("channels").len(),
        8,
        "every channel is resolved"
    );

    // 退订: leaving all marketing keeps service messages.
    let left = record(&app, &mei, json!({"status": "unsubscribed"})).await;
    assert_eq!(
        left["recorded"],
        json!({"channel": null, "topic": null, "status": "unsubscribed", "at": START})
    );
    for channel in ["sms", "email", "wechat_template"] {
        assert_eq!(
            verdict(&left, channel, "marketing"),
            (false, &json!("unsubscribed")),
            "{channel}"
        );
        assert_eq!(
            verdict(&left, channel, "transactional"),
            (true, &Value::Null),
            "{channel}"
        );
    }

    // A newsletter opt-in on email, an hour later, holds for that topic only.
    advance(&app).await;
    let newsletter = record(
        &app,
        &mei,
        json!({"channel": "email", "topic": "newsletter", "status": "subscribed"}),
    )
    .await;
    assert_eq!(
        newsletter["topic"], "newsletter",
        "the answer resolves the recorded topic"
    );
    assert_eq!(verdict(&newsletter, "email", "marketing"), (true, &Value::Null));
    let (_, promotions) = app.get(&format!("/v1/profiles/{mei}/consent")).await;
    assert_eq!(
        verdict(&promotions, "email", "marketing"),
        (false, &json!("unsubscribed"))
    );
    let (_, by_topic) = app
        .get(&format!("/v1/profiles/{mei}/consent?topic=newsletter"))
        .await;
    assert_eq!(
        by_topic["resolved"]["email"]["marketing"],
        json!({"status": "subscribed", "allowed": true, "reason": null})
    );

    // 回复TD: a block on SMS stops service messages too, on SMS only.
    advance(&app).await;
    let blocked = record(&app, &mei, json!({"channel": "sms", "status": "blocked"})).await;
    assert_eq!(verdict(&blocked, "sms", "marketing"), (false, &json!("blocked")));
    assert_eq!(
        verdict(&blocked, "sms", "transactional"),
        (false, &json!("blocked"))
    );
    assert_eq!(blocked["resolved"]["sms"]["transactional"]["status"], "blocked");
    assert_eq!(verdict(&blocked, "email", "transactional"), (true, &Value::Null));

    let (status, read) = app.get(&format!("/v1/profiles/{mei}/consent")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read["records"],
        json!([
            {"channel": null, "topic": null, "status": "unsubscribed", "at": START},
            {"channel": "email", "topic": "newsletter", "status": "subscribed", "at": "2026-11-11T13:00:00Z"},
            {"channel": "sms", "topic": null, "status": "blocked", "at": "2026-11-11T14:00:00Z"},
        ]),
        "oldest first, each at the clock's time"
    );

    // Subscribing again later lifts the block: the latest choice decides.
    advance(&app).await;
    let back = record(&app, &mei, json!({"channel": "sms", "status": "subscribed"})).await;
    assert_eq!(verdict(&back, "sms", "transactional"), (true, &Value::Null));
    assert_eq!(verdict(&back, "sms", "marketing"), (true, &Value::Null));

    // Consent survives a restart.
    let mut app = app;
    app.kill();
    app.start();
    let (_, after) = app.get(&format!("/v1/profiles/{mei}/consent")).await;
    assert_eq!(after["records"].as_array().map(Vec::len), Some(4), "{after}");
    // The person's export holds their choices too.
    let (_, export) = app.get(&format!("/v1/profiles/{mei}/export")).await;
    assert_eq!(export["consent"].as_array().map(Vec::len), Some(4), "{export}");
    assert_eq!(export["consent"][2]["status"], "blocked");
}

#[tokio::test]
async fn an_opt_in_channel_allows_marketing_only_after_a_subscription() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let mei = person(&app, "mei").await;
    let (status, mut settings) = app.get("/v1/settings").await;
    assert_eq!(status, 200, "{settings}");
    settings["contact_policy"]["opt_in_required"] = json!(["sms"]);
    let (status, body) = app.send(Method::PUT, "/v1/settings", &settings).await;
    assert_eq!(status, 200, "{body}");

    let (_, view) = app.get(&format!("/v1/profiles/{mei}/consent")).await;
    assert_eq!(verdict(&view, "sms", "marketing"), (false, &json!("no_consent")));
    assert_eq!(verdict(&view, "sms", "transactional"), (true, &Value::Null));
    assert_eq!(verdict(&view, "email", "marketing"), (true, &Value::Null));
    let view = record(
        &app,
        &mei,
        json!({"channel": "sms", "topic": "promotions", "status": "subscribed"}),
    )
    .await;
    assert_eq!(verdict(&view, "sms", "marketing"), (true, &Value::Null));
}

#[tokio::test]
async fn consent_given_through_a_merged_away_id_belongs_to_the_survivor() {
    let app = TestApp::spawn().await;
    let first = json!({"type": "track", "event": "app_installed", "anonymousId": "anon-1",
                       "timestamp": "2026-11-01T08:00:00Z"});
    assert_eq!(app.track("/v1/track", &first).await.status(), 200);
    let second = json!({"type": "identify", "userId": "member-1", "timestamp": "2026-11-02T08:00:00Z"});
    assert_eq!(app.track("/v1/identify", &second).await.status(), 200);
    let young = app.profile_by("user_id:member-1").await["id"].clone();
    let link = json!({"type": "identify", "userId": "member-1", "anonymousId": "anon-1"});
    assert_eq!(app.track("/v1/identify", &link).await.status(), 200);
    let survivor = app.profile_by("user_id:member-1").await["id"].clone();
    assert_ne!(young, survivor);

    let young = young.as_str().expect("id");
    let answer = record(&app, young, json!({"channel": "sms", "status": "unsubscribed"})).await;
    assert_eq!(answer["profile_id"], survivor);
    let (status, read) = app
        .get(&format!(
            "/v1/profiles/{}/consent",
            survivor.as_str().expect("id")
        ))
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["records"][0]["status"], "unsubscribed");
    assert_eq!(app.get(&format!("/v1/profiles/{young}/consent")).await.1, read);
}

#[tokio::test]
async fn bad_consent_changes_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let mei = person(&app, "mei").await;
    let path = format!("/v1/profiles/{mei}/consent");
    for (body, field) in [
        (json!({}), "status"),
        (json!({"status": "maybe"}), "status"),
        (json!({"channel": "fax", "status": "subscribed"}), "channel"),
        (json!({"topic": "双11", "status": "subscribed"}), "topic"),
        (json!({"topic": "promotions", "status": "blocked"}), "topic"),
        (json!({"status": "subscribed", "reason": "asked"}), "reason"),
    ] {
        let (status, answer) = app.send(Method::POST, &path, &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(
            answer["error"]["field"].as_str().unwrap_or_default(),
            field,
            "{body} → {answer}"
        );
    }
    assert_eq!(
        app.get(&path).await.1["records"],
        json!([]),
        "nothing was recorded"
    );
    let (status, answer) = app.get(&format!("{path}?topic=Promo!")).await;
    assert_eq!((status, &answer["error"]["field"]), (400, &json!("topic")));

    let nobody = "/v1/profiles/00000000-0000-7000-8000-000000000000/consent";
    let (status, _) = app.get(nobody).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .send(Method::POST, nobody, &json!({"status": "subscribed"}))
        .await;
    assert_eq!(status, 404);
    let (status, answer) = app.get("/v1/profiles/p1/consent").await;
    assert_eq!((status, &answer["error"]["field"]), (400, &json!("id")));
}

#[tokio::test]
async fn consent_routes_need_a_key_with_profile_scopes() {
    let app = TestApp::spawn().await;
    let mei = person(&app, "mei").await;
    let path = format!("/v1/profiles/{mei}/consent");
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/keys",
            &json!({"kind": "api", "scopes": ["profiles:read", "audiences:write"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let reader = body["key"].as_str().expect("key").to_owned();
    let change = json!({"status": "unsubscribed"});
    let call = |method: Method, key: Option<&str>| {
        let mut request = app.http.request(method, app.url(&path)).json(&change);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    assert_eq!(call(Method::GET, None).await, 401);
    assert_eq!(call(Method::POST, None).await, 401);
    assert_eq!(
        call(Method::POST, Some(&app.write_key)).await,
        401,
        "a write key cannot"
    );
    assert_eq!(call(Method::GET, Some(&reader)).await, 200);
    assert_eq!(
        call(Method::POST, Some(&reader)).await,
        403,
        "recording needs profiles:write"
    );
    assert_eq!(call(Method::POST, Some(&app.api_key)).await, 201);
}
