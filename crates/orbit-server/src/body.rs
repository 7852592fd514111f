//! Reading request bodies: size limit, gzip, JSON whatever the content type.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_ENCODING;
use http_body_util::{BodyExt, Limited};
use orbit_core::ErrorCode;
use orbit_ingest::MAX_BODY_BYTES;
use std::io::Read;

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        format!("the request body exceeds {MAX_BODY_BYTES} bytes (after decompression)"),
    )
}

/// Reads a request body of at most [`MAX_BODY_BYTES`], inflating gzip, and parses it
/// as JSON. Browser SDKs send JSON as `text/plain` to avoid CORS pre-flights, so the
/// content type is not checked.
pub async fn read_json(headers: &HeaderMap, body: Body) -> Result<serde_json::Value, ApiError> {
    let bytes = read_bytes(headers, body).await?;
    Ok(orbit_ingest::parse_json_body(&bytes)?)
}

/// Reads a request body of at most [`MAX_BODY_BYTES`], inflating gzip.
pub async fn read_bytes(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let raw = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                too_large()
            } else {
                ApiError::new(ErrorCode::UnreadableBody, "the request body could not be read")
            }
        })?
        .to_bytes();
    let encoding = headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    let bytes = match encoding.trim().to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => inflate(&raw)?,
        "identity" | "" => raw.to_vec(),
        other => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedEncoding,
                format!("Content-Encoding {other:?} is not supported; send gzip or nothing"),
            ));
        }
    };
    Ok(bytes)
}

fn inflate(compressed: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(compressed.len() * 4);
    // Read one byte past the limit to tell "exactly at the limit" from "over it", so a
    // gzip bomb stops after MAX_BODY_BYTES.
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(MAX_BODY_BYTES as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| ApiError::new(ErrorCode::BadGzip, format!("the body is not valid gzip: {e}")))?;
    if out.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(out)
}
