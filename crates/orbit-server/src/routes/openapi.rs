//! The OpenAPI document (`GET /openapi.json`) and its browser (`GET /docs`).
//!
//! Paths come from the `#[utoipa::path]` attributes on the handlers; the schemas here
//! describe the JSON the handlers build.

#![expect(
    dead_code,
    reason = "these types describe JSON bodies for the document; handlers build the JSON"
)]

use super::{
    call_tasks, campaigns, channels, clock, consent, dead_letters, health, inbox, ingest, keys, profiles,
    segments, settings, tags, templates, tracking,
};
use axum::Json;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Orbit",
        description = "Marketing automation with a built-in customer data platform: ingestion \
                       (native and Segment-compatible), OneID profiles and their consent, segments \
                       and tags, message templates, keys and settings. \
                       Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    paths(
        health::health,
        ingest::native_batch,
        ingest::segment_batch,
        ingest::segment_track,
        ingest::segment_identify,
        ingest::segment_page,
        ingest::segment_screen,
        ingest::segment_alias,
        ingest::segment_group,
        profiles::find_by_identity,
        profiles::get_profile,
        profiles::erase_profile,
        profiles::timeline,
        profiles::patch_traits,
        profiles::export,
        consent::get_consent,
        consent::record_consent,
        keys::create_key,
        keys::list_keys,
        keys::revoke_key,
        settings::get_settings,
        settings::put_settings,
        segments::create_segment,
        segments::list_segments,
        segments::get_segment,
        segments::put_segment,
        segments::delete_segment,
        segments::preview,
        segments::members,
        segments::history,
        segments::compare,
        segments::profile_segments,
        tags::create_tag,
        tags::list_tags,
        tags::get_tag,
        tags::put_tag,
        tags::delete_tag,
        tags::import_values,
        tags::list_profile_tags,
        tags::put_profile_tag,
        tags::delete_profile_tag,
        tags::list_libraries,
        tags::get_library,
        tags::install_library,
        templates::create_template,
        templates::list_templates,
        templates::get_template,
        templates::put_template,
        templates::delete_template,
        templates::preview_saved,
        templates::preview_unsaved,
        clock::get_clock,
        clock::move_clock,
        channels::create_channel,
        channels::list_channels,
        channels::get_channel,
        channels::put_channel,
        channels::delete_channel,
        campaigns::create_campaign,
        campaigns::list_campaigns,
        campaigns::get_campaign,
        campaigns::put_campaign,
        campaigns::delete_campaign,
        campaigns::campaign_action,
        campaigns::campaign_report,
        call_tasks::list_call_tasks,
        call_tasks::update_call_task,
        inbox::get_inbox,
        inbox::read_inbox_message,
        dead_letters::dead_letters,
        tracking::open_pixel,
        tracking::click,
        tracking::unsubscribe_page,
        tracking::unsubscribe,
        tracking::receipts,
        tracking::verify_receipt_url,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, Rejection, IngestAnswer, NativeBatch, NativeEvent, SegmentBatch,
        SegmentMessage, Identity, Profile, TimelinePage, TimelineEvent, NewKey, Key, KeyList, Health
    )),
    modifiers(&Security),
    tags(
        (name = "ingestion", description = "Events in: write keys (native batches also take an API key with events:write)"),
        (name = "profiles", description = "One profile per person (OneID): API keys with profiles:read / profiles:write"),
        (name = "keys", description = "Write keys and API keys: admin"),
        (name = "settings", description = "Workspace settings: admin"),
        (name = "segments", description = "Audiences: API keys with audiences:read / audiences:write (docs/audiences.md)"),
        (name = "tags", description = "Tags, their values on profiles and industry tag libraries: audiences:read / audiences:write"),
        (name = "templates", description = "Message templates and their previews: audiences:read / audiences:write; previews also need profiles:read"),
        (name = "channels", description = "Provider accounts (SMTP, SMS, push, WeChat, webhook), secrets sealed and masked: admin"),
        (name = "campaigns", description = "Broadcast campaigns, their life cycle and report: audiences:read / audiences:write"),
        (name = "inbox", description = "The in-app inbox as apps read it, with their write key"),
        (name = "tracking", description = "The public links messages carry and providers call: opens, clicks, unsubscribes, receipts; each a signed token, no key"),
        (name = "clock", description = "The simulated clock of demos and scenario tests: admin"),
        (name = "operations", description = "Health"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme(
            "write_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// An error answer.
#[derive(ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
    /// In a batch where every item was refused: each one and why.
    rejected: Option<Vec<Rejection>>,
}

/// What went wrong.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `missing_field`, `invalid_json`, `unauthorized`.
    code: String,
    /// For people.
    message: String,
    /// The offending field's path, when one is to blame.
    field: Option<String>,
}

/// One refused item of a batch.
#[derive(ToSchema)]
pub struct Rejection {
    /// Its index in the batch (0 for single-event calls).
    index: usize,
    /// The offending field, as a path (`batch[3].event`).
    field: String,
    code: String,
    message: String,
}

/// The answer to an ingestion call, once the accepted events are durable.
#[derive(ToSchema)]
pub struct IngestAnswer {
    success: bool,
    /// Events stored or recognised as duplicates.
    accepted: usize,
    /// Accepted events whose message id was already stored (kept once).
    duplicates: usize,
    /// Items refused, with the reason; the others were kept.
    rejected: Vec<Rejection>,
}

/// Orbit's own batch format.
#[derive(ToSchema)]
pub struct NativeBatch {
    events: Vec<NativeEvent>,
}

/// One event in Orbit's format.
#[derive(ToSchema)]
pub struct NativeEvent {
    /// `track`, `identify`, `page`, `screen`, `alias` or `group`.
    #[schema(example = "track")]
    r#type: String,
    /// The event name (track), snake_case.
    #[schema(example = "order_paid")]
    event: Option<String>,
    /// Unique per source; resent ids are stored once.
    message_id: Option<String>,
    /// RFC 3339; defaults to the time received.
    timestamp: Option<String>,
    /// Identities by type, e.g. `{"user_id": "member-1", "phone": "13800138000"}`.
    identities: Option<Value>,
    properties: Option<Value>,
    traits: Option<Value>,
    context: Option<Value>,
}

/// Segment's batch call.
#[derive(ToSchema)]
pub struct SegmentBatch {
    batch: Vec<SegmentMessage>,
    /// The write key, as current SDKs send it.
    #[schema(rename = "writeKey")]
    write_key: Option<String>,
    #[schema(rename = "sentAt")]
    sent_at: Option<String>,
}

/// A Segment message, as Segment's and RudderStack's SDKs send it.
#[derive(ToSchema)]
pub struct SegmentMessage {
    r#type: Option<String>,
    event: Option<String>,
    #[schema(rename = "userId")]
    user_id: Option<String>,
    #[schema(rename = "anonymousId")]
    anonymous_id: Option<String>,
    #[schema(rename = "previousId")]
    previous_id: Option<String>,
    #[schema(rename = "groupId")]
    group_id: Option<String>,
    #[schema(rename = "messageId")]
    message_id: Option<String>,
    timestamp: Option<String>,
    #[schema(rename = "originalTimestamp")]
    original_timestamp: Option<String>,
    #[schema(rename = "sentAt")]
    sent_at: Option<String>,
    properties: Option<Value>,
    traits: Option<Value>,
    /// `context.traits`, `context.device.id` and `context.identities` carry identities.
    context: Option<Value>,
}

/// One identifier of a person.
#[derive(ToSchema)]
pub struct Identity {
    /// `user_id`, `anonymous_id`, `email`, `phone`, `device_id`, `wechat_openid`,
    /// `wechat_unionid` or a custom type.
    r#type: String,
    value: String,
}

/// One person.
#[derive(ToSchema)]
pub struct Profile {
    id: String,
    identities: Vec<Identity>,
    traits: Value,
    first_seen: String,
    last_seen: String,
    /// Ids of profiles merged into this one; they still find it.
    merged_ids: Vec<String>,
    /// Values received that could not be used (an invalid email…).
    issues: Vec<Value>,
}

/// A page of a profile's events, newest first.
#[derive(ToSchema)]
pub struct TimelinePage {
    profile_id: String,
    data: Vec<TimelineEvent>,
    /// Pass back as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// An event on a timeline.
#[derive(ToSchema)]
pub struct TimelineEvent {
    position: i64,
    r#type: String,
    event: Option<String>,
    message_id: String,
    source: String,
    timestamp: String,
    received_at: String,
    identities: Vec<Identity>,
    properties: Value,
    traits: Value,
    context: Value,
}

/// A key to mint.
#[derive(ToSchema)]
pub struct NewKey {
    /// `write` (ingestion) or `api` (management).
    kind: String,
    name: Option<String>,
    /// API keys: `profiles:read`, `profiles:write`, `events:write`, `admin`.
    scopes: Option<Vec<String>>,
    /// Write keys: the source events are recorded from.
    source: Option<String>,
}

/// A key, without its secret.
#[derive(ToSchema)]
pub struct Key {
    id: String,
    kind: String,
    name: String,
    scopes: Vec<String>,
    source: Option<String>,
    created_at_ms: i64,
    revoked_at_ms: Option<i64>,
    /// Only in the answer that minted it.
    key: Option<String>,
}

/// The workspace's keys.
#[derive(ToSchema)]
pub struct KeyList {
    data: Vec<Key>,
}

/// Health.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: String,
    /// Position of the newest stored event.
    log_head: i64,
}

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

const SWAGGER_JS: &str = include_str!("../../../../web/vendor/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &str = include_str!("../../../../web/vendor/swagger-ui/swagger-ui.css");

/// `GET /docs`: Swagger UI over the document, from files built into the binary.
pub async fn browser() -> Html<&'static str> {
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
pub async fn browser_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SWAGGER_JS,
    )
}

/// `GET /docs/swagger-ui.css`.
pub async fn browser_style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SWAGGER_CSS,
    )
}
