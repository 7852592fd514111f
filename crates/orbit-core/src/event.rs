//! Normalised events: what every wire format becomes before it enters the log.

use crate::contact::{Email, Phone};
use crate::identity::{Identity, IdentityKind};
use crate::ids::{SourceId, WorkspaceId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON object of traits, properties or context.
pub type JsonObject = Map<String, Value>;

/// The longest event name accepted, in characters.
pub const MAX_EVENT_NAME_LEN: usize = 200;

/// What an event records, after Segment's call types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Something the person did (`order_paid`).
    Track,
    /// Who the person is: identities and traits.
    Identify,
    /// A web page view.
    Page,
    /// An app screen view.
    Screen,
    /// Two identifiers of one person (`previousId` → `userId`).
    Alias,
    /// The person belongs to a group (company, household, store).
    Group,
}

impl EventKind {
    /// The kind's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Identify => "identify",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Alias => "alias",
            Self::Group => "group",
        }
    }

    /// Parses a stored kind name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "track" => Self::Track,
            "identify" => Self::Identify,
            "page" => Self::Page,
            "screen" => Self::Screen,
            "alias" => Self::Alias,
            "group" => Self::Group,
            _ => return None,
        })
    }
}

/// Why an event name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventNameError {
    /// The name was empty or only whitespace.
    #[error("must not be empty")]
    Empty,
    /// The name was too long.
    #[error("must be at most {MAX_EVENT_NAME_LEN} characters")]
    TooLong,
    /// The name contained control characters.
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// The name of a tracked event (`order_paid`, `Order Completed`, `加入购物车`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(example = "order_paid")]
pub struct EventName(String);

impl EventName {
    /// Trims and validates an event name.
    pub fn parse(raw: &str) -> Result<Self, EventNameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EventNameError::Empty);
        }
        if trimmed.chars().count() > MAX_EVENT_NAME_LEN {
            return Err(EventNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(EventNameError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventName {
    type Error = EventNameError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<EventName> for String {
    fn from(name: EventName) -> String {
        name.0
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that was not usable as sent, kept raw for audit and flagged on the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataIssue {
    /// Where the value was found (`traits.email`).
    pub field: String,
    /// The value as it arrived.
    pub raw: String,
    /// What is wrong with it.
    pub problem: String,
}

/// An event as Orbit stores it, whatever format it arrived in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The workspace the event belongs to.
    pub workspace_id: WorkspaceId,
    /// The source (write key) that sent it.
    pub source_id: SourceId,
    /// The sender's idempotency key: duplicates within a workspace and source are stored once.
    pub message_id: String,
    /// The call type.
    pub kind: EventKind,
    /// The event name for `track`, the page or screen name for `page`/`screen`.
    pub name: Option<EventName>,
    /// When it happened, after clock-skew correction.
    pub timestamp: Timestamp,
    /// When Orbit received it.
    pub received_at: Timestamp,
    /// The identities found in it, cleaned, in the order found.
    pub identities: Vec<Identity>,
    /// `userId` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `anonymousId` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// `previousId` of an alias call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    /// `groupId` of a group call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Traits to set on the profile (identify) or group.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: JsonObject,
    /// Event properties.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: JsonObject,
    /// The sender's context (library, device, locale, campaign…).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: JsonObject,
    /// Values that could not be used as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<DataIssue>,
}

/// Where the identities of one event come from, before cleaning.
#[derive(Debug, Default)]
pub struct IdentitySources<'a> {
    /// `userId`.
    pub user_id: Option<&'a str>,
    /// `anonymousId`.
    pub anonymous_id: Option<&'a str>,
    /// The event's traits (identify) — `email` and `phone` are identities.
    pub traits: Option<&'a JsonObject>,
    /// `context`, holding `traits`, `device.id` and an `identities` object.
    pub context: Option<&'a JsonObject>,
}

/// What extraction found: identities, normalised trait values and rejected values.
#[derive(Debug, Default, PartialEq)]
pub struct ExtractedIdentities {
    /// Valid identities, de-duplicated, in the order found.
    pub identities: Vec<Identity>,
    /// Values that were refused.
    pub issues: Vec<DataIssue>,
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Cleans one identity value: emails and phones are validated and normalised.
///
/// # Errors
/// What is wrong with the value, for a data-quality flag.
pub fn clean_identity(
    kind: IdentityKind,
    raw: &str,
    default_region: phonenumber::country::Id,
) -> Result<Identity, String> {
    let value = match kind {
        IdentityKind::Email => Email::parse(raw).map_err(|e| e.to_string())?.as_str().to_owned(),
        IdentityKind::Phone => Phone::parse(raw, default_region)
            .map_err(|e| e.to_string())?
            .as_str()
            .to_owned(),
        _ => raw.trim().to_owned(),
    };
    Identity::new(kind, value).map_err(|e| e.to_string())
}

/// Finds and cleans the identities of one event.
///
/// Emails and phones are validated and normalised; invalid ones are reported as issues
/// and never become identities. `context.identities` is an object of `type: value`.
pub fn extract_identities(
    sources: &IdentitySources<'_>,
    default_region: phonenumber::country::Id,
) -> ExtractedIdentities {
    let mut found = ExtractedIdentities::default();
    let push =
        |found: &mut ExtractedIdentities, field: &str, kind: IdentityKind, raw: String| match clean_identity(
            kind,
            &raw,
            default_region,
        ) {
            Ok(identity) if !found.identities.contains(&identity) => found.identities.push(identity),
            Ok(_) => {}
            Err(problem) => found.issues.push(DataIssue {
                field: field.to_owned(),
                raw,
                problem,
            }),
        };
    if let Some(user_id) = sources.user_id.filter(|s| !s.trim().is_empty()) {
        push(
            &mut found,
            "userId",
            IdentityKind::UserId,
            user_id.trim().to_owned(),
        );
    }
    if let Some(anonymous_id) = sources.anonymous_id.filter(|s| !s.trim().is_empty()) {
        push(
            &mut found,
            "anonymousId",
            IdentityKind::AnonymousId,
            anonymous_id.trim().to_owned(),
        );
    }
    let context_traits = sources
        .context
        .and_then(|c| c.get("traits"))
        .and_then(Value::as_object);
    for (prefix, traits) in [("traits", sources.traits), ("context.traits", context_traits)] {
        let Some(traits) = traits else { continue };
        for (key, kind) in [("email", IdentityKind::Email), ("phone", IdentityKind::Phone)] {
            if let Some(raw) = traits.get(key).and_then(scalar_text) {
                push(&mut found, &format!("{prefix}.{key}"), kind, raw);
            }
        }
    }
    if let Some(context) = sources.context {
        if let Some(device_id) = context
            .get("device")
            .and_then(|d| d.get("id"))
            .and_then(scalar_text)
        {
            push(&mut found, "context.device.id", IdentityKind::DeviceId, device_id);
        }
        if let Some(extra) = context.get("identities").and_then(Value::as_object) {
            for (kind, value) in extra {
                let field = format!("context.identities.{kind}");
                match (IdentityKind::parse(kind), scalar_text(value)) {
                    (Ok(kind), Some(raw)) => push(&mut found, &field, kind, raw),
                    (Err(e), _) => found.issues.push(DataIssue {
                        field,
                        raw: value.to_string(),
                        problem: e.to_string(),
                    }),
                    (Ok(_), None) => found.issues.push(DataIssue {
                        field,
                        raw: value.to_string(),
                        problem: "must be a non-empty string or a number".to_owned(),
                    }),
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> JsonObject {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn identities_come_from_every_documented_place() {
        let traits = object(json!({"email": " Mei@Example.com", "phone": "13800138000"}));
        let context = object(json!({
            "device": {"id": "dev-1"},
            "traits": {"email": "mei@example.com"},
            "identities": {"wechat_openid": "oX1", "member_card": 1001}
        }));
        let found = extract_identities(
            &IdentitySources {
                user_id: Some("u1"),
                anonymous_id: Some("a1"),
                traits: Some(&traits),
                context: Some(&context),
            },
            phonenumber::country::Id::CN,
        );
        let names: Vec<String> = found.identities.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "user_id:u1",
                "anonymous_id:a1",
                "email:mei@example.com",
                "phone:+8613800138000",
                "device_id:dev-1",
                "member_card:1001",
                "wechat_openid:oX1"
            ]
        );
        assert!(found.issues.is_empty());
    }

    #[test]
    fn invalid_contacts_are_flagged_not_used() {
        let traits = object(json!({"email": "not-an-email", "phone": "123"}));
        let found = extract_identities(
            &IdentitySources {
                user_id: Some("u1"),
                traits: Some(&traits),
                ..Default::default()
            },
            phonenumber::country::Id::CN,
        );
        assert_eq!(found.identities.len(), 1);
        let fields: Vec<&str> = found.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["traits.email", "traits.phone"]);
        assert_eq!(found.issues[0].raw, "not-an-email");
    }
}
