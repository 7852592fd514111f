//! The OpenAPI document and its browser.

use crate::helpers::TestApp;
use serde_json::Value;

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_the_docs_page_serves_it() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    for (method, path) in [
        ("get", "/health"),
        ("post", "/v1/events"),
        ("post", "/v1/batch"),
        ("post", "/v1/track"),
        ("post", "/v1/identify"),
        ("post", "/v1/page"),
        ("post", "/v1/screen"),
        ("post", "/v1/alias"),
        ("post", "/v1/group"),
        ("get", "/v1/profiles"),
        ("get", "/v1/profiles/{id}"),
        ("delete", "/v1/profiles/{id}"),
        ("get", "/v1/profiles/{id}/events"),
        ("patch", "/v1/profiles/{id}/traits"),
        ("get", "/v1/profiles/{id}/export"),
        ("get", "/v1/profiles/{id}/segments"),
        ("post", "/v1/keys"),
        ("get", "/v1/keys"),
        ("delete", "/v1/keys/{id}"),
        ("get", "/v1/settings"),
        ("put", "/v1/settings"),
        ("get", "/v1/segments/compare"),
        ("post", "/v1/tags"),
        ("get", "/v1/tags"),
        ("get", "/v1/tags/{id}"),
        ("put", "/v1/tags/{id}"),
        ("delete", "/v1/tags/{id}"),
        ("post", "/v1/tags/{id}/import"),
        ("get", "/v1/profiles/{id}/tags"),
        ("put", "/v1/profiles/{id}/tags/{tag}"),
        ("delete", "/v1/profiles/{id}/tags/{tag}"),
        ("get", "/v1/tag-libraries"),
        ("get", "/v1/tag-libraries/{id}"),
        ("post", "/v1/tag-libraries/{id}/install"),
        ("get", "/v1/profiles/{id}/consent"),
        ("post", "/v1/profiles/{id}/consent"),
        ("post", "/v1/templates"),
        ("post", "/v1/templates/{id}/preview"),
        ("post", "/v1/channels"),
        ("put", "/v1/channels/{id}"),
        ("post", "/v1/campaigns"),
        ("post", "/v1/campaigns/{id}/{action}"),
        ("get", "/v1/campaigns/{id}/report"),
        ("get", "/v1/dead-letters"),
        ("get", "/v1/call-tasks"),
        ("get", "/v1/inbox"),
        ("get", "/t/o/{token}"),
        ("get", "/t/c/{token}"),
        ("get", "/t/u/{token}"),
        ("post", "/t/u/{token}"),
        ("get", "/t/r/{token}"),
        ("post", "/t/r/{token}"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} has its answers");
        for (status, response) in responses {
            assert!(
                response["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path} {status} has the description OpenAPI requires"
            );
        }
    }
    // Every $ref points at a schema the document defines.
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().expect("name");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} is defined"
        );
    }

    let page = app.http.get(app.url("/docs")).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/openapi.json") && html.contains("/docs/swagger-ui-bundle.js"));
    for (asset, kind) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
    ] {
        let response = app.http.get(app.url(asset)).send().await.expect("sent");
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(kind)
        );
        assert!(
            response.bytes().await.expect("body").len() > 10_000,
            "{asset} is the real file"
        );
    }
}
