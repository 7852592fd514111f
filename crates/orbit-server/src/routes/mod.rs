//! The route table, once: each `routes!` line adds a path's handlers to the router and
//! their operations to the OpenAPI document together. One module per resource.

mod audit;
mod call_tasks;
mod campaigns;
mod channels;
mod clock;
mod consent;
mod dead_letters;
mod health;
mod inbox;
mod ingest;
mod journeys;
mod keys;
mod operators;
mod profiles;
mod segments;
mod session;
mod settings;
mod stats;
mod tags;
mod templates;
mod tracking;

use crate::AppState;
use crate::openapi::ApiDoc;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the API.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(ingest::segment_batch))
        .routes(routes!(ingest::segment_track))
        .routes(routes!(ingest::segment_identify))
        .routes(routes!(ingest::segment_page))
        .routes(routes!(ingest::segment_screen))
        .routes(routes!(ingest::segment_alias))
        .routes(routes!(ingest::segment_group))
        .routes(routes!(ingest::native_batch))
        .routes(routes!(profiles::find_by_identity))
        .routes(routes!(profiles::get_profile, profiles::erase_profile))
        .routes(routes!(profiles::timeline))
        .routes(routes!(profiles::messages))
        .routes(routes!(profiles::patch_traits))
        .routes(routes!(profiles::export))
        .routes(routes!(profiles::profile_journeys))
        .routes(routes!(keys::create_key, keys::list_keys))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(session::login, session::current, session::logout))
        .routes(routes!(operators::create_operator, operators::list_operators))
        .routes(routes!(operators::get_operator, operators::update_operator))
        .routes(routes!(audit::audit_log))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(segments::create_segment, segments::list_segments))
        .routes(routes!(segments::preview))
        .routes(routes!(segments::compare))
        .routes(routes!(
            segments::get_segment,
            segments::put_segment,
            segments::delete_segment
        ))
        .routes(routes!(segments::members))
        .routes(routes!(segments::history))
        .routes(routes!(segments::profile_segments))
        .routes(routes!(tags::create_tag, tags::list_tags))
        .routes(routes!(tags::get_tag, tags::put_tag, tags::delete_tag))
        .routes(routes!(tags::import_values))
        .routes(routes!(tags::list_profile_tags))
        .routes(routes!(tags::put_profile_tag, tags::delete_profile_tag))
        .routes(routes!(tags::list_libraries))
        .routes(routes!(tags::get_library))
        .routes(routes!(tags::install_library))
        .routes(routes!(consent::get_consent, consent::record_consent))
        .routes(routes!(templates::create_template, templates::list_templates))
        .routes(routes!(templates::preview_unsaved))
        .routes(routes!(
            templates::get_template,
            templates::put_template,
            templates::delete_template
        ))
        .routes(routes!(templates::preview_saved))
        .routes(routes!(clock::get_clock, clock::move_clock))
        .routes(routes!(channels::create_channel, channels::list_channels))
        .routes(routes!(
            channels::get_channel,
            channels::put_channel,
            channels::delete_channel
        ))
        .routes(routes!(channels::test_channel))
        .routes(routes!(campaigns::create_campaign, campaigns::list_campaigns))
        .routes(routes!(
            campaigns::get_campaign,
            campaigns::put_campaign,
            campaigns::delete_campaign
        ))
        .routes(routes!(campaigns::campaign_report))
        .routes(routes!(campaigns::campaign_action))
        .routes(routes!(journeys::create_journey, journeys::list_journeys))
        .routes(routes!(
            journeys::get_journey,
            journeys::put_journey,
            journeys::delete_journey
        ))
        .routes(routes!(journeys::validate_journey))
        .routes(routes!(journeys::journey_report))
        .routes(routes!(journeys::enter_journey))
        .routes(routes!(journeys::get_journey_version))
        .routes(routes!(journeys::journey_action))
        .routes(routes!(call_tasks::list_call_tasks))
        .routes(routes!(call_tasks::update_call_task))
        .routes(routes!(inbox::get_inbox))
        .routes(routes!(inbox::read_inbox_message))
        .routes(routes!(dead_letters::dead_letters))
        .routes(routes!(tracking::open_pixel))
        .routes(routes!(tracking::click))
        .routes(routes!(tracking::unsubscribe_page, tracking::unsubscribe))
        .routes(routes!(tracking::verify_receipt_url, tracking::receipts))
        .routes(routes!(stats::stats_overview))
}
