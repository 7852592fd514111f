//! Every failure of the HTTP API leaves as one JSON shape, [`ErrorBody`], with the
//! status its [`ErrorCode`] fixes. Internal causes are logged once, here, and never
//! sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orbit_core::{ErrorCode, Problem};
use orbit_engine::EngineError;
use orbit_ingest::Rejection;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
    /// In a batch where every item was refused: each one and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejection>,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code; the table in docs/api.md lists each with its status.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub message: String,
    /// The offending field's path, when one is to blame (`batch[3].timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a template: the line within the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// For a template that does not render: the variable to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
}

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

/// The status each code answers with.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedJson
        | ErrorCode::EmptyBody
        | ErrorCode::WrongType
        | ErrorCode::MissingField
        | ErrorCode::UnknownType
        | ErrorCode::InvalidEventName
        | ErrorCode::MissingIdentity
        | ErrorCode::InvalidTimestamp
        | ErrorCode::TimestampInFuture
        | ErrorCode::EventTooLarge
        | ErrorCode::TooLong
        | ErrorCode::TooDeep
        | ErrorCode::BadGzip
        | ErrorCode::UnreadableBody
        | ErrorCode::InvalidIdentity
        | ErrorCode::InvalidId
        | ErrorCode::InvalidLimit
        | ErrorCode::InvalidCursor
        | ErrorCode::InvalidKind
        | ErrorCode::InvalidScope
        | ErrorCode::InvalidSource
        | ErrorCode::InvalidRequest
        | ErrorCode::InvalidQuery
        | ErrorCode::InvalidDuration
        | ErrorCode::InvalidSettings
        | ErrorCode::InvalidCondition
        | ErrorCode::InvalidTag
        | ErrorCode::InvalidValue
        | ErrorCode::InvalidFile
        | ErrorCode::InvalidTemplate
        | ErrorCode::InvalidCampaign
        | ErrorCode::InvalidJourney
        | ErrorCode::InvalidConfig
        | ErrorCode::EgressRefused
        | ErrorCode::MalformedReceipt
        | ErrorCode::UnreadableLine
        | ErrorCode::UnknownProfile => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized | ErrorCode::BadSignature => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::CsrfRefused => StatusCode::FORBIDDEN,
        ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::NotFound | ErrorCode::InvalidLink | ErrorCode::NoReceipts => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyExists
        | ErrorCode::InUse
        | ErrorCode::ComputedTag
        | ErrorCode::NotImported
        | ErrorCode::LibraryConflict
        | ErrorCode::WallClock
        | ErrorCode::InvalidState => StatusCode::CONFLICT,
        ErrorCode::BodyTooLarge | ErrorCode::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::RenderFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ApiError {
    /// An error with a code and a message; the code fixes the status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Problem::new(code, message).into()
    }

    /// An error with a code, the offending field and a message.
    pub fn at(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem::at(code, field, message).into()
    }

    /// Lists the rejected items of a batch.
    pub fn with_rejected(mut self, rejected: Vec<Rejection>) -> Self {
        self.body.rejected = rejected;
        self
    }

    /// 401: no credentials or unknown ones.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// 403: the key lacks a scope.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404 for a resource.
    pub fn not_found(what: &str) -> Self {
        Problem::not_found(what).into()
    }

    /// 503 for failures whose cause is logged, not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            ErrorCode::Unavailable,
            "the server could not complete the request; retry later",
        )
    }

    /// The code answered.
    pub fn code(&self) -> ErrorCode {
        self.body.error.code
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self {
            status: status_of(p.code),
            body: ErrorBody {
                error: ErrorDetail {
                    code: p.code,
                    message: p.message,
                    field: p.field,
                    line: p.line,
                    variable: p.variable,
                },
                rejected: Vec::new(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rejected(problem) => problem.into(),
            EngineError::ProfileNotFound => Self::not_found("profile"),
            EngineError::Store(orbit_engine::StoreError::AlreadyExists(what)) => {
                Self::new(ErrorCode::AlreadyExists, format!("it exists already ({what})"))
            }
            other => Self::internal(&other),
        }
    }
}

impl From<orbit_ingest::BodyError> for ApiError {
    fn from(e: orbit_ingest::BodyError) -> Self {
        Self::at(e.code, e.field, e.message)
    }
}

impl From<orbit_ingest::AllRefused> for ApiError {
    fn from(e: orbit_ingest::AllRefused) -> Self {
        Self::from(e.problem).with_rejected(e.rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        for code in ErrorCode::ALL {
            let status = status_of(code);
            assert!(status.is_client_error() || status.is_server_error(), "{code}");
        }
        assert_eq!(status_of(ErrorCode::Unavailable), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            status_of(ErrorCode::RenderFailed),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
