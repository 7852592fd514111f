//! The segment builder's event property filters and sequences in a real browser: the
//! live count follows what the API previews for the same condition, and what is saved is
//! what was built.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::console_pages::{log_in, saved, wait_for_element_text};
use crate::console_support::create_operator;
use crate::helpers::TestApp;

/// The server's simulated clock starts here.
const START: &str = "2026-11-23T02:00:00Z";

/// An event `hours_ago` hours before `START`.
fn event(user: &str, name: &str, hours_ago: i64, properties: Value) -> Value {
    let start: jiff::Timestamp = START.parse().expect("a time");
    let at = start - jiff::SignedDuration::from_hours(hours_ago);
    json!({"type": "track", "user_id": user, "event": name, "timestamp": at.to_string(),
           "properties": properties})
}

/// The size the API previews for `condition`.
async fn preview_size(app: &TestApp, condition: &Value) -> String {
    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/segments/preview",
            &json!({ "condition": condition }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["size"].to_string()
}

#[tokio::test]
async fn a_marketer_builds_a_property_filter_and_a_drop_off_sequence_and_saves_them() {
    let Some(browser) = Browser::start("builder").await else {
        return;
    };
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    // Three days ago each put something in the cart; paid within hours (paid), later
    // than a day (late), never (cart, coffee); one only paid.
    let events = vec![
        event("paid", "added_to_cart", 72, json!({"sku": "tea-1"})),
        event("paid", "order_paid", 70, json!({})),
        event("late", "added_to_cart", 72, json!({"sku": "tea-1"})),
        event("late", "order_paid", 24, json!({})),
        event("cart", "added_to_cart", 72, json!({"sku": "tea-1"})),
        event("coffee", "added_to_cart", 72, json!({"sku": "coffee-2"})),
        event("buyer", "order_paid", 72, json!({})),
    ];
    let (status, answer) = app
        .send(Method::POST, "/v1/events", &json!({ "events": events }))
        .await;
    assert_eq!(status, 200, "{answer}");

    log_in(&browser, &app, "mei@brand.cn").await;
    browser.click("nav-segments").await;
    browser.click("segment-new").await;
    browser.type_into("segment-name-input", "加购未付款").await;

    // (1) Put tea-1 in the cart in the last 30 days.
    browser.click("condition-add").await;
    browser.pick("condition-row-0-kind", "event").await;
    browser.type_into("condition-row-0-event", "added_to_cart").await;
    browser.click("condition-row-0-filter-add").await;
    browser
        .type_into("condition-row-0-filter-0-property", "sku")
        .await;
    browser.type_into("condition-row-0-filter-0-value", "tea-1").await;
    let carted = json!({"type": "event", "event": "added_to_cart",
        "filters": [{"property": "sku", "value_type": "string", "op": "eq", "value": "tea-1"}],
        "measure": {"kind": "count", "compare": "gte", "value": 1},
        "window": {"kind": "last", "amount": 30, "unit": "days"}});
    let size = preview_size(&app, &carted).await;
    assert_eq!(size, "3", "paid, late and cart put tea-1 in the cart");
    wait_for_element_text(&browser, "live-count-size", &size).await;
    browser.screenshot("filter").await;

    // (2) And any cart followed by a payment within a day: only `paid`.
    browser.click("condition-add-sequence").await;
    browser
        .type_into("condition-row-1-first-event", "added_to_cart")
        .await;
    browser
        .type_into("condition-row-1-then-event", "order_paid")
        .await;
    browser.type_into("condition-row-1-within-amount", "1").await;
    let mut sequence = json!({"type": "sequence",
        "first": {"event": "added_to_cart"}, "then": {"event": "order_paid"},
        "within": {"amount": 1, "unit": "days"}, "then_not": false,
        "window": {"kind": "last", "amount": 30, "unit": "days"}});
    let followed = json!({"type": "and", "conditions": [carted, sequence]});
    let size = preview_size(&app, &followed).await;
    assert_eq!(size, "1", "only paid paid within a day");
    wait_for_element_text(&browser, "live-count-size", &size).await;

    // ...then NOT paid within a day: the drop-offs.
    browser.click("condition-row-1-then-not").await;
    sequence["then_not"] = json!(true);
    let dropped = json!({"type": "and", "conditions": [carted, sequence]});
    let size = preview_size(&app, &dropped).await;
    assert_eq!(size, "2", "late and cart did not pay within a day");
    wait_for_element_text(&browser, "live-count-size", &size).await;
    browser.screenshot("sequence").await;

    browser.click("segment-save").await;
    let saved = saved(&app, "/v1/segments", "segments", "加购未付款").await;
    let id = saved["id"].as_str().expect("id");
    let (status, segment) = app.get(&format!("/v1/segments/{id}")).await;
    assert_eq!(status, 200, "{segment}");
    // The server writes its defaults out (a step's empty filter list) and keeps a count's
    // threshold as a number with a fraction; otherwise it is what was built.
    let mut stored = dropped.clone();
    stored["conditions"][0]["measure"]["value"] = json!(1.0);
    for step in ["first", "then"] {
        stored["conditions"][1][step]["filters"] = json!([]);
    }
    assert_eq!(segment["condition"], stored, "{segment}");

    // Opened again, both rows are editable, not kept as read-only JSON.
    browser.open(&app.url(&format!("/segments/{id}"))).await;
    let then = browser.by_test_id("condition-row-1-then-event").await;
    assert_eq!(
        then.prop("value").await.expect("value").as_deref(),
        Some("order_paid")
    );
    let property = browser.by_test_id("condition-row-0-filter-0-property").await;
    assert_eq!(
        property.prop("value").await.expect("value").as_deref(),
        Some("sku")
    );
    assert!(!browser.has_test_id("condition-row-0-json").await);
    assert!(!browser.has_test_id("condition-row-1-json").await);
    browser.screenshot("reopened").await;
    browser.close().await;
}
