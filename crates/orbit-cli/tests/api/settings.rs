//! Workspace settings over the API: validated, stored, applied to new events.

use crate::helpers::TestApp;
use serde_json::{Value, json};

async fn put_settings(app: &TestApp, body: &Value) -> (u16, Value) {
    app.send(reqwest::Method::PUT, "/v1/settings", body).await
}

#[tokio::test]
async fn trait_rules_set_over_the_api_apply_to_new_events() {
    let app = TestApp::spawn().await;
    let (status, defaults) = app.get("/v1/settings").await;
    assert_eq!(status, 200);
    assert_eq!(
        defaults["identity_policy"]["rules"]["user_id"]["max_per_profile"],
        1
    );

    let mut settings = defaults.clone();
    settings["trait_rules"] = json!({"city": {"rule": "first"}});
    let (status, saved) = put_settings(&app, &settings).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        app.get("/v1/settings").await.1["trait_rules"]["city"]["rule"],
        "first"
    );

    for (n, city) in ["重庆", "成都"].iter().enumerate() {
        let body = json!({"type": "identify", "userId": "u-first", "messageId": format!("s-{n}"),
                          "timestamp": format!("2026-11-0{}T10:00:00Z", n + 1), "traits": {"city": city}});
        assert_eq!(app.track("/v1/identify", &body).await.status(), 200);
    }
    let profile = app.profile_by("user_id:u-first").await;
    assert_eq!(
        profile["traits"]["city"], "重庆",
        "the first city stays: {profile}"
    );
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (
            json!({"trait_rules": {"tier": {"rule": "loudest"}}}),
            "trait_rules.tier.rule",
        ),
        (
            json!({"identity_policy": {"rules": {"phone": {"priority": "high"}}}}),
            "identity_policy.rules.phone.priority",
        ),
        (
            json!({"identity_policy": {"rules": {"phone": {"priority": 80, "max_per_profile": 0}}}}),
            "identity_policy.rules.phone.max_per_profile",
        ),
        (json!({"identity_polcy": {}}), "identity_polcy"),
        (json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone"),
    ] {
        let (status, answer) = put_settings(&app, &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
    }
    let (_, kept) = app.get("/v1/settings").await;
    assert_eq!(
        kept["identity_policy"]["rules"]["phone"]["max_per_profile"], 3,
        "nothing was saved"
    );
}
