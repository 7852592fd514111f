//! Segment's HTTP tracking API, as Segment's and RudderStack's SDKs send it.
//!
//! `/v1/batch` carries `{"batch": [...], "sentAt", "context", "writeKey"}`; the single
//! endpoints carry one message whose type is given by the path. Identify traits may be
//! in `traits` or `context.traits`.

use crate::fields::{opt_id, opt_string, opt_timestamp, take_object};
use crate::normalise::{Draft, finish};
use crate::{BodyError, FieldError, IngestContext, MAX_EVENT_BYTES, ParsedBatch};
use orbit_core::ErrorCode;
use orbit_core::EventKind;
use serde_json::{Map, Value};

mod wire;
pub use wire::{SegmentBatch, SegmentMessage};

/// The call type named by a Segment `type` field or path.
pub fn call_kind(raw: &str) -> Option<EventKind> {
    EventKind::parse(raw)
}

/// The write key carried in the body (`writeKey`), as current SDKs send it.
pub fn body_write_key(body: &Value) -> Option<&str> {
    body.get("writeKey")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
}

/// Parses a `/v1/batch` body, taking its values over rather than copying them.
pub fn parse_batch(body: Value, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
    let (mut root, items) = crate::batch_items(body, "batch")?;
    let sent_at = opt_timestamp(&root, "sentAt").map_err(|e| BodyError::new("sentAt", e.code, e.message))?;
    let shared_context =
        take_object(&mut root, "context").map_err(|e| BodyError::new("context", e.code, e.message))?;
    let mut parsed = ParsedBatch::default();
    for (index, item) in items.into_iter().enumerate() {
        let prefix = format!("batch[{index}]");
        let result = match item {
            Value::Object(msg) => Ok(msg),
            _ => Err(FieldError::new(
                "",
                ErrorCode::WrongType,
                "each batch item must be an object",
            )),
        }
        .and_then(|msg| {
            let kind = match opt_string(&msg, "type")? {
                Some(raw) => call_kind(raw).ok_or_else(|| {
                    FieldError::new(
                        "type",
                        ErrorCode::UnknownType,
                        format!(
                            "unknown type {raw:?}; expected track, identify, page, screen, alias or group"
                        ),
                    )
                })?,
                None => {
                    return Err(FieldError::new(
                        "type",
                        ErrorCode::MissingField,
                        "each batch item needs a type",
                    ));
                }
            };
            parse_message(msg, kind, sent_at, &shared_context, ctx)
        });
        parsed.push(index, &prefix, result);
    }
    Ok(parsed)
}

/// Parses the body of a single-call endpoint (`/v1/track`, `/v1/identify`, …).
pub fn parse_single(body: Value, kind: EventKind, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
    let Value::Object(msg) = body else {
        return Err(BodyError::new(
            "",
            ErrorCode::WrongType,
            "the body must be a JSON object",
        ));
    };
    let mut parsed = ParsedBatch::default();
    parsed.push(0, "", parse_message(msg, kind, None, &Map::new(), ctx));
    Ok(parsed)
}

fn parse_message(
    mut msg: Map<String, Value>,
    kind: EventKind,
    batch_sent_at: Option<jiff::Timestamp>,
    shared_context: &Map<String, Value>,
    ctx: &IngestContext,
) -> Result<orbit_core::NewEvent, FieldError> {
    if let Some(size) = ctx.oversized(&msg) {
        return Err(FieldError::new(
            "",
            ErrorCode::EventTooLarge,
            format!("an event may be at most {MAX_EVENT_BYTES} bytes of JSON, this one {size}"),
        ));
    }
    let own_context = take_object(&mut msg, "context")?;
    let context = if shared_context.is_empty() {
        own_context
    } else {
        let mut merged = shared_context.clone();
        merged.extend(own_context);
        merged
    };
    let mut traits = take_object(&mut msg, "traits")?;
    if kind == EventKind::Identify && traits.is_empty() {
        // Analytics.js 2.0 and the mobile SDKs put identify traits in context.traits.
        if let Some(Value::Object(in_context)) = context.get("traits") {
            traits = in_context.clone();
        }
    }
    let name_key = match kind {
        EventKind::Track => Some("event"),
        EventKind::Page | EventKind::Screen => Some("name"),
        _ => None,
    };
    let name = match name_key.map(|key| (key, msg.remove(key))) {
        None | Some((_, None | Some(Value::Null))) => None,
        Some((_, Some(Value::String(s)))) => Some(s),
        Some((key, Some(_))) => return Err(FieldError::new(key, ErrorCode::WrongType, "must be a string")),
    };
    let device_time = match opt_timestamp(&msg, "originalTimestamp")? {
        Some(t) => Some(t),
        None => opt_timestamp(&msg, "timestamp")?,
    };
    let sent_at = opt_timestamp(&msg, "sentAt")?.or(batch_sent_at);
    let draft = Draft {
        kind: Some(kind),
        name,
        message_id: opt_id(&msg, "messageId")?,
        user_id: opt_id(&msg, "userId")?,
        anonymous_id: opt_id(&msg, "anonymousId")?,
        previous_id: opt_id(&msg, "previousId")?,
        group_id: opt_id(&msg, "groupId")?,
        traits,
        properties: take_object(&mut msg, "properties")?,
        context,
        device_time,
        sent_at,
        identities: Vec::new(),
        issues: Vec::new(),
    };
    finish(draft, ctx)
}

#[cfg(test)]
mod tests;
