//! Every failure of the HTTP API becomes one JSON shape:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orbit_ingest::Rejection;
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    rejected: Vec<Rejection>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            rejected: Vec::new(),
        }
    }

    /// Names the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    /// Lists the rejected items of a batch.
    pub fn with_rejected(mut self, rejected: Vec<Rejection>) -> Self {
        self.rejected = rejected;
        self
    }

    /// 400 with a code and a field.
    pub fn bad_request(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).with_field(field)
    }

    /// 401: no credentials or unknown ones.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the key lacks a scope.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// 500/503 for failures whose cause is logged, not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server could not complete the request; retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut body = json!({"error": error});
        if !self.rejected.is_empty() {
            body["rejected"] = json!(self.rejected);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<orbit_store::StoreError> for ApiError {
    fn from(e: orbit_store::StoreError) -> Self {
        match e {
            orbit_store::StoreError::AlreadyExists(what) => Self::new(
                StatusCode::CONFLICT,
                "already_exists",
                format!("it exists already ({what})"),
            ),
            other => Self::internal(&other),
        }
    }
}

impl From<orbit_engine::EngineError> for ApiError {
    fn from(e: orbit_engine::EngineError) -> Self {
        match e {
            orbit_engine::EngineError::ProfileNotFound => Self::not_found("profile"),
            other => Self::internal(&other),
        }
    }
}

impl From<orbit_ingest::BodyError> for ApiError {
    fn from(e: orbit_ingest::BodyError) -> Self {
        let status = if e.code == "batch_too_large" {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(status, e.code, e.message).with_field(e.field)
    }
}
