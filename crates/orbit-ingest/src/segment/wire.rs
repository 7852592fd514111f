//! The bodies of Segment's tracking API as documented types (see [`crate::wire`] for
//! why the parser does not read them through these).

use crate::wire::{EventContext, TextOrNumber};
use orbit_core::EventKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Segment's batch call, `POST /v1/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentBatch {
    /// The calls, each with its `type`; at most 2,000.
    pub batch: Vec<SegmentMessage>,
    /// The write key, as current SDKs send it (older ones use Basic auth).
    #[serde(rename = "writeKey", default, skip_serializing_if = "Option::is_none")]
    pub write_key: Option<String>,
    /// When the SDK sent the batch, on the device's clock: with each call's
    /// `originalTimestamp` it corrects a device clock that is off.
    #[serde(rename = "sentAt", default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<TextOrNumber>,
    /// Context shared by every call; a call's own context adds to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<EventContext>,
}

/// One call as Segment's and RudderStack's SDKs send it: an item of a batch, or the
/// body of `/v1/track`, `/v1/identify`, `/v1/page`, `/v1/screen`, `/v1/alias` and
/// `/v1/group`, whose path gives the type. Fields not listed here (`integrations`,
/// `channel`…) are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentMessage {
    /// The call type; required in a batch.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EventKind>,
    /// The event name of a track call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Order Completed")]
    pub event: Option<String>,
    /// The page or screen name of a page or screen call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The person's id in the brand's systems: a `user_id` identity.
    #[serde(rename = "userId", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<TextOrNumber>,
    /// The SDK's id of a person not yet known: an `anonymous_id` identity.
    #[serde(rename = "anonymousId", default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<TextOrNumber>,
    /// The id an alias call links to `userId`.
    #[serde(rename = "previousId", default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<TextOrNumber>,
    /// The group of a group call.
    #[serde(rename = "groupId", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<TextOrNumber>,
    /// Unique per source: a call resent with the same id is stored once.
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<TextOrNumber>,
    /// When it happened; `originalTimestamp` wins when both are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TextOrNumber>,
    /// When it happened on the device's clock, corrected by `sentAt`.
    #[serde(
        rename = "originalTimestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub original_timestamp: Option<TextOrNumber>,
    /// When the SDK sent it, on the device's clock.
    #[serde(rename = "sentAt", default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<TextOrNumber>,
    /// The event's properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Traits of an identify (or group) call; `email` and `phone` are identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<Map<String, Value>>,
    /// The sender's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<EventContext>,
    /// The write key, as browser SDKs send it in the body of a single call.
    #[serde(rename = "writeKey", default, skip_serializing_if = "Option::is_none")]
    pub write_key: Option<String>,
}
