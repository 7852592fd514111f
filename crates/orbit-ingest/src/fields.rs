//! Reading typed fields out of a JSON object, with errors that name the field.

use crate::FieldError;
use jiff::Timestamp;
use jiff::civil::DateTime;
use orbit_core::ErrorCode;
use serde_json::{Map, Value};

/// The nesting depth of a JSON value (a scalar is 0).
/// Bytes of a value's compact JSON, counted without building it.
pub(crate) fn encoded_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

pub(crate) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An optional string field; `null` counts as absent.
pub(crate) fn opt_string<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(FieldError::new(
            key,
            ErrorCode::WrongType,
            format!("must be a string, not {}", type_name(other)),
        )),
    }
}

/// An optional id field: a non-empty string or a number (SDKs send numeric user ids).
pub(crate) fn opt_id(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > 256 => Err(FieldError::new(
            key,
            ErrorCode::TooLong,
            "must be at most 256 bytes",
        )),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(FieldError::new(
            key,
            ErrorCode::WrongType,
            format!("must be a string or a number, not {}", type_name(other)),
        )),
    }
}

/// An optional object field, taken out of its parent; `null` counts as absent.
pub(crate) fn take_object(obj: &mut Map<String, Value>, key: &str) -> Result<Map<String, Value>, FieldError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(FieldError::new(
            key,
            ErrorCode::WrongType,
            format!("must be an object, not {}", type_name(&other)),
        )),
    }
}

/// Parses an ISO 8601 timestamp; one without an offset is read as UTC. Numbers are
/// epoch milliseconds.
pub(crate) fn opt_timestamp(obj: &Map<String, Value>, key: &str) -> Result<Option<Timestamp>, FieldError> {
    let bad = || {
        FieldError::new(
            key,
            ErrorCode::InvalidTimestamp,
            "must be an ISO 8601 date-time such as 2026-11-23T09:30:00+08:00",
        )
    };
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if let Ok(ts) = s.parse::<Timestamp>() {
                return Ok(Some(ts));
            }
            let civil: DateTime = s.parse().map_err(|_| bad())?;
            civil
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| Some(z.timestamp()))
                .map_err(|_| bad())
        }
        Some(Value::Number(n)) => {
            let millis = n.as_i64().ok_or_else(bad)?;
            Timestamp::from_millisecond(millis).map(Some).map_err(|_| bad())
        }
        Some(other) => Err(FieldError::new(
            key,
            ErrorCode::WrongType,
            format!("must be an ISO 8601 string, not {}", type_name(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_is_the_length_of_the_compact_json() {
        let value = serde_json::json!({"event": "下单", "amount": 59.9, "items": [1, 2, {"a": null}]});
        assert_eq!(
            encoded_len(&value),
            serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0)
        );
    }
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn timestamps_accept_offsets_utc_and_epoch_millis() {
        let o = obj(
            json!({"a": "2026-11-23T17:30:00+08:00", "b": "2026-11-23T09:30:00.123456", "c": 1_795_426_200_000_i64}),
        );
        assert_eq!(
            opt_timestamp(&o, "a").expect("ok").map(|t| t.to_string()),
            Some("2026-11-23T09:30:00Z".into())
        );
        assert_eq!(
            opt_timestamp(&o, "b").expect("ok").map(|t| t.to_string()),
            Some("2026-11-23T09:30:00.123456Z".into())
        );
        assert!(opt_timestamp(&o, "c").expect("ok").is_some());
        assert_eq!(
            opt_timestamp(&obj(json!({"t": "yesterday"})), "t").map_err(|e| e.code),
            Err(ErrorCode::InvalidTimestamp)
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let mut o = obj(json!({"properties": "x", "userId": true}));
        assert_eq!(
            take_object(&mut o, "properties").map_err(|e| e.field),
            Err("properties".into())
        );
        assert_eq!(
            opt_id(&o, "userId").map_err(|e| e.message),
            Err("must be a string or a number, not a boolean".into())
        );
    }

    #[test]
    fn depth_counts_nesting() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({"a": [{"b": 1}]})), 3);
    }
}
