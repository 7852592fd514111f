//! The reference evaluator: a plain scan of one profile's facts, obviously correct.
//!
//! It is the yardstick the in-memory index is tested against (same members, always),
//! and the meaning of every condition is defined here.

use super::condition::{Condition, EventCondition, EventMatch, Measure, SequenceCondition, Window};
use super::values::{Today, lookup, passes, read_number};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One event as conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFact {
    /// The event name (`None` for identify and other unnamed calls).
    pub name: Option<String>,
    /// When it happened.
    pub at: Timestamp,
    /// Its properties.
    pub properties: Map<String, Value>,
}

/// Everything conditions may look at for one profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileFacts {
    /// Traits by name.
    pub traits: Map<String, Value>,
    /// Tag values by tag name.
    pub tags: BTreeMap<String, Vec<String>>,
    /// Events in the order they happened (ties in log order).
    pub events: Vec<EventFact>,
    /// Ids of the segments the profile is in.
    pub segments: BTreeSet<String>,
}

/// When and where a condition is evaluated.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Now.
    pub now: Timestamp,
    /// The workspace's time zone: days and "yesterday" are its calendar's.
    pub tz: TimeZone,
}

impl Evaluation {
    /// An evaluation at `now` in `tz`.
    pub fn new(now: Timestamp, tz: TimeZone) -> Self {
        Self { now, tz }
    }

    /// Today in the workspace's calendar, for value tests.
    pub fn today(&self) -> Today {
        Today {
            tz: self.tz.clone(),
            date: self.now.to_zoned(self.tz.clone()).date(),
        }
    }

    /// The start of the calendar day `days_ago` days before today.
    fn day_start(&self, days_ago: u32) -> Timestamp {
        let date = self.today().date;
        let day = date
            .checked_sub(jiff::Span::new().days(i64::from(days_ago)))
            .unwrap_or(jiff::civil::Date::MIN);
        day.to_zoned(self.tz.clone())
            .map_or(Timestamp::MIN, |z| z.timestamp())
    }

    /// Whether `at` falls inside `window`.
    pub fn in_window(&self, window: &Window, at: Timestamp) -> bool {
        match window {
            Window::Ever => true,
            Window::Last { amount, unit } => {
                at <= self.now && at > self.now.checked_sub(unit.span(*amount)).unwrap_or(Timestamp::MIN)
            }
            Window::Since { days_ago } => at >= self.day_start(*days_ago) && at <= self.now,
            Window::Day { days_ago } => {
                at >= self.day_start(*days_ago)
                    && (*days_ago == 0 || at < self.day_start(days_ago - 1))
                    && at <= self.now
            }
            Window::Between { from, to } => at >= *from && at < *to,
        }
    }
}

fn matches(event: &EventFact, matching: &EventMatch, today: &Today) -> bool {
    match &matching.event {
        Some(name) if event.name.as_deref() != Some(name.as_str()) => return false,
        None if event.name.as_deref().is_some_and(super::is_passive_event) => {
            return false;
        }
        _ => {}
    }
    matching.filters.iter().all(|f| {
        passes(
            lookup(&event.properties, &f.property),
            f.value_type,
            &f.test,
            today,
        )
    })
}

/// Whether a profile meets a condition.
pub fn evaluate(condition: &Condition, facts: &ProfileFacts, at: &Evaluation) -> bool {
    let today = at.today();
    holds(condition, facts, at, &today)
}

fn holds(condition: &Condition, facts: &ProfileFacts, at: &Evaluation, today: &Today) -> bool {
    match condition {
        Condition::And { conditions } => conditions.iter().all(|c| holds(c, facts, at, today)),
        Condition::Or { conditions } => conditions.iter().any(|c| holds(c, facts, at, today)),
        Condition::Not { condition } => !holds(condition, facts, at, today),
        Condition::Trait {
            name,
            value_type,
            test,
        } => passes(lookup(&facts.traits, name), *value_type, test, today),
        Condition::Tag { tag, values } => facts.tags.get(tag).is_some_and(|held| {
            !held.is_empty() && (values.is_empty() || held.iter().any(|v| values.contains(v)))
        }),
        Condition::Event(event) => event_holds(event, facts, at, today),
        Condition::Sequence(sequence) => sequence_holds(sequence, facts, at, today),
        Condition::Segment { segment } => facts.segments.contains(segment),
    }
}

fn event_holds(event: &EventCondition, facts: &ProfileFacts, at: &Evaluation, today: &Today) -> bool {
    let matching: Vec<&EventFact> = facts
        .events
        .iter()
        .filter(|e| matches(e, &event.matching, today))
        .collect();
    let in_window: Vec<&EventFact> = matching
        .iter()
        .copied()
        .filter(|e| at.in_window(&event.window, e.at))
        .collect();
    match &event.measure {
        Measure::Did => !in_window.is_empty(),
        Measure::DidNot => in_window.is_empty(),
        Measure::Count { compare, value } => compare.holds(in_window.len() as f64, *value),
        Measure::Aggregate {
            function,
            property,
            compare,
            value,
        } => {
            let numbers: Vec<f64> = in_window
                .iter()
                .filter_map(|e| lookup(&e.properties, property).and_then(read_number))
                .collect();
            if numbers.is_empty() {
                return false;
            }
            use super::condition::Aggregate;
            let result = match function {
                Aggregate::Sum => numbers.iter().sum(),
                Aggregate::Min => numbers.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregate::Max => numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Aggregate::Avg => numbers.iter().sum::<f64>() / numbers.len() as f64,
            };
            compare.holds(result, *value)
        }
        Measure::FirstTime => matching
            .iter()
            .find(|e| e.at <= at.now)
            .is_some_and(|first| at.in_window(&event.window, first.at)),
        Measure::LastTime => matching
            .iter()
            .rev()
            .find(|e| e.at <= at.now)
            .is_some_and(|last| at.in_window(&event.window, last.at)),
    }
}

fn sequence_holds(
    sequence: &SequenceCondition,
    facts: &ProfileFacts,
    at: &Evaluation,
    today: &Today,
) -> bool {
    let within = sequence.within.unit.span(sequence.within.amount);
    facts.events.iter().enumerate().any(|(i, first)| {
        if !matches(first, &sequence.first, today) || !at.in_window(&sequence.window, first.at) {
            return false;
        }
        let deadline = first.at.checked_add(within).unwrap_or(Timestamp::MAX);
        // Later in the timeline and no later than the deadline.
        let followed = facts.events[i + 1..]
            .iter()
            .any(|next| next.at <= deadline && next.at <= at.now && matches(next, &sequence.then, today));
        if sequence.then_not {
            // A drop-off is only certain once the whole time has passed.
            deadline <= at.now && !followed
        } else {
            followed
        }
    })
}
