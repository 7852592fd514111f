//! Wire formats → normalised events.
//!
//! Each format is a module that turns a parsed JSON body into [`NewEvent`]s, naming
//! exactly which items were rejected and why; valid items of a batch are kept. Nothing
//! here does I/O: the HTTP layer hands over the body and the receive time. Each format
//! also describes its body with documented types ([`wire`]), and [`IngestAnswer`] is
//! what every ingestion endpoint answers.

mod fields;
pub mod native;
mod normalise;
pub mod segment;
pub mod wire;

use jiff::{SignedDuration, Timestamp};
use orbit_core::{ErrorCode, Problem};
use orbit_core::{NewEvent, SourceId, WorkspaceId};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Largest request body accepted, after gzip decompression (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 2_000;
/// Largest single event, as JSON (64 KiB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Deepest nesting of objects and arrays in a body.
pub const MAX_JSON_DEPTH: usize = 32;
/// How far after its receipt an event's time may lie before it is refused.
pub const DEFAULT_MAX_FUTURE: SignedDuration = SignedDuration::from_hours(24);

/// What the ingestion layer knows about a request besides its body.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// The workspace of the key that sent it.
    pub workspace_id: WorkspaceId,
    /// The source of the key that sent it.
    pub source_id: SourceId,
    /// When the request arrived.
    pub received_at: Timestamp,
    /// The region for phone numbers without a country code.
    pub default_region: phonenumber::country::Id,
    /// Events more than this far in the future are refused.
    pub max_future: SignedDuration,
    /// The size of the body the events came in, when known: no event in it is larger,
    /// so the events of a body within [`MAX_EVENT_BYTES`] need not be measured.
    pub body_bytes: Option<usize>,
}

impl IngestContext {
    /// The size of an event's JSON when it may exceed [`MAX_EVENT_BYTES`]; `None`
    /// when its body is small enough that it cannot.
    pub(crate) fn oversized(&self, event: &serde_json::Map<String, Value>) -> Option<usize> {
        if self.body_bytes.is_some_and(|bytes| bytes <= MAX_EVENT_BYTES) {
            return None;
        }
        Some(fields::encoded_len(event)).filter(|size| *size > MAX_EVENT_BYTES)
    }
}

/// Why one event of a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rejection {
    /// The item's index in the batch (0 for single-event endpoints).
    pub index: usize,
    /// The offending field, as a path (`batch[3].event`, `properties`).
    pub field: String,
    /// A stable machine-readable code.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub message: String,
}

/// A problem with one field of one event, before it knows its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path within the event.
    pub field: String,
    /// A stable code.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// A request body that cannot be read as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BodyError {
    /// The offending field (empty for the body itself).
    pub field: String,
    /// A stable code.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

impl BodyError {
    fn new(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message: message.into(),
        }
    }
}

/// The events of one request that were accepted, and those that were not.
#[derive(Debug, Default)]
pub struct ParsedBatch {
    /// Valid events with their index in the request.
    pub accepted: Vec<(usize, NewEvent)>,
    /// Refused items.
    pub rejected: Vec<Rejection>,
}

/// A request whose every item was refused: it fails as a whole, so that SDKs do not
/// retry a batch that can never succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct AllRefused {
    /// The first item's problem, or a summary when there were several.
    pub problem: Problem,
    /// Every item and why it was refused.
    pub rejected: Vec<Rejection>,
}

/// The answer to an ingestion call, once the accepted events are durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IngestAnswer {
    /// Always `true`: a call that fails answers with an error instead.
    pub success: bool,
    /// Events stored or recognised as duplicates.
    pub accepted: usize,
    /// Accepted events whose message id was already stored (kept once).
    pub duplicates: usize,
    /// Items refused, with the reason; the others were kept.
    pub rejected: Vec<Rejection>,
}

impl IngestAnswer {
    /// The answer for `accepted` events made durable, `duplicates` of them already
    /// stored, beside the items `rejected`.
    pub fn new(accepted: usize, duplicates: usize, rejected: Vec<Rejection>) -> Self {
        debug_assert!(duplicates <= accepted, "duplicates are among the accepted");
        Self {
            success: true,
            accepted,
            duplicates,
            rejected,
        }
    }
}

impl ParsedBatch {
    /// The events to append, in request order, and the items refused.
    ///
    /// # Errors
    /// [`AllRefused`] when items were sent and every one was refused: nothing is to
    /// be appended.
    pub fn into_appendable(self) -> Result<(Vec<NewEvent>, Vec<Rejection>), AllRefused> {
        let Self { accepted, rejected } = self;
        if let (true, Some(first)) = (accepted.is_empty(), rejected.first()) {
            let message = if rejected.len() == 1 {
                first.message.clone()
            } else {
                format!("all {} events were rejected; see rejected", rejected.len())
            };
            let problem = Problem::at(first.code, first.field.clone(), message);
            return Err(AllRefused { problem, rejected });
        }
        Ok((accepted.into_iter().map(|(_, event)| event).collect(), rejected))
    }

    fn push(&mut self, index: usize, prefix: &str, result: Result<NewEvent, FieldError>) {
        match result {
            Ok(event) => self.accepted.push((index, event)),
            Err(e) => {
                let field = match (prefix.is_empty(), e.field.is_empty()) {
                    (true, _) => e.field,
                    (false, true) => prefix.to_owned(),
                    (false, false) => format!("{prefix}.{}", e.field),
                };
                self.rejected.push(Rejection {
                    index,
                    field,
                    code: e.code,
                    message: e.message,
                });
            }
        }
    }
}

/// A batch body's object, with its array of items under `key` taken out, within the
/// batch limit.
pub(crate) fn batch_items(
    body: Value,
    key: &str,
) -> Result<(serde_json::Map<String, Value>, Vec<Value>), BodyError> {
    let Value::Object(mut root) = body else {
        return Err(BodyError::new(
            "",
            ErrorCode::WrongType,
            "the body must be a JSON object",
        ));
    };
    let items = match root.remove(key) {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(BodyError::new(
                key,
                ErrorCode::WrongType,
                format!("{key} must be an array"),
            ));
        }
        None => {
            return Err(BodyError::new(
                key,
                ErrorCode::MissingField,
                format!("the body needs a {key} array"),
            ));
        }
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(BodyError::new(
            key,
            ErrorCode::BatchTooLarge,
            format!(
                "a batch holds at most {MAX_BATCH_EVENTS} events, this one {}",
                items.len()
            ),
        ));
    }
    Ok((root, items))
}

/// Parses a request body as JSON, whatever its declared content type, within the depth limit.
pub fn parse_json_body(body: &[u8]) -> Result<serde_json::Value, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::new(
            "",
            ErrorCode::EmptyBody,
            "the request body is empty",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        BodyError::new(
            "",
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if fields::depth(&value) > MAX_JSON_DEPTH {
        return Err(BodyError::new(
            "",
            ErrorCode::TooDeep,
            format!("the body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels"),
        ));
    }
    Ok(value)
}
