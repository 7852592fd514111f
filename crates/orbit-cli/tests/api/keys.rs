//! API keys: scopes are enforced, keys can be minted and revoked over the API.

use crate::helpers::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn scoped_keys_only_do_what_their_scopes_allow() {
    let app = TestApp::spawn().await;
    let mint = |scopes: Value| {
        let http = app.http.clone();
        let url = app.url("/v1/keys");
        let admin = app.api_key.clone();
        async move {
            let response = http
                .post(url)
                .bearer_auth(admin)
                .json(&json!({"kind": "api", "scopes": scopes}))
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 201);
            let body: Value = response.json().await.expect("json");
            (
                body["id"].as_str().expect("id").to_owned(),
                body["key"].as_str().expect("key").to_owned(),
            )
        }
    };
    let (reader_id, reader) = mint(json!(["profiles:read"])).await;
    assert_eq!(
        app.track("/v1/identify", &json!({"userId": "scoped"}))
            .await
            .status(),
        200
    );
    let profile = app.profile_by("user_id:scoped").await;
    let id = profile["id"].as_str().expect("id");

    let read = app
        .http
        .get(app.url(&format!("/v1/profiles/{id}")))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), 200);
    let write = app
        .http
        .patch(app.url(&format!("/v1/profiles/{id}/traits")))
        .bearer_auth(&reader)
        .json(&json!({"tier": "gold"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(write.status(), 403);
    let listing = app
        .http
        .get(app.url("/v1/keys"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("sent");
    assert_eq!(listing.status(), 403, "only admins manage keys");
    let with_write_key = app
        .http
        .get(app.url(&format!("/v1/profiles/{id}")))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .expect("sent");
    assert_eq!(with_write_key.status(), 401, "write keys cannot read profiles");

    let revoke = app
        .http
        .delete(app.url(&format!("/v1/keys/{reader_id}")))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent");
    assert_eq!(revoke.status(), 200);
    let after = app
        .http
        .get(app.url(&format!("/v1/profiles/{id}")))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("sent");
    assert_eq!(after.status(), 401, "a revoked key stops working at once");
}

#[tokio::test]
async fn a_write_key_minted_over_the_api_sends_events() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/v1/keys"))
        .bearer_auth(&app.api_key)
        .json(&json!({"kind": "write", "source": "mini-program", "name": "小程序"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.expect("json");
    let secret = key["key"].as_str().expect("key");
    assert!(secret.starts_with("wk_"));
    let sent = app
        .http
        .post(app.url("/v1/track"))
        .bearer_auth(secret)
        .json(&json!({"userId": "mp-user", "event": "checked_in"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(sent.status(), 200);
    let profile = app.profile_by("user_id:mp-user").await;
    let (_, timeline) = app
        .get(&format!(
            "/v1/profiles/{}/events",
            profile["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(timeline["data"][0]["source"], "mini-program");
    let bad = app
        .http
        .post(app.url("/v1/keys"))
        .bearer_auth(&app.api_key)
        .json(&json!({"kind": "api", "scopes": ["everything"]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["error"]["field"], "scopes");
}
