//! Identities: the typed identifiers (phone, email, device id, OpenID…) that link a
//! person's events into one profile.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest identity value accepted, in bytes.
pub const MAX_IDENTITY_VALUE_LEN: usize = 256;

/// What kind of identifier an identity is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    /// The brand's own user or member id (`userId`).
    UserId,
    /// An SDK-generated id of a not-yet-known visitor (`anonymousId`).
    AnonymousId,
    /// An email address, normalised.
    Email,
    /// A phone number in E.164 form.
    Phone,
    /// A device identifier (`context.device.id`).
    DeviceId,
    /// A WeChat OpenID (per official account or mini program).
    WechatOpenid,
    /// A WeChat UnionID (across one brand's WeChat apps).
    WechatUnionid,
    /// Any other identifier type a brand defines (member card number, platform ids…).
    Custom(String),
}

/// Why an identity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The text had no `TYPE:VALUE` separator.
    #[error("must be written TYPE:VALUE")]
    MissingSeparator,
    /// The type name is not a valid identifier.
    #[error("identity type must be 1–64 characters of a-z, 0-9 and '_'")]
    BadKind,
    /// The value was empty.
    #[error("identity value must not be empty")]
    EmptyValue,
    /// The value was too long.
    #[error("identity value must be at most {MAX_IDENTITY_VALUE_LEN} bytes")]
    ValueTooLong,
}

impl IdentityKind {
    /// Parses a type name; unknown names are custom types.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        Ok(match raw {
            "user_id" => Self::UserId,
            "anonymous_id" => Self::AnonymousId,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "device_id" => Self::DeviceId,
            "wechat_openid" => Self::WechatOpenid,
            "wechat_unionid" => Self::WechatUnionid,
            other => {
                let valid = !other.is_empty()
                    && other.len() <= 64
                    && other
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return Err(IdentityError::BadKind);
                }
                Self::Custom(other.to_owned())
            }
        })
    }

    /// The type name as written in the API.
    pub fn as_str(&self) -> &str {
        match self {
            Self::UserId => "user_id",
            Self::AnonymousId => "anonymous_id",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::DeviceId => "device_id",
            Self::WechatOpenid => "wechat_openid",
            Self::WechatUnionid => "wechat_unionid",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for IdentityKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for IdentityKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "`user_id`, `anonymous_id`, `email`, `phone`, `device_id`, `wechat_openid`, \
                 `wechat_unionid`, or a custom type (`[a-z0-9_]{1,64}`)",
            ))
            .pattern(Some("^[a-z0-9_]{1,64}$"))
            .into()
    }
}

impl utoipa::ToSchema for IdentityKind {}

impl<'de> Deserialize<'de> for IdentityKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One identifier of a person: a type and a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    /// The identifier's type.
    #[serde(rename = "type")]
    pub kind: IdentityKind,
    /// The identifier's value, normalised where the type has a normal form.
    pub value: String,
}

impl Identity {
    /// An identity of `kind` with `value`, refused when the value is empty or too long.
    ///
    /// Emails and phones must already be normalised (see [`crate::contact`]).
    pub fn new(kind: IdentityKind, value: impl Into<String>) -> Result<Self, IdentityError> {
        let value = value.into();
        if value.trim().is_empty() {
            return Err(IdentityError::EmptyValue);
        }
        if value.len() > MAX_IDENTITY_VALUE_LEN {
            return Err(IdentityError::ValueTooLong);
        }
        Ok(Self { kind, value })
    }

    /// Parses `TYPE:VALUE` as used in `?identity=` look-ups.
    pub fn parse_typed(raw: &str) -> Result<Self, IdentityError> {
        let (kind, value) = raw.split_once(':').ok_or(IdentityError::MissingSeparator)?;
        Self::new(IdentityKind::parse(kind)?, value)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_identities_parse_known_and_custom_kinds() {
        let id = Identity::parse_typed("wechat_openid:o6_bmjrPTlm6_2sgVt7hMZOPfL2M").expect("valid");
        assert_eq!(id.kind, IdentityKind::WechatOpenid);
        let custom = Identity::parse_typed("member_card:88:01").expect("valid");
        assert_eq!(custom.kind, IdentityKind::Custom("member_card".into()));
        assert_eq!(custom.value, "88:01");
    }

    #[test]
    fn malformed_identities_are_refused() {
        assert_eq!(
            Identity::parse_typed("nocolon"),
            Err(IdentityError::MissingSeparator)
        );
        assert_eq!(Identity::parse_typed("Bad Kind:x"), Err(IdentityError::BadKind));
        assert_eq!(Identity::parse_typed("email:"), Err(IdentityError::EmptyValue));
    }
}
