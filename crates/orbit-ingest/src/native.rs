//! Orbit's own batch format, `POST /v1/events` (documented in `docs/api.md`).
//!
//! ```json
//! {"events": [{"type": "track", "event": "order_paid", "message_id": "m-1",
//!              "timestamp": "2026-11-23T09:30:00+08:00",
//!              "identities": {"phone": "13800138000", "wechat_openid": ["oA", "oB"]},
//!              "properties": {"order_id": "o-1", "amount": 59.9, "currency": "CNY"}}],
//!  "sent_at": "2026-11-23T09:30:01+08:00"}
//! ```
//! Fields are snake_case; `type` defaults to `track`; `identities` maps identity types
//! to a value or a list of values; `user_id` and `anonymous_id` are accepted as well.

use crate::fields::{opt_id, opt_string, opt_timestamp, take_object};
use crate::normalise::{Draft, finish};
use crate::{BodyError, FieldError, IngestContext, MAX_EVENT_BYTES, ParsedBatch};
use orbit_core::ErrorCode;
use orbit_core::event::{DataIssue, clean_identity};
use orbit_core::{EventKind, IdentityKind};
use serde_json::{Map, Value};

mod wire;
pub use wire::{IdentityValues, NativeBatch, NativeEvent};

/// Parses a native batch body, taking its values over rather than copying them.
pub fn parse_batch(body: Value, ctx: &IngestContext) -> Result<ParsedBatch, BodyError> {
    let (root, items) = crate::batch_items(body, "events")?;
    let sent_at =
        opt_timestamp(&root, "sent_at").map_err(|e| BodyError::new("sent_at", e.code, e.message))?;
    let mut parsed = ParsedBatch::default();
    for (index, item) in items.into_iter().enumerate() {
        let result = match item {
            Value::Object(msg) => parse_item(msg, sent_at, ctx),
            _ => Err(FieldError::new(
                "",
                ErrorCode::WrongType,
                "each event must be an object",
            )),
        };
        parsed.push(index, &format!("events[{index}]"), result);
    }
    Ok(parsed)
}

/// Parses one event of the native format on its own (as `orbit import` reads them).
pub fn parse_event(item: Value, ctx: &IngestContext) -> Result<orbit_core::NewEvent, FieldError> {
    let Value::Object(msg) = item else {
        return Err(FieldError::new(
            "",
            ErrorCode::WrongType,
            "each event must be an object",
        ));
    };
    parse_item(msg, None, ctx)
}

fn parse_item(
    mut msg: Map<String, Value>,
    batch_sent_at: Option<jiff::Timestamp>,
    ctx: &IngestContext,
) -> Result<orbit_core::NewEvent, FieldError> {
    if let Some(size) = ctx.oversized(&msg) {
        return Err(FieldError::new(
            "",
            ErrorCode::EventTooLarge,
            format!("an event may be at most {MAX_EVENT_BYTES} bytes of JSON, this one {size}"),
        ));
    }
    let kind = match opt_string(&msg, "type")? {
        None => EventKind::Track,
        Some(raw) => EventKind::parse(raw).ok_or_else(|| {
            FieldError::new(
                "type",
                ErrorCode::UnknownType,
                format!("unknown type {raw:?}; expected track, identify, page, screen, alias or group"),
            )
        })?,
    };
    let (identities, issues) = explicit_identities(&mut msg, ctx)?;
    let name_key = if kind == EventKind::Track { "event" } else { "name" };
    let draft = Draft {
        kind: Some(kind),
        name: opt_string(&msg, name_key)?.map(str::to_owned),
        message_id: opt_id(&msg, "message_id")?,
        user_id: opt_id(&msg, "user_id")?,
        anonymous_id: opt_id(&msg, "anonymous_id")?,
        previous_id: opt_id(&msg, "previous_id")?,
        group_id: opt_id(&msg, "group_id")?,
        traits: take_object(&mut msg, "traits")?,
        properties: take_object(&mut msg, "properties")?,
        context: take_object(&mut msg, "context")?,
        device_time: opt_timestamp(&msg, "timestamp")?,
        sent_at: opt_timestamp(&msg, "sent_at")?.or(batch_sent_at),
        identities,
        issues,
    };
    finish(draft, ctx)
}

type Explicit = (Vec<orbit_core::Identity>, Vec<DataIssue>);

fn explicit_identities(msg: &mut Map<String, Value>, ctx: &IngestContext) -> Result<Explicit, FieldError> {
    let given = take_object(msg, "identities")?;
    let (mut identities, mut issues) = (Vec::new(), Vec::new());
    for (kind_name, value) in &given {
        let field = format!("identities.{kind_name}");
        let kind = IdentityKind::parse(kind_name)
            .map_err(|e| FieldError::new(&field, ErrorCode::InvalidIdentity, e.to_string()))?;
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let raw = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(FieldError::new(
                        &field,
                        ErrorCode::WrongType,
                        "must be a string, a number or a list of them",
                    ));
                }
            };
            match clean_identity(kind.clone(), &raw, ctx.default_region) {
                Ok(identity) if !identities.contains(&identity) => identities.push(identity),
                Ok(_) => {}
                Err(problem) => issues.push(DataIssue {
                    field: field.clone(),
                    raw,
                    problem,
                }),
            }
        }
    }
    Ok((identities, issues))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TextOrNumber;
    use orbit_core::{SourceId, WorkspaceId};
    use serde_json::json;

    fn ctx() -> IngestContext {
        IngestContext {
            workspace_id: WorkspaceId::default_workspace(),
            source_id: SourceId::parse("api").expect("valid"),
            received_at: "2026-11-23T10:00:00Z".parse().expect("valid"),
            default_region: phonenumber::country::Id::CN,
            max_future: crate::DEFAULT_MAX_FUTURE,
            body_bytes: None,
        }
    }

    /// The batch `docs/api.md` and this module's documentation show.
    fn documented_batch() -> Value {
        json!({"events": [
            {"type": "track", "event": "order_paid", "message_id": "m-1",
             "timestamp": "2026-11-23T09:30:00+08:00",
             "identities": {"phone": "13800138000", "wechat_openid": ["oA", "oB"]},
             "properties": {"order_id": "o-1", "amount": 59.9, "currency": "CNY"}},
            {"type": "identify", "message_id": "m-2", "user_id": 1001, "traits": {"tier": "gold"}, "timestamp": 1_795_402_200_000_i64}
        ], "sent_at": "2026-11-23T09:30:01+08:00"})
    }

    #[test]
    fn the_documented_types_read_the_documented_batch_as_the_parser_does() {
        let batch: NativeBatch = serde_json::from_value(documented_batch()).expect("the documented batch");
        let order = &batch.events[0];
        assert_eq!(order.kind, Some(EventKind::Track));
        assert_eq!(
            order.identities.as_ref().and_then(|i| i.get("wechat_openid")),
            Some(&IdentityValues::Many(vec![
                TextOrNumber::Text("oA".to_owned()),
                TextOrNumber::Text("oB".to_owned())
            ]))
        );
        assert_eq!(batch.events[1].user_id, Some(TextOrNumber::Number(1001.into())));
        let events = |body: Value| {
            let parsed = parse_batch(body, &ctx()).expect("valid");
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            parsed.accepted.into_iter().map(|(_, e)| e).collect::<Vec<_>>()
        };
        let again = serde_json::to_value(&batch).expect("serialises");
        assert_eq!(events(again), events(documented_batch()));
    }

    #[test]
    fn a_batch_whose_every_item_is_refused_fails_whole_naming_each() {
        let body =
            json!({"events": [{"type": "track", "user_id": "u"}, {"type": "teleport", "user_id": "u"}]});
        let refused = parse_batch(body, &ctx())
            .expect("a readable body")
            .into_appendable()
            .expect_err("nothing to append");
        assert_eq!(refused.problem.field.as_deref(), Some("events[0].event"));
        assert_eq!(
            refused.problem.message,
            "all 2 events were rejected; see rejected"
        );
        assert_eq!(refused.rejected.len(), 2);
        let body =
            json!({"events": [{"type": "track", "user_id": "u", "event": "ok"}, {"type": "teleport"}]});
        let (events, rejected) = parse_batch(body, &ctx())
            .expect("a readable body")
            .into_appendable()
            .expect("one to append");
        assert_eq!((events.len(), rejected[0].index), (1, 1));
    }
}
