//! Comparing two segments in the console: an analyst picks them, and the page shows
//! each tag value's shares side by side with the API's differences and lifts, the
//! choice kept in the address so the comparison can be shared.

use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;
use crate::console_pages::log_in;
use crate::console_support::create_operator;
use crate::helpers::{TestApp, ok};

/// Two gold members in Chongqing; silver ones in Chongqing and Chengdu; a city tag;
/// the gold and silver segments.
async fn members(app: &TestApp) {
    let people = [
        ("g1", "gold", "重庆"),
        ("g2", "gold", "重庆"),
        ("s1", "silver", "重庆"),
        ("s2", "silver", "成都"),
    ];
    let events: Vec<_> = people
        .iter()
        .map(|(user, plan, city)| json!({"type": "identify", "user_id": user, "traits": {"plan": plan, "city": city}}))
        .collect();
    ok(app, Method::POST, "/v1/events", json!({ "events": events })).await;
    let trait_is = |name: &str, value: &str| json!({"type": "trait", "trait": name, "value_type": "string", "op": "eq", "value": value});
    ok(
        app,
        Method::POST,
        "/v1/tags",
        json!({"id": "city", "name": "城市", "family": "basic", "kind": "rule", "values": [
            {"value": "cq", "label": {"zh": "重庆", "en": "Chongqing"}, "condition": trait_is("city", "重庆")},
            {"value": "cd", "label": {"zh": "成都", "en": "Chengdu"}, "condition": trait_is("city", "成都")}]}),
    )
    .await;
    for (id, name) in [("gold", "金卡会员"), ("silver", "银卡会员")] {
        ok(
            app,
            Method::POST,
            "/v1/segments",
            json!({"id": id, "name": name, "condition": trait_is("plan", id)}),
        )
        .await;
    }
}

#[tokio::test]
async fn an_analyst_compares_two_segments_by_their_tags() {
    let Some(browser) = Browser::start("compare").await else {
        return;
    };
    let app = TestApp::spawn().await;
    members(&app).await;
    create_operator(&app, "an@brand.cn", "analyst").await;
    let (_, expected) = app.get("/v1/segments/compare?a=gold&b=silver").await;
    let city = &expected["tags"][0];
    assert_eq!(city["tag"], "city", "{expected}");

    log_in(&browser, &app, "an@brand.cn").await;
    browser.click("nav-segments").await;
    browser.click("segments-compare").await;
    browser.pick("compare-a", "gold").await;
    browser.pick("compare-b", "silver").await;
    browser.by_test_id("compare-table").await;
    let page = browser.wait_for_text("金卡会员").await;
    assert!(page.contains("银卡会员"), "both sides are named: {page}");
    // The first tag opens with its values: all gold members are in Chongqing, half the
    // silver ones: +50 points, a lift of 2.
    let page = browser.wait_for_text("+50.0 个百分点").await;
    let chongqing = city["values"]
        .as_array()
        .and_then(|values| values.iter().find(|v| v["value"] == "cq"))
        .expect("Chongqing compared");
    assert_eq!(
        (&chongqing["difference_pp"], &chongqing["lift"]),
        (&json!(50.0), &json!(2.0)),
        "the page shows the API's numbers: {expected}"
    );
    assert!(page.contains("2.00×"), "the lift is shown: {page}");
    assert!(
        page.contains("-50.0 个百分点"),
        "Chengdu's difference too: {page}"
    );
    let url = browser.client.current_url().await.expect("the address");
    assert!(
        url.query()
            .is_some_and(|q| q.contains("a=gold") && q.contains("b=silver")),
        "the comparison is in the address: {url}"
    );
    browser.screenshot("compare").await;

    // The same link opened again shows the same comparison, and the same segment on
    // both sides asks for two different ones.
    browser.open(&app.url("/segments/compare?a=gold&b=gold")).await;
    browser.wait_for_text("请选择两个不同的分群").await;
    browser.close().await;
}
