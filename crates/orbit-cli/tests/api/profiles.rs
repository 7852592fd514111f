//! The profile API: timelines, trait patches, erasure, export.

use crate::helpers::{TestApp, identities};
use serde_json::{Value, json};

#[tokio::test]
async fn timelines_page_newest_first_by_event_time() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = (0..25)
        .map(|n| {
            json!({"type": "track", "userId": "paged", "event": "page_viewed", "messageId": format!("p{n}"),
                        "timestamp": format!("2026-10-{:02}T08:00:00Z", n + 1)})
        })
        .collect();
    assert_eq!(
        app.track("/v1/batch", &json!({"batch": batch})).await.status(),
        200
    );
    let id = app.profile_by("user_id:paged").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/profiles/{id}/events?limit=10&cursor={c}"),
            None => format!("/v1/profiles/{id}/events?limit=10"),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|e| e["message_id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|n| format!("p{n}")).collect();
    assert_eq!(seen, expected);
    let (status, body) = app.get(&format!("/v1/profiles/{id}/events?limit=0")).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("limit")));
    let (status, body) = app.get(&format!("/v1/profiles/{id}/events?cursor=garbage")).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("cursor")));
}

#[tokio::test]
async fn patched_traits_are_stored_and_returned() {
    let app = TestApp::spawn().await;
    let identify = json!({"userId": "vip", "traits": {"tier": "silver", "city": "上海"}, "timestamp": "2026-11-01T00:00:00Z"});
    assert_eq!(app.track("/v1/identify", &identify).await.status(), 200);
    let id = app.profile_by("user_id:vip").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let response = app
        .http
        .patch(app.url(&format!("/v1/profiles/{id}/traits")))
        .bearer_auth(&app.api_key)
        .json(&json!({"tier": "gold", "points": 1200}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let (_, profile) = app.get(&format!("/v1/profiles/{id}")).await;
    assert_eq!(
        profile["traits"],
        json!({"tier": "gold", "points": 1200, "city": "上海"})
    );
    let not_object = app
        .http
        .patch(app.url(&format!("/v1/profiles/{id}/traits")))
        .bearer_auth(&app.api_key)
        .json(&json!([1]))
        .send()
        .await
        .expect("sent");
    assert_eq!(not_object.status(), 400);
    let missing = app
        .http
        .patch(app.url("/v1/profiles/01890000-0000-7000-8000-000000000000/traits"))
        .bearer_auth(&app.api_key)
        .json(&json!({"a": 1}))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
    let (status, body) = app.get("/v1/profiles/not-a-uuid").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("id")));
}

#[tokio::test]
async fn erasure_removes_the_person_and_in_flight_events_do_not_bring_them_back() {
    let app = TestApp::spawn().await;
    let first = json!({"userId": "forget-me", "traits": {"email": "forget@example.com"}});
    assert_eq!(app.track("/v1/identify", &first).await.status(), 200);
    let id = app.profile_by("user_id:forget-me").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Acknowledged but perhaps not yet applied when the erasure arrives.
    let in_flight: Vec<Value> = (0..200)
        .map(|n| json!({"type": "track", "userId": "forget-me", "event": "page_viewed", "messageId": format!("f{n}")}))
        .collect();
    assert_eq!(
        app.track("/v1/batch", &json!({"batch": in_flight}))
            .await
            .status(),
        200
    );
    let erase = app
        .http
        .delete(app.url(&format!("/v1/profiles/{id}")))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent");
    assert_eq!(erase.status(), 200);
    for path in [
        format!("/v1/profiles/{id}"),
        "/v1/profiles?identity=user_id:forget-me".to_owned(),
        "/v1/profiles?identity=email:forget@example.com".to_owned(),
        format!("/v1/profiles/{id}/events"),
        format!("/v1/profiles/{id}/export"),
    ] {
        assert_eq!(app.get(&path).await.0, 404, "{path} is gone");
    }
    let again = app
        .http
        .delete(app.url(&format!("/v1/profiles/{id}")))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn export_holds_everything_orbit_has_on_a_person() {
    let app = TestApp::spawn().await;
    let batch = json!({"batch": [
        {"type": "identify", "userId": "exp", "traits": {"name": "张伟", "phone": "13600136000"}},
        {"type": "track", "userId": "exp", "event": "order_paid", "properties": {"order_id": "o-1", "amount": 88}}
    ]});
    assert_eq!(app.track("/v1/batch", &batch).await.status(), 200);
    let profile = app.profile_by("phone:13600136000").await;
    assert_eq!(identities(&profile), ["phone:+8613600136000", "user_id:exp"]);
    let (status, export) = app
        .get(&format!(
            "/v1/profiles/{}/export",
            profile["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(export["profile"]["traits"]["name"], "张伟");
    assert_eq!(export["events"].as_array().expect("events").len(), 2);
    assert_eq!(export["events"][0]["properties"]["order_id"], "o-1");
    assert!(
        export["trait_history"]["name"]["at"].is_string(),
        "each trait's time is exported"
    );
}
