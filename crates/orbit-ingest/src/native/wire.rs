//! The body of `POST /v1/events` as documented types (see [`crate::wire`] for why the
//! parser does not read it through these).

use crate::wire::{EventContext, TextOrNumber};
use orbit_core::EventKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Orbit's own batch format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NativeBatch {
    /// The events; at most 2,000.
    pub events: Vec<NativeEvent>,
    /// When the batch was sent, on the sender's clock: with each event's `timestamp`
    /// it corrects a sender clock that is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<TextOrNumber>,
}

/// One event in Orbit's format; fields are snake_case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NativeEvent {
    /// The call type; `track` when left out.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EventKind>,
    /// The event name of a track call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "order_paid")]
    pub event: Option<String>,
    /// The page or screen name of a page or screen call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unique per source: an event resent with the same id is stored once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<TextOrNumber>,
    /// When it happened (ISO 8601, or epoch milliseconds); the time received when
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-11-23T09:30:00+08:00")]
    pub timestamp: Option<TextOrNumber>,
    /// When it was sent, on the sender's clock (overrides the batch's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<TextOrNumber>,
    /// Identities by type, each a value or a list of values, e.g.
    /// `{"phone": "13800138000", "wechat_openid": ["oA", "oB"]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<BTreeMap<String, IdentityValues>>,
    /// A `user_id` identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<TextOrNumber>,
    /// An `anonymous_id` identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<TextOrNumber>,
    /// The id an alias call links to the event's other identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<TextOrNumber>,
    /// The group of a group call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<TextOrNumber>,
    /// The event's properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Traits of an identify (or group) call; `email` and `phone` are identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<Map<String, Value>>,
    /// The sender's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<EventContext>,
}

/// The values of one identity type: one, or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IdentityValues {
    /// One value.
    One(TextOrNumber),
    /// Several values, e.g. a person's two WeChat openids.
    Many(Vec<TextOrNumber>),
}
