//! Schemas of the bodies the routes not yet typed build by hand; they go as those routes
//! move onto typed answers.

#![expect(
    dead_code,
    reason = "these types describe JSON bodies the handlers still build by hand"
)]

use serde_json::Value;
use utoipa::ToSchema;

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
