//! The route table: one module per resource.

mod call_tasks;
mod campaigns;
mod channels;
mod clock;
mod consent;
mod dead_letters;
mod health;
mod inbox;
mod ingest;
mod keys;
mod openapi;
mod profiles;
pub(crate) mod segments;
mod settings;
pub(crate) mod tags;
mod templates;
mod tracking;

use crate::AppState;
use axum::Router;
use axum::routing::{delete, get, patch, post, put};

/// Every route of the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(crate::metrics::render))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::browser))
        .route("/docs/swagger-ui-bundle.js", get(openapi::browser_script))
        .route("/docs/swagger-ui.css", get(openapi::browser_style))
        .route("/v1/batch", post(ingest::segment_batch))
        .route("/v1/track", post(ingest::segment_track))
        .route("/v1/identify", post(ingest::segment_identify))
        .route("/v1/page", post(ingest::segment_page))
        .route("/v1/screen", post(ingest::segment_screen))
        .route("/v1/alias", post(ingest::segment_alias))
        .route("/v1/group", post(ingest::segment_group))
        .route("/v1/events", post(ingest::native_batch))
        .route("/v1/profiles", get(profiles::find_by_identity))
        .route(
            "/v1/profiles/{id}",
            get(profiles::get_profile).delete(profiles::erase_profile),
        )
        .route("/v1/profiles/{id}/events", get(profiles::timeline))
        .route("/v1/profiles/{id}/traits", patch(profiles::patch_traits))
        .route("/v1/profiles/{id}/export", get(profiles::export))
        .route("/v1/keys", post(keys::create_key).get(keys::list_keys))
        .route("/v1/keys/{id}", delete(keys::revoke_key))
        .route(
            "/v1/settings",
            get(settings::get_settings).put(settings::put_settings),
        )
        .route(
            "/v1/segments",
            post(segments::create_segment).get(segments::list_segments),
        )
        .route("/v1/segments/preview", post(segments::preview))
        .route("/v1/segments/compare", get(segments::compare))
        .route(
            "/v1/segments/{id}",
            get(segments::get_segment)
                .put(segments::put_segment)
                .delete(segments::delete_segment),
        )
        .route("/v1/segments/{id}/members", get(segments::members))
        .route("/v1/segments/{id}/history", get(segments::history))
        .route("/v1/tags", post(tags::create_tag).get(tags::list_tags))
        .route(
            "/v1/tags/{id}",
            get(tags::get_tag).put(tags::put_tag).delete(tags::delete_tag),
        )
        .route("/v1/tags/{id}/import", post(tags::import_values))
        .route("/v1/profiles/{id}/tags", get(tags::list_profile_tags))
        .route("/v1/profiles/{id}/segments", get(segments::profile_segments))
        .route(
            "/v1/profiles/{id}/tags/{tag}",
            put(tags::put_profile_tag).delete(tags::delete_profile_tag),
        )
        .route(
            "/v1/profiles/{id}/consent",
            get(consent::get_consent).post(consent::record_consent),
        )
        .route(
            "/v1/templates",
            post(templates::create_template).get(templates::list_templates),
        )
        .route("/v1/templates/preview", post(templates::preview_unsaved))
        .route(
            "/v1/templates/{id}",
            get(templates::get_template)
                .put(templates::put_template)
                .delete(templates::delete_template),
        )
        .route("/v1/templates/{id}/preview", post(templates::preview_saved))
        .route("/v1/tag-libraries", get(tags::list_libraries))
        .route("/v1/tag-libraries/{id}", get(tags::get_library))
        .route("/v1/tag-libraries/{id}/install", post(tags::install_library))
        .route("/v1/clock", get(clock::get_clock).post(clock::move_clock))
        .route(
            "/v1/channels",
            post(channels::create_channel).get(channels::list_channels),
        )
        .route(
            "/v1/channels/{id}",
            get(channels::get_channel)
                .put(channels::put_channel)
                .delete(channels::delete_channel),
        )
        .route(
            "/v1/campaigns",
            post(campaigns::create_campaign).get(campaigns::list_campaigns),
        )
        .route(
            "/v1/campaigns/{id}",
            get(campaigns::get_campaign)
                .put(campaigns::put_campaign)
                .delete(campaigns::delete_campaign),
        )
        .route("/v1/campaigns/{id}/report", get(campaigns::campaign_report))
        .route("/v1/call-tasks", get(call_tasks::list_call_tasks))
        .route("/v1/call-tasks/{id}", patch(call_tasks::update_call_task))
        .route("/v1/inbox", get(inbox::get_inbox))
        .route("/v1/inbox/{id}/read", post(inbox::read_inbox_message))
        .route("/v1/campaigns/{id}/{action}", post(campaigns::campaign_action))
        .route("/v1/dead-letters", get(dead_letters::dead_letters))
        .route("/t/o/{token}", get(tracking::open_pixel))
        .route("/t/c/{token}", get(tracking::click))
        .route(
            "/t/u/{token}",
            get(tracking::unsubscribe_page).post(tracking::unsubscribe),
        )
        .route(
            "/t/r/{token}",
            get(tracking::verify_receipt_url).post(tracking::receipts),
        )
}
