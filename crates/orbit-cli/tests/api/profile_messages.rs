//! A person's messages (`GET /v1/profiles/{id}/messages`): every campaign's message
//! to them, those sent under an id later merged into them included, newest first,
//! paged, with the held-out control group's rows showing why nothing was sent.

use crate::helpers::ok;
use crate::helpers::{TestApp, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

/// Launches an inbox campaign to the gold segment and waits until it completes.
async fn broadcast(app: &TestApp, id: &str, control_percent: u8) {
    ok(
        app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": id, "name": id, "segment": "gold", "control_percent": control_percent,
               "variants": [{"name": "a", "messages": [{"template": "popup"}]}]}),
    )
    .await;
    crate::helpers::launch_and_finish(app, id).await;
}

fn campaigns_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["campaign"].as_str().expect("campaign").to_owned())
        .collect()
}

#[tokio::test]
async fn a_person_s_messages_come_newest_first_with_those_of_merged_ids() {
    let app = TestApp::spawn().await;
    // Two profiles of the same person (a device and a member account) and someone else.
    let events = json!({"events": [
        {"type": "identify", "anonymous_id": "device-1", "traits": {"plan": "gold"}},
        {"type": "identify", "user_id": "mei", "traits": {"plan": "gold", "name": "美"}},
        {"type": "identify", "user_id": "lei", "traits": {"plan": "gold", "name": "雷"}}]});
    ok(&app, Method::POST, "/v1/events", events).await;
    ok(
        &app,
        Method::POST,
        "/v1/templates",
        json!({"id": "popup", "name": "红包雨", "class": "marketing",
               "content": {"channel": "inbox", "title": "红包雨来啦", "body": "点击领取"}}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
    let device = app.profile_by("anonymous_id:device-1").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    broadcast(&app, "first", 0).await;

    // The device turns out to be Mei's: its profile merges into hers (or hers into it).
    let link = json!({"events": [{"type": "identify", "user_id": "mei", "anonymous_id": "device-1"}]});
    ok(&app, Method::POST, "/v1/events", link).await;
    wait_until("the profiles merge", || async {
        app.get("/v1/profiles?identity=user_id:mei").await.1["id"]
            == app.get("/v1/profiles?identity=anonymous_id:device-1").await.1["id"]
    })
    .await;
    broadcast(&app, "second", 100).await;

    // Asked by the merged-away id, the page is the person's: the second campaign's row
    // (control group, not sent) first, then the first campaign's under both ids.
    let (status, page) = app.get(&format!("/v1/profiles/{device}/messages?limit=2")).await;
    assert_eq!(status, 200, "{page}");
    let person = app.profile_by("user_id:mei").await["id"].clone();
    assert_eq!(page["profile_id"], person);
    assert_eq!(campaigns_of(&page), ["second", "first"]);
    let newest = &page["data"][0];
    assert_eq!(
        (
            newest["state"].as_str(),
            newest["suppression"].as_str(),
            newest["variant"].as_str()
        ),
        (Some("suppressed"), Some("control_group"), Some("control")),
        "{newest}"
    );
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let (status, rest) = app
        .get(&format!("/v1/profiles/{device}/messages?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(status, 200, "{rest}");
    assert_eq!(campaigns_of(&rest), ["first"]);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let sent: Vec<&Value> = page["data"].as_array().expect("data")[1..]
        .iter()
        .chain(rest["data"].as_array().expect("data"))
        .collect();
    for message in sent {
        assert_eq!(
            (message["state"].as_str(), message["channel"].as_str()),
            (Some("accepted"), Some("inbox")),
            "{message}"
        );
        assert!(message["sent_at"].is_string(), "{message}");
    }

    // Lei got one from each campaign; nobody else's are among them.
    let lei = app.profile_by("user_id:lei").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, lei_page) = app.get(&format!("/v1/profiles/{lei}/messages")).await;
    assert_eq!(campaigns_of(&lei_page), ["second", "first"]);

    // The personal export carries them all too.
    let (_, export) = app.get(&format!("/v1/profiles/{device}/export")).await;
    assert_eq!(export["messages"].as_array().map(Vec::len), Some(3), "{export}");

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let (status, body) = app.get(&format!("/v1/profiles/{lei}/messages?{query}")).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
    let stranger = "/v1/profiles/00000000-0000-7000-8000-000000000000/messages";
    assert_eq!(app.get(stranger).await.0, 404);
}
