//! Bitmaps that narrow an evaluation before any profile is looked at (ADR 0006):
//! profiles by text trait value, by tag value, and by event name per day.
//!
//! They give a *superset* of a condition's members: a condition is then evaluated
//! exactly, profile by profile, only inside that set. A bitmap may hold numbers of
//! profiles since merged or erased (the live set removes them) and a day bitmap holds
//! profiles whose event that day fell outside a window's edge (exact evaluation removes
//! them); it never lacks a member.

use super::timeline::UNNAMED;
use foldhash::HashMap;
use orbit_core::audience::values::read_text;
use orbit_core::audience::{Condition, Evaluation, EventCondition, Measure, ValueTest, ValueType, Window};
use roaring::RoaringBitmap;
use serde_json::{Map, Value};

const DAY_MS: i64 = 86_400_000;
/// The key of "any event" among event names.
const ANY_EVENT: u32 = u32::MAX - 1;
/// Windows longer than this are narrowed by the ever-bitmap instead of day by day.
const MOST_DAYS_UNIONED: i64 = 400;

/// The narrowing bitmaps of one workspace's index.
#[derive(Debug, Default)]
pub struct Filters {
    /// Top-level trait → its value as text → profiles.
    trait_values: HashMap<String, HashMap<String, RoaringBitmap>>,
    /// Top-level trait → profiles that have it.
    trait_set: HashMap<String, RoaringBitmap>,
    /// Tag → value → profiles.
    tag_values: HashMap<String, HashMap<String, RoaringBitmap>>,
    /// Event name (interned, or [`ANY_EVENT`]) → profiles that ever did it.
    ever: HashMap<u32, RoaringBitmap>,
    /// (event name, UTC day number) → profiles that did it that day.
    days: HashMap<(u32, i64), RoaringBitmap>,
}

impl Filters {
    /// Moves profile `n` from its old traits' values to its new ones.
    pub fn set_traits(&mut self, n: u32, old: &Map<String, Value>, new: &Map<String, Value>) {
        for (name, value) in old {
            if new.get(name) == Some(value) {
                continue;
            }
            if let Some(set) = self.trait_set.get_mut(name) {
                set.remove(n);
            }
            if let Some(text) = read_text(value)
                && let Some(bitmap) = self.trait_values.get_mut(name).and_then(|v| v.get_mut(&text))
            {
                bitmap.remove(n);
            }
        }
        for (name, value) in new {
            if value.is_null() || old.get(name) == Some(value) {
                continue;
            }
            self.trait_set.entry(name.clone()).or_default().insert(n);
            if let Some(text) = read_text(value) {
                self.trait_values
                    .entry(name.clone())
                    .or_default()
                    .entry(text)
                    .or_default()
                    .insert(n);
            }
        }
    }

    /// Moves profile `n` from a tag's old values to its new ones.
    pub fn set_tag(&mut self, n: u32, tag: &str, old: &[String], new: &[String]) {
        let values = self.tag_values.entry(tag.to_owned()).or_default();
        for value in old {
            if let Some(bitmap) = values.get_mut(value) {
                bitmap.remove(n);
            }
        }
        for value in new {
            values.entry(value.clone()).or_default().insert(n);
        }
    }

    /// Notes that profile `n` did event `name` (interned, or [`UNNAMED`]) at `at_ms`.
    pub fn record_event(&mut self, n: u32, name: u32, at_ms: i64) {
        let day = at_ms.div_euclid(DAY_MS);
        for key in [name, ANY_EVENT] {
            self.ever.entry(key).or_default().insert(n);
            self.days.entry((key, day)).or_default().insert(n);
        }
    }

    /// Profiles that may meet `condition`; `None` when no bitmap narrows it.
    ///
    /// `name_id` interns an event name (`None`: never seen); `segments` holds exact
    /// memberships of the segments conditions name; `bounds` gives a window's range.
    pub fn superset(
        &self,
        condition: &Condition,
        at: &Evaluation,
        name_id: &dyn Fn(&str) -> Option<u32>,
        segments: &HashMap<String, RoaringBitmap>,
        bounds: &dyn Fn(&Window, &Evaluation) -> (i64, i64),
    ) -> Option<RoaringBitmap> {
        let narrow = |c: &Condition| self.superset(c, at, name_id, segments, bounds);
        match condition {
            Condition::And { conditions } => conditions.iter().filter_map(narrow).reduce(|a, b| a & b),
            Condition::Or { conditions } => conditions
                .iter()
                .map(narrow)
                .collect::<Option<Vec<_>>>()
                .map(|all| all.into_iter().fold(RoaringBitmap::new(), |a, b| a | b)),
            Condition::Not { .. } => None,
            Condition::Trait {
                name,
                value_type,
                test,
            } => self.trait_superset(name, *value_type, test),
            Condition::Tag { tag, values } => {
                let held = self.tag_values.get(tag);
                let mut union = RoaringBitmap::new();
                for (value, bitmap) in held.into_iter().flatten() {
                    if values.is_empty() || values.contains(value) {
                        union |= bitmap;
                    }
                }
                Some(union)
            }
            Condition::Segment { segment } => Some(segments.get(segment).cloned().unwrap_or_default()),
            Condition::Event(event) => needs_an_event(event).then(|| {
                self.did_in(
                    event.matching.event.as_deref(),
                    &event.window,
                    at,
                    name_id,
                    bounds,
                )
            }),
            Condition::Sequence(sequence) => Some(self.did_in(
                sequence.first.event.as_deref(),
                &sequence.window,
                at,
                name_id,
                bounds,
            )),
        }
    }

    fn trait_superset(&self, name: &str, value_type: ValueType, test: &ValueTest) -> Option<RoaringBitmap> {
        if name.contains('.') {
            return None;
        }
        let exact = |wanted: &[&Value]| {
            let values = self.trait_values.get(name);
            let mut union = RoaringBitmap::new();
            for text in wanted.iter().filter_map(|v| read_text(v)) {
                if let Some(bitmap) = values.and_then(|v| v.get(&text)) {
                    union |= bitmap;
                }
            }
            union
        };
        match (value_type, test) {
            (_, ValueTest::IsNotSet) => None,
            (ValueType::String, ValueTest::Eq { value }) => Some(exact(&[value])),
            (ValueType::String, ValueTest::In { values }) => Some(exact(&values.iter().collect::<Vec<_>>())),
            // Every other test fails on a missing value.
            _ => Some(self.trait_set.get(name).cloned().unwrap_or_default()),
        }
    }

    /// Profiles with an event named `name` (any when `None`) on a day the window
    /// touches.
    fn did_in(
        &self,
        name: Option<&str>,
        window: &Window,
        at: &Evaluation,
        name_id: &dyn Fn(&str) -> Option<u32>,
        bounds: &dyn Fn(&Window, &Evaluation) -> (i64, i64),
    ) -> RoaringBitmap {
        let key = match name {
            None => ANY_EVENT,
            Some(name) => match name_id(name) {
                Some(id) if id != UNNAMED => id,
                _ => return RoaringBitmap::new(),
            },
        };
        let ever = || self.ever.get(&key).cloned().unwrap_or_default();
        let (lo, hi) = bounds(window, at);
        if lo > hi {
            return RoaringBitmap::new();
        }
        let (first, last) = (lo.div_euclid(DAY_MS), hi.div_euclid(DAY_MS));
        if lo == i64::MIN || hi == i64::MAX || last - first > MOST_DAYS_UNIONED {
            return ever();
        }
        let days: Vec<&RoaringBitmap> = (first..=last).filter_map(|d| self.days.get(&(key, d))).collect();
        roaring::MultiOps::union(days)
    }
}

/// Whether an event condition can only hold for a profile with a matching event in its
/// window.
fn needs_an_event(event: &EventCondition) -> bool {
    match &event.measure {
        Measure::DidNot => false,
        Measure::Count { compare, value } => !compare.holds(0.0, *value),
        Measure::Did | Measure::Aggregate { .. } | Measure::FirstTime | Measure::LastTime => true,
    }
}
