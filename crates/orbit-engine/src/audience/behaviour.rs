//! Behaviour conditions over compact timelines: windows found by binary search on
//! time, then the matching events measured.

use super::timeline::{EventRecord, Interner, ProfileTimeline, UNNAMED};
use jiff::Timestamp;
use orbit_core::audience::PASSIVE_EVENTS;
use orbit_core::audience::values::{Today, passes};
use orbit_core::audience::{
    Aggregate, Evaluation, EventCondition, EventMatch, Measure, SequenceCondition, Window,
};

/// An event matcher with its names resolved to numbers.
struct Matcher<'a> {
    /// `None`: any event; `Some(None)`: a name never seen, so no event.
    name: Option<Option<u32>>,
    /// For "any event": the passive event names it passes over.
    passed_over: [Option<u32>; PASSIVE_EVENTS.len()],
    matching: &'a EventMatch,
}

impl<'a> Matcher<'a> {
    fn new(matching: &'a EventMatch, strings: &Interner) -> Self {
        Self {
            name: matching.event.as_ref().map(|n| strings.find(n)),
            passed_over: PASSIVE_EVENTS.map(|n| strings.find(n)),
            matching,
        }
    }

    fn accepts(
        &self,
        timeline: &ProfileTimeline,
        event: &EventRecord,
        strings: &Interner,
        today: &Today,
    ) -> bool {
        match self.name {
            Some(None) => return false,
            Some(Some(id)) if event.name != id || event.name == UNNAMED => return false,
            None if self.passed_over.contains(&Some(event.name)) => return false,
            _ => {}
        }
        self.matching.filters.iter().all(|filter| {
            // Only top-level properties are indexed.
            let value = (!filter.property.contains('.'))
                .then(|| strings.find(&filter.property))
                .flatten()
                .and_then(|key| timeline.property(event, key))
                .map(|scalar| scalar.to_json(strings));
            passes(value.as_ref(), filter.value_type, &filter.test, today)
        })
    }
}

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// The start of the calendar day `days_ago` days before `now`'s, in the evaluation's
/// time zone, epoch milliseconds.
fn day_start_ms(at: &Evaluation, days_ago: i64) -> i64 {
    let today = at.now.to_zoned(at.tz.clone()).date();
    today
        .checked_sub(jiff::Span::new().days(days_ago))
        .ok()
        .and_then(|d| d.to_zoned(at.tz.clone()).ok())
        .map_or(i64::MIN, |z| millis(z.timestamp()))
}

/// The window as an inclusive range of event times in milliseconds.
pub fn window_bounds(window: &Window, at: &Evaluation) -> (i64, i64) {
    let now = millis(at.now);
    match window {
        Window::Ever => (i64::MIN, i64::MAX),
        Window::Last { amount, unit } => {
            let start = at.now.checked_sub(unit.span(*amount)).map_or(i64::MIN, millis);
            (start.saturating_add(1), now)
        }
        Window::Since { days_ago } => (day_start_ms(at, i64::from(*days_ago)), now),
        Window::Day { days_ago } => {
            let start = day_start_ms(at, i64::from(*days_ago));
            let end = if *days_ago == 0 {
                now
            } else {
                (day_start_ms(at, i64::from(*days_ago) - 1) - 1).min(now)
            };
            (start, end)
        }
        Window::Between { from, to } => (millis(*from), millis(*to) - 1),
    }
}

/// The events whose time lies in `[lo, hi]`.
fn slice(events: &[EventRecord], (lo, hi): (i64, i64)) -> std::ops::Range<usize> {
    let start = events.partition_point(|e| e.at_ms < lo);
    let end = events.partition_point(|e| e.at_ms <= hi);
    start..end.max(start)
}

/// Whether a profile meets a behaviour condition.
pub fn event_holds(
    condition: &EventCondition,
    timeline: &ProfileTimeline,
    strings: &Interner,
    at: &Evaluation,
    today: &Today,
) -> bool {
    let matcher = Matcher::new(&condition.matching, strings);
    let events = timeline.events();
    let window = window_bounds(&condition.window, at);
    let in_window = || {
        events[slice(events, window)]
            .iter()
            .filter(|e| matcher.accepts(timeline, e, strings, today))
    };
    let inside = |e: &EventRecord| (window.0..=window.1).contains(&e.at_ms);
    let now = millis(at.now);
    match &condition.measure {
        Measure::Did => in_window().next().is_some(),
        Measure::DidNot => in_window().next().is_none(),
        Measure::Count { compare, value } => compare.holds(in_window().count() as f64, *value),
        Measure::Aggregate {
            function,
            property,
            compare,
            value,
        } => {
            let Some(key) = (!property.contains('.'))
                .then(|| strings.find(property))
                .flatten()
            else {
                return false;
            };
            let (mut n, mut sum, mut min, mut max) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            for event in in_window() {
                let number = match timeline.property(event, key) {
                    Some(super::timeline::Scalar::Integer(i)) => Some(i as f64),
                    Some(super::timeline::Scalar::Number(x)) => Some(x),
                    Some(super::timeline::Scalar::Text(t)) => strings
                        .text(t)
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .filter(|x| x.is_finite()),
                    _ => None,
                };
                if let Some(x) = number {
                    n += 1;
                    sum += x;
                    min = min.min(x);
                    max = max.max(x);
                }
            }
            if n == 0 {
                return false;
            }
            let result = match function {
                Aggregate::Sum => sum,
                Aggregate::Min => min,
                Aggregate::Max => max,
                Aggregate::Avg => sum / n as f64,
            };
            compare.holds(result, *value)
        }
        Measure::FirstTime => events
            .iter()
            .take_while(|e| e.at_ms <= now)
            .find(|e| matcher.accepts(timeline, e, strings, today))
            .is_some_and(inside),
        Measure::LastTime => events[..events.partition_point(|e| e.at_ms <= now)]
            .iter()
            .rev()
            .find(|e| matcher.accepts(timeline, e, strings, today))
            .is_some_and(inside),
    }
}

/// Whether a profile meets a sequence condition.
pub fn sequence_holds(
    condition: &SequenceCondition,
    timeline: &ProfileTimeline,
    strings: &Interner,
    at: &Evaluation,
    today: &Today,
) -> bool {
    let first = Matcher::new(&condition.first, strings);
    let then = Matcher::new(&condition.then, strings);
    let events = timeline.events();
    let within_ms = condition.within.unit.span(condition.within.amount).as_millis() as i64;
    let now = millis(at.now);
    slice(events, window_bounds(&condition.window, at)).any(|i| {
        let start = &events[i];
        if !first.accepts(timeline, start, strings, today) {
            return false;
        }
        let deadline = start.at_ms.saturating_add(within_ms);
        let limit = deadline.min(now);
        let followed = events[i + 1..]
            .iter()
            .take_while(|e| e.at_ms <= limit)
            .any(|e| then.accepts(timeline, e, strings, today));
        if condition.then_not {
            deadline <= now && !followed
        } else {
            followed
        }
    })
}
