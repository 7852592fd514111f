//! OneID through the API: the A/B/C example of the spec, merges and aliases.

use crate::helpers::{TestApp, identities};
use serde_json::json;

#[tokio::test]
async fn a_b_and_c_become_one_profile_with_every_identity() {
    let app = TestApp::spawn().await;
    // A: phone + device. B: email + the same device. C: the same email + WeChat OpenID.
    let batch = json!({"batch": [
        {"type": "identify", "traits": {"phone": "13800138000"}, "context": {"device": {"id": "ipad-7"}}, "messageId": "a"},
        {"type": "identify", "traits": {"email": "mei@example.com"}, "context": {"device": {"id": "ipad-7"}}, "messageId": "b"},
        {"type": "track", "event": "coupon_received", "context": {"traits": {"email": "mei@example.com"},
         "identities": {"wechat_openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}}, "messageId": "c"}
    ]});
    assert_eq!(app.track("/v1/batch", &batch).await.status(), 200);
    let profile = app.profile_by("wechat_openid:o6_bmjrPTlm6_2sgVt7hMZOPfL2M").await;
    assert_eq!(
        identities(&profile),
        [
            "device_id:ipad-7",
            "email:mei@example.com",
            "phone:+8613800138000",
            "wechat_openid:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
        ]
    );
    for lookup in [
        "phone:+86 138 0013 8000",
        "email:MEI@example.com",
        "device_id:ipad-7",
    ] {
        assert_eq!(
            app.profile_by(lookup).await["id"],
            profile["id"],
            "{lookup} finds the same person"
        );
    }
}

#[tokio::test]
async fn a_merged_away_id_still_finds_the_person() {
    let mut app = TestApp::spawn().await;
    let first = json!({"type": "track", "event": "app_installed", "anonymousId": "anon-1", "timestamp": "2026-11-20T08:00:00Z"});
    assert_eq!(app.track("/v1/track", &first).await.status(), 200);
    let second = json!({"type": "identify", "userId": "member-1", "timestamp": "2026-11-21T08:00:00Z"});
    assert_eq!(app.track("/v1/identify", &second).await.status(), 200);
    let young = app.profile_by("user_id:member-1").await;
    let old = app.profile_by("anonymous_id:anon-1").await;
    assert_ne!(young["id"], old["id"]);

    let link = json!({"type": "identify", "userId": "member-1", "anonymousId": "anon-1"});
    assert_eq!(app.track("/v1/identify", &link).await.status(), 200);
    let merged = app.profile_by("user_id:member-1").await;
    assert_eq!(merged["id"], old["id"], "the older profile survives");
    let (status, by_old_id) = app
        .get(&format!("/v1/profiles/{}", young["id"].as_str().expect("id")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        by_old_id["id"], old["id"],
        "the merged-away id resolves to the survivor"
    );
    let (_, export) = app
        .get(&format!(
            "/v1/profiles/{}/export",
            old["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(export["merges"][0]["merged"], young["id"]);
    assert_eq!(
        export["merges"][0]["linked_by"],
        json!({"type": "anonymous_id", "value": "anon-1"}),
        "the merge records its reason"
    );
    assert_eq!(
        export["events"].as_array().expect("events").len(),
        3,
        "the merged profile's events moved over"
    );

    // After a restart the timelines are rebuilt from the log: events appended for the
    // merged-away id are still on the survivor, and last_seen is the newest of them.
    let before = app
        .get(&format!(
            "/v1/profiles/{}/events",
            old["id"].as_str().expect("id")
        ))
        .await
        .1;
    app.kill();
    app.start();
    let (status, after) = app
        .get(&format!(
            "/v1/profiles/{}/events",
            young["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(after["data"], before["data"]);
    assert_eq!(after["data"].as_array().expect("data").len(), 3);
    let survivor = app.profile_by("user_id:member-1").await;
    assert_eq!(survivor["id"], old["id"]);
    assert_eq!(survivor["first_seen"], "2026-11-20T08:00:00Z");
    assert_eq!(survivor["last_seen"], merged["last_seen"]);
    assert_ne!(survivor["last_seen"], survivor["first_seen"]);
}

#[tokio::test]
async fn a_second_user_id_on_a_shared_device_is_recorded_not_merged() {
    let app = TestApp::spawn().await;
    let batch = json!({"batch": [
        {"type": "identify", "userId": "dad", "anonymousId": "family-tablet"},
        {"type": "identify", "userId": "mum", "anonymousId": "family-tablet"}
    ]});
    assert_eq!(app.track("/v1/batch", &batch).await.status(), 200);
    let dad = app.profile_by("user_id:dad").await;
    let mum = app.profile_by("user_id:mum").await;
    assert_ne!(dad["id"], mum["id"]);
    let (_, export) = app
        .get(&format!(
            "/v1/profiles/{}/export",
            mum["id"].as_str().expect("id")
        ))
        .await;
    let conflict = &export["identity_conflicts"][0]["conflict"];
    assert_eq!(conflict["reason"]["code"], "too_many_of_type");
    assert_eq!(conflict["identity"]["value"], "family-tablet");
}

#[tokio::test]
async fn a_device_shared_by_many_people_stops_linking_also_after_a_restart() {
    let mut app = TestApp::spawn().await;
    // device_id links at most 3 people by default; a fourth makes the kiosk shared.
    let batch: Vec<_> = (1..=4)
        .map(|n| json!({"type": "identify", "userId": format!("member-{n}"), "context": {"device": {"id": "kiosk-1"}}}))
        .collect();
    assert_eq!(
        app.track("/v1/batch", &json!({"batch": batch})).await.status(),
        200
    );
    let first = app.profile_by("user_id:member-1").await;
    assert_eq!(app.profile_by("device_id:kiosk-1").await["id"], first["id"]);

    app.kill();
    app.start();
    // A new visitor on the kiosk would join member-1 if the device still linked.
    let visit = json!({"type": "track", "event": "page_viewed", "anonymousId": "anon-z",
                       "context": {"device": {"id": "kiosk-1"}}});
    assert_eq!(app.track("/v1/track", &visit).await.status(), 200);
    let visitor = app.profile_by("anonymous_id:anon-z").await;
    assert_ne!(visitor["id"], first["id"], "a shared device links no one");
    assert_eq!(identities(&visitor), ["anonymous_id:anon-z"]);
    assert_eq!(
        identities(&app.profile_by("user_id:member-1").await),
        ["device_id:kiosk-1", "user_id:member-1"]
    );
}
