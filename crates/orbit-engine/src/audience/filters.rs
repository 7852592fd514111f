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
use orbit_core::audience::values::{read_number, read_text};
use orbit_core::audience::{EventCondition, Measure, ValueTest, ValueType};
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
    /// Top-level trait that has held a number → each profile's value as a number, by
    /// dense number (NaN: missing or not a number).
    number_columns: HashMap<String, Vec<f64>>,
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
            // Only present values are read from a column (the presence bitmap says which).
            let number = read_number(value);
            if number.is_some() || self.number_columns.contains_key(name) {
                let column = self.number_columns.entry(name.clone()).or_default();
                if column.len() <= n as usize {
                    column.resize(n as usize + 1, f64::NAN);
                }
                column[n as usize] = number.unwrap_or(f64::NAN);
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

    /// The exact members of a trait test the bitmaps answer alone (text equality on a
    /// top-level trait); `None` for any other test.
    pub fn trait_exact(&self, name: &str, value_type: ValueType, test: &ValueTest) -> Option<RoaringBitmap> {
        let wanted: Vec<&Value> = match (value_type, test) {
            (ValueType::String, ValueTest::Eq { value }) => vec![value],
            (ValueType::String, ValueTest::In { values }) => values.iter().collect(),
            _ => return None,
        };
        if name.contains('.') {
            return None;
        }
        let values = self.trait_values.get(name);
        let mut union = RoaringBitmap::new();
        for text in wanted.into_iter().filter_map(read_text) {
            if let Some(bitmap) = values.and_then(|v| v.get(&text)) {
                union |= bitmap;
            }
        }
        Some(union)
    }

    /// A top-level trait's values as numbers, by dense number, if it ever held one.
    pub fn number_column(&self, name: &str) -> Option<&[f64]> {
        self.number_columns.get(name).map(Vec::as_slice)
    }

    /// Profiles that have a top-level trait (`None` for a nested path).
    pub fn trait_present(&self, name: &str) -> Option<RoaringBitmap> {
        (!name.contains('.')).then(|| self.trait_set.get(name).cloned().unwrap_or_default())
    }

    /// Profiles holding a tag with one of `values` (any value when empty).
    pub fn tag_holders(&self, tag: &str, values: &[String]) -> RoaringBitmap {
        let mut union = RoaringBitmap::new();
        for (value, bitmap) in self.tag_values.get(tag).into_iter().flatten() {
            if values.is_empty() || values.contains(value) {
                union |= bitmap;
            }
        }
        union
    }

    /// Profiles with an event named `name` (any when `None`; `Some(None)` is a name
    /// never seen) in the time range `[lo, hi]`, as `(inside, edges)`: `inside` did it on
    /// a day wholly within the range, `edges` (the rest) on a day the range cuts, or at
    /// any time when the range is too long to take day by day.
    pub fn did_between(
        &self,
        name: Option<Option<u32>>,
        (lo, hi): (i64, i64),
    ) -> (RoaringBitmap, RoaringBitmap) {
        let key = match name {
            None => ANY_EVENT,
            Some(Some(id)) if id != UNNAMED => id,
            Some(_) => return (RoaringBitmap::new(), RoaringBitmap::new()),
        };
        if lo > hi {
            return (RoaringBitmap::new(), RoaringBitmap::new());
        }
        let (first, last) = (lo.div_euclid(DAY_MS), hi.div_euclid(DAY_MS));
        if lo == i64::MIN || hi == i64::MAX || last - first > MOST_DAYS_UNIONED {
            return (
                RoaringBitmap::new(),
                self.ever.get(&key).cloned().unwrap_or_default(),
            );
        }
        let day = |d: i64| self.days.get(&(key, d));
        let whole = |d: i64| d * DAY_MS >= lo && (d + 1) * DAY_MS - 1 <= hi;
        let inside = roaring::MultiOps::union((first..=last).filter(|d| whole(*d)).filter_map(day));
        let cut = roaring::MultiOps::union([first, last].into_iter().filter(|d| !whole(*d)).filter_map(day));
        (inside.clone(), cut - inside)
    }
}

/// Whether an event condition can only hold for a profile with a matching event in its
/// window.
pub fn needs_an_event(event: &EventCondition) -> bool {
    match &event.measure {
        Measure::DidNot => false,
        Measure::Count { compare, value } => !compare.holds(0.0, *value),
        Measure::Did | Measure::Aggregate { .. } | Measure::FirstTime | Measure::LastTime => true,
    }
}
