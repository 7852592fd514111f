//! Segment's HTTP tracking API, as Segment's and RudderStack's SDKs send it.
//!
//! `/v1/batch` carries `{"batch": [...], "sentAt", "context", "writeKey"}`; the single
//! endpoints carry one message whose type is given by the path. Identify traits may be
//! in `traits` or `context.traits`.

use crate::fields::{opt_id, opt_object, opt_string, opt_timestamp};
use crate::normalise::{Draft, finish};
use crate::{BodyError, FieldError, IngestContext, MAX_EVENT_BYTES, ParsedBatch};
use orbit_core::EventKind;
use serde_json::{Map, Value};

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

/// Parses a `/v1/batch` body.
pub fn parse_batch(body: &Value, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
    let (root, items) = crate::batch_items(body, "batch")?;
    let sent_at = opt_timestamp(root, "sentAt").map_err(|e| BodyError::new("sentAt", e.code, e.message))?;
    let shared_context =
        opt_object(root, "context").map_err(|e| BodyError::new("context", e.code, e.message))?;
    let mut parsed = ParsedBatch::default();
    for (index, item) in items.iter().enumerate() {
        let prefix = format!("batch[{index}]");
        let result = item
            .as_object()
            .ok_or_else(|| FieldError::new("", "wrong_type", "each batch item must be an object"))
            .and_then(|msg| {
                let kind = match opt_string(msg, "type")? {
                    Some(raw) => call_kind(raw).ok_or_else(|| {
                        FieldError::new(
                            "type",
                            "unknown_type",
                            format!(
                                "unknown type {raw:?}; expected track, identify, page, screen, alias or group"
                            ),
                        )
                    })?,
                    None => {
                        return Err(FieldError::new(
                            "type",
                            "missing_field",
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
pub fn parse_single(body: &Value, kind: EventKind, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
    let msg = body
        .as_object()
        .ok_or_else(|| BodyError::new("", "wrong_type", "the body must be a JSON object"))?;
    let mut parsed = ParsedBatch::default();
    parsed.push(0, "", parse_message(msg, kind, None, &Map::new(), ctx));
    Ok(parsed)
}

fn parse_message(
    msg: &Map<String, Value>,
    kind: EventKind,
    batch_sent_at: Option<jiff::Timestamp>,
    shared_context: &Map<String, Value>,
    ctx: &IngestContext,
) -> Result<orbit_core::NewEvent, FieldError> {
    let size = crate::fields::encoded_len(msg);
    if size > MAX_EVENT_BYTES {
        return Err(FieldError::new(
            "",
            "event_too_large",
            format!("an event may be at most {MAX_EVENT_BYTES} bytes of JSON, this one {size}"),
        ));
    }
    let mut context = shared_context.clone();
    context.extend(opt_object(msg, "context")?);
    let mut traits = opt_object(msg, "traits")?;
    if kind == EventKind::Identify && traits.is_empty() {
        // Analytics.js 2.0 and the mobile SDKs put identify traits in context.traits.
        if let Some(Value::Object(in_context)) = context.get("traits") {
            traits = in_context.clone();
        }
    }
    let name = match kind {
        EventKind::Track => match msg.get("event") {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(FieldError::new("event", "wrong_type", "must be a string")),
        },
        EventKind::Page | EventKind::Screen => opt_string(msg, "name")?.map(str::to_owned),
        _ => None,
    };
    let device_time = match opt_timestamp(msg, "originalTimestamp")? {
        Some(t) => Some(t),
        None => opt_timestamp(msg, "timestamp")?,
    };
    let sent_at = opt_timestamp(msg, "sentAt")?.or(batch_sent_at);
    let draft = Draft {
        kind: Some(kind),
        name,
        message_id: opt_id(msg, "messageId")?,
        user_id: opt_id(msg, "userId")?,
        anonymous_id: opt_id(msg, "anonymousId")?,
        previous_id: opt_id(msg, "previousId")?,
        group_id: opt_id(msg, "groupId")?,
        traits,
        properties: opt_object(msg, "properties")?,
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
