//! The console's dashboard, tags and settings in a real browser: the dashboard shows
//! what `GET /v1/stats/overview` answers and draws its charts; a rule tag made in the
//! tags page is saved, a library installed, a file of values imported; a contact
//! policy and a merge rule changed in settings are the workspace's; a key made in
//! settings is shown once and works.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::console_pages::{log_in, saved, wait_for_element_text};
use crate::console_support::create_operator;
use crate::helpers::{TestApp, wait_until_within};
use std::time::Duration;

/// 10:00 on 3 December in Shanghai.
const START: &str = "2026-12-03T02:00:00Z";

/// The dashboard's stat cards and the overview's field each shows.
const CARDS: [(&str, &str); 7] = [
    ("stat-events-today", "events_today"),
    ("stat-new-profiles-today", "new_profiles_today"),
    ("stat-profiles-total", "profiles_total"),
    ("stat-messages-sent", "messages_sent_today"),
    ("stat-messages-delivered", "messages_delivered_today"),
    ("stat-active-campaigns", "active_campaigns"),
    ("stat-active-journeys", "active_journeys"),
];

/// Three people (two on the gold plan), a page view each for two of them, and a
/// segment of the gold ones, on a simulated clock so that "today" is fixed.
async fn workspace() -> TestApp {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    create_operator(&app, "boss@brand.cn", "admin").await;
    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/events",
            &json!({"events": [
                {"type": "identify", "user_id": "m0", "traits": {"plan": "gold", "name": "小美"}},
                {"type": "identify", "user_id": "m1", "traits": {"plan": "gold", "name": "小雷"}},
                {"type": "identify", "user_id": "m2", "traits": {"plan": "silver", "name": "小茶"}},
                {"type": "track", "user_id": "m0", "event": "page_viewed"},
                {"type": "track", "user_id": "m2", "event": "page_viewed"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, segment) = app
        .send(
            Method::POST,
            "/v1/segments",
            &json!({"id": "gold", "name": "金卡会员", "condition":
                    {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
        )
        .await;
    assert_eq!(status, 201, "{segment}");
    app
}

/// Waits until a chart inside the element has drawn on its canvas.
async fn wait_for_canvas(browser: &Browser, test_id: &str) {
    let css = format!("[data-testid=\"{test_id}\"] canvas");
    wait_until_within(Duration::from_secs(20), &format!("{test_id} draws"), || async {
        browser.client.find(Locator::Css(&css)).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_shows_the_overview_s_numbers_and_draws_its_charts() {
    let Some(browser) = Browser::start("dashboard").await else {
        return;
    };
    let app = workspace().await;
    let (status, overview) = app.get("/v1/stats/overview").await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["events_today"], 5, "{overview}");

    // The dashboard is where a login lands.
    log_in(&browser, &app, "boss@brand.cn").await;
    browser.by_test_id("nav-dashboard").await;
    for (test_id, field) in CARDS {
        let expected = overview[field].as_u64().expect("a count").to_string();
        wait_for_element_text(&browser, test_id, &expected).await;
    }
    wait_for_canvas(&browser, "chart-messages").await;
    wait_for_canvas(&browser, "chart-segments").await;
    browser.wait_for_text("2026-12-03").await;
    browser.wait_for_text("金卡会员").await;
    browser.screenshot("dashboard").await;

    // New events show on the next look.
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/events",
            &json!({"events": [{"type": "track", "user_id": "m1", "event": "page_viewed"}]}),
        )
        .await;
    assert_eq!(status, 200);
    browser.click("dashboard-reload").await;
    wait_for_element_text(&browser, "stat-events-today", "6").await;
    browser.close().await;
}

#[tokio::test]
async fn a_rule_tag_made_in_the_tags_page_is_saved_through_the_api() {
    let Some(browser) = Browser::start("tags").await else {
        return;
    };
    let app = workspace().await;
    log_in(&browser, &app, "boss@brand.cn").await;
    browser.click("nav-tags").await;
    browser.click("tag-new").await;
    browser.type_into("tag-name-input", "会员等级").await;
    // A new rule tag opens on its first value, whose condition is being edited.
    browser.type_into("tag-value-0-value", "vip").await;
    browser.type_into("tag-value-0-label-zh", "贵宾").await;
    browser.click("condition-add").await;
    browser.type_into("condition-row-0-trait", "plan").await;
    browser.type_into("condition-row-0-value", "gold").await;
    browser.screenshot("rule").await;
    browser.click("tag-save").await;

    let tag = saved(&app, "/v1/tags", "tags", "会员等级").await;
    assert_eq!(tag["kind"], "rule", "{tag}");
    assert_eq!(
        tag["values"],
        json!([{"value": "vip", "label": {"zh": "贵宾", "en": "贵宾"},
                "condition": {"type": "trait", "trait": "plan", "value_type": "string",
                              "op": "eq", "value": "gold"}}]),
        "{tag}"
    );
    assert_eq!(tag["counts"], json!({"vip": 2}), "{tag}");
    // The saved tag's page shows who holds it.
    browser.by_test_id("tag-counts").await;
    browser.wait_for_text("贵宾").await;
    browser.screenshot("saved").await;

    browser.click("tags-back").await;
    browser.click("tags-tab-libraries").await;
    browser.click("library-tea-install").await;
    wait_until_within(
        Duration::from_secs(20),
        "the tea library is installed",
        || async { app.get("/v1/tags/lifecycle").await.0 == 200 },
    )
    .await;
    browser.screenshot("libraries").await;
    browser.close().await;
}

#[tokio::test]
async fn an_imported_tag_takes_a_file_and_tells_which_lines_did_not_apply() {
    let Some(browser) = Browser::start("tag-import").await else {
        return;
    };
    let app = workspace().await;
    let (status, tag) = app
        .send(
            Method::POST,
            "/v1/tags",
            &json!({"id": "vip_list", "name": "门店贵宾名单", "family": "business", "kind": "imported"}),
        )
        .await;
    assert_eq!(status, 201, "{tag}");
    let file = app.dir.path().join("vip.csv");
    std::fs::write(&file, "identity,value\nuser_id:m0,gold\nuser_id:nobody,gold\n").expect("written");

    log_in(&browser, &app, "boss@brand.cn").await;
    browser.open(&app.url("/tags/vip_list")).await;
    browser
        .by_test_id("tag-import-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("the file chosen");
    browser.click("tag-import-submit").await;
    browser.by_test_id("tag-import-report").await;
    browser.wait_for_text("user_id:nobody").await;
    browser.screenshot("report").await;
    let (_, tag) = app.get("/v1/tags/vip_list").await;
    assert_eq!(tag["counts"], json!({"gold": 1}), "{tag}");
    browser.close().await;
}

#[tokio::test]
async fn a_policy_and_a_merge_rule_changed_in_settings_are_the_workspace_s_and_a_new_key_works() {
    let Some(browser) = Browser::start("settings").await else {
        return;
    };
    let app = workspace().await;
    log_in(&browser, &app, "boss@brand.cn").await;
    browser.click("nav-settings").await;
    // An admin's settings open on the contact policy.
    browser.type_into("settings-daily-cap", "3").await;
    browser.type_into("settings-channel-cap-sms", "1").await;
    browser.click("settings-policy-save").await;
    let policy = || async { app.get("/v1/settings").await.1["contact_policy"].clone() };
    wait_until_within(Duration::from_secs(20), "the policy is saved", || async {
        policy().await["daily_cap"] == 3
    })
    .await;
    assert_eq!(policy().await["channel_caps"], json!({"sms": 1}));
    browser.screenshot("policy").await;

    // Points add up when two profiles of one person merge.
    browser.click("settings-tab-rules").await;
    browser.click("settings-rules-add").await;
    browser.type_into("settings-rule-0-trait", "points").await;
    browser.click("settings-rule-0-rule").await;
    // The option list opens with an animation: click once it can take the click.
    wait_until_within(
        Duration::from_secs(20),
        "the sum option takes a click",
        || async {
            match browser
                .client
                .find(Locator::Css(".ant-select-item-option[title=\"求和\"]"))
                .await
            {
                Ok(option) => option.click().await.is_ok(),
                Err(_) => false,
            }
        },
    )
    .await;
    browser.click("settings-rules-save").await;
    wait_until_within(Duration::from_secs(20), "the rule is saved", || async {
        app.get("/v1/settings").await.1["trait_rules"] == json!({"points": {"rule": "sum"}})
    })
    .await;
    assert_eq!(policy().await["daily_cap"], 3, "the policy is kept");
    browser.screenshot("rules").await;

    browser.click("settings-tab-keys").await;
    browser.click("key-new").await;
    browser.type_into("key-name-input", "数据看板").await;
    browser.click("key-create-submit").await;
    let secret = browser
        .by_test_id("key-secret")
        .await
        .text()
        .await
        .expect("the secret")
        .trim()
        .to_owned();
    browser.screenshot("key").await;
    let (status, keys) = app.get("/v1/keys").await;
    assert_eq!(status, 200);
    let made: Vec<&Value> = keys["data"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["name"] == "数据看板")
        .collect();
    assert_eq!(made.len(), 1, "{keys}");
    assert_eq!(made[0]["scopes"], json!(["audiences:read"]));
    let answer = app
        .http
        .get(app.url("/v1/stats/overview"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200, "the key shown is the key made");
    browser.click("key-secret-close").await;
    browser.close().await;
}
