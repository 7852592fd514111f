//! Editing a saved campaign in the console: a draft opens in the wizard with its
//! answers, a change saved there is the API's campaign with everything else kept, and
//! a campaign past editing says so instead of opening the wizard.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::console_campaigns::workspace;
use crate::console_pages::{log_in, wait_for_element};
use crate::console_support::create_operator;
use crate::helpers::{TestApp, ok, wait_until};
use orbit_test_support::twilio::{self, Twilio};

/// A draft with two variants, a 10% control group and a time to go out.
fn spring() -> Value {
    json!({"id": "spring", "name": "春季上新", "segment": "gold", "control_percent": 10,
           "class": "marketing", "topic": "new-arrivals",
           "schedule": {"kind": "at", "at": "2031-03-01T02:00:00Z"},
           "variants": [
               {"name": "a", "weight": 3, "messages": [{"template": "sms-gold", "account": "twilio"}]},
               {"name": "b", "weight": 1, "messages": [{"template": "sms-gold", "account": "twilio"}]}]})
}

#[tokio::test]
async fn a_marketer_edits_a_draft_campaign_and_only_what_was_changed_changes() {
    let Some(browser) = Browser::start("campaign-edit").await else {
        return;
    };
    let stand_in = Twilio::start(twilio::Answer::Created).await;
    let app = TestApp::spawn_with(&["--egress-allow", "127.0.0.1/32"]).await;
    workspace(&app, &stand_in).await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    let before = ok(&app, Method::POST, "/v1/campaigns", spring()).await;

    log_in(&browser, &app, "mei@brand.cn").await;
    browser.open(&app.url("/campaigns/spring")).await;
    browser.click("campaign-edit").await;
    // The wizard opens on the campaign's answers; its id cannot change.
    wait_for_element(&browser, "wizard-segment-size", |text| text.contains("50")).await;
    let id = browser.by_test_id("wizard-id").await;
    assert_eq!(id.prop("value").await.expect("value").as_deref(), Some("spring"));
    assert_eq!(
        id.attr("disabled").await.expect("attribute").as_deref(),
        Some("true")
    );
    browser.type_into("wizard-name", "春季上新·第二波").await;
    browser.click("wizard-next").await;
    browser.click("wizard-next").await;
    browser.type_into("wizard-control-percent", "25").await;
    browser.click("wizard-next").await;
    browser.click("wizard-next").await;
    let review = browser
        .by_test_id("wizard-summary")
        .await
        .text()
        .await
        .expect("text");
    assert!(review.contains("25%") && review.contains("金卡会员"), "{review}");
    browser.screenshot("review").await;
    browser.click("wizard-save-draft").await;

    browser.by_test_id("campaign-report").await;
    wait_until("the change is saved", || async {
        app.get("/v1/campaigns/spring").await.1["control_percent"] == 25.0
    })
    .await;
    let (_, after) = app.get("/v1/campaigns/spring").await;
    assert_eq!(after["name"], "春季上新·第二波", "{after}");
    assert_eq!(after["state"], "draft", "{after}");
    for unchanged in [
        "segment",
        "class",
        "topic",
        "schedule",
        "channel_policy",
        "variants",
    ] {
        assert_eq!(
            after[unchanged], before[unchanged],
            "{unchanged} is kept: {after}"
        );
    }

    // A campaign that has run opens no wizard.
    let mut now = spring();
    now["id"] = json!("now");
    now["schedule"] = json!({"kind": "now"});
    ok(&app, Method::POST, "/v1/campaigns", now).await;
    crate::helpers::launch_and_finish(&app, "now").await;
    browser.open(&app.url("/campaigns/now")).await;
    browser.by_test_id("campaign-report").await;
    assert!(
        !browser.has_test_id("campaign-edit").await,
        "no edit offered once it has run"
    );
    browser.open(&app.url("/campaigns/now/edit")).await;
    browser.by_test_id("wizard-not-editable").await;
    browser.close().await;
}
