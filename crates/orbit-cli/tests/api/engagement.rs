//! What comes back after a message went: tracked links and the open pixel in real
//! emails, the unsubscribe link, provider receipts, and dead letters — each recorded
//! once on the campaign report and as a `message_*` event on the person's timeline.

use crate::helpers::ok;
use crate::helpers::{TestApp, wait_until};
use axum::http::StatusCode;
use orbit_core::SystemClock;
use orbit_test_support::aliyun::{self, Aliyun};
use orbit_test_support::smtp::SmtpServer;
use orbit_test_support::webhook::{Reply, WebhookReceiver};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// Members `m0`, `m1`, … with the traits given, all in the segment `members`.
async fn members(app: &TestApp, traits: &[Value]) {
    let events: Vec<Value> = traits
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut traits = t.clone();
            traits["plan"] = json!("gold");
            json!({"type": "identify", "user_id": format!("m{i}"), "traits": traits})
        })
        .collect();
    ok(app, Method::POST, "/v1/events", json!({"events": events})).await;
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "members", "name": "会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
}

/// Launches a one-variant campaign of `template` to the segment and waits for it.
async fn broadcast(app: &TestApp, id: &str, template: &str) -> Value {
    ok(
        app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": id, "name": id, "segment": "members",
               "variants": [{"name": "a", "messages": [{"template": template}]}]}),
    )
    .await;
    crate::helpers::launch_and_finish(app, id).await;
    ok(
        app,
        Method::GET,
        &format!("/v1/campaigns/{id}/report"),
        Value::Null,
    )
    .await
}

/// The events of `name` on a member's timeline.
async fn timeline(app: &TestApp, user: &str, name: &str) -> Vec<Value> {
    let profile = app.profile_by(&format!("user_id:{user}")).await;
    let id = profile["id"].as_str().expect("id");
    let (status, body) = app.get(&format!("/v1/profiles/{id}/events?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == name)
        .cloned()
        .collect()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The values of `attribute="…"` in an HTML document, in order, with the character
/// references the template engine escapes with decoded.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let marker = format!("{attribute}=\"");
    html.split(&marker)
        .skip(1)
        .map(|rest| {
            rest[..rest.find('"').expect("closing quote")]
                .replace("&#x2f;", "/")
                .replace("&amp;", "&")
        })
        .collect()
}

#[tokio::test]
async fn email_links_opens_and_the_unsubscribe_link_are_recorded_once_each() {
    let smtp = SmtpServer::builder().start().await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    members(
        &app,
        &[
            json!({"email": "mei@example.cn", "name": "小美"}),
            json!({"email": "lei@example.cn", "name": "小雷"}),
        ],
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/channels",
        json!({"id": "mail", "name": "邮件", "config": {"provider": "smtp", "host": "127.0.0.1",
               "port": smtp.addr.port(), "security": "none", "from_address": "news@brand.example"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "sale-mail", "name": "双十二", "content": {"channel": "email",
               "subject": "{{ profile.traits.name }}，双十二专场",
               "html": "<html><body><p>{{ profile.traits.name }}您好</p>\
                        <a href=\"https://shop.example/sale?a=1&amp;b=2\">去看看</a> \
                        <a href=\"https://shop.example/双十二\">专场</a> \
                        <a href=\"{{ unsubscribe_url }}\">退订</a></body></html>",
               "text": "{{ profile.traits.name }}您好 退订：{{ unsubscribe_url }}"}}),
    )
    .await;
    broadcast(&app, "double-12", "sale-mail").await;
    wait_until("both emails arrive", || async { smtp.messages().len() == 2 }).await;

    let mut by_person = std::collections::BTreeMap::new();
    for message in smtp.messages() {
        let parsed = mail_parser::MessageParser::default()
            .parse(&message.data)
            .expect("a MIME message");
        let html = parsed.body_html(0).expect("an HTML part").into_owned();
        let list_unsubscribe = parsed
            .header_raw("List-Unsubscribe")
            .expect("List-Unsubscribe")
            .trim()
            .to_owned();
        by_person.insert(message.rcpt_to[0].clone(), (html, list_unsubscribe));
    }
    let (mei_html, _) = &by_person["mei@example.cn"];
    let links = attributes(mei_html, "href");
    let pixels = attributes(mei_html, "src");
    assert_eq!(links.len(), 3, "{mei_html}");
    assert!(
        links[0].starts_with(&app.url("/t/c/")) && links[1].starts_with(&app.url("/t/c/")),
        "the shop links are tracked: {links:?}"
    );
    assert!(
        links[2].starts_with(&app.url("/t/u/")),
        "the unsubscribe link is left alone: {links:?}"
    );
    assert_eq!(pixels.len(), 1);
    assert!(pixels[0].starts_with(&app.url("/t/o/")));

    // Mei opens the email and clicks twice: one open, one click, each once.
    let http = no_redirects();
    let pixel = http.get(&pixels[0]).send().await.expect("pixel");
    assert_eq!(pixel.status(), StatusCode::OK);
    assert_eq!(pixel.headers()["content-type"], "image/gif");
    for _ in 0..2 {
        let click = http.get(&links[0]).send().await.expect("click");
        assert_eq!(click.status(), StatusCode::FOUND);
        assert_eq!(click.headers()["location"], "https://shop.example/sale?a=1&b=2");
    }
    // A destination with Chinese in its path is redirected to percent-encoded.
    let chinese = http.get(&links[1]).send().await.expect("click");
    assert_eq!(chinese.status(), StatusCode::FOUND);
    assert_eq!(
        chinese.headers()["location"],
        "https://shop.example/%E5%8F%8C%E5%8D%81%E4%BA%8C"
    );
    let report = ok(&app, Method::GET, "/v1/campaigns/double-12/report", Value::Null).await;
    let tally = &report["variants"][0];
    assert_eq!(
        (
            tally["sent"].as_u64(),
            tally["opened"].as_u64(),
            tally["clicked"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(timeline(&app, "m0", "message_opened").await.len(), 1);
    let clicks = timeline(&app, "m0", "message_clicked").await;
    assert_eq!(
        clicks.len(),
        2,
        "one per destination, whatever the clicks: {clicks:?}"
    );
    let clicks: Vec<Value> = clicks
        .into_iter()
        .filter(|c| c["properties"]["url"] == "https://shop.example/sale?a=1&b=2")
        .collect();
    assert_eq!(clicks.len(), 1, "{clicks:?}");
    assert_eq!(
        clicks[0]["properties"]["url"],
        "https://shop.example/sale?a=1&b=2"
    );
    assert_eq!(clicks[0]["properties"]["campaign_id"], "double-12");

    // Lei follows the List-Unsubscribe link: the page asks first, the one-click POST
    // unsubscribes him from marketing email.
    let (_, lei_header) = &by_person["lei@example.cn"];
    let unsubscribe = lei_header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let page = http.get(&unsubscribe).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("<form method=\"post\""));
    let profile = app.profile_by("user_id:m1").await;
    let lei = profile["id"].as_str().expect("id").to_owned();
    let consent = ok(
        &app,
        Method::GET,
        &format!("/v1/profiles/{lei}/consent"),
        Value::Null,
    )
    .await;
    assert_eq!(
        consent["resolved"]["email"]["marketing"]["allowed"], true,
        "a GET changes nothing"
    );
    let confirmed = http
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(confirmed.status(), StatusCode::OK);
    let consent = ok(
        &app,
        Method::GET,
        &format!("/v1/profiles/{lei}/consent"),
        Value::Null,
    )
    .await;
    assert_eq!(
        consent["resolved"]["email"]["marketing"]["allowed"], false,
        "{consent}"
    );
    assert_eq!(consent["resolved"]["email"]["transactional"]["allowed"], true);
    assert_eq!(timeline(&app, "m1", "message_unsubscribed").await.len(), 1);

    // The next campaign reaches Mei only.
    let report = broadcast(&app, "double-12-again", "sale-mail").await;
    let tally = &report["variants"][0];
    assert_eq!(tally["sent"], 1, "{report}");
    assert_eq!(tally["suppressed"]["unsubscribed"], 1, "{report}");

    // Links nobody made, or used for what they are not, lead nowhere.
    let forged = http.get(app.url("/t/c/AQE.bm9wZQ")).send().await.expect("forged");
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    let body: Value = forged.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_link");
    let token = links[0].rsplit('/').next().expect("token");
    let misused = http
        .get(app.url(&format!("/t/o/{token}")))
        .send()
        .await
        .expect("misused");
    assert_eq!(misused.status(), StatusCode::NOT_FOUND);
    let bad_scope = http
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("scope=everything")
        .send()
        .await
        .expect("bad scope");
    assert_eq!(bad_scope.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_scope.json().await.expect("json");
    assert_eq!(body["error"]["field"], "scope");
}

fn report_of(phone: &str, success: bool) -> Value {
    json!({"phone_number": phone, "send_time": "2026-12-04 10:00:00", "report_time": "2026-12-04 10:00:05",
           "success": success, "err_code": if success { "DELIVERED" } else { "MK:0001" },
           "err_msg": if success { "用户接收成功" } else { "空号" },
           "sms_size": "1", "biz_id": aliyun::biz_id(phone), "out_id": ""})
}

#[tokio::test]
async fn provider_receipts_mark_messages_delivered_or_bounced_once() {
    // The stand-in answers each send with a BizId naming the number, so the receipts
    // below know whom they are for.
    let stand_in = Aliyun::start(aliyun::Answer::Sent, Arc::new(SystemClock)).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    members(
        &app,
        &[
            json!({"phone": "13800138000", "name": "小美"}),
            json!({"phone": "13900139000", "name": "小雷"}),
        ],
    )
    .await;
    let account = ok(
        &app,
        Method::POST,
        "/v1/channels",
        json!({"id": "aliyun", "name": "阿里云短信", "config": {"provider": "aliyun_sms",
               "access_key_id": aliyun::ACCESS_KEY_ID, "access_key_secret": aliyun::ACCESS_KEY_SECRET,
               "sign_name": "奥比特", "endpoint": stand_in.endpoint}}),
    )
    .await;
    let receipt_url = account["receipt_url"].as_str().expect("a receipt URL").to_owned();
    assert!(receipt_url.starts_with(&app.url("/t/r/")), "{receipt_url}");
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "sale-sms", "name": "双十二短信", "content": {"channel": "sms",
               "text": "{{ profile.traits.name }}您好，双十二专场开启", "provider_template": "SMS_1234",
               "params": [{"name": "name", "value": "{{ profile.traits.name }}"}]}}),
    )
    .await;
    broadcast(&app, "double-12", "sale-sms").await;

    let http = reqwest::Client::new();
    let batch = json!([report_of("13800138000", true), report_of("13900139000", false)]);
    for _ in 0..2 {
        // Aliyun pushes again unless it gets its acknowledgement; twice counts once.
        let answer = http.post(&receipt_url).json(&batch).send().await.expect("push");
        assert_eq!(answer.status(), StatusCode::OK);
        let ack: Value = answer.json().await.expect("json");
        assert_eq!(ack, json!({"code": 0, "msg": "接收成功"}));
    }
    let report = ok(&app, Method::GET, "/v1/campaigns/double-12/report", Value::Null).await;
    let tally = &report["variants"][0];
    assert_eq!(
        (
            tally["sent"].as_u64(),
            tally["delivered"].as_u64(),
            tally["bounced"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(timeline(&app, "m0", "message_delivered").await.len(), 1);
    let bounced = timeline(&app, "m1", "message_bounced").await;
    assert_eq!(bounced.len(), 1);
    assert_eq!(bounced[0]["properties"]["detail"], "MK:0001: 空号");
    assert_eq!(bounced[0]["properties"]["channel"], "sms");

    let malformed = http
        .post(&receipt_url)
        .body("{not json")
        .send()
        .await
        .expect("push");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.expect("json");
    assert_eq!(body["error"]["code"], "malformed_receipt");

    // Once the account is gone, its receipt URL is too.
    let (status, _) = app
        .send(Method::DELETE, "/v1/channels/aliyun", &Value::Null)
        .await;
    assert_eq!(status, 204);
    let gone = http.post(&receipt_url).json(&batch).send().await.expect("push");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

const DEAD_LETTER_SECRET: &str = "dead-letter-secret-0123456789";

#[tokio::test]
async fn messages_that_fail_for_good_are_dead_letters_listed_in_pages() {
    // An endpoint that refuses every delivery as invalid: a permanent failure.
    let refusing = WebhookReceiver::builder(DEAD_LETTER_SECRET)
        .reply(|_| Reply::status(422).body("unknown member"))
        .start()
        .await;

    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    members(&app, &[json!({}), json!({}), json!({})]).await;
    ok(
        &app,
        Method::POST,
        "/v1/channels",
        json!({"id": "crm", "name": "CRM", "config": {"provider": "webhook",
               "url": refusing.url("/crm"), "secret": DEAD_LETTER_SECRET}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "hook", "name": "hook", "content": {"channel": "webhook",
               "body": {"user": "{{ profile.identities.user_id }}"}}}),
    )
    .await;
    let report = broadcast(&app, "crm-sync", "hook").await;
    assert_eq!(report["variants"][0]["failed"], 3, "{report}");
    assert_eq!(refusing.count(), 3, "a permanent failure is not retried");

    let first = ok(&app, Method::GET, "/v1/dead-letters?limit=2", Value::Null).await;
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = ok(
        &app,
        Method::GET,
        &format!(
            "/v1/dead-letters?limit=2&cursor={}",
            crate::helpers::urlencode(&cursor)
        ),
        Value::Null,
    )
    .await;
    let mut ids: Vec<String> = first["dead_letters"]
        .as_array()
        .into_iter()
        .chain(second["dead_letters"].as_array())
        .flatten()
        .map(|d| {
            assert_eq!(d["campaign"], "crm-sync");
            assert!(
                d["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("unknown member")),
                "{d}"
            );
            d["id"].as_str().expect("id").to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(second["next_cursor"].is_null());
    let (status, body) = app.get("/v1/dead-letters?cursor=nonsense").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("cursor")));
}
