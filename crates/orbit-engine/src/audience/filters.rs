//! Bitmaps that narrow an evaluation before any profile is looked at (ADR 0006):
//! profiles by text trait value, by tag value, and by event name per day.
//!
//! They give a *superset* of a condition's members: a condition is then evaluated
//! exactly, profile by profile, only inside that set. A bitmap may hold numbers of
//! profiles since merged or erased (the live set removes them) and a day bitmap holds
//! profiles whose event that day fell outside a window's edge (exact evaluation removes
//! them); it never lacks a member.

use super::held::HeldTraits;
use super::timeline::{Interner, UNNAMED};
use foldhash::HashMap;
use orbit_core::audience::values::{read_number, read_text};
use orbit_core::audience::{EventCondition, Measure, ValueTest, ValueType};
use roaring::RoaringBitmap;
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;
/// The key of "any event" among event names.
const ANY_EVENT: u32 = u32::MAX - 1;
/// Windows longer than this are narrowed by the ever-bitmap instead of day by day.
const MOST_DAYS_UNIONED: i64 = 400;

/// The narrowing bitmaps of one workspace's index.
#[derive(Debug, Default)]
pub struct Filters {
    /// Top-level trait → its value as text → profiles.
    trait_values: HashMap<String, ValueHolders>,
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
    /// Moves profile `n` from its old traits' values to its new ones; `names` spells
    /// the traits' numbers.
    pub fn set_traits(&mut self, n: u32, old: &HeldTraits, new: &HeldTraits, names: &Interner) {
        for (id, value) in old.iter() {
            let Some(name) = names.text(id).filter(|_| new.get(id) != Some(value)) else {
                continue;
            };
            if let Some(set) = self.trait_set.get_mut(name) {
                set.remove(n);
            }
            if let Some(text) = read_text(value)
                && let Some(holders) = self.trait_values.get_mut(name)
            {
                holders.remove(&text, n);
            }
        }
        for (id, value) in new.iter() {
            let Some(name) = names.text(id) else { continue };
            if value.is_null() || old.get(id) == Some(value) {
                continue;
            }
            // Only present values are read from a column (the presence bitmap says which).
            let number = read_number(value);
            if number.is_some() || self.number_columns.contains_key(name) {
                let column = self.number_columns.entry(name.to_owned()).or_default();
                if column.len() <= n as usize {
                    column.resize(n as usize + 1, f64::NAN);
                }
                column[n as usize] = number.unwrap_or(f64::NAN);
            }
            match self.trait_set.get_mut(name) {
                Some(set) => _ = set.insert(n),
                None => {
                    _ = self
                        .trait_set
                        .insert(name.to_owned(), RoaringBitmap::from_iter([n]))
                }
            }
            if let Some(text) = read_text(value) {
                match self.trait_values.get_mut(name) {
                    Some(holders) => holders.insert(text, n),
                    None => {
                        let mut holders = ValueHolders::default();
                        holders.insert(text, n);
                        self.trait_values.insert(name.to_owned(), holders);
                    }
                }
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

    /// The event bitmaps, for a snapshot: profiles by event name ever, and by (event
    /// name, UTC day). Trait and tag bitmaps are left out: start-up sets traits and
    /// tags again from their sources, which rebuilds those.
    pub fn event_bitmaps(&self) -> EventBitmaps {
        let mut ever: Vec<_> = self.ever.iter().map(|(k, b)| (*k, b.clone())).collect();
        let mut days: Vec<_> = self.days.iter().map(|(k, b)| (*k, b.clone())).collect();
        // In key order, so that equal indexes make equal snapshots.
        ever.sort_unstable_by_key(|(k, _)| *k);
        days.sort_unstable_by_key(|(k, _)| *k);
        EventBitmaps { ever, days }
    }

    /// Filters holding only the event bitmaps of a snapshot.
    pub fn from_event_bitmaps(bitmaps: EventBitmaps) -> Self {
        Self {
            ever: bitmaps.ever.into_iter().collect(),
            days: bitmaps.days.into_iter().collect(),
            ..Self::default()
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
            if let Some(holders) = values {
                holders.add_holders(&text, &mut union);
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

/// What the narrowing bitmaps say about live profiles, by profile and by text, so
/// that two indexes numbered differently compare equal when they hold the same.
#[cfg(test)]
#[derive(Debug, PartialEq, Default)]
pub struct ObservedFilters {
    /// Trait → value as text → profiles.
    pub trait_values:
        std::collections::BTreeMap<(String, String), std::collections::BTreeSet<orbit_core::ProfileId>>,
    /// Trait → profiles that have it, with the number column's value (as bits) where set.
    pub traits:
        std::collections::BTreeMap<String, std::collections::BTreeMap<orbit_core::ProfileId, Option<u64>>>,
    /// (tag, value) → profiles.
    pub tag_values:
        std::collections::BTreeMap<(String, String), std::collections::BTreeSet<orbit_core::ProfileId>>,
    /// Event name → profiles that ever did it.
    pub ever: std::collections::BTreeMap<String, std::collections::BTreeSet<orbit_core::ProfileId>>,
    /// (event name, day) → profiles.
    pub days: std::collections::BTreeMap<(String, i64), std::collections::BTreeSet<orbit_core::ProfileId>>,
}

#[cfg(test)]
impl Filters {
    /// What the bitmaps say about the profiles `live` names, by id; `name` spells an
    /// interned event name.
    pub fn observe(
        &self,
        live: &dyn Fn(u32) -> Option<orbit_core::ProfileId>,
        name: &dyn Fn(u32) -> String,
    ) -> ObservedFilters {
        use std::collections::BTreeSet;
        let ids = |bitmap: &RoaringBitmap| -> BTreeSet<orbit_core::ProfileId> {
            bitmap.iter().filter_map(live).collect()
        };
        let spell = |key: u32| match key {
            ANY_EVENT => "<any>".to_owned(),
            UNNAMED => "<unnamed>".to_owned(),
            other => name(other),
        };
        let mut seen = ObservedFilters::default();
        for (trait_name, values) in &self.trait_values {
            for (value, bitmap) in values.iter() {
                seen.trait_values
                    .insert((trait_name.clone(), value.to_owned()), ids(&bitmap));
            }
        }
        for (trait_name, set) in &self.trait_set {
            let column = self.number_columns.get(trait_name);
            let held = set
                .iter()
                .filter_map(|n| {
                    let number = column.and_then(|c| c.get(n as usize)).filter(|x| !x.is_nan());
                    Some((live(n)?, number.map(|x| x.to_bits())))
                })
                .collect();
            seen.traits.insert(trait_name.clone(), held);
        }
        for (tag, values) in &self.tag_values {
            for (value, bitmap) in values {
                seen.tag_values.insert((tag.clone(), value.clone()), ids(bitmap));
            }
        }
        for (key, bitmap) in &self.ever {
            seen.ever.insert(spell(*key), ids(bitmap));
        }
        for ((key, day), bitmap) in &self.days {
            seen.days.insert((spell(*key), *day), ids(bitmap));
        }
        let drop_empty = |_: &_, set: &mut BTreeSet<orbit_core::ProfileId>| !set.is_empty();
        seen.trait_values.retain(drop_empty);
        seen.tag_values.retain(drop_empty);
        seen.ever.retain(|_, set| !set.is_empty());
        seen.days.retain(|_, set| !set.is_empty());
        seen.traits.retain(|_, held| !held.is_empty());
        seen
    }
}

/// The profiles holding each value of one trait. Most values of a trait such as a
/// phone number or an email are held by one profile, and a bitmap apiece would cost
/// ten times what the value does: those are kept as a number until a second profile
/// holds them.
#[derive(Debug, Default)]
struct ValueHolders {
    /// Values that two or more profiles have held.
    shared: HashMap<String, RoaringBitmap>,
    /// Values one profile holds.
    single: HashMap<Box<str>, u32>,
}

impl ValueHolders {
    fn insert(&mut self, value: String, n: u32) {
        if let Some(bitmap) = self.shared.get_mut(value.as_str()) {
            bitmap.insert(n);
            return;
        }
        match self.single.get(value.as_str()) {
            None => _ = self.single.insert(value.into_boxed_str(), n),
            Some(held) if *held == n => {}
            Some(held) => {
                let both = RoaringBitmap::from_iter([*held, n]);
                self.single.remove(value.as_str());
                self.shared.insert(value, both);
            }
        }
    }

    fn remove(&mut self, value: &str, n: u32) {
        if let Some(bitmap) = self.shared.get_mut(value) {
            bitmap.remove(n);
        } else if self.single.get(value) == Some(&n) {
            self.single.remove(value);
        }
    }

    /// Adds the holders of `value` to `union`.
    fn add_holders(&self, value: &str, union: &mut RoaringBitmap) {
        if let Some(bitmap) = self.shared.get(value) {
            *union |= bitmap;
        } else if let Some(n) = self.single.get(value) {
            union.insert(*n);
        }
    }

    /// Every value with its holders.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (&str, RoaringBitmap)> {
        let shared = self.shared.iter().map(|(v, b)| (v.as_str(), b.clone()));
        shared.chain(
            self.single
                .iter()
                .map(|(v, n)| (&**v, RoaringBitmap::from_iter([*n]))),
        )
    }
}

/// The event bitmaps of [`Filters`], as a snapshot holds them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventBitmaps {
    /// Event name (interned) → profiles that ever did it.
    pub ever: Vec<(u32, RoaringBitmap)>,
    /// (event name, UTC day number) → profiles that did it that day.
    pub days: Vec<((u32, i64), RoaringBitmap)>,
}

impl EventBitmaps {
    /// Renumbers every bitmap through `map` (old dense number → new; `None` drops
    /// it). `map` must keep order, as compaction does.
    pub fn renumber(&mut self, map: &dyn Fn(u32) -> Option<u32>) {
        let renumber = |bitmap: &mut RoaringBitmap| {
            let moved = RoaringBitmap::from_sorted_iter(bitmap.iter().filter_map(map));
            *bitmap = moved.unwrap_or_else(|_| bitmap.iter().filter_map(map).collect());
        };
        self.ever.iter_mut().for_each(|(_, b)| renumber(b));
        self.days.iter_mut().for_each(|(_, b)| renumber(b));
        self.ever.retain(|(_, b)| !b.is_empty());
        self.days.retain(|(_, b)| !b.is_empty());
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
