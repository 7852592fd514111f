//! Two segments compared by their tag values, with hand-computed shares and lifts.

use super::{START, create_tag, event, identify, profile_id, send, value_of};
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn two_segments_compare_by_their_tag_values() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    // Buyers: three in Chongqing (two women), one in Chengdu (a man).
    // Browsers who did not buy: one in Chengdu (a woman), one with no city (a man).
    let people = [
        ("b1", true, Some("重庆"), "female"),
        ("b2", true, Some("重庆"), "female"),
        ("b3", true, Some("重庆"), "male"),
        ("b4", true, Some("成都"), "male"),
        ("w1", false, Some("成都"), "female"),
        ("w2", false, None, "male"),
    ];
    for (user, buys, city, gender) in people {
        let mut traits = json!({"gender": gender});
        if let Some(city) = city {
            traits["city"] = json!(city);
        }
        identify(&app, user, traits).await;
        let name = if buys { "order_paid" } else { "page_viewed" };
        send(&app, vec![event(user, name, 1, json!({"amount": 10}))]).await;
    }
    let trait_value = |name: &str, value: &str| json!({"type": "trait", "trait": name, "value_type": "string", "op": "eq", "value": value});
    create_tag(
        &app,
        json!({"id": "city", "name": "城市", "family": "basic", "kind": "rule", "values": [
            {"value": "cq", "condition": trait_value("city", "重庆")},
            {"value": "cd", "condition": trait_value("city", "成都")}]}),
    )
    .await;
    create_tag(
        &app,
        json!({"id": "gender", "name": "性别", "family": "basic", "kind": "rule", "values": [
            {"value": "female", "condition": trait_value("gender", "female")},
            {"value": "male", "condition": trait_value("gender", "male")}]}),
    )
    .await;
    let did = |name: &str, kind: &str| json!({"type": "event", "event": name, "measure": {"kind": kind}, "window": {"kind": "ever"}});
    for (id, condition) in [
        ("buyers", did("order_paid", "did")),
        (
            "browsers",
            json!({"type": "and", "conditions": [did("page_viewed", "did"), did("order_paid", "did_not")]}),
        ),
    ] {
        let (status, body) = app
            .send(
                Method::POST,
                "/v1/segments",
                &json!({"id": id, "name": id, "condition": condition}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let (status, body) = app.get("/v1/segments/compare?a=buyers&b=browsers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["a"]["size"], &body["b"]["size"]), (&json!(4), &json!(2)));
    let tags: Vec<&str> = body["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag"].as_str().expect("tag"))
        .collect();
    assert_eq!(tags, ["city", "gender"], "city differs most: {body}");
    // City: buyers cq 3/4, cd 1/4; browsers cq 0, cd 1/2.
    let city = &body["tags"][0];
    assert_eq!(city["max_difference_pp"], 75.0);
    assert_eq!(
        (&city["a"]["share"], &city["b"]["share"]),
        (&json!(1.0), &json!(0.5))
    );
    let cq = &city["values"][0];
    assert_eq!(
        (
            &cq["value"],
            &cq["a"]["count"],
            &cq["a"]["share"],
            &cq["b"]["share"]
        ),
        (&json!("cq"), &json!(3), &json!(0.75), &json!(0.0))
    );
    assert_eq!((&cq["difference_pp"], &cq["lift"]), (&json!(75.0), &Value::Null));
    let cd = &city["values"][1];
    assert_eq!(
        (&cd["value"], &cd["difference_pp"], &cd["lift"]),
        (&json!("cd"), &json!(-25.0), &json!(0.5))
    );
    // Gender: women 2/4 and 1/2 — no difference, lift 1.
    let gender = &body["tags"][1];
    assert_eq!(gender["max_difference_pp"], 0.0);
    assert_eq!(gender["values"][0]["lift"], 1.0);

    let (_, only) = app
        .get("/v1/segments/compare?a=buyers&b=buyers&tags=gender")
        .await;
    let rows = only["tags"].as_array().expect("tags");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["values"][0]["difference_pp"], 0.0);
    for (path, status, field) in [
        ("/v1/segments/compare?a=buyers&b=ghosts", 404, "b"),
        ("/v1/segments/compare?a=buyers", 400, "b"),
        ("/v1/segments/compare?a=buyers&b=browsers&tags=nope", 400, "tags"),
    ] {
        let (got, body) = app.get(path).await;
        assert_eq!(
            (got, body["error"]["field"].as_str()),
            (status, Some(field)),
            "{path}: {body}"
        );
    }
    let (_, body) = app.get("/v1/segments/compare?a=buyers&b=ghosts").await;
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("ghosts"));

    // A trait patch appends no event; tags that read traits follow it at once.
    let b4 = profile_id(&app, "b4").await;
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/v1/profiles/{b4}/traits"),
            &json!({"city": "重庆"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(value_of(&app, "b4", "city").await.as_deref(), Some("cq"));
}
