//! Journeys as definitions: drafts that may be incomplete, validation that pins every
//! problem on its node and field, publication as immutable versions, and the life of
//! a journey (pause, resume, archive).

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn template(app: &TestApp, id: &str) {
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/templates",
            &json!({"id": id, "name": id, "class": "marketing",
                    "content": {"channel": "sms", "text": "{{ profile.traits.name }}，首单礼已到账"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Seed 004's rule: active in Chongqing and no order within 5 minutes.
fn journey(template: &str) -> Value {
    json!({
        "id": "cq-no-order",
        "name": "重庆活跃未下单",
        "entry": {"type": "event", "event": "app_active", "filters": [
            {"property": "city", "value_type": "string", "op": "eq", "value": "重庆"}]},
        "start": "wait",
        "nodes": {
            "wait": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT5M",
                     "on_event": "done", "on_timeout": "nudge"},
            "nudge": {"type": "send", "messages": [{"template": template}], "next": "done"},
            "done": {"type": "exit"}
        }
    })
}

async fn act(app: &TestApp, action: &str) -> (u16, Value) {
    app.send(
        Method::POST,
        &format!("/v1/journeys/cq-no-order/{action}"),
        &json!({}),
    )
    .await
}

#[tokio::test]
async fn a_draft_is_checked_on_publication_and_each_version_stays_as_published() {
    let app = TestApp::spawn().await;
    template(&app, "first-order-gift").await;

    // A draft naming a template that does not exist yet is saved: drafts may be
    // unfinished. Publication refuses it, naming the node and the field.
    let (status, draft) = app
        .send(Method::POST, "/v1/journeys", &journey("coupon-nudge"))
        .await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["live_version"], Value::Null);
    let (status, checked) = app.get("/v1/journeys/cq-no-order/validation").await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["valid"], false);
    assert_eq!(
        checked["problems"],
        json!([{"node": "nudge", "field": "messages[0].template",
                "message": "no template \"coupon-nudge\""}])
    );
    let (status, refused) = act(&app, "publish").await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_journey");
    assert_eq!(refused["error"]["field"], "nodes.nudge.messages[0].template");

    let (status, fixed) = app
        .send(
            Method::PUT,
            "/v1/journeys/cq-no-order",
            &journey("first-order-gift"),
        )
        .await;
    assert_eq!(status, 200, "{fixed}");
    let (status, live) = act(&app, "publish").await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["status"], "live");
    assert_eq!(live["live_version"], 1);

    // Editing the draft leaves version 1 as it was; publishing makes version 2.
    let mut edited = journey("first-order-gift");
    edited["nodes"]["wait"]["timeout"] = json!("PT10M");
    let (status, _) = app.send(Method::PUT, "/v1/journeys/cq-no-order", &edited).await;
    assert_eq!(status, 200);
    let (status, second) = act(&app, "publish").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["live_version"], 2);
    let published: Vec<u64> = second["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_u64())
        .collect();
    assert_eq!(published, vec![1, 2]);
    let (status, first) = app.get("/v1/journeys/cq-no-order/versions/1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["definition"]["nodes"]["wait"]["timeout"], "PT5M");
    let (status, _) = app.get("/v1/journeys/cq-no-order/versions/3").await;
    assert_eq!(status, 404);

    // Pause, resume, archive; each only from where it makes sense.
    assert_eq!(act(&app, "pause").await.1["status"], "paused");
    let (status, again) = act(&app, "pause").await;
    assert_eq!(
        (status, again["error"]["code"].clone()),
        (409, json!("invalid_state"))
    );
    assert_eq!(act(&app, "resume").await.1["status"], "live");
    let (status, _) = app
        .send(Method::DELETE, "/v1/journeys/cq-no-order", &json!({}))
        .await;
    assert_eq!(status, 409, "a published journey is archived, not deleted");
    assert_eq!(act(&app, "archive").await.1["status"], "archived");
    let (status, _) = app.send(Method::PUT, "/v1/journeys/cq-no-order", &edited).await;
    assert_eq!(status, 409);
    let (status, _) = act(&app, "restart").await;
    assert_eq!(status, 404);

    let (status, list) = app.get("/v1/journeys").await;
    assert_eq!(status, 200);
    assert_eq!(list["journeys"][0]["id"], "cq-no-order");
}

#[tokio::test]
async fn definitions_that_cannot_run_are_refused_naming_node_and_field() {
    let app = TestApp::spawn().await;
    template(&app, "welcome").await;
    let definition = json!({
        "id": "loops", "name": "坏流程", "entry": {"type": "event", "event": "app_opened"}, "start": "a",
        "nodes": {
            "a": {"type": "branch", "paths": [{"condition": {"type": "entry_event", "filter":
                  {"property": "score", "value_type": "number", "op": "gte", "value": 7}}, "next": "b"}],
                  "default": "c"},
            "b": {"type": "add_tag", "tag": "vip", "value": "yes", "next": "a"},
            "c": {"type": "wait", "duration": "PT0S", "next": "d"},
            "d": {"type": "send", "messages": [{"template": "welcome"}], "next": "end"},
            "end": {"type": "exit"},
            "orphan": {"type": "exit"}
        }
    });
    let (status, body) = app.send(Method::POST, "/v1/journeys", &definition).await;
    assert_eq!(status, 201, "{body}");
    let (_, checked) = app.get("/v1/journeys/loops/validation").await;
    let mut found: Vec<(String, String)> = checked["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["node"].as_str().unwrap_or_default().to_owned(),
                p["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    let expected = [("b", "next"), ("b", "tag"), ("c", "duration"), ("orphan", "id")];
    assert_eq!(
        found,
        expected.map(|(n, f)| (n.to_owned(), f.to_owned())).to_vec(),
        "{checked}"
    );

    // Shapes the graph cannot have are refused at once.
    let mut no_default = definition.clone();
    no_default["id"] = json!("no-default");
    no_default["nodes"]["a"]
        .as_object_mut()
        .expect("node")
        .remove("default");
    let (status, refused) = app.send(Method::POST, "/v1/journeys", &no_default).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_journey");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("default"),
        "{refused}"
    );
    let mut unknown = definition;
    unknown["id"] = json!("unknown");
    unknown["nodes"]["c"]["duraton"] = json!("PT1H");
    let (status, refused) = app.send(Method::POST, "/v1/journeys", &unknown).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("duraton"),
        "{refused}"
    );
}

/// Date and schedule entries that cannot run are refused at publication, each
/// problem naming its field.
#[tokio::test]
async fn date_and_schedule_entries_that_cannot_run_name_the_field() {
    let app = TestApp::spawn().await;
    template(&app, "welcome").await;
    let cases = [
        (
            json!({"type": "date", "from": {"kind": "trait", "trait": "purchased_at"},
                   "repeat": "after", "time_of_day": "10:00"}),
            "entry.offset",
        ),
        (
            json!({"type": "date", "from": {"kind": "trait", "trait": "birthday"},
                   "repeat": "anniversary", "offset": "P1Y", "time_of_day": "09:00"}),
            "entry.offset",
        ),
        (
            json!({"type": "date", "from": {"kind": "event", "event": "order_paid"},
                   "repeat": "anniversary", "time_of_day": "09:00"}),
            "entry.repeat",
        ),
        (
            json!({"type": "date", "from": {"kind": "trait", "trait": "birthday"},
                   "repeat": "anniversary", "time_of_day": "09:00", "lateness_limit": "PT0S"}),
            "entry.lateness_limit",
        ),
        (
            json!({"type": "schedule", "segment": "nobody-made-this", "cron": "0 10 * * MON"}),
            "entry.segment",
        ),
    ];
    for (i, (entry, field)) in cases.into_iter().enumerate() {
        let id = format!("dated-{i}");
        let mut definition = journey("welcome");
        definition["id"] = json!(id);
        definition["entry"] = entry;
        let (status, body) = app.send(Method::POST, "/v1/journeys", &definition).await;
        assert_eq!(status, 201, "{body}");
        let (status, refused) = app
            .send(Method::POST, &format!("/v1/journeys/{id}/publish"), &json!({}))
            .await;
        assert_eq!(status, 400, "{id}: {refused}");
        assert_eq!(refused["error"]["code"], "invalid_journey");
        assert_eq!(refused["error"]["field"], field, "{id}: {refused}");
    }

    // A cron expression or a time zone that does not parse, and a time of day that is
    // not one, are refused by name too.
    let mut bad = journey("welcome");
    bad["id"] = json!("bad-schedule");
    ok_segment(&app).await;
    bad["entry"] = json!({"type": "schedule", "segment": "gold", "cron": "every monday",
                          "time_zone": "Mars/Olympus"});
    app.send(Method::POST, "/v1/journeys", &bad).await;
    let (_, checked) = app.get("/v1/journeys/bad-schedule/validation").await;
    let mut fields: Vec<String> = checked["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["entry.cron", "entry.time_zone"], "{checked}");
    let mut noon = journey("welcome");
    noon["id"] = json!("bad-time");
    noon["entry"] = json!({"type": "date", "from": {"kind": "trait", "trait": "birthday"},
                           "repeat": "anniversary", "time_of_day": "25:00"});
    let (status, refused) = app.send(Method::POST, "/v1/journeys", &noon).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("25:00")),
        "{refused}"
    );
}

async fn ok_segment(app: &TestApp) {
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "gold", "name": "金卡会员", "condition":
                    {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn the_canvas_layout_is_kept_with_the_draft_and_copied_into_the_version() {
    let app = TestApp::spawn().await;
    template(&app, "first-order-gift").await;
    let layout = json!({"entry": {"x": 0.0, "y": 80.0},
                        "nodes": {"wait": {"x": 280.0, "y": 80.0}, "nudge": {"x": 560.5, "y": 200.0},
                                  "done": {"x": 840.0, "y": 80.0}}});
    let mut drawn = journey("first-order-gift");
    drawn["layout"] = layout.clone();
    let (status, saved) = app.send(Method::POST, "/v1/journeys", &drawn).await;
    assert_eq!(status, 201, "{saved}");
    let (_, read) = app.get("/v1/journeys/cq-no-order").await;
    assert_eq!(read["draft"]["layout"], layout, "{read}");

    // The runtime never reads it: the draft is valid, and the version carries it.
    let (_, checked) = app.get("/v1/journeys/cq-no-order/validation").await;
    assert_eq!(checked["valid"], true, "{checked}");
    let (status, live) = act(&app, "publish").await;
    assert_eq!(status, 200, "{live}");
    let (_, version) = app.get("/v1/journeys/cq-no-order/versions/1").await;
    assert_eq!(version["definition"]["layout"], layout, "{version}");

    // A position is two numbers, nothing else.
    drawn["layout"]["nodes"]["wait"]["z"] = json!(1);
    let (status, refused) = app.send(Method::PUT, "/v1/journeys/cq-no-order", &drawn).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_journey");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains('z')),
        "{refused}"
    );
}
