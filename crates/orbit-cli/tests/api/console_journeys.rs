//! The journey canvas in a real browser: a marketer draws scenario 13, the 4S test drive,
//! leaves the message node without a template, sees validation pin that on the node,
//! fixes it and publishes; then people book, one arrives and one does not, and the
//! canvas's live counts follow the journey's report.

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::console_pages::{log_in, wait_for_element};
use crate::console_support::create_operator;
use crate::helpers::{TestApp, wait_until};
use crate::journey_support::{
    advance, chongqing_journey, gateway, ok, on_path, receiver, report, texts, track,
};

const SECRET: &str = "console-journeys-secret-0123456789";
/// Drops an exit from the palette onto the canvas, as a mouse would (HTML drag and drop
/// is beyond WebDriver's reach).
const DROP_EXIT: &str = "
    const data = new DataTransfer();
    document.querySelector('[data-testid=\"palette-exit\"]')
        .dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
    const pane = document.querySelector('[data-testid=\"journey-canvas\"] .react-flow__pane');
    const box = pane.getBoundingClientRect();
    const at = {bubbles: true, cancelable: true, dataTransfer: data,
                clientX: box.left + box.width * 0.6, clientY: box.top + 80};
    pane.dispatchEvent(new DragEvent('dragover', at));
    pane.dispatchEvent(new DragEvent('drop', at));
";
/// 10:00 in Shanghai on 2026-12-07.
const START: &str = "2026-12-07T02:00:00Z";

/// The SMS gateway, the welcome template and two people who book test drives.
async fn dealership(app: &TestApp, hook: &orbit_test_support::webhook::WebhookReceiver) {
    gateway(app, hook, "/sms", SECRET).await;
    texts(
        app,
        "transactional",
        &[("welcome-hotline", "欢迎到店，投诉热线 400-800")],
    )
    .await;
    for (user, name, phone) in [
        ("mei", "小美", "+8613800138001"),
        ("lei", "小雷", "+8613800138002"),
    ] {
        ok(
            app,
            Method::POST,
            "/v1/events",
            json!({"events": [{"type": "identify", "user_id": user,
                               "traits": {"name": name, "phone": phone}}]}),
        )
        .await;
    }
}

/// Scrolls the canvas into the window, for a screenshot that shows it.
async fn show_canvas(browser: &Browser) {
    browser
        .client
        .execute(
            "document.querySelector('[data-testid=\"journey-canvas\"]').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .expect("scrolled");
}

/// The page's Chinese characters, once the brand's own data is taken out.
fn chinese(text: &str, user_data: &[&str]) -> String {
    let mut text = text.to_owned();
    for data in user_data {
        text = text.replace(data, "");
    }
    text.chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3000}'..='\u{303f}').contains(c))
        .collect()
}

/// Where the canvas draws a node: its box's `transform`.
async fn drawn_at(browser: &Browser, node: &str) -> String {
    browser
        .client
        .find(Locator::Css(&format!(".react-flow__node[data-id=\"{node}\"]")))
        .await
        .expect("the node's box")
        .attr("style")
        .await
        .expect("its style")
        .and_then(|style| {
            style
                .split(';')
                .find(|rule| rule.trim_start().starts_with("transform"))
                .map(str::to_owned)
        })
        .expect("a transform")
}

/// Per node, who reached it and who waits there, over every version.
fn report_counts(report: &Value) -> Vec<(String, u64, u64)> {
    let mut counts: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for node in report["nodes"].as_array().into_iter().flatten() {
        let sum = counts
            .entry(node["node"].as_str().unwrap_or_default().to_owned())
            .or_default();
        sum.0 += node["entered"].as_u64().unwrap_or_default();
        sum.1 += node["waiting"].as_u64().unwrap_or_default();
    }
    counts
        .into_iter()
        .map(|(node, (entered, waiting))| (node, entered, waiting))
        .collect()
}

async fn shown(browser: &Browser, test_id: &str) -> Option<u64> {
    browser
        .by_test_id(test_id)
        .await
        .text()
        .await
        .ok()
        .and_then(|text| text.trim().replace(',', "").parse().ok())
}

#[tokio::test]
async fn a_marketer_draws_the_test_drive_fixes_what_validation_pins_and_watches_the_live_counts() {
    let Some(browser) = Browser::start("journey").await else {
        return;
    };
    let hook = receiver(SECRET).await;
    let app = TestApp::spawn_with(&["--simulated-clock", START, "--egress-allow", "127.0.0.1/32"]).await;
    dealership(&app, &hook).await;
    create_operator(&app, "mei@brand.cn", "marketer").await;

    log_in(&browser, &app, "mei@brand.cn").await;
    browser.click("nav-journeys").await;
    browser.by_test_id("journeys-table").await;
    browser.screenshot("list-empty").await;
    browser.click("journey-new").await;
    browser.type_into("journey-name-input", "4S 试驾回访").await;
    browser.type_into("journey-id-input", "test-drive").await;

    // The entry: a booked test drive.
    browser.click("entry-node").await;
    browser.type_into("entry-event-input", "test_drive_booked").await;
    // A day's wait, then did they arrive within a day?
    browser.click("palette-wait").await;
    wait_for_element(&browser, "node-config-panel", |text| text.contains("wait-1")).await;
    browser.type_into("node-duration-input", "P1D").await;
    browser.click("palette-wait-for-event").await;
    browser.type_into("node-event-input", "store_arrived").await;
    browser.type_into("node-timeout-input", "P1D").await;
    // Arrived: the welcome SMS, left without its template for now.
    browser.click("palette-send").await;
    browser.by_test_id("node-send-1").await;
    // No-show: a call task beside it.
    browser.click("node-wait-for-event-1").await;
    browser.click("palette-call-task").await;
    browser
        .type_into("node-purpose-input", "客户未到店：电话邀约再次试驾")
        .await;
    browser.click("palette-exit").await;
    browser.by_test_id("node-exit-1").await;
    // Deleted by mistake and brought back with undo; redo deletes it again, undo restores.
    browser.click("node-delete").await;
    wait_until("the exit is gone", || async {
        !browser.has_test_id("node-exit-1").await
    })
    .await;
    browser.click("journey-undo").await;
    browser.by_test_id("node-exit-1").await;
    browser.click("journey-redo").await;
    wait_until("the exit is gone again", || async {
        !browser.has_test_id("node-exit-1").await
    })
    .await;
    browser.click("journey-undo").await;
    browser.by_test_id("node-exit-1").await;

    // Connected through each box's panel.
    browser.click("entry-node").await;
    browser.pick("node-output-start", "wait-1").await;
    browser.click("node-wait-1").await;
    browser.pick("node-output-next", "wait-for-event-1").await;
    browser.click("node-wait-for-event-1").await;
    browser.pick("node-output-on-event", "send-1").await;
    browser.pick("node-output-on-timeout", "call-task-1").await;
    browser.click("node-send-1").await;
    browser.pick("node-output-next", "exit-1").await;
    browser.click("node-call-task-1").await;
    browser.pick("node-output-next", "exit-1").await;
    show_canvas(&browser).await;
    browser.screenshot("drawn").await;

    // Validation saves the draft and pins the send's problem on it.
    browser.click("journey-validate").await;
    wait_for_element(&browser, "node-error-send-1", |text| {
        text.contains("needs at least one message")
    })
    .await;
    assert!(
        browser
            .client
            .find_all(Locator::Css("[data-testid^=\"node-error-\"]"))
            .await
            .expect("a search")
            .len()
            == 1,
        "only the send is wrong"
    );
    let saved = ok(&app, Method::GET, "/v1/journeys/test-drive", Value::Null).await;
    assert_eq!(saved["draft"]["start"], "wait-1", "{saved}");
    assert_eq!(
        saved["draft"]["nodes"]["wait-for-event-1"],
        json!({"type": "wait_for_event", "event": "store_arrived", "filters": [], "same_key": false,
               "timeout": "P1D", "on_event": "send-1", "on_timeout": "call-task-1"}),
        "{saved}"
    );
    show_canvas(&browser).await;
    browser.screenshot("pinned").await;

    // Fixed: the welcome template, as a service message.
    browser.click("node-send-1").await;
    browser.pick("node-message-add", "welcome-hotline").await;
    // Through the gateway account by name, picked among the accounts of its channel.
    browser.pick("node-message-0-account", "gateway").await;
    browser.pick("node-class", "transactional").await;
    wait_until("the send's problem is gone", || async {
        browser
            .client
            .find_all(Locator::Css("[data-testid=\"node-error-send-1\"]"))
            .await
            .map(|found| found.is_empty())
            .unwrap_or(false)
    })
    .await;
    browser.click("journey-publish").await;
    browser.click("journey-publish-confirm").await;
    wait_for_element(&browser, "journey-version", |text| text == "v1").await;
    let published = ok(&app, Method::GET, "/v1/journeys/test-drive", Value::Null).await;
    assert_eq!(published["status"], "live", "{published}");
    assert_eq!(
        published["draft"]["nodes"]["send-1"]["messages"],
        json!([{"template": "welcome-hotline", "account": "gateway"}])
    );
    wait_for_element(&browser, "node-count-send-1-entered", |text| text == "0").await;
    show_canvas(&browser).await;
    browser.screenshot("published").await;

    // The drawing survives a reload.
    let before = drawn_at(&browser, "call-task-1").await;
    browser.open(&app.url("/journeys/test-drive")).await;
    browser.by_test_id("node-call-task-1").await;
    assert_eq!(drawn_at(&browser, "call-task-1").await, before);
    assert!(
        published["draft"]["layout"]["nodes"]["call-task-1"]["x"].is_number(),
        "{published}"
    );

    // Two bookings; a day later both wait for the visit; Lei arrives, Mei does not.
    for user in ["mei", "lei"] {
        track(
            &app,
            user,
            "test_drive_booked",
            json!({"booking_id": format!("b-{user}")}),
        )
        .await;
    }
    wait_until("both bookings enter", || async {
        report(&app, "test-drive").await["entered"] == 2
    })
    .await;
    advance(&app, "P1D").await;
    track(&app, "lei", "store_arrived", json!({"booking_id": "b-lei"})).await;
    advance(&app, "P1D").await;
    wait_until("Lei is welcomed", || async { on_path(&hook, "/sms").len() == 1 }).await;

    wait_for_element(&browser, "node-count-send-1-entered", |text| text == "1").await;
    wait_for_element(&browser, "node-count-call-task-1-entered", |text| text == "1").await;
    wait_for_element(&browser, "entry-count", |text| text.contains('2')).await;
    let expected = report_counts(&report(&app, "test-drive").await);
    assert!(
        expected
            .iter()
            .any(|(node, entered, _)| node == "call-task-1" && *entered == 1),
        "{expected:?}"
    );
    for (node, entered, waiting) in &expected {
        assert_eq!(
            shown(&browser, &format!("node-count-{node}-entered")).await,
            Some(*entered),
            "{node} entered"
        );
        if node.starts_with("wait") {
            assert_eq!(
                shown(&browser, &format!("node-count-{node}-waiting")).await,
                Some(*waiting),
                "{node} waiting"
            );
        }
    }
    show_canvas(&browser).await;
    browser.screenshot("counts").await;

    // The list shows the same.
    browser.click("journeys-back").await;
    wait_for_element(&browser, "journey-counts-test-drive", |text| text == "2 / 0").await;
    browser.screenshot("list").await;
    browser.close().await;
}

#[tokio::test]
async fn in_english_the_journey_pages_are_english_and_a_journey_written_through_the_api_is_drawn_whole() {
    let Some(browser) = Browser::start("journey-en").await else {
        return;
    };
    let app = TestApp::spawn().await;
    create_operator(&app, "boss@brand.cn", "admin").await;
    // Written through the API, without a layout, naming a template that does not exist,
    // with a cap on entries that lets nobody in.
    let mut written = chongqing_journey();
    written["limits"] = json!({"per_person": 0});
    ok(&app, Method::POST, "/v1/journeys", written).await;

    log_in(&browser, &app, "boss@brand.cn").await;
    browser.click("lang-switch").await;
    browser.click("lang-en").await;
    let user_data = ["重庆活跃 5 分钟未下单", "重庆"];

    browser.open(&app.url("/journeys")).await;
    browser.by_test_id("journey-row-cq-no-order").await;
    let text = browser.wait_for_text("Journeys").await;
    assert_eq!(chinese(&text, &user_data), "", "{text}");
    browser.screenshot("en-list").await;

    browser.open(&app.url("/journeys/cq-no-order")).await;
    for node in ["entry-node", "node-wait", "node-nudge", "node-done"] {
        browser.by_test_id(node).await;
    }
    browser.click("journey-validate").await;
    wait_for_element(&browser, "node-error-nudge", |text| {
        text.contains("no template \"cq-coupon\"")
    })
    .await;
    wait_for_element(&browser, "canvas-errors", |text| {
        text.contains("limits.per_person: must be at least 1")
    })
    .await;
    browser.click("node-nudge").await;
    browser.by_test_id("node-message-0-template").await;
    let text = browser.text().await;
    assert_eq!(chinese(&text, &user_data), "", "{text}");
    show_canvas(&browser).await;
    browser.screenshot("en-editor").await;

    // A new journey: a kind dropped from the palette, then connected by dragging the
    // entry's handle onto the node's.
    browser.open(&app.url("/journeys/new")).await;
    browser.by_test_id("entry-node").await;
    browser.client.execute(DROP_EXIT, vec![]).await.expect("dropped");
    browser.by_test_id("node-exit-1").await;
    let exit = browser
        .client
        .find(Locator::Css(
            "[data-testid=\"node-exit-1\"] .react-flow__handle.target",
        ))
        .await
        .expect("the exit's handle");
    let handle = browser
        .client
        .find(Locator::Css("[data-testid=\"entry-node\"] .react-flow__handle"))
        .await
        .expect("the entry's handle");
    let drag = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveToElement {
            element: handle,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveToElement {
            element: exit,
            duration: Some(std::time::Duration::from_millis(300)),
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.client.perform_actions(drag).await.expect("dragged");
    browser.client.release_actions().await.expect("released");
    browser.click("entry-node").await;
    wait_for_element(&browser, "node-output-start", |text| text.contains("exit-1")).await;
    let text = browser.text().await;
    assert_eq!(chinese(&text, &[]), "", "{text}");
    browser.screenshot("en-new").await;
    browser.close().await;
}
