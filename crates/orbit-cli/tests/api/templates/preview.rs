//! Previews: a Chinese text message rendered for a real profile with traits, tags,
//! defaults and the triggering event; render failures naming the variable and line;
//! SMS part counts at the 70-character boundary; merged-away ids.

use super::{create, identify, profile_id, sms};
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_chinese_sms_preview_renders_traits_tags_defaults_and_the_event() {
    let app = TestApp::spawn().await;
    identify(
        &app,
        "mei",
        json!({"name": "王小美", "phone": "13800138000", "points": 1280}),
    )
    .await;
    identify(&app, "anon", json!({"points": 0})).await;
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/tags",
            &json!({"id": "kol", "name": "达人", "family": "business", "kind": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mei = profile_id(&app, "mei").await;
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/v1/profiles/{mei}/tags/kol"),
            &json!({"values": ["美妆"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    create(
        &app,
        json!({"id": "points", "name": "积分提醒",
               "content": sms("{{ profile.traits.name }}您好，您的{{ profile.traits.points }}积分将于月底清零{% if tags.kol == '美妆' %}，美妆达人另享礼包{% endif %}。订单{{ event.properties.order_id }}，尾号{{ profile.identities.phone[-4:] }}"),
               "defaults": {"profile.traits.name": "尊敬的会员", "event.properties.order_id": "无"}}),
    )
    .await;

    let (status, preview) = app
        .send(
            Method::POST,
            "/v1/templates/points/preview",
            &json!({"identity": "phone:138 0013 8000", "signature": "【橙子商城】",
                    "event": {"name": "order_paid", "properties": {"order_id": "E20261111"}}}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    let text = "王小美您好，您的1280积分将于月底清零，美妆达人另享礼包。订单E20261111，尾号8000";
    assert_eq!(preview["template"], "points");
    assert_eq!(preview["profile_id"], mei.as_str());
    assert_eq!(preview["channel"], "sms");
    assert_eq!(
        preview["content"],
        json!({"channel": "sms", "text": text, "provider_template": null, "params": []})
    );
    let characters = text.chars().count();
    assert_eq!(preview["sms"]["characters"], characters);
    assert_eq!(
        preview["sms"]["chinese_provider"],
        json!({"encoding": "characters", "characters": characters + 6, "parts": 1, "signature": "橙子商城"}),
        "the signature and its brackets count"
    );

    // Someone without the traits gets the defaults, and no event means its default.
    let anon = profile_id(&app, "anon").await;
    let (status, preview) = app
        .send(
            Method::POST,
            "/v1/templates/preview",
            &json!({"profile": anon,
                    "content": sms("{{ profile.traits.name }}您好，积分{{ profile.traits.points }}，订单{{ event.properties.order_id }}"),
                    "defaults": {"profile.traits.name": "尊敬的会员", "event.properties.order_id": "无"}}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["template"], Value::Null);
    assert_eq!(preview["content"]["text"], "尊敬的会员您好，积分0，订单无");

    // Bad previews.
    let missing = "00000000-0000-7000-8000-000000000000";
    for (path, body, status, field) in [
        (
            "/v1/templates/points/preview",
            json!({"profile": missing}),
            404,
            None,
        ),
        (
            "/v1/templates/points/preview",
            json!({"identity": "user_id:nobody"}),
            404,
            None,
        ),
        (
            "/v1/templates/nothing/preview",
            json!({"profile": mei}),
            404,
            None,
        ),
        ("/v1/templates/points/preview", json!({}), 400, Some("profile")),
        (
            "/v1/templates/points/preview",
            json!({"profile": "p1"}),
            400,
            Some("profile"),
        ),
        (
            "/v1/templates/points/preview",
            json!({"profile": mei, "identity": "user_id:mei"}),
            400,
            Some("identity"),
        ),
        (
            "/v1/templates/points/preview",
            json!({"identity": "nonsense"}),
            400,
            Some("identity"),
        ),
        (
            "/v1/templates/points/preview",
            json!({"profile": mei, "content": sms("x")}),
            400,
            Some("content"),
        ),
        (
            "/v1/templates/points/preview",
            json!({"profile": mei, "signature": "【】"}),
            400,
            Some("signature"),
        ),
        (
            "/v1/templates/points/preview",
            json!({"profile": mei, "event": "paid"}),
            400,
            Some("event"),
        ),
        (
            "/v1/templates/preview",
            json!({"profile": mei}),
            400,
            Some("content"),
        ),
    ] {
        let (got, answer) = app.send(Method::POST, path, &body).await;
        assert_eq!(got, status, "{path} {body} → {answer}");
        assert_eq!(
            answer["error"]["field"].as_str(),
            field,
            "{path} {body} → {answer}"
        );
    }
}

#[tokio::test]
async fn a_render_failure_names_the_variable_and_its_line() {
    let app = TestApp::spawn().await;
    identify(&app, "mei", json!({"name": "王小美"})).await;
    let mei = profile_id(&app, "mei").await;
    create(
        &app,
        json!({"id": "nick", "name": "昵称", "content": {"channel": "email", "subject": "你好",
               "text": "第一行\n亲爱的{{ profile.traits.nickname }}"}}),
    )
    .await;
    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/templates/nick/preview",
            &json!({"profile": mei}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let error = &answer["error"];
    assert_eq!(error["code"], "render_failed");
    assert_eq!(error["field"], "content.text");
    assert_eq!(error["line"], 2);
    assert_eq!(error["variable"], "profile.traits.nickname");
    assert!(
        error["message"]
            .as_str()
            .expect("text")
            .starts_with("content.text line 2: profile.traits.nickname"),
        "{error}"
    );

    let bomb = sms("{% for a in range(1000) %}{% for b in range(1000) %}好{% endfor %}{% endfor %}");
    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/templates/preview",
            &json!({"profile": mei, "content": bomb}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "render_failed");
    assert_eq!(answer["error"]["field"], "content.text");
    assert_eq!(answer["error"]["variable"], Value::Null);
}

#[tokio::test]
async fn sms_part_counts_turn_at_the_seventy_first_chinese_character() {
    let app = TestApp::spawn().await;
    identify(&app, "mei", json!({"name": "王小美"})).await;
    let mei = profile_id(&app, "mei").await;
    let counts = |text: String, signature: Option<&str>| {
        let mut body = json!({"profile": mei, "content": sms(&text)});
        if let Some(signature) = signature {
            body["signature"] = json!(signature);
        }
        let app = &app;
        async move {
            let (status, preview) = app.send(Method::POST, "/v1/templates/preview", &body).await;
            assert_eq!(status, 200, "{preview}");
            preview["sms"].clone()
        }
    };
    let seventy = counts("好".repeat(70), None).await;
    assert_eq!(seventy["characters"], 70);
    assert_eq!(
        seventy["carrier"],
        json!({"encoding": "ucs2", "characters": 70, "parts": 1})
    );
    let seventy_one = counts("好".repeat(71), None).await;
    assert_eq!(
        seventy_one["carrier"],
        json!({"encoding": "ucs2", "characters": 71, "parts": 2})
    );
    // The Chinese providers count 【橙子】 too: 66 + 4 fits one part, 67 + 4 does not.
    let fits = counts("好".repeat(66), Some("橙子")).await;
    assert_eq!(
        fits["chinese_provider"],
        json!({"encoding": "characters", "characters": 70, "parts": 1, "signature": "橙子"})
    );
    let over = counts("好".repeat(67), Some("橙子")).await;
    assert_eq!(
        over["chinese_provider"],
        json!({"encoding": "characters", "characters": 71, "parts": 2, "signature": "橙子"})
    );
    // Plain GSM-7 text packs 160 septets in a part.
    let latin = counts(format!("{{{{ profile.traits.name }}}}{}", "a".repeat(150)), None).await;
    assert_eq!(
        latin["carrier"]["encoding"], "ucs2",
        "the Chinese name makes it UCS-2"
    );
    let ascii = counts("a".repeat(161), None).await;
    assert_eq!(
        ascii["carrier"],
        json!({"encoding": "gsm7", "characters": 161, "parts": 2})
    );

    // A saved template shows the same count for its raw text.
    let saved = create(
        &app,
        json!({"id": "long", "name": "长短信", "content": sms(&"好".repeat(71))}),
    )
    .await;
    assert_eq!(saved["sms"]["carrier"]["parts"], 2);
}

#[tokio::test]
async fn a_preview_for_a_merged_away_id_renders_the_person_it_was_merged_into() {
    let app = TestApp::spawn().await;
    let first = json!({"type": "identify", "anonymousId": "anon-1", "traits": {"city": "重庆"},
                       "timestamp": "2026-11-01T08:00:00Z"});
    assert_eq!(app.track("/v1/identify", &first).await.status(), 200);
    let second = json!({"type": "identify", "userId": "member-1", "traits": {"name": "李雷"},
                        "timestamp": "2026-11-02T08:00:00Z"});
    assert_eq!(app.track("/v1/identify", &second).await.status(), 200);
    let young = profile_id(&app, "member-1").await;
    let link = json!({"type": "identify", "userId": "member-1", "anonymousId": "anon-1"});
    assert_eq!(app.track("/v1/identify", &link).await.status(), 200);
    let survivor = profile_id(&app, "member-1").await;
    assert_ne!(young, survivor, "the older profile survives");

    let (status, preview) = app
        .send(
            Method::POST,
            "/v1/templates/preview",
            &json!({"profile": young,
                    "content": sms("{{ profile.traits.name }}，{{ profile.traits.city }}门店欢迎您")}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["profile_id"], survivor.as_str());
    assert_eq!(preview["content"]["text"], "李雷，重庆门店欢迎您");
}
