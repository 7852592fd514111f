//! The seed segments of SPEC §3 end to end: events over HTTP, segments created and
//! counted through the API, time moved on the server's simulated clock.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// 10:00 in Shanghai on 2026-11-23.
const START: &str = "2026-11-23T02:00:00Z";

fn event(user: &str, name: &str, at: &str, properties: Value) -> Value {
    json!({"event": name, "user_id": user, "timestamp": at, "properties": properties,
           "message_id": format!("{user}-{name}-{at}")})
}

async fn send_events(app: &TestApp, events: Vec<Value>) {
    let (status, body) = app
        .send(Method::POST, "/v1/events", &json!({"events": events}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn identify(app: &TestApp, user: &str, traits: Value) {
    let body = json!({"events": [{"type": "identify", "user_id": user, "traits": traits,
                                   "timestamp": "2026-11-01T00:00:00Z"}]});
    let (status, answer) = app.send(Method::POST, "/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
}

/// The user ids of a segment's members, sorted.
async fn members(app: &TestApp, segment: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/v1/segments/{segment}/members")).await;
    assert_eq!(status, 200, "{body}");
    let mut users: Vec<String> = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user_id"].as_str().map(str::to_owned))
        .collect();
    users.sort();
    users
}

async fn create(app: &TestApp, id: &str, condition: Value) -> Value {
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": id, "name": id, "condition": condition}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn advance(app: &TestApp, by: &str) {
    let (status, body) = app.send(Method::POST, "/v1/clock", &json!({"advance": by})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_seed_segments_count_the_right_people_as_time_passes() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let (status, body) = app
        .send(
            Method::PUT,
            "/v1/settings",
            &json!({"time_zone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    send_events(
        &app,
        vec![
            // Installed yesterday (Shanghai), no order.
            event(
                "installed-yesterday",
                "app_installed",
                "2026-11-22T15:30:00Z",
                json!({}),
            ),
            // Installed yesterday, then ordered.
            event(
                "installed-and-ordered",
                "app_installed",
                "2026-11-22T01:00:00Z",
                json!({}),
            ),
            event(
                "installed-and-ordered",
                "order_paid",
                "2026-11-22T02:00:00Z",
                json!({"amount": 25}),
            ),
            // Installed after midnight in Shanghai: today, not yesterday.
            event(
                "installed-today",
                "app_installed",
                "2026-11-22T16:30:00Z",
                json!({}),
            ),
            // One order long ago; one order recently; two orders.
            event(
                "once-long-ago",
                "order_paid",
                "2026-09-01T00:00:00Z",
                json!({"amount": 10}),
            ),
            event(
                "once-recently",
                "order_paid",
                "2026-11-10T00:00:00Z",
                json!({"amount": 10}),
            ),
            event(
                "twice",
                "order_paid",
                "2026-09-01T00:00:00Z",
                json!({"amount": 10}),
            ),
            event(
                "twice",
                "order_paid",
                "2026-09-20T00:00:00Z",
                json!({"amount": 10}),
            ),
            // Browsing in Chongqing half an hour ago, one of them then paid.
            event(
                "chongqing-browser",
                "page_viewed",
                "2026-11-23T01:30:00Z",
                json!({"city": "重庆"}),
            ),
            event(
                "chongqing-buyer",
                "page_viewed",
                "2026-11-23T01:30:00Z",
                json!({"city": "重庆"}),
            ),
            event(
                "chongqing-buyer",
                "order_paid",
                "2026-11-23T01:33:00Z",
                json!({"amount": 18}),
            ),
            event(
                "chengdu-browser",
                "page_viewed",
                "2026-11-23T01:30:00Z",
                json!({"city": "成都"}),
            ),
            // Checkout two hours ago without paying; checkout then paid.
            event(
                "checkout-dropped",
                "checkout_started",
                "2026-11-23T00:00:00Z",
                json!({}),
            ),
            event(
                "checkout-paid",
                "checkout_started",
                "2026-11-23T00:00:00Z",
                json!({}),
            ),
            event(
                "checkout-paid",
                "order_paid",
                "2026-11-23T00:10:00Z",
                json!({"amount": 99}),
            ),
        ],
    )
    .await;
    let shares: Vec<Value> = (0..11)
        .map(|i| {
            event(
                "sharer",
                "product_shared",
                &format!("2026-11-{:02}T00:00:00Z", i + 1),
                json!({}),
            )
        })
        .collect();
    send_events(&app, shares[..10].to_vec()).await;
    identify(&app, "forty", json!({"age": 40})).await;
    identify(&app, "sixty-text", json!({"age": "60"})).await;
    identify(&app, "sixty-one", json!({"age": 61})).await;

    create(&app, "installed-yesterday-no-order", json!({"type": "and", "conditions": [
        {"type": "event", "event": "app_installed", "measure": {"kind": "first_time"},
         "window": {"kind": "day", "days_ago": 1}},
        {"type": "event", "event": "order_paid", "measure": {"kind": "did_not"}, "window": {"kind": "ever"}}
    ]}))
    .await;
    create(&app, "ordered-once", json!({"type": "and", "conditions": [
        {"type": "event", "event": "order_paid", "measure": {"kind": "count", "compare": "eq", "value": 1},
         "window": {"kind": "ever"}},
        {"type": "sequence", "first": {"event": "order_paid"}, "then": {"event": "order_paid"},
         "within": {"amount": 30, "unit": "days"}, "then_not": true, "window": {"kind": "ever"}}
    ]}))
    .await;
    let age = create(
        &app,
        "age-40-60",
        json!({"type": "trait", "trait": "age", "value_type": "number",
                                               "op": "between", "min": 40, "max": 60}),
    )
    .await;
    assert_eq!(age["size"], 2, "{age}");
    create(
        &app,
        "sharers",
        json!({"type": "event", "event": "product_shared",
        "measure": {"kind": "count", "compare": "gt", "value": 10}, "window": {"kind": "ever"}}),
    )
    .await;
    let active =
        json!({"filters": [{"property": "city", "value_type": "string", "op": "eq", "value": "重庆"}]});
    create(
        &app,
        "chongqing-no-order",
        json!({"type": "and", "conditions": [
            {"type": "event", "filters": active["filters"], "measure": {"kind": "did"},
             "window": {"kind": "last", "amount": 1, "unit": "hours"}},
            {"type": "sequence", "first": active, "then": {"event": "order_paid"},
             "within": {"amount": 5, "unit": "minutes"}, "then_not": true,
             "window": {"kind": "last", "amount": 1, "unit": "hours"}}
        ]}),
    )
    .await;
    create(
        &app,
        "checkout-dropped",
        json!({"type": "sequence", "first": {"event": "checkout_started"},
        "then": {"event": "order_paid"}, "within": {"amount": 1, "unit": "days"}, "then_not": true,
        "window": {"kind": "ever"}}),
    )
    .await;

    assert_eq!(
        members(&app, "installed-yesterday-no-order").await,
        ["installed-yesterday"]
    );
    assert_eq!(members(&app, "ordered-once").await, ["once-long-ago"]);
    assert_eq!(members(&app, "age-40-60").await, ["forty", "sixty-text"]);
    assert!(
        members(&app, "sharers").await.is_empty(),
        "ten shares are not more than ten"
    );
    assert_eq!(members(&app, "chongqing-no-order").await, ["chongqing-browser"]);
    assert!(
        members(&app, "checkout-dropped").await.is_empty(),
        "a day has not passed since checkout"
    );

    // The eleventh share arrives: the segment follows the event.
    send_events(&app, shares[10..].to_vec()).await;
    assert_eq!(members(&app, "sharers").await, ["sharer"]);

    // Time passes on the server's clock: a day and a bit later.
    advance(&app, "PT23H").await;
    assert_eq!(members(&app, "checkout-dropped").await, ["checkout-dropped"]);
    assert!(
        members(&app, "chongqing-no-order").await.is_empty(),
        "an hour has passed"
    );
    assert_eq!(
        members(&app, "installed-yesterday-no-order").await,
        ["installed-today"],
        "yesterday is now the day that was today"
    );
    // 2026-12-14: thirty days have passed since the order of 2026-11-10 only.
    advance(&app, "P20D").await;
    assert_eq!(
        members(&app, "ordered-once").await,
        ["once-long-ago", "once-recently"]
    );
    advance(&app, "P10D").await;
    assert_eq!(
        members(&app, "ordered-once").await,
        [
            "checkout-paid",
            "chongqing-buyer",
            "installed-and-ordered",
            "once-long-ago",
            "once-recently"
        ],
        "thirty days have passed since every single order"
    );
}

#[tokio::test]
async fn segments_are_listed_previewed_exported_and_guarded() {
    let mut app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    send_events(
        &app,
        vec![
            event("a", "order_paid", "2026-11-20T00:00:00Z", json!({"amount": 5})),
            event("b", "order_paid", "2026-11-21T00:00:00Z", json!({"amount": 50})),
            event("c", "page_viewed", "2026-11-21T00:00:00Z", json!({})),
        ],
    )
    .await;
    let buyers = json!({"type": "event", "event": "order_paid", "measure": {"kind": "did"},
                        "window": {"kind": "ever"}});
    let (status, preview) = app
        .send(
            Method::POST,
            "/v1/segments/preview",
            &json!({"condition": buyers, "sample": 1}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["size"], 2);
    assert_eq!(preview["sample"].as_array().map(Vec::len), Some(1));

    // Bad input names the field.
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"name": "x", "condition":
            {"type": "event", "event": "order_paid", "measure": {"kind": "did"}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["field"]
            .as_str()
            .unwrap_or("")
            .starts_with("condition"),
        "{body}"
    );
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"name": "x", "condition":
            {"type": "segment", "segment": "nope"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap_or("").contains("nope"),
        "{body}"
    );

    create(&app, "buyers", buyers.clone()).await;
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "buyers", "name": "again", "condition": buyers}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (409, Some("id")),
        "{body}"
    );
    let big = create(&app, "big-buyers", json!({"type": "and", "conditions": [
        {"type": "segment", "segment": "buyers"},
        {"type": "event", "event": "order_paid", "measure": {"kind": "aggregate", "function": "sum", "property": "amount",
         "compare": "gte", "value": 10}, "window": {"kind": "ever"}}
    ]}))
    .await;
    assert_eq!(big["size"], 1, "{big}");

    // A segment may not come to depend on itself, nor be deleted while named.
    let (status, body) = app
        .send(
            Method::PUT,
            "/v1/segments/buyers",
            &json!({"name": "buyers", "condition":
            {"type": "segment", "segment": "big-buyers"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let response = app
        .http
        .delete(app.url("/v1/segments/buyers"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 409);

    // A static snapshot does not follow later events.
    let (status, snapshot) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "buyers-then", "name": "快照",
            "type": "static", "condition": buyers}),
        )
        .await;
    assert_eq!(status, 201, "{snapshot}");
    send_events(
        &app,
        vec![event(
            "c",
            "order_paid",
            "2026-11-22T00:00:00Z",
            json!({"amount": 1}),
        )],
    )
    .await;
    assert_eq!(members(&app, "buyers").await, ["a", "b", "c"]);
    assert_eq!(members(&app, "buyers-then").await, ["a", "b"]);

    // Uploaded members: ids and identities; unknown ones are reported.
    let (status, uploaded) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "vip", "name": "VIP", "type": "static",
            "members": ["user_id:a", "user_id:ghost"]}),
        )
        .await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["size"], 1);
    assert_eq!(uploaded["unmatched"], json!(["user_id:ghost"]));

    // Exports and paging.
    let csv = app
        .http
        .get(app.url("/v1/segments/buyers/members?format=csv"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("profile_id,user_id,email,phone\n"));
    let (status, body) = app.get("/v1/segments/buyers/members?limit=lots").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("limit")),
        "{body}"
    );
    let (_, first) = app.get("/v1/segments/buyers/members?limit=2").await;
    let next = first["next"].as_str().expect("a next page").to_owned();
    let (_, second) = app
        .get(&format!("/v1/segments/buyers/members?limit=2&after={next}"))
        .await;
    assert_eq!(second["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next"], Value::Null);

    let (status, list) = app.get("/v1/segments").await;
    assert_eq!(status, 200);
    assert_eq!(list["segments"].as_array().map(Vec::len), Some(4));
    let (_, history) = app.get("/v1/segments/buyers/history").await;
    assert_eq!(history["points"][0]["size"], 2, "{history}");

    // After a restart the index is rebuilt from storage: same answers.
    app.kill();
    app.start();
    assert_eq!(members(&app, "buyers").await, ["a", "b", "c"]);
    assert_eq!(members(&app, "buyers-then").await, ["a", "b"]);
    assert_eq!(members(&app, "vip").await, ["a"]);
    let (_, big) = app.get("/v1/segments/big-buyers").await;
    assert_eq!(big["size"], 1, "only b spent 10 or more: {big}");
}

#[tokio::test]
async fn a_static_segment_keeps_a_member_merged_into_another_profile() {
    let mut app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let events = json!({"events": [
        {"event": "signed_up", "user_id": "member-7", "timestamp": "2026-11-01T00:00:00Z"},
        {"event": "page_viewed", "anonymous_id": "visitor-7", "timestamp": "2026-11-20T00:00:00Z"}]});
    let (status, body) = app.send(Method::POST, "/v1/events", &events).await;
    assert_eq!(status, 200, "{body}");
    let visitor = app.profile_by("anonymous_id:visitor-7").await;
    let member = app.profile_by("user_id:member-7").await;
    assert_ne!(visitor["id"], member["id"]);
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "visitors", "name": "访客", "type": "static", "members": [visitor["id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The visitor logs in: their profile merges into the older member's.
    let login = json!({"events": [{"event": "logged_in", "user_id": "member-7",
        "anonymous_id": "visitor-7", "timestamp": "2026-11-21T00:00:00Z"}]});
    let (status, body) = app.send(Method::POST, "/v1/events", &login).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.profile_by("anonymous_id:visitor-7").await["id"], member["id"]);
    assert_eq!(members(&app, "visitors").await, vec!["member-7"]);

    // A profile page lists the segments the person is in, static and dynamic.
    create(
        &app,
        "signed-up",
        json!({"type": "event", "event": "signed_up", "measure": {"kind": "did"}, "window": {"kind": "ever"}}),
    )
    .await;
    create(
        &app,
        "never-paid-big",
        json!({"type": "event", "event": "order_paid", "measure": {"kind": "did"}, "window": {"kind": "ever"}}),
    )
    .await;
    let of = |id: &Value| format!("/v1/profiles/{}/segments", id.as_str().unwrap_or_default());
    let (status, body) = app.get(&of(&visitor["id"])).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["signed-up", "visitors"], "{body}");
    assert_eq!(
        body["profile_id"], member["id"],
        "merged ids answer for the survivor"
    );
    let (status, body) = app.get("/v1/profiles/not-a-profile/segments").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("id")),
        "{body}"
    );
    let unknown = "/v1/profiles/00000000-0000-7000-8000-000000000000/segments";
    assert_eq!(app.get(unknown).await.0, 404);

    app.kill();
    app.start();
    assert_eq!(members(&app, "visitors").await, vec!["member-7"]);
}
