//! Reading JSON values as the condition language's types, and testing them.

use super::condition::{ValueTest, ValueType};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// A number, also from numeric text (`"59.9"`), as tracking plans often send.
pub fn read_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|n: &f64| n.is_finite()),
        _ => None,
    }
}

/// A time in `tz`'s wall-clock terms: an RFC 3339 time, or a `YYYY-MM-DD` date at
/// midnight.
pub fn read_datetime(value: &Value, tz: &TimeZone) -> Option<DateTime> {
    let text = value.as_str()?.trim();
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some(at.to_zoned(tz.clone()).datetime());
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
}

/// Text as compared: strings as they are, numbers and booleans as written.
pub fn read_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The value at a dotted path (`address.city`, `items.0.sku`) in an object.
pub fn lookup<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        Some((first, rest)) => descend(object.get(first)?, rest).filter(|_| !rest.is_empty()),
        None => descend(object.get(path)?, ""),
    }
}

/// The value at a dotted path (`items.0.sku`; empty: the value itself) inside `value`;
/// null counts as missing.
pub fn descend<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for part in path.split('.').take_while(|_| !path.is_empty()) {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current).filter(|v| !v.is_null())
}

/// What a test needs besides the value: today, in the workspace's time zone.
#[derive(Debug, Clone)]
pub struct Today {
    /// The workspace's time zone.
    pub tz: TimeZone,
    /// Today's date there.
    pub date: jiff::civil::Date,
}

/// Whether `value` (absent: `None`) passes `test`, read as `value_type`.
pub fn passes(value: Option<&Value>, value_type: ValueType, test: &ValueTest, today: &Today) -> bool {
    let Some(value) = value else {
        return matches!(test, ValueTest::IsNotSet);
    };
    if value_type == ValueType::List {
        return list_passes(value, test);
    }
    match test {
        ValueTest::IsSet => true,
        ValueTest::IsNotSet => false,
        ValueTest::Eq { value: v } => equal(value, v, value_type, today),
        ValueTest::Ne { value: v } => !equal(value, v, value_type, today),
        ValueTest::In { values } => values.iter().any(|v| equal(value, v, value_type, today)),
        ValueTest::NotIn { values } => !values.iter().any(|v| equal(value, v, value_type, today)),
        ValueTest::Contains { value: v } => {
            matches!((read_text(value), read_text(v)), (Some(a), Some(b)) if a.contains(&b))
        }
        ValueTest::Gt { value: v } => order(value, v, value_type, today).is_some_and(|o| o.is_gt()),
        ValueTest::Gte { value: v } => order(value, v, value_type, today).is_some_and(|o| o.is_ge()),
        ValueTest::Lt { value: v } => order(value, v, value_type, today).is_some_and(|o| o.is_lt()),
        ValueTest::Lte { value: v } => order(value, v, value_type, today).is_some_and(|o| o.is_le()),
        ValueTest::Between { min, max } => {
            order(value, min, value_type, today).is_some_and(|o| o.is_ge())
                && order(value, max, value_type, today).is_some_and(|o| o.is_le())
        }
        ValueTest::AnniversaryToday => read_datetime(value, &today.tz)
            .is_some_and(|d| (d.month(), d.day()) == (today.date.month(), today.date.day())),
        ValueTest::DaysAgo { min, max } => read_datetime(value, &today.tz).is_some_and(|d| {
            let days = i64::from((today.date - d.date()).get_days());
            (i64::from(*min)..=i64::from(*max)).contains(&days)
        }),
    }
}

fn equal(a: &Value, b: &Value, value_type: ValueType, today: &Today) -> bool {
    match value_type {
        ValueType::Number => matches!((read_number(a), read_number(b)), (Some(x), Some(y)) if x == y),
        ValueType::Bool => a.as_bool().is_some() && a.as_bool() == b.as_bool(),
        ValueType::Datetime => {
            matches!((read_datetime(a, &today.tz), read_datetime(b, &today.tz)), (Some(x), Some(y)) if x == y)
        }
        ValueType::String | ValueType::List => {
            matches!((read_text(a), read_text(b)), (Some(x), Some(y)) if x == y)
        }
    }
}

fn order(a: &Value, b: &Value, value_type: ValueType, today: &Today) -> Option<std::cmp::Ordering> {
    match value_type {
        ValueType::Number => read_number(a)?.partial_cmp(&read_number(b)?),
        ValueType::Datetime => Some(read_datetime(a, &today.tz)?.cmp(&read_datetime(b, &today.tz)?)),
        _ => None,
    }
}

fn list_passes(value: &Value, test: &ValueTest) -> bool {
    let items: Vec<String> = match value {
        Value::Array(items) => items.iter().filter_map(read_text).collect(),
        other => read_text(other).into_iter().collect(),
    };
    let holds = |v: &Value| read_text(v).is_some_and(|t| items.contains(&t));
    match test {
        ValueTest::IsSet => !items.is_empty(),
        ValueTest::IsNotSet => items.is_empty(),
        ValueTest::Contains { value } => holds(value),
        ValueTest::In { values } => values.iter().any(holds),
        ValueTest::NotIn { values } => !values.iter().any(holds),
        // Validation refuses the rest for lists.
        _ => false,
    }
}
