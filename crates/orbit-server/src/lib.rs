//! Orbit's HTTP API: ingestion (Segment-compatible and native), profiles, keys,
//! settings, segments, tags, templates, channels, campaigns, the inbox, tracked links,
//! health and metrics.
//!
//! Handlers are thin: they authenticate, extract a typed request, call an engine
//! service and map its answer; every error leaves through [`error::ApiError`]. The
//! route table exists once ([`routes::api`]): the router and the OpenAPI document are
//! both made from it, so they cannot drift apart.

mod audit_layer;
pub mod auth;
mod body;
mod console;
pub mod error;
pub mod extract;
pub mod metrics;
mod openapi;
mod routes;

pub use openapi::document;

use axum::Router;
use jiff::SignedDuration;
use orbit_engine::Engine;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Region for phone numbers without a country code.
    pub default_region: phonenumber::country::Id,
    /// Events further in the future than this are refused.
    pub max_future: SignedDuration,
    /// Whether the session cookie is marked `Secure`: the server is reached over
    /// HTTPS (its public URL), usually behind a TLS-terminating proxy.
    pub secure_cookies: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            default_region: phonenumber::country::Id::CN,
            max_future: orbit_ingest::DEFAULT_MAX_FUTURE,
            secure_cookies: false,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine's services.
    pub engine: Engine,
    /// HTTP settings.
    pub settings: ServerSettings,
    /// Renders the process's metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    /// State over the running engine.
    pub fn new(engine: Engine, settings: ServerSettings) -> Self {
        Self {
            engine,
            settings,
            metrics: metrics::handle(),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Tracking SDKs post from any web origin with keys in headers; cookies (the
    // console's session) are never allowed cross-origin.
    let cors = CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(tower_http::cors::AllowMethods::mirror_request())
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .max_age(std::time::Duration::from_secs(86_400));
    let (api, document) = routes::api().split_for_parts();
    let document = openapi::finish(document);
    let audit = audit_layer::AuditContext::new(state.clone());
    let app = api
        .route_layer(axum::middleware::from_fn_with_state(
            audit.clone(),
            audit_layer::audit,
        ))
        .merge(openapi::routes(document))
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn(metrics::track_requests))
        .fallback(console::serve)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(orbit_ingest::MAX_BODY_BYTES))
        .layer(cors)
        .layer(TraceLayer::new_for_http());
    // The audit layer reads resources before and after a change through the router.
    audit.set_router(app.clone());
    app
}
