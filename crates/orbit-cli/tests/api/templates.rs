//! Message templates end to end: create, list, read, replace, delete; content that does
//! not compile; keys and scopes. Previews are in `preview`.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

mod preview;

/// 10:00 in Shanghai on 2026-11-11.
const START: &str = "2026-11-11T02:00:00Z";

async fn identify(app: &TestApp, user: &str, traits: Value) {
    let body = json!({"events": [{"type": "identify", "user_id": user, "traits": traits,
                                   "timestamp": "2026-11-01T02:00:00Z"}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
}

async fn profile_id(app: &TestApp, user: &str) -> String {
    app.profile_by(&format!("user_id:{user}")).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn create(app: &TestApp, template: Value) -> Value {
    let (status, body) = app.send(Method::POST, "/v1/templates", &template).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn delete(app: &TestApp, path: &str) -> u16 {
    app.http
        .delete(app.url(path))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

fn sms(text: &str) -> Value {
    json!({"channel": "sms", "text": text})
}

/// Asserts a 400 naming `field`, and returns the error.
async fn refused(app: &TestApp, method: Method, path: &str, body: &Value, field: &str) -> Value {
    let (status, answer) = app.send(method, path, body).await;
    assert_eq!(status, 400, "{body} → {answer}");
    assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
    answer["error"].clone()
}

#[tokio::test]
async fn templates_are_created_listed_read_replaced_and_deleted() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let created = create(
        &app,
        json!({"id": "double11", "name": "双11会员日",
               "content": sms("{{ profile.traits.name }}您好，双11会员日全场5折，回T退订"),
               "defaults": {"profile.traits.name": "会员"}}),
    )
    .await;
    assert_eq!(created["id"], "double11");
    assert_eq!(created["name"], "双11会员日");
    assert_eq!(created["class"], "marketing");
    assert_eq!(created["topic"], "promotions", "marketing defaults to promotions");
    assert_eq!(created["channel"], "sms");
    assert_eq!(
        created["content"]["text"],
        "{{ profile.traits.name }}您好，双11会员日全场5折，回T退订"
    );
    assert_eq!(created["defaults"], json!({"profile.traits.name": "会员"}));
    assert_eq!(created["created_at"], START);
    // The raw text's cost: 43 characters, one UCS-2 part.
    assert_eq!(created["sms"]["characters"], 43, "{created}");
    assert_eq!(
        created["sms"]["carrier"],
        json!({"encoding": "ucs2", "characters": 43, "parts": 1})
    );
    assert_eq!(
        created["sms"]["chinese_provider"],
        json!({"encoding": "characters", "characters": 45, "parts": 1, "signature": null}),
        "without a signature only 【】 is counted"
    );

    let receipt = create(
        &app,
        json!({"id": "receipt", "name": "订单确认", "class": "transactional",
               "content": {"channel": "email", "subject": "订单{{ event.properties.order_id }}已确认",
                           "text": "谢谢惠顾"}}),
    )
    .await;
    assert_eq!(
        (&receipt["class"], &receipt["topic"], &receipt["channel"]),
        (&json!("transactional"), &Value::Null, &json!("email"))
    );
    assert!(receipt.get("sms").is_none(), "only text messages are counted");

    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/templates",
            &json!({"id": "double11", "name": "again", "content": sms("x")}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "already_exists");
    assert_eq!(answer["error"]["field"], "id");

    let (status, list) = app.get("/v1/templates").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["double11", "receipt"]);

    let (status, read) = app.get("/v1/templates/double11").await;
    assert_eq!((status, &read), (200, &created));

    let (status, body) = app
        .send(Method::POST, "/v1/clock", &json!({"advance": "PT1H"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, replaced) = app
        .send(
            Method::PUT,
            "/v1/templates/double11",
            &json!({"name": "双11 · 第二波", "topic": "member_day",
                    "content": sms("{{ profile.traits.name }}，第二波5折开抢")}),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "双11 · 第二波");
    assert_eq!(replaced["topic"], "member_day");
    assert_eq!(replaced["defaults"], json!({}), "a replace replaces everything");
    assert_eq!(replaced["created_at"], START, "created_at is kept");
    assert_eq!(replaced["updated_at"], "2026-11-11T03:00:00Z");
    assert_eq!(app.get("/v1/templates/double11").await.1, replaced);

    assert_eq!(delete(&app, "/v1/templates/double11").await, 204);
    let (status, answer) = app.get("/v1/templates/double11").await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!("not_found")));
    assert_eq!(delete(&app, "/v1/templates/double11").await, 404);
    let (status, answer) = app
        .send(
            Method::PUT,
            "/v1/templates/double11",
            &json!({"name": "x", "content": sms("x")}),
        )
        .await;
    assert_eq!(status, 404, "a replace does not create: {answer}");
    assert_eq!(app.get("/v1/templates").await.1["templates"][0]["id"], "receipt");
}

#[tokio::test]
async fn templates_that_cannot_be_used_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let error = refused(
        &app,
        Method::POST,
        "/v1/templates",
        &json!({"id": "broken", "name": "坏模板",
                "content": {"channel": "push", "title": "ok", "body": "第一行\n{{ profile.traits.name "}}),
        "content.body",
    )
    .await;
    assert_eq!(error["code"], "invalid_template");
    assert_eq!(error["line"], 2);
    assert!(
        error["message"].as_str().expect("text").contains("line 2"),
        "{error}"
    );
    let error = refused(
        &app,
        Method::POST,
        "/v1/templates",
        &json!({"id": "params", "name": "验证码",
                "content": {"channel": "sms", "text": "验证码{{ code }}", "provider_template": "SMS_1",
                            "params": [{"name": "code", "value": "{% if %}"}]}}),
        "content.params[0].value",
    )
    .await;
    assert_eq!(error["code"], "invalid_template");

    for (body, field) in [
        (json!({"id": "Bad Id", "name": "x", "content": sms("x")}), "id"),
        (json!({"id": "ok", "name": "  ", "content": sms("x")}), "name"),
        (json!({"id": "ok", "name": "x"}), "content"),
        (
            json!({"id": "ok", "name": "x", "content": {"channel": "fax", "text": "x"}}),
            "content.channel",
        ),
        (
            json!({"id": "ok", "name": "x", "topic": "Promo!", "content": sms("x")}),
            "topic",
        ),
        (
            json!({"id": "ok", "name": "x", "class": "transactional", "topic": "promotions", "content": sms("x")}),
            "topic",
        ),
        (
            json!({"id": "ok", "name": "x", "class": "urgent", "content": sms("x")}),
            "class",
        ),
        (
            json!({"id": "ok", "name": "x", "content": sms("x"), "defaults": {"profile..name": "会员"}}),
            "defaults.profile..name",
        ),
        (
            json!({"id": "ok", "name": "x", "content": sms("x"), "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, answer) = app.send(Method::POST, "/v1/templates", &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(
            answer["error"]["field"].as_str().unwrap_or_default(),
            field,
            "{body} → {answer}"
        );
    }
    assert_eq!(
        app.get("/v1/templates").await.1["templates"],
        json!([]),
        "nothing was saved"
    );

    create(&app, json!({"id": "ok", "name": "x", "content": sms("x")})).await;
    refused(
        &app,
        Method::PUT,
        "/v1/templates/ok",
        &json!({"id": "other", "name": "x", "content": sms("x")}),
        "id",
    )
    .await;
    refused(
        &app,
        Method::GET,
        "/v1/templates/Not%20A%20Slug",
        &json!(null),
        "id",
    )
    .await;
}

#[tokio::test]
async fn template_routes_need_a_key_with_the_right_scopes() {
    let app = TestApp::spawn().await;
    identify(&app, "mei", json!({"name": "王小美"})).await;
    let mei = profile_id(&app, "mei").await;
    create(
        &app,
        json!({"id": "hello", "name": "你好", "content": sms("你好")}),
    )
    .await;
    let mint = |scopes: Value| {
        let app = &app;
        async move {
            let (status, body) = app
                .send(
                    Method::POST,
                    "/v1/keys",
                    &json!({"kind": "api", "scopes": scopes}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            body["key"].as_str().expect("key").to_owned()
        }
    };
    let reader = mint(json!(["audiences:read"])).await;
    let profiles_only = mint(json!(["profiles:read"])).await;
    let previewer = mint(json!(["audiences:read", "profiles:read"])).await;
    let call = |method: Method, path: &str, key: Option<&str>, body: Value| {
        let mut request = app.http.request(method, app.url(path)).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    let preview = json!({"profile": mei});
    let new = json!({"id": "new", "name": "新", "content": sms("新")});
    let routes = [
        (Method::POST, "/v1/templates", new.clone()),
        (Method::GET, "/v1/templates", json!(null)),
        (Method::GET, "/v1/templates/hello", json!(null)),
        (Method::PUT, "/v1/templates/hello", new.clone()),
        (Method::DELETE, "/v1/templates/hello", json!(null)),
        (Method::POST, "/v1/templates/hello/preview", preview.clone()),
        (
            Method::POST,
            "/v1/templates/preview",
            json!({"profile": mei, "content": sms("x")}),
        ),
    ];
    for (method, path, body) in &routes {
        assert_eq!(
            call(method.clone(), path, None, body.clone()).await,
            401,
            "{method} {path}"
        );
        assert_eq!(
            call(method.clone(), path, Some("ok_not_a_key"), body.clone()).await,
            401,
            "{method} {path}"
        );
        assert_eq!(
            call(method.clone(), path, Some(&profiles_only), body.clone()).await,
            403,
            "{method} {path} needs audiences scopes"
        );
    }
    assert_eq!(
        call(Method::GET, "/v1/templates", Some(&reader), json!(null)).await,
        200
    );
    assert_eq!(
        call(Method::GET, "/v1/templates/hello", Some(&reader), json!(null)).await,
        200
    );
    assert_eq!(
        call(Method::POST, "/v1/templates", Some(&reader), new.clone()).await,
        403
    );
    assert_eq!(
        call(Method::PUT, "/v1/templates/hello", Some(&reader), new).await,
        403
    );
    assert_eq!(
        call(Method::DELETE, "/v1/templates/hello", Some(&reader), json!(null)).await,
        403
    );
    assert_eq!(
        call(
            Method::POST,
            "/v1/templates/hello/preview",
            Some(&reader),
            preview.clone()
        )
        .await,
        403,
        "a preview shows a person's traits: it needs profiles:read too"
    );
    assert_eq!(
        call(
            Method::POST,
            "/v1/templates/hello/preview",
            Some(&previewer),
            preview
        )
        .await,
        200
    );

    // The routes are in the OpenAPI document.
    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    for (method, path) in [
        ("post", "/v1/templates"),
        ("get", "/v1/templates"),
        ("get", "/v1/templates/{id}"),
        ("put", "/v1/templates/{id}"),
        ("delete", "/v1/templates/{id}"),
        ("post", "/v1/templates/{id}/preview"),
        ("post", "/v1/templates/preview"),
        ("get", "/v1/profiles/{id}/consent"),
        ("post", "/v1/profiles/{id}/consent"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
}
