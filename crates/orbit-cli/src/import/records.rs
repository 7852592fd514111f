//! Lines of an import file, turned into events of Orbit's native format.
//!
//! A JSONL line is one JSON object. A CSV row becomes one too: a column named
//! `properties.amount` sets `amount` inside `properties`, and so on for any depth.

use orbit_core::IdentityKind;
use serde_json::{Map, Value};

/// What the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Events in the native format (`type` defaults to `track`).
    Events,
    /// People: identities and traits, imported as `identify` events.
    Profiles,
}

/// Top-level fields of a native event; any other CSV column of an events file is a
/// property.
const EVENT_FIELDS: [&str; 13] = [
    "type",
    "event",
    "name",
    "message_id",
    "timestamp",
    "user_id",
    "anonymous_id",
    "previous_id",
    "group_id",
    "identities",
    "traits",
    "properties",
    "context",
];

/// Fields of a profile record that are not traits.
const PROFILE_FIELDS: [&str; 6] = [
    "user_id",
    "anonymous_id",
    "identities",
    "traits",
    "timestamp",
    "message_id",
];

/// Whether a key names one of Orbit's own identity types (custom types need the
/// `identities.` prefix, or any column would become one).
fn is_builtin_identity(key: &str) -> bool {
    IdentityKind::parse(key).is_ok_and(|k| !matches!(k, IdentityKind::Custom(_)))
}

/// Keys whose values stay text even when they look like numbers (`13800138000` is a
/// phone number, `00123` an id).
fn keeps_text(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || is_builtin_identity(key)
}

/// A CSV cell as JSON: numbers and booleans where the text is exactly one, text
/// otherwise; `None` for an empty cell.
fn cell_value(key: &str, raw: &str) -> Option<Value> {
    if raw.is_empty() {
        return None;
    }
    if !keeps_text(key) {
        if raw == "true" || raw == "false" {
            return Some(Value::Bool(raw == "true"));
        }
        if let Ok(n) = raw.parse::<i64>()
            && n.to_string() == raw
        {
            return Some(Value::from(n));
        }
        if let Ok(x) = raw.parse::<f64>()
            && x.is_finite()
            && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Some(Value::from(x));
        }
    }
    Some(Value::String(raw.to_owned()))
}

/// A CSV row as a JSON object, dotted column names nesting.
pub fn csv_row(kind: RecordKind, headers: &[String], row: &csv::StringRecord) -> Result<Value, String> {
    let mut object = Map::new();
    for (header, raw) in headers.iter().zip(row.iter()) {
        let mut path: Vec<&str> = header.split('.').collect();
        let leaf = path.last().copied().unwrap_or_default();
        let Some(value) = cell_value(leaf, raw.trim()) else {
            continue;
        };
        // A bare column that is not a field of the record goes where such data lives.
        if path.len() == 1 && kind == RecordKind::Events && !EVENT_FIELDS.contains(&leaf) {
            path.insert(0, "properties");
        }
        insert_path(&mut object, &path, value).map_err(|e| format!("column {header:?}: {e}"))?;
    }
    Ok(Value::Object(object))
}

fn insert_path(object: &mut Map<String, Value>, path: &[&str], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("an empty column name".into());
    };
    let mut here = object;
    for part in parents {
        let slot = here
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        here = slot
            .as_object_mut()
            .ok_or_else(|| format!("{part} is both a value and an object"))?;
    }
    here.insert((*last).to_owned(), value);
    Ok(())
}

/// The native event for one record; `line_digest` names it when the record has no
/// `message_id`, so importing the same file twice stores every event once.
pub fn to_event(kind: RecordKind, record: Value, line_digest: &str) -> Result<Value, String> {
    let Value::Object(mut object) = record else {
        return Err("each line must be a JSON object".into());
    };
    if kind == RecordKind::Profiles {
        object = profile_to_identify(object)?;
    }
    object
        .entry("message_id")
        .or_insert_with(|| Value::String(format!("import-{line_digest}")));
    Ok(Value::Object(object))
}

/// A profile record as an `identify` event: identity fields stay where the native
/// format reads them, everything else becomes a trait.
fn profile_to_identify(object: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut event = Map::new();
    let mut traits = Map::new();
    let mut identities = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "traits" => match value {
                Value::Object(given) => traits.extend(given),
                _ => return Err("traits must be an object".into()),
            },
            "identities" => match value {
                Value::Object(given) => identities.extend(given),
                _ => return Err("identities must be an object".into()),
            },
            "type" => {}
            _ if PROFILE_FIELDS.contains(&key.as_str()) => {
                event.insert(key, value);
            }
            // Email and phone are traits that identify (as in an identify call).
            "email" | "phone" => {
                traits.insert(key, value);
            }
            _ if is_builtin_identity(&key) => {
                identities.insert(key, value);
            }
            _ => {
                traits.insert(key, value);
            }
        }
    }
    event.insert("type".into(), Value::String("identify".into()));
    if !traits.is_empty() {
        event.insert("traits".into(), Value::Object(traits));
    }
    if !identities.is_empty() {
        event.insert("identities".into(), Value::Object(identities));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(cells: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cells.to_vec())
    }

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn csv_columns_nest_and_keep_ids_as_text() {
        let h = headers(&[
            "event",
            "user_id",
            "properties.amount",
            "properties.order_id",
            "channel",
            "context.ip",
        ]);
        let value = csv_row(
            RecordKind::Events,
            &h,
            &row(&["order_paid", "00123", "59.9", "0042", "app", ""]),
        )
        .expect("a valid row");
        assert_eq!(
            value,
            json!({"event": "order_paid", "user_id": "00123",
                   "properties": {"amount": 59.9, "order_id": "0042", "channel": "app"}})
        );
    }

    #[test]
    fn a_column_cannot_be_both_value_and_object() {
        let h = headers(&["properties", "properties.amount"]);
        let error = csv_row(RecordKind::Events, &h, &row(&["x", "1"])).expect_err("conflicting columns");
        assert!(error.contains("properties.amount"), "{error}");
    }

    #[test]
    fn profile_records_become_identify_events() {
        let h = headers(&[
            "user_id",
            "phone",
            "email",
            "wechat_openid",
            "city",
            "points",
            "traits.tier",
        ]);
        let record = csv_row(
            RecordKind::Profiles,
            &h,
            &row(&["m-1", "13800138000", "A@x.cn", "oX1", "重庆", "120", "gold"]),
        )
        .expect("a valid row");
        let event = to_event(RecordKind::Profiles, record, "d1").expect("an event");
        assert_eq!(
            event,
            json!({"type": "identify", "user_id": "m-1", "message_id": "import-d1",
                   "identities": {"wechat_openid": "oX1"},
                   "traits": {"phone": "13800138000", "email": "A@x.cn", "city": "重庆", "points": 120,
                              "tier": "gold"}})
        );
    }

    #[test]
    fn a_given_message_id_is_kept() {
        let event = to_event(
            RecordKind::Events,
            json!({"event": "x", "message_id": "m-9"}),
            "d",
        )
        .expect("an event");
        assert_eq!(event["message_id"], "m-9");
        assert!(to_event(RecordKind::Events, json!([1]), "d").is_err());
    }
}
