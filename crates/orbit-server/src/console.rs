//! The web console, built from `web/console` and embedded in the binary: its assets
//! under `/assets/`, and its page for every other path a browser opens (the console
//! routes in the browser), so `orbit serve` needs nothing beside it.

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// The built console.
#[derive(RustEmbed)]
#[folder = "../../web/console/dist"]
struct Assets;

/// What the page may load: only this server's own scripts and styles (antd sets inline
/// styles), no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     frame-ancestors 'none'; form-action 'self'";

/// Paths that belong to the server, never to the console's pages.
const SERVER_PATHS: [&str; 5] = ["/v1/", "/docs", "/openapi.json", "/metrics", "/health"];

/// Answers what no route matched: an asset, the console's page, or a JSON 404.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if SERVER_PATHS.iter().any(|p| path.starts_with(p)) || !matches!(method, Method::GET | Method::HEAD) {
        return ApiError::not_found("route").into_response();
    }
    if let Some(asset) = path.strip_prefix("/assets/") {
        return match Assets::get(&format!("assets/{asset}")) {
            // Names carry a hash of their content: they never change.
            Some(file) => file_response(&file, "public, max-age=31536000, immutable"),
            None => ApiError::not_found("asset").into_response(),
        };
    }
    let top = path.trim_start_matches('/');
    if !top.is_empty()
        && !top.contains('/')
        && top.contains('.')
        && let Some(file) = Assets::get(top)
    {
        return file_response(&file, "public, max-age=3600");
    }
    match Assets::get("index.html") {
        Some(page) => {
            let mut response = file_response(&page, "no-cache");
            let headers = response.headers_mut();
            for (name, value) in [
                ("content-security-policy", CONTENT_SECURITY_POLICY),
                ("x-content-type-options", "nosniff"),
                ("x-frame-options", "DENY"),
                ("referrer-policy", "same-origin"),
            ] {
                headers.insert(name, HeaderValue::from_static(value));
            }
            response
        }
        None => ApiError::not_found("console").into_response(),
    }
}

fn file_response(file: &rust_embed::EmbeddedFile, cache: &'static str) -> Response {
    let mime = file.metadata.mimetype();
    let mut response = Response::new(Body::from(file.data.clone().into_owned()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(CONTENT_TYPE, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}
