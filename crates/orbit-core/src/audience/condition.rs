//! The condition language: who is in an audience, as a typed tree.
//!
//! A condition is JSON for the API and the console, e.g.
//! `{"type": "and", "conditions": [{"type": "trait", "trait": "age", "value_type":
//! "number", "op": "between", "min": 40, "max": 60}, {"type": "event", "event":
//! "order_paid", "measure": {"kind": "did_not"}, "window": {"kind": "last", "amount": 30,
//! "unit": "days"}}]}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A condition on one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// Every sub-condition holds.
    And {
        /// At least one.
        #[schema(no_recursion)]
        conditions: Vec<Condition>,
    },
    /// At least one sub-condition holds.
    Or {
        /// At least one.
        #[schema(no_recursion)]
        conditions: Vec<Condition>,
    },
    /// The sub-condition does not hold.
    Not {
        /// The negated condition.
        #[schema(no_recursion)]
        condition: Box<Condition>,
    },
    /// A profile trait compared to a value.
    Trait {
        /// The trait's name.
        #[serde(rename = "trait")]
        name: String,
        /// How the trait's value is read.
        value_type: ValueType,
        /// The comparison.
        #[serde(flatten)]
        test: ValueTest,
    },
    /// A tag the profile carries.
    Tag {
        /// The tag's name (`lifecycle`, `rfm`…).
        tag: String,
        /// Which values count; empty means any value.
        #[serde(default)]
        values: Vec<String>,
    },
    /// What the profile did: an event, measured over a window.
    Event(EventCondition),
    /// One event followed, or not followed, by another within a time.
    Sequence(SequenceCondition),
    /// Membership of another segment.
    Segment {
        /// The segment's id.
        segment: String,
    },
}

/// How a trait or property value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Text.
    String,
    /// A number (also from numeric text such as `"59.9"`).
    Number,
    /// `true` or `false`.
    Bool,
    /// An RFC 3339 time or a `YYYY-MM-DD` date.
    Datetime,
    /// A list of text values.
    List,
}

/// A comparison of one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ValueTest {
    /// Equal.
    Eq {
        /// The value compared with.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Set and not equal.
    Ne {
        /// The value compared with.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Equal to one of the values.
    In {
        /// The values.
        #[schema(schema_with = compared_values)]
        values: Vec<Value>,
    },
    /// Set and equal to none of the values.
    NotIn {
        /// The values.
        #[schema(schema_with = compared_values)]
        values: Vec<Value>,
    },
    /// Text containing, or a list holding, the value.
    Contains {
        /// The value looked for.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Greater than.
    Gt {
        /// The bound.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Greater than or equal.
    Gte {
        /// The bound.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Less than.
    Lt {
        /// The bound.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Less than or equal.
    Lte {
        /// The bound.
        #[schema(schema_with = compared_value)]
        value: Value,
    },
    /// Between two bounds, both included.
    Between {
        /// The lower bound.
        #[schema(schema_with = compared_value)]
        min: Value,
        /// The upper bound.
        #[schema(schema_with = compared_value)]
        max: Value,
    },
    /// Has a value.
    IsSet,
    /// Has no value.
    IsNotSet,
    /// A date whose month and day are today's, in the workspace's time zone
    /// ("birthday is today").
    AnniversaryToday,
    /// A time between `min` and `max` whole days before today, both included, in the
    /// workspace's time zone ("signed up 3–7 days ago").
    DaysAgo {
        /// Fewest days ago.
        min: u32,
        /// Most days ago.
        max: u32,
    },
}

/// The schema of a value a condition compares with: text (also times and dates),
/// a number or a boolean.
fn compared_value() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .description(Some(
            "Text (also an RFC 3339 time or a YYYY-MM-DD date), a number or a boolean",
        ))
        .into()
}

/// The schema of a list of values a condition compares with.
fn compared_values() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::T(compared_value()))
        .into()
}

/// A filter on an event's property (a dotted path into `properties`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PropertyFilter {
    /// The property's path, e.g. `amount` or `items.0.sku`.
    pub property: String,
    /// How its value is read.
    pub value_type: ValueType,
    /// The comparison.
    #[serde(flatten)]
    pub test: ValueTest,
}

/// Which events a condition looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventMatch {
    /// The event name; absent means any event (being active).
    #[serde(default)]
    pub event: Option<String>,
    /// Filters every matching event passes.
    #[serde(default)]
    pub filters: Vec<PropertyFilter>,
}

/// A behaviour condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventCondition {
    /// The events looked at.
    #[serde(flatten)]
    pub matching: EventMatch,
    /// What is measured of them.
    pub measure: Measure,
    /// When they happened.
    pub window: Window,
}

/// What is measured of the matching events in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measure {
    /// At least one.
    Did,
    /// None.
    DidNot,
    /// How many, compared.
    Count {
        /// The comparison.
        compare: Compare,
        /// The number compared with.
        value: f64,
    },
    /// A numeric property aggregated over them, compared; no events: no value.
    Aggregate {
        /// `sum`, `min`, `max` or `avg`.
        function: Aggregate,
        /// The numeric property.
        property: String,
        /// The comparison.
        compare: Compare,
        /// The number compared with.
        value: f64,
    },
    /// The first matching event ever happened inside the window.
    FirstTime,
    /// The last matching event so far happened inside the window.
    LastTime,
}

/// An aggregate of a numeric property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The total.
    Sum,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// The mean.
    Avg,
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// `=`.
    Eq,
    /// `≠`.
    Ne,
    /// `>`.
    Gt,
    /// `≥`.
    Gte,
    /// `<`.
    Lt,
    /// `≤`.
    Lte,
}

impl Compare {
    /// Whether `left` compares so with `right`.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Eq => left == right,
            Self::Ne => left != right,
            Self::Gt => left > right,
            Self::Gte => left >= right,
            Self::Lt => left < right,
            Self::Lte => left <= right,
        }
    }
}

/// When events count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Window {
    /// Any time.
    Ever,
    /// The last `amount` units up to now.
    Last {
        /// How many units.
        amount: u32,
        /// The unit.
        unit: TimeUnit,
    },
    /// From the start of a calendar day `days_ago` days before today (0 is today, 1
    /// yesterday), in the workspace's time zone, up to now.
    Since {
        /// Days before today.
        days_ago: u32,
    },
    /// Exactly one calendar day, `days_ago` days before today (1 is yesterday).
    Day {
        /// Days before today.
        days_ago: u32,
    },
    /// Between two times (RFC 3339), the start included and the end excluded.
    Between {
        /// The start.
        from: jiff::Timestamp,
        /// The end.
        to: jiff::Timestamp,
    },
}

/// A unit of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// 60 seconds.
    Minutes,
    /// 60 minutes.
    Hours,
    /// 24 hours.
    Days,
}

impl TimeUnit {
    /// The length of `amount` units.
    pub fn span(self, amount: u32) -> jiff::SignedDuration {
        let amount = i64::from(amount);
        match self {
            Self::Minutes => jiff::SignedDuration::from_mins(amount),
            Self::Hours => jiff::SignedDuration::from_hours(amount),
            Self::Days => jiff::SignedDuration::from_hours(amount * 24),
        }
    }
}

/// A duration as people give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// How many units.
    pub amount: u32,
    /// The unit.
    pub unit: TimeUnit,
}

/// A sequence: an event, then another within a time (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SequenceCondition {
    /// The first step.
    pub first: EventMatch,
    /// The step that follows it.
    pub then: EventMatch,
    /// How soon after the first step the second counts.
    pub within: Span,
    /// `true`: the first step happened and the second did not follow within the time
    /// (a funnel drop-off); only once that time has fully passed.
    #[serde(default)]
    pub then_not: bool,
    /// When the first step happened.
    pub window: Window,
}

impl Condition {
    /// Whether the condition's answer can change with time alone, without any new
    /// event or trait (windows relative to now, relative dates, drop-offs that need
    /// their time to pass). Segment references are not followed: the caller knows the
    /// named segments.
    pub fn depends_on_time(&self) -> bool {
        match self {
            Self::And { conditions } | Self::Or { conditions } => {
                conditions.iter().any(Self::depends_on_time)
            }
            Self::Not { condition } => condition.depends_on_time(),
            Self::Trait { test, .. } => {
                matches!(test, ValueTest::AnniversaryToday | ValueTest::DaysAgo { .. })
            }
            Self::Tag { .. } | Self::Segment { .. } => false,
            Self::Event(event) => event.window != Window::Ever,
            Self::Sequence(sequence) => sequence.then_not || sequence.window != Window::Ever,
        }
    }
}
