//! The role matrix: every operation of the management API, read from the server's own
//! `/openapi.json` so a new endpoint cannot be left out, called by an operator of each
//! role. What a role may do is docs/api.md's roles table; every refusal is `403
//! forbidden` naming the role, and is in the audit log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console_support::{Operator, audit, operator};
use crate::helpers::TestApp;

const ROLES: [&str; 4] = ["admin", "marketer", "analyst", "viewer"];

/// Who may call an operation: admin, marketer, analyst, viewer — docs/api.md's roles
/// table. `None` for an operation the table does not place, which fails the test.
fn who_may(method: &Method, template: &str) -> Option<[bool; 4]> {
    const EVERYONE: [bool; 4] = [true, true, true, true];
    const CHANGERS: [bool; 4] = [true, true, false, false];
    const ADMIN: [bool; 4] = [true, false, false, false];
    let under = |prefix: &str| template == prefix || template.starts_with(&format!("{prefix}/"));
    // Workspace administration: keys, operators, settings, the clock.
    if ["/v1/keys", "/v1/operators", "/v1/clock", "/v1/settings"]
        .iter()
        .any(|p| under(p))
    {
        return Some(ADMIN);
    }
    // Provider accounts are read (secrets masked) by all who pick one for a campaign.
    if under("/v1/channels") {
        return Some(if *method == Method::GET { EVERYONE } else { ADMIN });
    }
    let work = [
        "/v1/profiles",
        "/v1/segments",
        "/v1/tags",
        "/v1/tag-libraries",
        "/v1/templates",
        "/v1/campaigns",
        "/v1/journeys",
        "/v1/call-tasks",
        "/v1/dead-letters",
        "/v1/audit",
        "/v1/stats",
    ];
    if !work.iter().any(|p| under(p)) {
        return None;
    }
    // Previews compute an answer and change nothing.
    if *method == Method::GET || template.ends_with("/preview") {
        return Some(EVERYONE);
    }
    Some(CHANGERS)
}

/// A concrete path for a template: a real person where the operation names one, made-up
/// ids elsewhere (a missing resource is a 404 after the permission check, not before).
fn concrete(template: &str, profile: &str) -> String {
    let mut path = template.replace("/v1/profiles/{id}", &format!("/v1/profiles/{profile}"));
    for (parameter, value) in [
        ("{id}", "matrix-x"),
        ("{tag}", "vip"),
        ("{n}", "1"),
        ("{version}", "1"),
    ] {
        path = path.replace(parameter, value);
    }
    if template.starts_with("/v1/campaigns/") {
        path = path.replace("{action}", "pause");
    }
    if template.starts_with("/v1/journeys/") {
        path = path.replace("{action}", "pause");
    }
    path
}

/// Every operation of the management API (an API-key caller's, not ingestion's, which
/// takes write keys): method and path template.
async fn operations(app: &TestApp) -> Vec<(Method, String)> {
    let document: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .expect("served")
        .json()
        .await
        .expect("json");
    let mut found = Vec::new();
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let security = operation["security"].as_array().cloned().unwrap_or_default();
            let takes = |scheme: &str| security.iter().any(|r| r.get(scheme).is_some());
            if !takes("api_key") || takes("write_key") {
                continue;
            }
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
            found.push((method, template.clone()));
        }
    }
    found.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    found
}

#[tokio::test]
async fn every_operation_answers_each_role_as_the_roles_table_says_and_every_refusal_is_recorded() {
    let app = TestApp::spawn().await;
    let mut people: Vec<Operator> = Vec::new();
    for role in ROLES {
        people.push(operator(&app, &format!("{role}@brand.cn"), role).await);
    }
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/events",
            &json!({"events": [{"type": "identify", "user_id": "u-1", "traits": {"name": "王美"}}]}),
        )
        .await;
    assert_eq!(status, 200);
    let profile = app.profile_by("user_id:u-1").await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let operations = operations(&app).await;
    assert!(
        operations.len() > 50,
        "the document lists the API: {operations:?}"
    );
    let unplaced: Vec<String> = operations
        .iter()
        .filter(|(method, template)| who_may(method, template).is_none())
        .map(|(method, template)| format!("{method} {template}"))
        .collect();
    assert!(
        unplaced.is_empty(),
        "operations the roles table does not place: {unplaced:?}"
    );

    // The erasure goes last: it takes the person the other calls name.
    let (erasures, others): (Vec<_>, Vec<_>) = operations
        .iter()
        .partition(|(method, template)| *method == Method::DELETE && template == "/v1/profiles/{id}");
    let mut wrong = Vec::new();
    for (n, (role, person)) in ROLES.iter().zip(&people).enumerate().rev() {
        let mut refused = 0;
        for (method, template) in others.iter().chain(erasures.iter()) {
            let allowed = who_may(method, template).expect("placed")[n];
            if *method == Method::DELETE && template == "/v1/profiles/{id}" && allowed && n != 0 {
                // Only the last caller really erases; the others would 404 after it anyway.
                continue;
            }
            let path = concrete(template, &profile);
            let body = (*method != Method::GET).then(|| json!({}));
            let response = person.request(&app, method.clone(), &path, body.as_ref()).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if allowed {
                if status == 403 || status == 401 {
                    wrong.push(format!(
                        "{role} may {method} {template}, but got {status}: {answer}"
                    ));
                }
            } else {
                refused += 1;
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                if status != 403 || answer["error"]["code"] != "forbidden" || !message.contains(role) {
                    wrong.push(format!(
                        "{role} may not {method} {template}: wanted 403 forbidden naming the role, got {status}: {answer}"
                    ));
                }
            }
        }
        let recorded = audit(&app, &format!("actor={}&limit=500", person.id))
            .await
            .into_iter()
            .filter(|e| e["status"] == 403)
            .count();
        if recorded != refused {
            wrong.push(format!("{role}: {refused} refusals, {recorded} in the audit log"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
