//! The OpenAPI document (`GET /openapi.json`) and its browser (`GET /docs`).
//!
//! Paths and schemas come from the route table and the handlers' `#[utoipa::path]`
//! attributes; this module adds what every operation shares: the security schemes,
//! the error answers that any call may get, and the error shape.

use crate::AppState;
use crate::error::ErrorBody;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use orbit_core::ErrorCode;
use std::sync::Arc;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The document's fixed parts; paths are added from the route table.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Orbit",
        description = "Marketing automation with a built-in customer data platform: ingestion \
                       (native and Segment-compatible), OneID profiles and their consent, segments \
                       and tags, message templates, provider accounts, campaigns, the in-app inbox \
                       and tracked links, keys and settings.\n\n\
                       Every error is `{\"error\": {\"code\", \"message\", \"field\"?}}` with the \
                       status its `code` fixes (`ErrorCode` lists them)."
    ),
    tags(
        (name = "ingestion", description = "Events in: write keys (native batches also take an API key with events:write)"),
        (name = "profiles", description = "One profile per person (OneID): API keys with profiles:read / profiles:write"),
        (name = "keys", description = "Write keys and API keys: admin"),
        (name = "settings", description = "Workspace settings: admin"),
        (name = "segments", description = "Audiences: API keys with audiences:read / audiences:write (docs/audiences.md)"),
        (name = "tags", description = "Tags, their values on profiles and industry tag libraries: audiences:read / audiences:write"),
        (name = "templates", description = "Message templates and their previews: audiences:read / audiences:write; previews also need profiles:read"),
        (name = "channels", description = "Provider accounts (SMTP, SMS, push, WeChat, webhook), secrets sealed and masked, and test sends: admin; reads also audiences:read"),
        (name = "campaigns", description = "Broadcast campaigns, their life cycle and report: audiences:read / audiences:write"),
        (name = "journeys", description = "Journeys: drafts, validation, published versions and their life: audiences:read / audiences:write"),
        (name = "inbox", description = "The in-app inbox as apps read it, with their write key"),
        (name = "tracking", description = "The public links messages carry and providers call: opens, clicks, unsubscribes, receipts; each a signed token, no key"),
        (name = "stats", description = "The dashboard's numbers: audiences:read"),
        (name = "clock", description = "The simulated clock of demos and scenario tests: admin"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub(crate) struct ApiDoc;

/// The document the route table describes, finished with what every operation
/// shares.
pub fn document() -> serde_json::Value {
    let (_, document) = crate::routes::api().split_for_parts();
    finish(document)
}

/// Adds the security schemes, the error shape and the error answers any call may get.
pub(crate) fn finish(mut document: OpenApi) -> serde_json::Value {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    components.add_security_scheme(
        "write_key",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    for (name, schema) in [
        (ErrorBody::name(), ErrorBody::schema()),
        (ErrorCode::name(), ErrorCode::schema()),
    ] {
        components.schemas.entry(name.into_owned()).or_insert(schema);
    }
    let mut schemas = Vec::new();
    <ErrorBody as ToSchema>::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_shared_errors(operation);
        }
    }
    open_flattened_parts(document)
}

/// An answer that flattens a type written with `deny_unknown_fields` (a tag answered
/// as its definition plus counts) is an `allOf` of that type's schema and the rest;
/// the type's `additionalProperties: false` would then refuse the rest's fields, so in
/// an `allOf` the member is inlined without it. The type keeps it where it is a body
/// of its own.
fn open_flattened_parts(document: OpenApi) -> serde_json::Value {
    let mut json = serde_json::to_value(&document).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document could not be written");
        serde_json::Value::Null
    });
    let schemas = json["components"]["schemas"].clone();
    open_all_of(&mut json, &schemas);
    json
}

fn open_all_of(value: &mut serde_json::Value, schemas: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(parts)) = map.get_mut("allOf") {
                for part in parts.iter_mut() {
                    let closed = part["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .map(|name| &schemas[name])
                        .filter(|schema| schema["additionalProperties"] == serde_json::Value::Bool(false));
                    if let Some(schema) = closed {
                        let mut open = schema.clone();
                        if let Some(fields) = open.as_object_mut() {
                            fields.remove("additionalProperties");
                        }
                        *part = open;
                    }
                }
            }
            for child in map.values_mut() {
                open_all_of(child, schemas);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                open_all_of(item, schemas);
            }
        }
        _ => {}
    }
}

/// The error shape as a JSON answer.
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))))
                .build(),
        )
        .build()
}

/// Every error answer of an operation carries the error shape, and each gets the
/// answers no handler lists itself: authentication failures for keyed calls, and a
/// storage failure for all.
fn add_shared_errors(operation: &mut Operation) {
    let schemes: Vec<String> = operation
        .security
        .iter()
        .flatten()
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|value| value.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect();
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let RefOr::T(response) = response
            && is_error
            && response.content.is_empty()
        {
            *response = error_response(&response.description);
        }
    }
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    };
    if !schemes.is_empty() {
        add("401", "No key, or an unknown or revoked one (`unauthorized`)");
    }
    if schemes.iter().any(|s| s == "api_key") {
        add("403", "The key lacks the scope (`forbidden`)");
    }
    if operation.request_body.is_some() {
        add(
            "400",
            "The body is not what the operation takes; the error names the field",
        );
        add("413", "The body is over the size limit (`body_too_large`)");
        add(
            "415",
            "The body's Content-Encoding is not gzip or none (`unsupported_encoding`)",
        );
    }
    add(
        "503",
        "Storage failed; nothing was acknowledged or changed — retry (`unavailable`)",
    );
}

const SWAGGER_JS: &str = include_str!("../../../web/vendor/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &str = include_str!("../../../web/vendor/swagger-ui/swagger-ui.css");

/// The routes serving the document and its browser.
pub(crate) fn routes(document: serde_json::Value) -> Router<AppState> {
    let json = Arc::new(serde_json::to_string_pretty(&document).unwrap_or_default());
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/docs", get(browser))
        .route("/docs/swagger-ui-bundle.js", get(browser_script))
        .route("/docs/swagger-ui.css", get(browser_style))
}

/// `GET /docs`: Swagger UI over the document, from files built into the binary.
async fn browser() -> Html<&'static str> {
    Html(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orbit API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
</script>
</body>
</html>
"##,
    )
}

/// `GET /docs/swagger-ui-bundle.js`.
async fn browser_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SWAGGER_JS,
    )
}

/// `GET /docs/swagger-ui.css`.
async fn browser_style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SWAGGER_CSS,
    )
}

#[cfg(test)]
mod tests;
