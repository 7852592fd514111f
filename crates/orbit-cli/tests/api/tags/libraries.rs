//! Industry tag libraries: listed, read, installed beside existing tags, computed and
//! edited like any other tag.

use super::{START, create_tag, event, send, value_of, wait_for_value};
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn tag_libraries_are_listed_installed_and_skip_existing_tags() {
    let app = TestApp::spawn_with(&["--simulated-clock", START]).await;
    let (status, list) = app.get("/v1/tag-libraries").await;
    assert_eq!(status, 200);
    let libraries = list["libraries"].as_array().expect("libraries");
    let ids: Vec<&str> = libraries.iter().map(|l| l["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["retail", "tea", "cosmetics", "auto", "education"]);
    for library in libraries {
        let count = library["tag_count"].as_u64().expect("count");
        assert!((6..=12).contains(&count), "{library}");
    }
    let (status, tea) = app.get("/v1/tag-libraries/tea").await;
    assert_eq!(status, 200);
    assert_eq!(tea["name"]["zh"], "茶饮餐饮");
    assert_eq!(tea["installed"], json!([]));

    // The workspace has its own "lifecycle": installing keeps it.
    create_tag(
        &app,
        json!({"id": "lifecycle", "name": "自定义阶段", "family": "lifecycle", "kind": "manual"}),
    )
    .await;
    let (status, installed) = app
        .send(Method::POST, "/v1/tag-libraries/tea/install", &json!({}))
        .await;
    assert_eq!(status, 200, "{installed}");
    assert_eq!(installed["skipped"], json!(["lifecycle"]));
    let tea_count = tea["tags"].as_array().map_or(0, Vec::len);
    assert_eq!(
        installed["installed"].as_array().map(Vec::len),
        Some(tea_count - 1)
    );
    let (_, mine) = app.get("/v1/tags/lifecycle").await;
    assert_eq!(mine["name"], "自定义阶段");

    // Retail shares rfm with tea; with replace, existing ids are overwritten.
    let (_, retail) = app
        .send(Method::POST, "/v1/tag-libraries/retail/install", &json!({}))
        .await;
    let skipped = retail["skipped"].as_array().expect("skipped");
    assert!(skipped.contains(&json!("rfm")) && skipped.contains(&json!("lifecycle")));
    let (_, again) = app
        .send(
            Method::POST,
            "/v1/tag-libraries/retail/install?replace=true",
            &json!({}),
        )
        .await;
    assert!(
        again["replaced"]
            .as_array()
            .expect("replaced")
            .contains(&json!("lifecycle")),
        "{again}"
    );
    let (_, lifecycle) = app.get("/v1/tags/lifecycle").await;
    assert_eq!(lifecycle["kind"], "rule");

    // Installed tags compute like any other, and are edited like any other.
    send(
        &app,
        vec![event(
            "shopper",
            "added_to_cart",
            2,
            json!({"product_id": "sku-1"}),
        )],
    )
    .await;
    wait_for_value(&app, "shopper", "cart_abandoner", Some("yes")).await;
    assert_eq!(
        value_of(&app, "shopper", "lifecycle").await.as_deref(),
        Some("new")
    );
    let mut edited = app.get("/v1/tags/cart_abandoner").await.1;
    edited["name"] = json!("加购未付款");
    for key in [
        "profiles",
        "counts",
        "created_at",
        "updated_at",
        "computed",
        "refreshed",
    ] {
        edited.as_object_mut().expect("an object").remove(key);
    }
    let (status, body) = app.send(Method::PUT, "/v1/tags/cart_abandoner", &edited).await;
    assert_eq!((status, &body["name"]), (200, &json!("加购未付款")), "{body}");
    let (status, _) = app.get("/v1/tag-libraries/nope").await;
    assert_eq!(status, 404);
}
