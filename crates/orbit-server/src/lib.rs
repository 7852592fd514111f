//! Orbit's HTTP API: ingestion (Segment-compatible and native), profiles, keys,
//! settings, segments, tags, health and metrics.
//!
//! Handlers are thin: they authenticate, parse, call the engine or a store, and map
//! the result; every error leaves through [`error::ApiError`].

pub mod auth;
mod body;
pub mod error;
pub mod extract;
pub mod messaging;
pub mod metrics;
mod routes;
pub mod tag_refresher;

pub use routes::segments::record_sizes_forever;
pub use tag_refresher::refresh_tags_forever;

use auth::KeyHasher;
use axum::Router;
use jiff::SignedDuration;
use orbit_core::Clock;
use orbit_engine::PipelineHandle;
use orbit_store::{EventLog, KeyStore, ProfileStore, Stores, WorkspaceStore};
use std::sync::Arc;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Region for phone numbers without a country code.
    pub default_region: phonenumber::country::Id,
    /// Events further in the future than this are refused.
    pub max_future: SignedDuration,
    /// Which internal networks connectors may reach (none by default).
    pub egress: orbit_channels::EgressPolicy,
    /// The address people's devices reach this server at: tracked links, unsubscribe
    /// links and provider receipt URLs are made under it.
    pub public_url: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            default_region: phonenumber::country::Id::CN,
            max_future: orbit_ingest::DEFAULT_MAX_FUTURE,
            egress: orbit_channels::EgressPolicy::strict(),
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The event log, for timelines.
    pub events: Arc<dyn EventLog>,
    /// Profiles, for reads.
    pub profiles: Arc<dyn ProfileStore>,
    /// Keys.
    pub keys: Arc<dyn KeyStore>,
    /// Workspaces.
    pub workspaces: Arc<dyn WorkspaceStore>,
    /// Appends events and changes profiles, durably and in order.
    pub pipeline: PipelineHandle,
    /// Hashes keys.
    pub hasher: KeyHasher,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// HTTP settings.
    pub settings: ServerSettings,
    /// Renders the process's metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Segment definitions.
    pub segment_store: Arc<dyn orbit_store::SegmentStore>,
    /// Every workspace's segments, as evaluation reads them.
    pub segments: Arc<std::sync::RwLock<orbit_engine::audience::SegmentCatalog>>,
    /// The clock `POST /v1/clock` moves, when the server runs on a simulated one.
    pub simulated_clock: Option<orbit_core::ManualClock>,
    /// Announces dynamic segments' membership changes; its loop is started by the
    /// binary ([`orbit_engine::audience::MembershipWatcher::run`]).
    pub membership: Arc<orbit_engine::audience::MembershipWatcher>,
    /// Tag definitions and assigned values.
    pub tag_store: Arc<dyn orbit_store::TagStore>,
    /// Every workspace's tags, as refreshes and reads use them.
    pub tags: Arc<std::sync::RwLock<orbit_engine::audience::TagCatalog>>,
    /// Every port, for the messaging resources (templates, accounts, campaigns,
    /// consent, the send ledger).
    pub stores: Stores,
    /// Provider accounts, the campaign runner and the delivery worker.
    pub messaging: Arc<messaging::Messaging>,
}

impl AppState {
    /// State over a set of stores and the running engine parts.
    pub fn new(
        stores: Stores,
        pipeline: PipelineHandle,
        hasher: KeyHasher,
        clock: Arc<dyn Clock>,
        settings: ServerSettings,
        segments: orbit_engine::audience::SegmentCatalog,
    ) -> Self {
        let all = stores.clone();
        let segments = Arc::new(std::sync::RwLock::new(segments));
        let messaging = Arc::new(
            messaging::Messaging::new(
                &stores,
                &pipeline,
                segments.clone(),
                &hasher,
                clock.clone(),
                settings.egress.clone(),
                &settings.public_url,
            )
            .unwrap_or_else(|e| panic!("the HTTP client for connectors could not be built: {e}")),
        );
        let membership = Arc::new(orbit_engine::audience::MembershipWatcher::new(
            pipeline.clone(),
            segments.clone(),
            stores.segments.clone(),
            clock.clone(),
        ));
        Self {
            membership,
            segment_store: stores.segments,
            segments,
            simulated_clock: None,
            tag_store: stores.tags,
            tags: Arc::default(),
            events: stores.events,
            profiles: stores.profiles,
            keys: stores.keys,
            workspaces: stores.workspaces,
            pipeline,
            hasher,
            clock,
            settings,
            metrics: metrics::handle(),
            stores: all,
            messaging,
        }
    }
}

impl AppState {
    /// The same state with the tags loaded at start-up.
    pub fn with_tags(mut self, tags: orbit_engine::audience::TagCatalog) -> Self {
        self.tags = Arc::new(std::sync::RwLock::new(tags));
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Tracking SDKs post from any web origin; credentials are keys, not cookies.
    let cors = CorsLayer::very_permissive().max_age(std::time::Duration::from_secs(86_400));
    routes::routes()
        .route_layer(axum::middleware::from_fn(metrics::track_requests))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(orbit_ingest::MAX_BODY_BYTES))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
}
