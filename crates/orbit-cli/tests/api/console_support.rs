//! Console operators in tests: made by the admin key, logged in over HTTP, each request
//! sent with the session cookie and (for changes) the CSRF token, as the console does.

use crate::contract::CheckedResponse;
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// A password every test operator is given.
pub const PASSWORD: &str = "茶饮品牌 operator 2026";

/// An operator logged in to the console.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Their id.
    pub id: String,
    /// The `Cookie` header value carrying the session.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Adds an operator with the admin key; their id.
pub async fn create_operator(app: &TestApp, login: &str, role: &str) -> String {
    let (status, body) = app
        .send(
            Method::POST,
            "/v1/operators",
            &json!({"login": login, "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("an id").to_owned()
}

/// Logs in; the answer, and the session cookie it set.
pub async fn log_in(app: &TestApp, login: &str, password: &str) -> (CheckedResponse, Option<String>) {
    let response = app
        .http
        .post(app.url("/v1/session"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .expect("sent");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response, cookie)
}

/// A new operator with `role`, logged in.
pub async fn operator(app: &TestApp, login: &str, role: &str) -> Operator {
    let id = create_operator(app, login, role).await;
    let (response, cookie) = log_in(app, login, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let set_cookie = cookie.expect("a session cookie");
    let session: Value = response.json().await.expect("json");
    Operator {
        id,
        cookie: set_cookie.split(';').next().expect("name=value").to_owned(),
        csrf: session["csrf_token"].as_str().expect("a CSRF token").to_owned(),
    }
}

impl Operator {
    /// Sends a request as the console does: cookie, and the CSRF token on changes.
    pub async fn request(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CheckedResponse {
        let mut request = app
            .http
            .request(method.clone(), app.url(path))
            .header("cookie", &self.cookie);
        if method != Method::GET {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("sent")
    }

    /// Sends JSON; the status and the JSON answer.
    pub async fn send(&self, app: &TestApp, method: Method, path: &str, body: &Value) -> (u16, Value) {
        let response = self.request(app, method, path, Some(body)).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reads a path; the status and the JSON answer.
    pub async fn get(&self, app: &TestApp, path: &str) -> (u16, Value) {
        let response = self.request(app, Method::GET, path, None).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The audit log's newest entries, read with the admin key.
pub async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/v1/audit?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().expect("entries").clone()
}
