//! The README's tour of the console, taken from `serve --demo` in a real browser: each
//! page a newcomer meets first shows the demo brand's data. The screenshots are the
//! test's artifacts; with `ORBIT_TOUR_DIR` set they are also written there (that is how
//! `docs/tour/` is refreshed: `ORBIT_TOUR_DIR=$PWD/docs/tour cargo test -p orbit-cli
//! --test api console_tour`).

use crate::browser::Browser;
use crate::console_pages::log_in_at;
use crate::demo::{read, session, start_demo};
use fantoccini::Locator;
use std::time::Duration;

/// Takes the tour's screenshot `name`, into `ORBIT_TOUR_DIR` too when it is set.
async fn shoot(browser: &Browser, name: &str) {
    // Charts and the canvas animate in; let them settle.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    browser.screenshot(name).await;
    if let Some(dir) = std::env::var_os("ORBIT_TOUR_DIR") {
        let png = browser.client.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
            .expect("tour screenshot written");
    }
}

/// Waits until an element matching `css` is on the page.
async fn wait_css(browser: &Browser, css: &str) {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
}

#[tokio::test]
async fn the_demo_s_console_tour_shows_the_brand_on_every_page() {
    let Some(browser) = Browser::start("tour").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = start_demo(dir.path());
    let cookie = session(&demo).await;
    let member = read(&cookie, &demo, "/v1/segments/lapsed-buyers/members?limit=1").await;
    let person = member["members"][0]["profile_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a lapsed buyer: {member}"))
        .to_owned();

    // A laptop's screen, tall enough for the journey canvas.
    browser
        .client
        .set_window_size(1440, 1000)
        .await
        .expect("window sized");
    log_in_at(&browser, &format!("{}/", demo.base), &demo.login, &demo.password).await;
    // The dashboard: today's numbers and the charts.
    browser.by_test_id("dashboard-today").await;
    wait_css(&browser, "[data-testid=\"chart-segments\"] canvas").await;
    shoot(&browser, "1-dashboard").await;

    // A customer's 360° view: their traits, tags, the win-back message, the timeline.
    browser.open(&format!("{}/profiles/{person}", demo.base)).await;
    browser.by_test_id("profile-view").await;
    browser.wait_for_text("活动 winback").await;
    shoot(&browser, "2-profile").await;

    // The segment builder with its live count.
    browser
        .open(&format!("{}/segments/lapsed-buyers", demo.base))
        .await;
    browser.by_test_id("live-count").await;
    shoot(&browser, "3-segment").await;

    // The win-back campaign's report, the control group beside the variant.
    browser.open(&format!("{}/campaigns/winback", demo.base)).await;
    browser.by_test_id("report-table").await;
    browser.wait_for_text("对照组").await;
    shoot(&browser, "4-campaign-report").await;

    // The welcome journey on its canvas, with people counted on its nodes.
    browser.open(&format!("{}/journeys/welcome", demo.base)).await;
    browser.by_test_id("journey-stats-entered").await;
    wait_css(&browser, ".orbit-node-count").await;
    shoot(&browser, "5-journey").await;

    // Two segments compared by their tags.
    browser
        .open(&format!(
            "{}/segments/compare?a=high-value&b=lapsed-buyers",
            demo.base
        ))
        .await;
    browser.by_test_id("compare-table").await;
    shoot(&browser, "6-compare").await;
    browser.close().await;
}
