//! Schemas of the bodies the routes not yet typed build by hand; they go as those routes
//! move onto typed answers.

#![expect(
    dead_code,
    reason = "these types describe JSON bodies the handlers still build by hand"
)]

use serde_json::Value;
use utoipa::ToSchema;

/// The answer to an ingestion call, once the accepted events are durable.
#[derive(ToSchema)]
pub struct IngestAnswer {
    success: bool,
    /// Events stored or recognised as duplicates.
    accepted: usize,
    /// Accepted events whose message id was already stored (kept once).
    duplicates: usize,
    /// Items refused, with the reason; the others were kept.
    rejected: Vec<orbit_ingest::Rejection>,
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

/// One person.
#[derive(ToSchema)]
pub struct Profile {
    id: String,
    identities: Vec<orbit_core::Identity>,
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
    identities: Vec<orbit_core::Identity>,
    properties: Value,
    traits: Value,
    context: Value,
}
