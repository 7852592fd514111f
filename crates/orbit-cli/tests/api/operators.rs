//! Console operators: the first admin made on the command line, sessions in a strict
//! cookie, CSRF, throttled logins, what each role may do, and the audit log.

use std::io::Write as _;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::console_support::{Operator, PASSWORD, audit, create_operator, log_in, operator};
use crate::helpers::{BIN, TestApp};

/// Runs `orbit admin create-user` with the password piped in.
fn create_user(app: &TestApp, login: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["admin", "create-user", "--login", login, "--data-dir"])
        .arg(app.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orbit runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password written");
    child.wait_with_output().expect("finished")
}

#[tokio::test]
async fn the_first_admin_made_on_the_command_line_logs_in_with_a_strict_cookie_and_logs_out() {
    let app = TestApp::spawn().await;
    let made = create_user(&app, "Boss@Brand.cn", "short");
    assert!(!made.status.success(), "a short password is refused");
    assert!(String::from_utf8_lossy(&made.stderr).contains("--password"));
    let made = create_user(&app, "Boss@Brand.cn", PASSWORD);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    let (refused, cookie) = log_in(&app, "boss@brand.cn", "not the password").await;
    assert_eq!(refused.status(), 401);
    assert!(cookie.is_none(), "no cookie for a failed login");

    let (response, cookie) = log_in(&app, " BOSS@brand.cn", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = cookie.expect("a session cookie");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("orbit_session="), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "{cookie}");
    assert!(
        !attributes.contains(&"Secure"),
        "plain http on this machine: {cookie}"
    );
    let session: Value = response.json().await.expect("json");
    assert_eq!(session["operator"]["role"], "admin");
    assert_eq!(session["operator"]["login"], "boss@brand.cn");
    assert!(
        session.get("password_hash").is_none() && !session.to_string().contains("argon2"),
        "{session}"
    );

    let boss = Operator {
        id: session["operator"]["id"].as_str().expect("id").to_owned(),
        cookie: attributes[0].to_owned(),
        csrf: session["csrf_token"].as_str().expect("csrf").to_owned(),
    };
    let (status, current) = boss.get(&app, "/v1/session").await;
    assert_eq!((status, &current["operator"]["id"]), (200, &json!(boss.id)));
    let (status, _) = boss.get(&app, "/v1/segments").await;
    assert_eq!(status, 200, "a session reads the API as a key does");

    let logout = boss.request(&app, Method::DELETE, "/v1/session", None).await;
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()["set-cookie"].to_str().expect("text").to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _) = boss.get(&app, "/v1/segments").await;
    assert_eq!(status, 401, "the session ended at logout");
    let (status, _) = boss.get(&app, "/v1/session").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn behind_an_https_public_url_the_session_cookie_is_secure() {
    let app = TestApp::spawn_with(&["--public-url", "https://orbit.example.cn"]).await;
    create_operator(&app, "mei@brand.cn", "marketer").await;
    let (response, cookie) = log_in(&app, "mei@brand.cn", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = cookie.expect("a cookie");
    assert!(cookie.split(';').any(|a| a.trim() == "Secure"), "{cookie}");
}

#[tokio::test]
async fn a_cross_site_change_without_the_csrf_token_is_refused_and_recorded() {
    let app = TestApp::spawn().await;
    let mei = operator(&app, "mei@brand.cn", "marketer").await;
    let segment = json!({"id": "vip", "name": "VIP", "condition": {"type": "trait", "trait": "vip", "value_type": "bool", "op": "eq", "value": true}});
    // What a page on another site can make a browser send: the cookie, no token.
    let forged = app
        .http
        .post(app.url("/v1/segments"))
        .header("cookie", &mei.cookie)
        .header("origin", "https://evil.example")
        .json(&segment)
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 403);
    let refusal: Value = forged.json().await.expect("json");
    assert_eq!(refusal["error"]["code"], "csrf_refused", "{refusal}");
    let wrong = app
        .http
        .post(app.url("/v1/segments"))
        .header("cookie", &mei.cookie)
        .header("x-csrf-token", "0".repeat(64))
        .json(&segment)
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 403, "a made-up token is no token");
    let (status, _) = app.get("/v1/segments/vip").await;
    assert_eq!(status, 404, "nothing was made");

    let entries = audit(&app, &format!("actor={}", mei.id)).await;
    assert!(
        entries
            .iter()
            .filter(|e| e["action"] == "POST /v1/segments" && e["status"] == 403)
            .count()
            == 2,
        "{entries:?}"
    );

    let (status, made) = mei.send(&app, Method::POST, "/v1/segments", &segment).await;
    assert_eq!(status, 201, "with the token it goes through: {made}");
}

#[tokio::test]
async fn failed_logins_wait_longer_each_time_and_even_the_right_password_waits() {
    let app = TestApp::spawn().await;
    create_operator(&app, "admin2@brand.cn", "admin").await;
    for _ in 0..3 {
        let (response, _) = log_in(&app, "admin2@brand.cn", "guess guess guess").await;
        assert_eq!(response.status(), 401);
    }
    let (fourth, _) = log_in(&app, "admin2@brand.cn", "guess guess guess").await;
    assert_eq!(
        fourth.status(),
        401,
        "the fourth failure still answers, then delays begin"
    );
    let (held, cookie) = log_in(&app, "admin2@brand.cn", PASSWORD).await;
    assert_eq!(held.status(), 429, "the right password waits too");
    assert!(cookie.is_none());
    let wait: u64 = held.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "the first delay is short: {wait}");
    let body: Value = held.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_attempts");

    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (fifth, _) = log_in(&app, "admin2@brand.cn", "guess guess guess").await;
    assert_eq!(fifth.status(), 401);
    let (held, _) = log_in(&app, "admin2@brand.cn", PASSWORD).await;
    let longer: u64 = held.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(
        longer > wait,
        "each failure doubles the delay: {wait} then {longer}"
    );

    // Another account from the same address is not held back by this one's failures.
    create_operator(&app, "lei@brand.cn", "viewer").await;
    let (other, _) = log_in(&app, "lei@brand.cn", PASSWORD).await;
    assert_eq!(other.status(), 200);

    let failures = audit(&app, "action=POST%20/v1/session").await;
    assert!(
        failures
            .iter()
            .filter(|e| e["status"] == 401 && e["actor"]["id"] == "admin2@brand.cn")
            .count()
            >= 5,
        "{failures:?}"
    );
}

/// One change each role may or may not make, with the status it should get.
struct Case {
    method: Method,
    path: &'static str,
    body: Value,
    /// Allowed to admin, marketer, analyst, viewer.
    allowed: [bool; 4],
}

#[tokio::test]
async fn each_role_may_do_its_work_and_no_more_and_every_refusal_is_recorded() {
    let app = TestApp::spawn().await;
    let roles = ["admin", "marketer", "analyst", "viewer"];
    let mut people = Vec::new();
    for role in roles {
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
    let traits_path: &'static str = Box::leak(format!("/v1/profiles/{profile}/traits").into_boxed_str());

    let cases = |n: usize| {
        vec![
            Case {
                method: Method::POST,
                path: "/v1/segments",
                body: json!({"id": format!("s{n}"), "name": "会员", "condition": {"type": "trait", "trait": "vip", "value_type": "bool", "op": "eq", "value": true}}),
                allowed: [true, true, false, false],
            },
            Case {
                method: Method::PATCH,
                path: traits_path,
                body: json!({"level": n}),
                allowed: [true, true, false, false],
            },
            Case {
                method: Method::POST,
                path: "/v1/keys",
                body: json!({"kind": "api", "scopes": ["admin"]}),
                allowed: [true, false, false, false],
            },
            Case {
                method: Method::POST,
                path: "/v1/operators",
                body: json!({"login": format!("new{n}@brand.cn"), "role": "admin", "password": PASSWORD}),
                allowed: [true, false, false, false],
            },
            Case {
                method: Method::GET,
                path: "/v1/keys",
                body: Value::Null,
                allowed: [true, false, false, false],
            },
            Case {
                method: Method::GET,
                path: "/v1/segments",
                body: Value::Null,
                allowed: [true, true, true, true],
            },
            Case {
                method: Method::POST,
                path: "/v1/channels",
                body: json!({"id": format!("hook{n}"), "name": "CRM", "config": {"provider": "webhook",
                             "url": "https://hooks.example.com/orbit", "secret": "a-webhook-secret-0123456789"}}),
                allowed: [true, false, false, false],
            },
            // Campaigns pick an account, so every role reads them, secrets masked.
            Case {
                method: Method::GET,
                path: "/v1/channels",
                body: Value::Null,
                allowed: [true, true, true, true],
            },
        ]
    };
    for (n, (role, person)) in roles.iter().zip(&people).enumerate() {
        for case in cases(n) {
            let body = (case.method != Method::GET).then_some(&case.body);
            let response = person.request(&app, case.method.clone(), case.path, body).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            let allowed = case.allowed[n];
            if allowed {
                assert!(
                    (200..300).contains(&status),
                    "{role} {} {}: {status} {answer}",
                    case.method,
                    case.path
                );
            } else {
                assert_eq!(status, 403, "{role} {} {}: {answer}", case.method, case.path);
                assert_eq!(answer["error"]["code"], "forbidden");
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains(role), "the refusal names the role: {message}");
            }
        }
        let refusals: Vec<Value> = audit(&app, &format!("actor={}", person.id))
            .await
            .into_iter()
            .filter(|e| e["status"] == 403)
            .collect();
        let expected = cases(n).iter().filter(|c| !c.allowed[n]).count();
        assert_eq!(
            refusals.len(),
            expected,
            "{role}: every refusal is recorded: {refusals:?}"
        );
    }
}

#[tokio::test]
async fn the_audit_log_shows_who_changed_what_before_and_after_and_an_erasure_redacts_it() {
    let app = TestApp::spawn().await;
    let mei = operator(&app, "mei@brand.cn", "marketer").await;
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/events",
            &json!({"events": [{"type": "identify", "user_id": "u-9", "traits": {"name": "赵雷", "city": "重庆"}}]}),
        )
        .await;
    assert_eq!(status, 200);
    let profile = app.profile_by("user_id:u-9").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = mei
        .send(
            &app,
            Method::PATCH,
            &format!("/v1/profiles/{profile}/traits"),
            &json!({"city": "成都"}),
        )
        .await;
    assert_eq!(status, 200);
    let segment = json!({"id": "cq", "name": "重庆", "condition": {"type": "trait", "trait": "city", "value_type": "string", "op": "eq", "value": "重庆"}});
    let (status, _) = mei.send(&app, Method::POST, "/v1/segments", &segment).await;
    assert_eq!(status, 201);
    let mut renamed = segment.clone();
    renamed["name"] = json!("重庆会员");
    let (status, _) = mei.send(&app, Method::PUT, "/v1/segments/cq", &renamed).await;
    assert_eq!(status, 200);

    let entries = audit(&app, &format!("actor={}", mei.id)).await;
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "PUT /v1/segments/{id}",
            "POST /v1/segments",
            "PATCH /v1/profiles/{id}/traits",
            "POST /v1/session"
        ],
        "newest first"
    );
    let put = &entries[0];
    assert_eq!(put["actor"]["kind"], "operator");
    assert_eq!(put["actor"]["name"], "mei@brand.cn");
    assert_eq!(put["path"], "/v1/segments/cq");
    assert_eq!(put["address"], "127.0.0.1");
    assert_eq!(
        (&put["before"]["name"], &put["after"]["name"]),
        (&json!("重庆"), &json!("重庆会员"))
    );
    assert_eq!(entries[1]["before"], Value::Null, "a new segment had no before");
    assert_eq!(entries[1]["after"]["id"], "cq");
    let patch = &entries[2];
    assert_eq!(patch["before"]["traits"]["city"], "重庆");
    assert_eq!(patch["after"]["traits"]["city"], "成都");

    // Filters: by path, by person, a page at a time.
    let by_path = audit(&app, "path=/v1/segments/cq").await;
    assert_eq!(by_path.len(), 1);
    let about_them = audit(&app, &format!("profile={profile}")).await;
    assert_eq!(about_them.len(), 1, "{about_them:?}");
    let (_, first) = app.get(&format!("/v1/audit?actor={}&limit=2", mei.id)).await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let (_, second) = app
        .get(&format!("/v1/audit?actor={}&limit=2&cursor={cursor}", mei.id))
        .await;
    assert_eq!(second["data"][0]["action"], "PATCH /v1/profiles/{id}/traits");
    assert!(second["next_cursor"].is_null());
    let (status, bad) = app.get("/v1/audit?since=yesterday").await;
    assert_eq!((status, &bad["error"]["field"]), (400, &json!("since")));

    // An erasure keeps that changes were made, not what they held of the person.
    let (status, _) = app
        .send(Method::DELETE, &format!("/v1/profiles/{profile}"), &Value::Null)
        .await;
    assert_eq!(status, 200);
    let about_them = audit(&app, &format!("profile={profile}")).await;
    assert_eq!(about_them.len(), 2, "the patch and the erasure: {about_them:?}");
    for entry in &about_them {
        assert_eq!(entry["redacted"], true, "{entry}");
        assert_eq!((&entry["before"], &entry["after"]), (&Value::Null, &Value::Null));
    }
    let everything = app.get("/v1/audit?limit=500").await.1.to_string();
    assert!(
        !everything.contains("赵雷"),
        "the person's name is gone from the log"
    );
}

#[tokio::test]
async fn the_last_admin_stays_and_a_disabled_operator_is_logged_out_at_once() {
    let app = TestApp::spawn().await;
    let boss = operator(&app, "boss@brand.cn", "admin").await;
    let (status, refused) = boss
        .send(
            &app,
            Method::PATCH,
            &format!("/v1/operators/{}", boss.id),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (409, &json!("role")),
        "{refused}"
    );

    let mei = operator(&app, "mei@brand.cn", "marketer").await;
    let (status, _) = mei.get(&app, "/v1/segments").await;
    assert_eq!(status, 200);
    let (status, changed) = boss
        .send(
            &app,
            Method::PATCH,
            &format!("/v1/operators/{}", mei.id),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!((status, &changed["disabled"]), (200, &json!(true)));
    let (status, _) = mei.get(&app, "/v1/segments").await;
    assert_eq!(status, 401, "disabling ends the session");
    let (response, _) = log_in(&app, "mei@brand.cn", PASSWORD).await;
    assert_eq!(response.status(), 401, "and the login");

    let (status, taken) = app
        .send(
            Method::POST,
            "/v1/operators",
            &json!({"login": "MEI@brand.cn", "role": "viewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, &taken["error"]["field"]),
        (409, &json!("login")),
        "{taken}"
    );
    let (status, bad) = app
        .send(
            Method::POST,
            "/v1/operators",
            &json!({"login": "zhao@brand.cn", "role": "root", "password": PASSWORD}),
        )
        .await;
    assert_eq!((status, &bad["error"]["field"]), (400, &json!("role")), "{bad}");
}
