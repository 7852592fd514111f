//! Validation of conditions: what serde cannot see, named by the field's path.

use super::condition::{
    Condition, EventCondition, EventMatch, Measure, PropertyFilter, SequenceCondition, ValueTest, ValueType,
    Window,
};
use super::values::{read_datetime, read_number};
use serde_json::Value;

/// A condition that cannot be evaluated, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConditionError {
    /// The field's path, e.g. `conditions[1].window.amount`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> ConditionError {
    ConditionError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// Checks a condition; the error names the first offending field.
pub fn validate(condition: &Condition) -> Result<(), ConditionError> {
    check(condition, "")
}

fn check(condition: &Condition, path: &str) -> Result<(), ConditionError> {
    match condition {
        Condition::And { conditions } | Condition::Or { conditions } => {
            let list = join(path, "conditions");
            if conditions.is_empty() {
                return Err(err(&list, "give at least one condition"));
            }
            for (i, c) in conditions.iter().enumerate() {
                check(c, &format!("{list}[{i}]"))?;
            }
            Ok(())
        }
        Condition::Not { condition } => check(condition, &join(path, "condition")),
        Condition::Trait {
            name,
            value_type,
            test,
        } => {
            if name.trim().is_empty() {
                return Err(err(&join(path, "trait"), "name the trait"));
            }
            check_test(*value_type, test, path)
        }
        Condition::Tag { tag, .. } => {
            if tag.trim().is_empty() {
                return Err(err(&join(path, "tag"), "name the tag"));
            }
            Ok(())
        }
        Condition::Event(event) => check_event(event, path),
        Condition::Sequence(sequence) => check_sequence(sequence, path),
        Condition::Segment { segment } => {
            if segment.trim().is_empty() {
                return Err(err(&join(path, "segment"), "give the segment's id"));
            }
            Ok(())
        }
    }
}

fn check_value(value_type: ValueType, value: &Value, path: &str) -> Result<(), ConditionError> {
    let ok = match value_type {
        ValueType::String | ValueType::List => value.is_string() || value.is_number() || value.is_boolean(),
        ValueType::Number => read_number(value).is_some(),
        ValueType::Bool => value.is_boolean(),
        ValueType::Datetime => read_datetime(value, &jiff::tz::TimeZone::UTC).is_some(),
    };
    if ok {
        Ok(())
    } else {
        let wanted = match value_type {
            ValueType::String | ValueType::List => "text",
            ValueType::Number => "a number",
            ValueType::Bool => "true or false",
            ValueType::Datetime => "an RFC 3339 time or a YYYY-MM-DD date",
        };
        Err(err(path, format!("expected {wanted}, got {value}")))
    }
}

fn check_test(value_type: ValueType, test: &ValueTest, path: &str) -> Result<(), ConditionError> {
    let ordered = matches!(value_type, ValueType::Number | ValueType::Datetime);
    let op = join(path, "op");
    match test {
        ValueTest::Eq { value } | ValueTest::Ne { value } => {
            if value_type == ValueType::List {
                return Err(err(&op, "a list is tested with contains, in or not_in"));
            }
            check_value(value_type, value, &join(path, "value"))
        }
        ValueTest::In { values } | ValueTest::NotIn { values } => {
            let at = join(path, "values");
            if values.is_empty() {
                return Err(err(&at, "give at least one value"));
            }
            for (i, v) in values.iter().enumerate() {
                check_value(value_type, v, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        ValueTest::Contains { value } => {
            if !matches!(value_type, ValueType::String | ValueType::List) {
                return Err(err(&op, "contains applies to text and lists"));
            }
            check_value(value_type, value, &join(path, "value"))
        }
        ValueTest::Gt { value }
        | ValueTest::Gte { value }
        | ValueTest::Lt { value }
        | ValueTest::Lte { value } => {
            if !ordered {
                return Err(err(&op, "only numbers and times are ordered"));
            }
            check_value(value_type, value, &join(path, "value"))
        }
        ValueTest::Between { min, max } => {
            if !ordered {
                return Err(err(&op, "only numbers and times are ordered"));
            }
            check_value(value_type, min, &join(path, "min"))?;
            check_value(value_type, max, &join(path, "max"))?;
            let tz = jiff::tz::TimeZone::UTC;
            let reversed = match value_type {
                ValueType::Number => read_number(min) > read_number(max),
                _ => read_datetime(min, &tz) > read_datetime(max, &tz),
            };
            if reversed {
                return Err(err(&join(path, "max"), "max is below min"));
            }
            Ok(())
        }
        ValueTest::IsSet | ValueTest::IsNotSet => Ok(()),
        ValueTest::AnniversaryToday => {
            if value_type != ValueType::Datetime {
                return Err(err(&op, "anniversary_today applies to dates"));
            }
            Ok(())
        }
        ValueTest::DaysAgo { min, max } => {
            if value_type != ValueType::Datetime {
                return Err(err(&op, "days_ago applies to dates"));
            }
            if min > max {
                return Err(err(&join(path, "max"), "max is below min"));
            }
            Ok(())
        }
    }
}

fn check_match(matching: &EventMatch, path: &str) -> Result<(), ConditionError> {
    if matching.event.as_deref().is_some_and(|e| e.trim().is_empty()) {
        return Err(err(
            &join(path, "event"),
            "name the event, or leave it out for any event",
        ));
    }
    for (
        i,
        PropertyFilter {
            property,
            value_type,
            test,
        },
    ) in matching.filters.iter().enumerate()
    {
        let at = format!("{}[{i}]", join(path, "filters"));
        if property.trim().is_empty() {
            return Err(err(&join(&at, "property"), "name the property"));
        }
        check_test(*value_type, test, &at)?;
    }
    Ok(())
}

fn check_window(window: &Window, path: &str) -> Result<(), ConditionError> {
    match window {
        Window::Last { amount: 0, .. } => Err(err(&join(path, "amount"), "must be at least 1")),
        Window::Between { from, to } if from >= to => Err(err(&join(path, "to"), "must be after from")),
        _ => Ok(()),
    }
}

fn check_event(event: &EventCondition, path: &str) -> Result<(), ConditionError> {
    check_match(&event.matching, path)?;
    let measure = join(path, "measure");
    match &event.measure {
        Measure::Count { value, .. } if !value.is_finite() || *value < 0.0 => {
            return Err(err(&join(&measure, "value"), "a count is a number from 0"));
        }
        Measure::Aggregate { property, value, .. } => {
            if property.trim().is_empty() {
                return Err(err(&join(&measure, "property"), "name the numeric property"));
            }
            if !value.is_finite() {
                return Err(err(&join(&measure, "value"), "must be a finite number"));
            }
        }
        _ => {}
    }
    check_window(&event.window, &join(path, "window"))
}

fn check_sequence(sequence: &SequenceCondition, path: &str) -> Result<(), ConditionError> {
    check_match(&sequence.first, &join(path, "first"))?;
    check_match(&sequence.then, &join(path, "then"))?;
    if sequence.within.amount == 0 {
        return Err(err(&join(path, "within.amount"), "must be at least 1"));
    }
    check_window(&sequence.window, &join(path, "window"))
}
