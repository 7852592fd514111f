//! The role matrix over the console's pages: each role opens every page; a page it may
//! not open shows the 403 page, a page it may open shows its content and offers only
//! the changes the role may make, and walking them all makes no request the server
//! refuses (the audit log, which records every refusal, has none from the operator).

use crate::browser::Browser;
use crate::console_pages::log_in;
use crate::console_support::{audit, create_operator};
use crate::helpers::{TestApp, ok, wait_until_within};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// A page: its path, an element it shows once loaded for any role that may open it,
/// elements only writers see, and who may open it (admin, marketer, analyst, viewer).
struct Page {
    path: &'static str,
    loaded: &'static str,
    writers_only: &'static [&'static str],
    who: [bool; 4],
}

const ROLES: [&str; 4] = ["admin", "marketer", "analyst", "viewer"];
const EVERYONE: [bool; 4] = [true, true, true, true];
const CHANGERS: [bool; 4] = [true, true, false, false];
const ADMIN: [bool; 4] = [true, false, false, false];

fn pages() -> Vec<Page> {
    vec![
        Page {
            path: "/profiles",
            loaded: "profile-search-form",
            writers_only: &[],
            who: EVERYONE,
        },
        Page {
            path: "/segments",
            loaded: "segments-table",
            writers_only: &["segment-new"],
            who: EVERYONE,
        },
        Page {
            path: "/segments/compare?a=chongqing&b=gold",
            loaded: "compare-side-a",
            writers_only: &[],
            who: EVERYONE,
        },
        Page {
            path: "/segments/new",
            loaded: "segment-name-input",
            writers_only: &[],
            who: CHANGERS,
        },
        Page {
            path: "/content",
            loaded: "templates-table",
            writers_only: &["template-new"],
            who: EVERYONE,
        },
        Page {
            path: "/content/new",
            loaded: "template-name-input",
            writers_only: &[],
            who: CHANGERS,
        },
        Page {
            path: "/campaigns",
            loaded: "campaigns-table",
            writers_only: &["campaign-new"],
            who: EVERYONE,
        },
        Page {
            path: "/campaigns/new",
            loaded: "wizard-next",
            writers_only: &[],
            who: CHANGERS,
        },
        Page {
            path: "/channels",
            loaded: "channels-table",
            writers_only: &[],
            who: EVERYONE,
        },
        Page {
            path: "/settings/operators",
            loaded: "operators-table",
            writers_only: &[],
            who: ADMIN,
        },
        Page {
            path: "/settings/audit",
            loaded: "audit-table",
            writers_only: &[],
            who: EVERYONE,
        },
    ]
}

#[tokio::test]
async fn each_role_opens_the_pages_it_may_and_sees_403_on_the_others() {
    let Some(browser) = Browser::start("roles").await else {
        return;
    };
    let app = TestApp::spawn().await;
    for (segment, value) in [("chongqing", "重庆"), ("gold", "gold")] {
        let condition =
            json!({"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": value});
        ok(
            &app,
            Method::POST,
            "/v1/segments",
            json!({"id": segment, "name": segment, "condition": condition}),
        )
        .await;
    }
    for (n, role) in ROLES.iter().enumerate() {
        let login = format!("{role}@brand.cn");
        let id = create_operator(&app, &login, role).await;
        log_in(&browser, &app, &login).await;
        for page in pages() {
            browser.open(&app.url(page.path)).await;
            let expected = if page.who[n] {
                page.loaded
            } else {
                "forbidden-page"
            };
            browser.by_test_id(expected).await;
            let shot = format!("{role}{}", page.path.replace('/', "-"));
            browser.screenshot(&shot).await;
            if page.who[n] {
                assert!(
                    !browser.has_test_id("forbidden-page").await,
                    "{role} may open {}",
                    page.path
                );
                for control in page.writers_only {
                    assert_eq!(
                        browser.has_test_id(control).await,
                        CHANGERS[n],
                        "{role} on {}: {control} is offered only to those who may use it",
                        page.path
                    );
                }
            }
        }
        // The pages load their data as they open; give the last one time to ask.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let refused = audit(&app, &format!("actor={id}&limit=500"))
            .await
            .into_iter()
            .filter(|entry| entry["status"] == 403)
            .map(|entry| entry["action"].clone())
            .collect::<Vec<_>>();
        assert!(
            refused.is_empty(),
            "{role}'s pages asked for what the role may not read: {refused:?}"
        );
        browser.by_test_id("logout").await.click().await.expect("clicked");
        wait_until_within(Duration::from_secs(20), "logged out", || async {
            browser.has_test_id("login-input").await
        })
        .await;
    }
    browser.close().await;
}
