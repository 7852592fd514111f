//! The campaign and channel pages in a real browser against the real server and a
//! Twilio stand-in: a marketer builds a campaign with a control group in the wizard,
//! launches it and reads a report whose numbers are the API's; an admin sees an
//! account with its secret masked everywhere, changes it without retyping the secret
//! and test-sends through it; and the pages speak English when asked.

use std::time::Duration;

use fantoccini::key::Key;
use orbit_test_support::twilio::{self, Twilio};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::console_pages::{log_in, wait_for_element};
use crate::console_support::create_operator;
use crate::helpers::ok;
use crate::helpers::{TestApp, wait_until, wait_until_within};

/// How many gold members the workspace has.
const MEMBERS: usize = 50;
/// The counts the report table shows per variant, as the API names them.
const METRICS: [&str; 9] = [
    "targeted",
    "sent",
    "delivered",
    "failed",
    "pending",
    "ambiguous",
    "bounced",
    "opened",
    "clicked",
];

/// Gold members with phone numbers, the `gold` segment, the SMS template `sms-gold`
/// and a Twilio account on the stand-in.
pub(crate) async fn workspace(app: &TestApp, twilio: &Twilio) {
    let events: Vec<Value> = (0..MEMBERS)
        .map(|i| {
            json!({"type": "identify", "user_id": format!("m{i:03}"),
                   "traits": {"plan": "gold", "name": format!("会员{i}"), "phone": format!("1380013{i:04}")}})
        })
        .collect();
    ok(app, Method::POST, "/v1/events", json!({ "events": events })).await;
    ok(
        app,
        Method::POST,
        "/v1/segments",
        json!({"id": "gold", "name": "金卡会员", "condition":
               {"type": "trait", "trait": "plan", "value_type": "string", "op": "eq", "value": "gold"}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/templates",
        json!({"id": "sms-gold", "name": "金卡短信", "class": "marketing",
               "content": {"channel": "sms", "text": "{{ profile.traits.name }}您好，双十二金卡专享，回T退订"}}),
    )
    .await;
    ok(
        app,
        Method::POST,
        "/v1/channels",
        json!({"id": "twilio", "name": "Twilio 短信", "default": true, "config": {"provider": "twilio",
               "account_sid": twilio::ACCOUNT_SID, "auth_token": twilio::AUTH_TOKEN,
               "from": "+15005550006", "endpoint": twilio.endpoint}}),
    )
    .await;
    // The segment counts its members once the events are in.
    wait_until("the segment counts every member", || async {
        app.get("/v1/segments/gold").await.1["size"] == MEMBERS
    })
    .await;
}

async fn text_of(browser: &Browser, test_id: &str) -> String {
    browser
        .by_test_id(test_id)
        .await
        .text()
        .await
        .unwrap_or_default()
        .trim()
        .to_owned()
}

async fn number_of(browser: &Browser, test_id: &str) -> u64 {
    let text = text_of(browser, test_id).await;
    text.parse()
        .unwrap_or_else(|_| panic!("{test_id} shows {text:?}, not a count"))
}

/// Scrolls the element into view, for a screenshot of it.
async fn show(browser: &Browser, test_id: &str) {
    browser
        .client
        .execute(
            &format!("document.querySelector('[data-testid=\"{test_id}\"]').scrollIntoView()"),
            vec![],
        )
        .await
        .expect("scrolled");
}

/// The page's HTML as the browser has it now.
async fn source(browser: &Browser) -> String {
    browser.client.source().await.expect("the page source")
}

#[tokio::test]
async fn a_marketer_launches_a_campaign_with_a_control_group_and_its_report_is_the_api_s() {
    let Some(browser) = Browser::start("campaign").await else {
        return;
    };
    let stand_in = Twilio::start(twilio::Answer::Created).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &stand_in).await;
    create_operator(&app, "mei@brand.cn", "marketer").await;

    log_in(&browser, &app, "mei@brand.cn").await;
    browser.click("nav-campaigns").await;
    browser.click("campaign-new").await;

    // The audience, with its size.
    browser
        .by_test_id("wizard-name")
        .await
        .send_keys("双十二金卡专享")
        .await
        .expect("typed");
    browser
        .by_test_id("wizard-id")
        .await
        .send_keys("double-12")
        .await
        .expect("typed");
    browser.click("wizard-segment-select").await;
    browser.click("wizard-segment-option-gold").await;
    wait_for_element(&browser, "wizard-segment-size", |text| {
        text.contains(&MEMBERS.to_string())
    })
    .await;
    browser.screenshot("1-segment").await;
    browser.click("wizard-next").await;

    // One channel, its template.
    browser.click("wizard-add-channel").await;
    browser.click("wizard-channel-option-sms").await;
    browser.click("wizard-template-0-sms").await;
    browser.click("wizard-template-0-sms-option-sms-gold").await;
    browser.screenshot("2-content").await;
    browser.click("wizard-next").await;

    // A 20% control group, one variant.
    let control = browser.by_test_id("wizard-control-percent").await;
    control.send_keys(&(Key::Control + "a")).await.expect("selected");
    control.send_keys("20").await.expect("typed");
    wait_until_within(Duration::from_secs(10), "the control is 20%", || async {
        browser
            .by_test_id("wizard-control-percent")
            .await
            .prop("value")
            .await
            .ok()
            .flatten()
            .as_deref()
            == Some("20")
    })
    .await;
    browser.screenshot("3-split").await;
    browser.click("wizard-next").await;

    // Now, as marketing on the template's topic.
    browser.by_test_id("wizard-step-schedule").await;
    browser.screenshot("4-schedule").await;
    browser.click("wizard-next").await;

    let review = text_of(&browser, "wizard-summary").await;
    assert!(
        review.contains("20%") && review.contains("金卡会员"),
        "the review shows the answers: {review}"
    );
    browser.screenshot("5-review").await;
    browser.click("wizard-launch").await;

    // The report: sent counts, and a control group that got nothing.
    browser.by_test_id("campaign-report").await;
    let (_, campaign) = app.get("/v1/campaigns/double-12").await;
    assert_eq!(campaign["control_percent"], 20.0, "{campaign}");
    assert_eq!(campaign["segment"], "gold", "{campaign}");
    assert_eq!(
        campaign["variants"][0]["messages"][0]["template"], "sms-gold",
        "{campaign}"
    );
    wait_for_element(&browser, "report-a-sent", |text| {
        text.parse::<u64>().is_ok_and(|n| n > 0)
    })
    .await;
    wait_for_element(&browser, "report-control-targeted", |text| {
        text.parse::<u64>().is_ok_and(|n| n > 0)
    })
    .await;
    assert_eq!(number_of(&browser, "report-control-sent").await, 0);

    crate::helpers::wait_campaign_completed(&app, "double-12").await;
    let (status, report) = app.get("/v1/campaigns/double-12/report").await;
    assert_eq!(status, 200, "{report}");
    // The page reads the report until the campaign is done; then it shows the API's numbers.
    wait_for_element(&browser, "report-state", |text| text == "已完成").await;
    let variants = report["variants"].as_array().expect("variants");
    for variant in variants {
        let name = variant["variant"].as_str().expect("a name");
        browser.by_test_id(&format!("report-row-{name}")).await;
        for metric in METRICS {
            let shown = number_of(&browser, &format!("report-{name}-{metric}")).await;
            assert_eq!(Some(shown), variant[metric].as_u64(), "{name} {metric}: {report}");
        }
        for (reason, count) in variant["suppressed"].as_object().expect("reasons") {
            let tag = text_of(&browser, &format!("report-{name}-suppressed-{reason}")).await;
            assert!(
                tag.ends_with(&format!(": {count}")),
                "{name} {reason}: {tag} vs {count}"
            );
        }
    }
    let control = variants
        .iter()
        .find(|v| v["variant"] == "control")
        .expect("a control row");
    let held_out = control["targeted"].as_u64().expect("targeted");
    assert!(held_out > 0, "{report}");
    assert_eq!(control["sent"], 0, "{report}");
    assert_eq!(
        control["suppressed"]["control_group"].as_u64(),
        Some(held_out),
        "{report}"
    );
    let sent: u64 = variants.iter().filter_map(|v| v["sent"].as_u64()).sum();
    assert_eq!(sent + held_out, MEMBERS as u64, "{report}");
    assert_eq!(
        stand_in.texts().len() as u64,
        sent,
        "only the variant was texted, once each"
    );
    browser.screenshot("6-report").await;
    show(&browser, "report-table").await;
    browser.screenshot("6-report-table").await;

    // The list shows it with its state and what went.
    browser.click("nav-campaigns").await;
    wait_for_element(&browser, "campaign-sent-double-12", |text| {
        text == sent.to_string()
    })
    .await;
    browser.screenshot("7-list").await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_sees_an_account_s_secret_only_masked_changes_it_and_test_sends_through_it() {
    let Some(browser) = Browser::start("channels").await else {
        return;
    };
    let stand_in = Twilio::start(twilio::Answer::Created).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &stand_in).await;
    create_operator(&app, "boss@brand.cn", "admin").await;

    log_in(&browser, &app, "boss@brand.cn").await;
    browser.click("nav-channels").await;
    browser.by_test_id("channel-row-twilio").await;
    browser.wait_for_text("Twilio 短信").await;
    // The row opens onto the configuration: the secret as the mask.
    let expand = browser
        .client
        .find(fantoccini::Locator::Css(
            "[data-testid=\"channel-row-twilio\"] .ant-table-row-expand-icon",
        ))
        .await
        .expect("an expand button");
    expand.click().await.expect("expanded");
    wait_for_element(&browser, "channel-config-twilio", |text| {
        text.contains("••••••") && text.contains(twilio::ACCOUNT_SID)
    })
    .await;
    assert!(
        !source(&browser).await.contains(twilio::AUTH_TOKEN),
        "the secret is never in the page"
    );
    browser.screenshot("masked").await;

    // Renamed without retyping the secret: it is kept.
    browser.click("channel-edit-twilio").await;
    let name = browser.by_test_id("channel-name-input").await;
    name.send_keys(&(Key::Control + "a")).await.expect("selected");
    name.send_keys("Twilio 国际短信").await.expect("typed");
    assert!(
        !source(&browser).await.contains(twilio::AUTH_TOKEN),
        "nor in the form"
    );
    browser.screenshot("edit").await;
    browser.click("channel-save").await;
    wait_until("the account is renamed", || async {
        app.get("/v1/channels/twilio").await.1["name"] == "Twilio 国际短信"
    })
    .await;

    // A test send reaches the provider, which checks the kept secret.
    browser.click("channel-test-twilio").await;
    browser
        .by_test_id("channel-test-to")
        .await
        .send_keys("13800138000")
        .await
        .expect("typed");
    browser.click("channel-test-send").await;
    wait_for_element(&browser, "channel-test-result", |text| {
        text.contains("+8613800138000") && text.contains(&twilio::message_sid(1))
    })
    .await;
    let texts = stand_in.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].to, "+8613800138000");
    assert!(texts[0].body.contains("Twilio 国际短信"), "{texts:?}");
    assert!(!source(&browser).await.contains(twilio::AUTH_TOKEN));
    browser.screenshot("test-send").await;
    browser.close().await;
}

#[tokio::test]
async fn in_english_the_campaign_and_channel_pages_are_english_but_the_brand_s_data() {
    let Some(browser) = Browser::start("campaigns-english").await else {
        return;
    };
    let stand_in = Twilio::start(twilio::Answer::Created).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &stand_in).await;
    ok(
        &app,
        Method::POST,
        "/v1/campaigns",
        json!({"id": "double-12", "name": "双十二金卡专享", "segment": "gold", "control_percent": 20,
               "variants": [{"name": "a", "messages": [{"template": "sms-gold"}]}]}),
    )
    .await;
    crate::helpers::launch_and_finish(&app, "double-12").await;
    create_operator(&app, "boss@brand.cn", "admin").await;
    log_in(&browser, &app, "boss@brand.cn").await;
    browser.click("lang-switch").await;
    browser.click("lang-en").await;

    let user_data = ["双十二金卡专享", "金卡会员", "金卡短信", "Twilio 短信"];
    for (name, path, ready) in [
        ("campaigns", "/campaigns", "campaign-row-double-12"),
        ("wizard", "/campaigns/new", "wizard-step-segment"),
        ("report", "/campaigns/double-12", "report-row-control"),
        ("channels", "/channels", "channel-row-twilio"),
    ] {
        browser.open(&app.url(path)).await;
        browser.by_test_id(ready).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
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
        if name == "report" {
            show(&browser, "report-table").await;
            browser.screenshot("en-report-table").await;
        }
    }
    browser.close().await;
}
