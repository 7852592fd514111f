//! The console in a real browser against the real server: logging in, a person's 360°
//! view with hostile data shown as text and the messages they received, the operators and audit pages, and every page
//! in English without a word of Chinese that is not the brand's own data.

use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;
use crate::console_support::{PASSWORD, create_operator};
use crate::helpers::{TestApp, ok, wait_until_within};
use std::time::Duration;

/// A trait value that would run if the console rendered user data as HTML.
const HOSTILE: &str = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">";

/// Loads one person with a Chinese name and a hostile trait; their profile id.
async fn person(app: &TestApp) -> String {
    let (status, answer) = app
        .send(
            Method::POST,
            "/v1/events",
            &json!({"events": [
                {"type": "identify", "user_id": "mei-01",
                 "traits": {"name": "王美", "city": "重庆", "phone": "13800138000", "nickname": HOSTILE}},
                {"type": "track", "user_id": "mei-01", "event": "order_paid",
                 "properties": {"order_id": "A-1001", "amount": 59.9}}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    app.profile_by("user_id:mei-01").await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Sends everyone an in-app message through a campaign, and waits until it is sent.
async fn message_everyone(app: &TestApp) {
    let everyone = json!({"type": "trait", "trait": "name", "value_type": "string", "op": "is_set"});
    for (path, body) in [
        (
            "/v1/templates",
            json!({"id": "hello", "name": "问候", "content": {"channel": "inbox", "title": "欢迎", "body": "您好"}}),
        ),
        (
            "/v1/segments",
            json!({"id": "everyone", "name": "所有人", "condition": everyone}),
        ),
        (
            "/v1/campaigns",
            json!({"id": "hello", "name": "问候", "segment": "everyone",
                   "variants": [{"name": "a", "messages": [{"template": "hello"}]}]}),
        ),
    ] {
        ok(app, Method::POST, path, body).await;
    }
    crate::helpers::launch_and_finish(app, "hello").await;
}

/// Logs `login` in through the login page, with the test password.
pub(crate) async fn log_in(browser: &Browser, app: &TestApp, login: &str) {
    log_in_at(browser, &app.url("/"), login, PASSWORD).await;
}

/// Logs `login` in with `password` through the login page of the console at `url`.
pub(crate) async fn log_in_at(browser: &Browser, url: &str, login: &str, password: &str) {
    browser.open(url).await;
    browser
        .by_test_id("login-input")
        .await
        .send_keys(login)
        .await
        .expect("typed");
    browser
        .by_test_id("password-input")
        .await
        .send_keys(password)
        .await
        .expect("typed");
    browser.screenshot("login").await;
    browser.click("login-submit").await;
    browser.by_test_id("header-operator-name").await;
}

#[tokio::test]
async fn an_operator_logs_in_and_reads_a_person_whose_hostile_trait_shows_as_text() {
    let Some(browser) = Browser::start("profile").await else {
        return;
    };
    let app = TestApp::spawn().await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    let id = person(&app).await;
    message_everyone(&app).await;

    log_in(&browser, &app, "mei@brand.cn").await;
    browser.screenshot("home").await;
    browser
        .by_test_id("nav-profiles")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("identity-value-input")
        .await
        .send_keys("13800138000")
        .await
        .expect("typed");
    browser
        .by_test_id("profile-search-submit")
        .await
        .click()
        .await
        .expect("clicked");
    browser.by_test_id("profile-view").await;
    let page = browser.wait_for_text("王美").await;
    assert!(page.contains(&id), "the profile's id is shown");
    assert!(
        page.contains("<script>window.__pwned=1</script>"),
        "the hostile trait is shown as text"
    );
    let pwned = browser
        .client
        .execute(
            "return window.__pwned === undefined ? null : window.__pwned;",
            vec![],
        )
        .await
        .expect("script ran");
    assert_eq!(pwned, serde_json::Value::Null, "no user data ran as code");
    browser.wait_for_text("order_paid").await;
    // The campaign's message is among those the person received, marked sent.
    let messages = browser.wait_for_text("活动 hello").await;
    assert!(messages.contains("已发出"), "the message is shown as sent");
    browser.screenshot("profile").await;
    browser.close().await;
}

#[tokio::test]
async fn in_english_every_page_is_english_but_the_brand_s_own_data() {
    let Some(browser) = Browser::start("english").await else {
        return;
    };
    let app = TestApp::spawn().await;
    create_operator(&app, "boss@brand.cn", "admin").await;
    let id = person(&app).await;
    for (segment, value) in [("cq", "重庆"), ("cd", "成都")] {
        let condition =
            json!({"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": value});
        ok(
            &app,
            Method::POST,
            "/v1/segments",
            json!({"id": segment, "name": value, "condition": condition}),
        )
        .await;
    }
    log_in(&browser, &app, "boss@brand.cn").await;
    browser
        .by_test_id("lang-switch")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("lang-en")
        .await
        .click()
        .await
        .expect("clicked");

    // The brand's data may be Chinese; nothing else on the page may be.
    let user_data = ["王美", "重庆", "成都"];
    let pages = [
        ("profiles", format!("/profiles/{id}")),
        ("operators", "/settings/operators".to_owned()),
        ("audit", "/settings/audit".to_owned()),
        ("search", "/profiles".to_owned()),
        ("segments", "/segments".to_owned()),
        ("new-segment", "/segments/new".to_owned()),
        ("compare", "/segments/compare?a=cq&b=cd".to_owned()),
        ("content", "/content".to_owned()),
        ("new-template", "/content/new".to_owned()),
        ("dashboard", "/dashboard".to_owned()),
        ("tags", "/tags".to_owned()),
        ("tag-libraries", "/tags?view=libraries".to_owned()),
        ("new-tag", "/tags/new".to_owned()),
        ("policy", "/settings/policy".to_owned()),
        ("rules", "/settings/rules".to_owned()),
        ("keys", "/settings/keys".to_owned()),
    ];
    for (name, path) in pages {
        browser.open(&app.url(&path)).await;
        browser.by_test_id("header-operator-name").await;
        // Let the page's reads settle before reading its text.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let mut text = browser.text().await;
        for data in user_data {
            text = text.replace(data, "");
        }
        let chinese: String = text
            .chars()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3000}'..='\u{303f}').contains(c))
            .collect();
        assert!(
            chinese.is_empty(),
            "{name} shows Chinese in English mode: {chinese:?}\n{text}"
        );
        browser.screenshot(&format!("en-{name}")).await;
    }
    // The choice is remembered.
    browser.open(&app.url("/settings/audit")).await;
    browser.wait_for_text("Audit").await;
    browser.close().await;
}

/// Waits until the element's text satisfies `holds`.
pub(crate) async fn wait_for_element(browser: &Browser, test_id: &str, holds: impl Fn(&str) -> bool) {
    let holds = &holds;
    wait_until_within(Duration::from_secs(20), test_id, || async move {
        let text = browser.by_test_id(test_id).await.text().await.unwrap_or_default();
        holds(text.trim())
    })
    .await;
}

/// Waits until the element's text is `expected`.
pub(crate) async fn wait_for_element_text(browser: &Browser, test_id: &str, expected: &str) {
    wait_for_element(browser, test_id, |text| text == expected).await;
}

/// Waits until the list at `path` holds an item named `name`; the item.
pub(crate) async fn saved(app: &TestApp, path: &str, key: &str, name: &str) -> serde_json::Value {
    let found = || async {
        let (_, list) = app.get(path).await;
        list[key]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["name"] == name)
            .cloned()
    };
    wait_until_within(Duration::from_secs(20), &format!("{name} is saved"), || async {
        found().await.is_some()
    })
    .await;
    found().await.expect("saved")
}

#[tokio::test]
async fn a_marketer_builds_a_segment_and_the_live_count_follows_each_condition() {
    let Some(browser) = Browser::start("segment").await else {
        return;
    };
    let app = TestApp::spawn().await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    let people = [
        ("c1", "重庆", "gold"),
        ("c2", "重庆", "silver"),
        ("d1", "成都", "gold"),
    ];
    let events: Vec<serde_json::Value> = people
        .iter()
        .map(|(id, city, plan)| json!({"type": "identify", "user_id": id, "traits": {"city": city, "plan": plan}}))
        .collect();
    let (status, answer) = app
        .send(Method::POST, "/v1/events", &json!({ "events": events }))
        .await;
    assert_eq!(status, 200, "{answer}");

    log_in(&browser, &app, "mei@brand.cn").await;
    browser
        .by_test_id("nav-segments")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("segment-new")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("segment-name-input")
        .await
        .send_keys("重庆金卡会员")
        .await
        .expect("typed");
    // A new segment starts with no condition: everyone.
    browser
        .by_test_id("condition-add")
        .await
        .click()
        .await
        .expect("clicked");
    let first = browser.by_test_id("condition-row-0-trait").await;
    first.send_keys("city").await.expect("typed");
    browser
        .by_test_id("condition-row-0-value")
        .await
        .send_keys("重庆")
        .await
        .expect("typed");
    wait_for_element_text(&browser, "live-count-size", "2").await;
    browser.screenshot("one-condition").await;

    browser
        .by_test_id("condition-add")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("condition-row-1-trait")
        .await
        .send_keys("plan")
        .await
        .expect("typed");
    browser
        .by_test_id("condition-row-1-value")
        .await
        .send_keys("gold")
        .await
        .expect("typed");
    wait_for_element_text(&browser, "live-count-size", "1").await;
    let json_view = browser
        .by_test_id("segment-json")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        json_view.contains("\"plan\"") && json_view.contains("重庆"),
        "{json_view}"
    );
    browser.screenshot("two-conditions").await;

    browser
        .by_test_id("segment-save")
        .await
        .click()
        .await
        .expect("clicked");
    let saved = saved(&app, "/v1/segments", "segments", "重庆金卡会员").await;
    let id = saved["id"].as_str().expect("id");
    let (_, members) = app.get(&format!("/v1/segments/{id}/members")).await;
    let users: Vec<&str> = members["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["user_id"].as_str())
        .collect();
    assert_eq!(users, vec!["c1"], "{members}");
    browser.screenshot("saved").await;
    browser.close().await;
}

#[tokio::test]
async fn a_marketer_writes_a_text_message_and_previews_it_for_a_real_person() {
    let Some(browser) = Browser::start("template").await else {
        return;
    };
    let app = TestApp::spawn().await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    person(&app).await;

    log_in(&browser, &app, "mei@brand.cn").await;
    browser
        .by_test_id("nav-content")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("template-new")
        .await
        .click()
        .await
        .expect("clicked");
    browser
        .by_test_id("template-name-input")
        .await
        .send_keys("双11会员日")
        .await
        .expect("typed");
    browser
        .by_test_id("template-sms-text")
        .await
        .send_keys("{{ profile.traits.name }}您好，双11会员日全场5折，回T退订")
        .await
        .expect("typed");
    browser
        .by_test_id("preview-identity-value")
        .await
        .send_keys("13800138000")
        .await
        .expect("typed");
    let rendered = "王美您好，双11会员日全场5折，回T退订";
    wait_for_element(&browser, "preview-output", |output| output.contains(rendered)).await;
    let characters = browser
        .by_test_id("preview-sms-characters")
        .await
        .text()
        .await
        .expect("text");
    let count = rendered.chars().count().to_string();
    assert!(
        characters.contains(&count),
        "{characters} should count {count} characters"
    );
    browser.screenshot("preview").await;

    browser
        .by_test_id("template-save")
        .await
        .click()
        .await
        .expect("clicked");
    let template = saved(&app, "/v1/templates", "templates", "双11会员日").await;
    assert_eq!(template["content"]["channel"], "sms", "{template}");
    browser.close().await;
}
