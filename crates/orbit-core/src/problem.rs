//! What is wrong with a request, as its sender is told: a stable [`ErrorCode`], the
//! field to blame, and words for people. Every layer that refuses input says so with a
//! [`Problem`]; the HTTP layer turns the code into a status, and nothing else.

use serde::{Deserialize, Serialize};

/// Every code a refusal can carry. Codes are stable: clients match on them, so one is
/// added, never renamed. The HTTP status each one answers with is fixed by the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON.
    MalformedJson,
    /// The body is empty.
    EmptyBody,
    /// A field has the wrong JSON type.
    WrongType,
    /// A required field is missing.
    MissingField,
    /// An event's `type` is not one Orbit knows.
    UnknownType,
    /// An event name is not snake_case text of 1–64 characters.
    InvalidEventName,
    /// An event names nobody: it carries no identity.
    MissingIdentity,
    /// A time is not RFC 3339.
    InvalidTimestamp,
    /// An event is stamped too far in the future.
    TimestampInFuture,
    /// One event is over the size limit.
    EventTooLarge,
    /// A text field is over its length limit.
    TooLong,
    /// JSON nested deeper than allowed.
    TooDeep,
    /// A gzip body does not inflate.
    BadGzip,
    /// The body could not be read.
    UnreadableBody,
    /// An identity is not `TYPE:VALUE`, or its value is not valid for its type.
    InvalidIdentity,
    /// An id is not `[a-z0-9_-]{1,64}` (or not a profile id).
    InvalidId,
    /// A page size is out of range.
    InvalidLimit,
    /// A cursor is not one the previous page gave.
    InvalidCursor,
    /// A key kind is not `write` or `api`.
    InvalidKind,
    /// A key scope is unknown.
    InvalidScope,
    /// A source name is invalid or reserved.
    InvalidSource,
    /// A request body or a field of it is invalid.
    InvalidRequest,
    /// A query parameter is invalid.
    InvalidQuery,
    /// A duration is not one Orbit reads (`PT1H`, `1h 30m`).
    InvalidDuration,
    /// The workspace settings are invalid.
    InvalidSettings,
    /// A segment condition is invalid.
    InvalidCondition,
    /// A tag definition is invalid.
    InvalidTag,
    /// A tag value is invalid or not one the tag accepts.
    InvalidValue,
    /// An uploaded file cannot be read.
    InvalidFile,
    /// A template does not compile.
    InvalidTemplate,
    /// A campaign definition is invalid.
    InvalidCampaign,
    /// A journey definition cannot be published: the field names the node.
    InvalidJourney,
    /// A provider configuration is invalid.
    InvalidConfig,
    /// A provider destination is an internal address the egress guard refuses.
    EgressRefused,
    /// A delivery receipt a provider pushed cannot be read.
    MalformedReceipt,
    /// A line of an imported file cannot be read (an import's answer lists it).
    UnreadableLine,
    /// No profile holds an imported line's identity (an import's answer lists it).
    UnknownProfile,
    /// No credentials, or unknown or revoked ones.
    Unauthorized,
    /// A provider's receipt push is not signed as the provider signs.
    BadSignature,
    /// The key or the operator's role lacks a permission.
    Forbidden,
    /// A console request changing something came without the session's CSRF token.
    CsrfRefused,
    /// Too many failed logins: wait before trying again.
    TooManyAttempts,
    /// The resource does not exist.
    NotFound,
    /// A tracked link's token is forged or used where it does not belong.
    InvalidLink,
    /// The provider account takes no receipt pushes.
    NoReceipts,
    /// An id is taken.
    AlreadyExists,
    /// Other definitions name the resource.
    InUse,
    /// The tag's values are computed, so they cannot be set.
    ComputedTag,
    /// The tag is not an imported one.
    NotImported,
    /// Installing a tag library would change tags that exist.
    LibraryConflict,
    /// The server runs on the wall clock, which cannot be moved.
    WallClock,
    /// The resource's state does not allow the command.
    InvalidState,
    /// The body is over the size limit.
    BodyTooLarge,
    /// A batch holds too many events.
    BatchTooLarge,
    /// The body's `Content-Encoding` is not supported.
    UnsupportedEncoding,
    /// A template compiles but does not render for this person.
    RenderFailed,
    /// Orbit could not complete the request; nothing was acknowledged, retry.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order they are documented.
    pub const ALL: [ErrorCode; 57] = [
        ErrorCode::MalformedJson,
        ErrorCode::EmptyBody,
        ErrorCode::WrongType,
        ErrorCode::MissingField,
        ErrorCode::UnknownType,
        ErrorCode::InvalidEventName,
        ErrorCode::MissingIdentity,
        ErrorCode::InvalidTimestamp,
        ErrorCode::TimestampInFuture,
        ErrorCode::EventTooLarge,
        ErrorCode::TooLong,
        ErrorCode::TooDeep,
        ErrorCode::BadGzip,
        ErrorCode::UnreadableBody,
        ErrorCode::InvalidIdentity,
        ErrorCode::InvalidId,
        ErrorCode::InvalidLimit,
        ErrorCode::InvalidCursor,
        ErrorCode::InvalidKind,
        ErrorCode::InvalidScope,
        ErrorCode::InvalidSource,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidDuration,
        ErrorCode::InvalidSettings,
        ErrorCode::InvalidCondition,
        ErrorCode::InvalidTag,
        ErrorCode::InvalidValue,
        ErrorCode::InvalidFile,
        ErrorCode::InvalidTemplate,
        ErrorCode::InvalidCampaign,
        ErrorCode::InvalidJourney,
        ErrorCode::InvalidConfig,
        ErrorCode::EgressRefused,
        ErrorCode::MalformedReceipt,
        ErrorCode::UnreadableLine,
        ErrorCode::UnknownProfile,
        ErrorCode::Unauthorized,
        ErrorCode::BadSignature,
        ErrorCode::Forbidden,
        ErrorCode::CsrfRefused,
        ErrorCode::TooManyAttempts,
        ErrorCode::NotFound,
        ErrorCode::InvalidLink,
        ErrorCode::NoReceipts,
        ErrorCode::AlreadyExists,
        ErrorCode::InUse,
        ErrorCode::ComputedTag,
        ErrorCode::NotImported,
        ErrorCode::LibraryConflict,
        ErrorCode::WallClock,
        ErrorCode::InvalidState,
        ErrorCode::BodyTooLarge,
        ErrorCode::BatchTooLarge,
        ErrorCode::UnsupportedEncoding,
        ErrorCode::RenderFailed,
        ErrorCode::Unavailable,
    ];

    /// The code as it is written in answers (`missing_field`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::EmptyBody => "empty_body",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidEventName => "invalid_event_name",
            ErrorCode::MissingIdentity => "missing_identity",
            ErrorCode::InvalidTimestamp => "invalid_timestamp",
            ErrorCode::TimestampInFuture => "timestamp_in_future",
            ErrorCode::EventTooLarge => "event_too_large",
            ErrorCode::TooLong => "too_long",
            ErrorCode::TooDeep => "too_deep",
            ErrorCode::BadGzip => "bad_gzip",
            ErrorCode::UnreadableBody => "unreadable_body",
            ErrorCode::InvalidIdentity => "invalid_identity",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::InvalidLimit => "invalid_limit",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::InvalidKind => "invalid_kind",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidSource => "invalid_source",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidDuration => "invalid_duration",
            ErrorCode::InvalidSettings => "invalid_settings",
            ErrorCode::InvalidCondition => "invalid_condition",
            ErrorCode::InvalidTag => "invalid_tag",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidFile => "invalid_file",
            ErrorCode::InvalidTemplate => "invalid_template",
            ErrorCode::InvalidCampaign => "invalid_campaign",
            ErrorCode::InvalidJourney => "invalid_journey",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::EgressRefused => "egress_refused",
            ErrorCode::MalformedReceipt => "malformed_receipt",
            ErrorCode::UnreadableLine => "unreadable_line",
            ErrorCode::UnknownProfile => "unknown_profile",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::CsrfRefused => "csrf_refused",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidLink => "invalid_link",
            ErrorCode::NoReceipts => "no_receipts",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InUse => "in_use",
            ErrorCode::ComputedTag => "computed_tag",
            ErrorCode::NotImported => "not_imported",
            ErrorCode::LibraryConflict => "library_conflict",
            ErrorCode::WallClock => "wall_clock",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::UnsupportedEncoding => "unsupported_encoding",
            ErrorCode::RenderFailed => "render_failed",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request: what is wrong, where, and (for templates) the line and variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Problem {
    /// The stable code.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub message: String,
    /// The offending field's path in the request (`batch[3].event`, `config.secret`).
    pub field: Option<String>,
    /// The line within the field, for a template.
    pub line: Option<u32>,
    /// The variable to blame, for a template that does not render.
    pub variable: Option<String>,
}

impl Problem {
    /// A problem with a code and a message, no field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            line: None,
            variable: None,
        }
    }

    /// A problem with a field; an empty field means the request as a whole.
    pub fn at(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, message).with_field(field)
    }

    /// Names the offending field (an empty one names none).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    /// `not_found`: "no such {what}".
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    /// `invalid_request` at `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::at(ErrorCode::InvalidRequest, field, message)
    }
}
