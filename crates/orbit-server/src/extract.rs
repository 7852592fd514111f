//! Extractors whose rejections answer in the API's JSON error shape: a typed JSON
//! body and a typed query string, each naming the exact path of an offending field.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_json;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use orbit_core::ErrorCode;
use orbit_engine::service::keys::Scope;
use serde::de::DeserializeOwned;

/// A request body type, with the code its mismatches answer with.
pub trait ApiBody: DeserializeOwned {
    /// The permissions a caller needs to send this body, checked before the body is
    /// read: a caller without them is refused (403) whatever they sent, and learns
    /// nothing about what the body should hold. Empty for a body sent before there is
    /// a caller (a login).
    const REQUIRES: &'static [Scope];

    /// The code of a body that does not fit the type.
    const INVALID: ErrorCode = ErrorCode::InvalidRequest;

    /// The code of a mismatch at `field` (a path such as `config.url`): [`Self::INVALID`]
    /// unless a part of the body has a code of its own.
    fn invalid_at(field: &str) -> ErrorCode {
        let _ = field;
        Self::INVALID
    }
}

/// A JSON body read into `T`: at most the body limit, gzip inflated, whatever the
/// content type (browser SDKs send JSON as `text/plain` to avoid CORS pre-flights).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: ApiBody> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        if !T::REQUIRES.is_empty() {
            let caller = ApiCaller::from_request_parts(&mut parts, state).await?;
            for scope in T::REQUIRES {
                caller.require(*scope)?;
            }
        }
        let value = read_json(&parts.headers, body).await?;
        serde_path_to_error::deserialize(value).map(ApiJson).map_err(|e| {
            let field = field_path(&e);
            ApiError::at(T::invalid_at(&field), field, e.into_inner().to_string())
        })
    }
}

/// The query string read into `T`; a bad parameter is a JSON `400`, not axum's text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                ApiError::at(
                    ErrorCode::InvalidQuery,
                    field_path(&e),
                    e.into_inner().to_string(),
                )
            })
    }
}

/// The path serde stopped at, empty for the whole document.
fn field_path<E>(e: &serde_path_to_error::Error<E>) -> String {
    let field = e.path().to_string();
    if field == "." { String::new() } else { field }
}
