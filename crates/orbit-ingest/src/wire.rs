//! What the formats share on the wire: values SDKs send as text or as a number, and
//! the `context` object whose traits, device and identities name the person.
//!
//! These types document the request bodies; the parsers read the same bodies item by
//! item from JSON, so that one bad item is refused with its index and field while the
//! others are kept. A test holds the two together: real SDK payloads read into these
//! types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A value SDKs send as text or as a number: ids (`"userId": 42`) and times (an ISO
/// 8601 date-time, or epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TextOrNumber {
    /// As text; surrounding whitespace is trimmed.
    Text(String),
    /// As a number, read as its decimal text (a time: epoch milliseconds).
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

/// The sender's context: kept with the event as sent; the fields below also name
/// the person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventContext {
    /// Traits whose `email` and `phone` are identities; an identify call without
    /// `traits` takes its traits from here (Analytics.js 2.0, the mobile SDKs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<Map<String, Value>>,
    /// The device, whose `id` is a `device_id` identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceContext>,
    /// More identities by type, e.g. `{"wechat_openid": "oX1", "member_card": 1001}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<BTreeMap<String, TextOrNumber>>,
    /// Everything else (`library`, `locale`, `campaign`, `page`…), kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The device an event was sent from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceContext {
    /// The device's id: a `device_id` identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TextOrNumber>,
    /// Everything else (`manufacturer`, `model`…), kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
