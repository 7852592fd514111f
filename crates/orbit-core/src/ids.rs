//! Identifiers of the aggregates: workspaces, sources, profiles, segments, tags.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier was empty.
    #[error("must not be empty")]
    Empty,
    /// The identifier was longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The maximum length.
        max: usize,
    },
    /// The identifier held a character outside `[a-z0-9_-]`.
    #[error("may only contain a-z, 0-9, '_' and '-'")]
    BadCharacter,
    /// A profile id that is not a UUID.
    #[error("is not a valid profile id")]
    NotAProfileId,
}

fn parse_slug(raw: &str, max: usize) -> Result<String, IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > max {
        return Err(IdError::TooLong { max });
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if !raw.chars().all(allowed) {
        return Err(IdError::BadCharacter);
    }
    Ok(raw.to_owned())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1–64 characters of `[a-z0-9_-]`.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                parse_slug(raw, $max).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(format!("^[a-z0-9_-]{{1,{}}}$", $max)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A workspace: one brand's isolated data. Every stored row carries one.
    WorkspaceId,
    64
);
slug_id!(
    /// A source of events (an app, a web site, an import), named by its write key.
    SourceId,
    64
);

slug_id!(
    /// A segment: a named audience, dynamic or static.
    SegmentId,
    64
);

slug_id!(
    /// A tag: one dimension of a person (lifecycle stage, RFM group, a preference).
    TagId,
    64
);

slug_id!(
    /// A message template: content per channel, rendered per recipient.
    TemplateId,
    64
);

slug_id!(
    /// A campaign: a broadcast of content to a segment, now, later or on a schedule.
    CampaignId,
    64
);

slug_id!(
    /// A configured channel: one provider account (an SMTP relay, an SMS account…).
    ChannelId,
    64
);

slug_id!(
    /// A journey: an automation that people enter and move through node by node.
    JourneyId,
    64
);

slug_id!(
    /// A node of a journey's graph, unique within the journey.
    NodeId,
    64
);

/// Mints ids for definitions created without one: the prefix, a dash, and 12 random
/// hexadecimal digits (`seg-3f9a0c51d2e4`).
macro_rules! minted_id {
    ($name:ident, $prefix:literal) => {
        impl $name {
            /// A new random id, for a definition created without one.
            pub fn mint() -> Self {
                Self(mint_slug($prefix))
            }
        }
    };
}

fn mint_slug(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &random[..12])
}

minted_id!(SegmentId, "seg");
minted_id!(TagId, "tag");
minted_id!(TemplateId, "tpl");
minted_id!(CampaignId, "campaign");
minted_id!(ChannelId, "channel");
minted_id!(JourneyId, "journey");

/// The source Orbit's own events are appended under; no key may send as it.
const SYSTEM_SOURCE: &str = "orbit";

impl SourceId {
    /// The source of the events Orbit appends itself (segment transitions…).
    pub fn system() -> Self {
        Self(SYSTEM_SOURCE.to_owned())
    }

    /// Whether this is Orbit's own source.
    pub fn is_system(&self) -> bool {
        self.0 == SYSTEM_SOURCE
    }

    /// The source a write key minted without one sends as.
    pub fn default_source() -> Self {
        Self("default".to_owned())
    }

    /// The source of events sent with an API key rather than a write key.
    pub fn api() -> Self {
        Self("api".to_owned())
    }
}

impl WorkspaceId {
    /// The workspace that exists out of the box.
    pub fn default_workspace() -> Self {
        Self("default".to_owned())
    }
}

/// A profile: one person as Orbit knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileId(uuid::Uuid);

impl ProfileId {
    /// A new, time-ordered profile id minted at `at`, with `random` filling the rest.
    pub fn mint(at: jiff::Timestamp, random: u128) -> Self {
        let millis = u64::try_from(at.as_millisecond()).unwrap_or(0);
        let bytes = random.to_be_bytes();
        let mut rand_bytes = [0u8; 10];
        rand_bytes.copy_from_slice(&bytes[6..]);
        let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &rand_bytes).into_uuid();
        Self(uuid)
    }

    /// When the id was minted: the time of the event that created the profile, as
    /// received. `None` for an id that is not time-ordered (UUID version 7).
    pub fn minted_at_ms(&self) -> Option<i64> {
        if self.0.get_version_num() != 7 {
            return None;
        }
        // A version 7 UUID opens with its 48-bit Unix time in milliseconds.
        let mut millis = [0u8; 8];
        millis[2..].copy_from_slice(&self.0.as_bytes()[..6]);
        i64::try_from(u64::from_be_bytes(millis)).ok()
    }

    /// The id's 16 bytes, for stable hashing.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id whose bytes ([`ProfileId::as_bytes`]) these are, for compact encodings.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    /// Parses the textual form (a UUID).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        uuid::Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| IdError::NotAProfileId)
    }
}

impl utoipa::PartialSchema for ProfileId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Uuid,
            )))
            .into()
    }
}

impl utoipa::ToSchema for ProfileId {}

impl TryFrom<String> for ProfileId {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<ProfileId> for String {
    fn from(id: ProfileId) -> String {
        id.to_string()
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_valid_prefixed_and_distinct() {
        let (a, b) = (SegmentId::mint(), SegmentId::mint());
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("seg-") && a.as_str().len() == 16);
        assert_eq!(SegmentId::parse(a.as_str()), Ok(a));
        assert!(CampaignId::mint().as_str().starts_with("campaign-"));
    }

    #[test]
    fn workspace_ids_refuse_uppercase_and_empty() {
        assert_eq!(WorkspaceId::parse(""), Err(IdError::Empty));
        assert_eq!(WorkspaceId::parse("Acme"), Err(IdError::BadCharacter));
        assert!(WorkspaceId::parse("acme-tea_2").is_ok());
    }

    #[test]
    fn profile_ids_round_trip_through_text() {
        let id = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 42);
        assert_eq!(ProfileId::parse(&id.to_string()), Ok(id));
        assert_eq!(ProfileId::parse("nope"), Err(IdError::NotAProfileId));
    }

    #[test]
    fn a_minted_id_tells_when_it_was_minted() {
        let at = jiff::Timestamp::from_millisecond(1_796_000_123_456).expect("a time");
        assert_eq!(ProfileId::mint(at, 42).minted_at_ms(), Some(1_796_000_123_456));
        let random = ProfileId::parse("6f1c1a52-8a0e-4c5e-9d7b-2f0f3a1b2c3d").expect("a UUID");
        assert_eq!(random.minted_at_ms(), None, "a version 4 UUID has no time");
    }
}
