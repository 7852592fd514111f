//! Bitmap-first evaluation (ADR 0006): a condition is answered over a set of candidate
//! profiles, narrowing it with bitmaps where they give the answer exactly and looking
//! at single profiles only where they cannot (numeric comparisons, property filters,
//! the edge days of a window).
//!
//! Each step returns exactly the candidates that meet its condition, so the steps
//! compose: an AND passes its survivors from child to child, cheapest child first.

use super::AudienceIndex;
use crate::audience::behaviour::window_bounds;
use crate::audience::filters::needs_an_event;
use foldhash::HashMap;
use orbit_core::audience::values::{Today, passes};
use orbit_core::audience::{Compare, Condition, Evaluation, EventCondition, Measure, ValueTest, ValueType};
use rayon::prelude::*;
use roaring::RoaringBitmap;

/// Candidates looked at one by one on a single thread below this many.
const PARALLEL_FROM: u64 = 4_096;

/// What every step of one evaluation shares.
pub(super) struct Plan<'a> {
    pub(super) index: &'a AudienceIndex,
    pub(super) at: &'a Evaluation,
    pub(super) today: Today,
    pub(super) segments: &'a HashMap<String, RoaringBitmap>,
}

impl Plan<'_> {
    /// The profiles of `within` that meet `condition`.
    pub(super) fn members(&self, condition: &Condition, within: RoaringBitmap) -> RoaringBitmap {
        if within.is_empty() {
            return within;
        }
        let filters = &self.index.filters;
        match condition {
            Condition::And { conditions } => {
                let mut ordered: Vec<&Condition> = conditions.iter().collect();
                ordered.sort_by_key(|c| cost(c));
                ordered
                    .into_iter()
                    .fold(within, |survivors, child| self.members(child, survivors))
            }
            Condition::Or { conditions } => {
                let (mut found, mut rest) = (RoaringBitmap::new(), within);
                for child in conditions {
                    let hits = self.members(child, rest.clone());
                    rest -= &hits;
                    found |= hits;
                }
                found
            }
            Condition::Not { condition } => {
                let hits = self.members(condition, within.clone());
                within - hits
            }
            Condition::Trait {
                name,
                value_type,
                test,
            } => {
                if let Some(exact) = filters.trait_exact(name, *value_type, test) {
                    return within & exact;
                }
                let narrowed = match (test, filters.trait_present(name)) {
                    (ValueTest::IsNotSet, Some(present)) => return within - present,
                    (ValueTest::IsNotSet, None) => within,
                    // Every other test fails on a missing value.
                    (_, Some(present)) => within & present,
                    (_, None) => within,
                };
                if *value_type == ValueType::Number
                    && numeric_test(test)
                    && let Some(column) = filters.number_column(name)
                {
                    // Every present value is in the column (NaN where not a number),
                    // and a number test reads nothing else of it.
                    return narrowed
                        .iter()
                        .filter(|n| {
                            let x = column.get(*n as usize).copied().unwrap_or(f64::NAN);
                            passes(
                                Some(&serde_json::Value::from(x)),
                                ValueType::Number,
                                test,
                                &self.today,
                            )
                        })
                        .collect();
                }
                self.one_by_one(condition, narrowed)
            }
            Condition::Tag { tag, values } => within & filters.tag_holders(tag, values),
            Condition::Segment { segment } => match self.segments.get(segment) {
                Some(members) => within & members,
                None => RoaringBitmap::new(),
            },
            Condition::Event(event) => self.event_members(condition, event, within),
            Condition::Sequence(sequence) => {
                let name = self.name(sequence.first.event.as_deref());
                let (inside, edges) = filters.did_between(name, window_bounds(&sequence.window, self.at));
                self.one_by_one(condition, within & (inside | edges))
            }
        }
    }

    fn event_members(
        &self,
        condition: &Condition,
        event: &EventCondition,
        within: RoaringBitmap,
    ) -> RoaringBitmap {
        if matches!(event.measure, Measure::DidNot) {
            // Did not ≡ not did, which the bitmaps answer.
            let did = Condition::Event(EventCondition {
                measure: Measure::Did,
                ..event.clone()
            });
            let hits = self.members(&did, within.clone());
            return within - hits;
        }
        if !needs_an_event(event) {
            return self.one_by_one(condition, within);
        }
        let name = self.name(event.matching.event.as_deref());
        let (inside, edges) = self
            .index
            .filters
            .did_between(name, window_bounds(&event.window, self.at));
        // A named event with no filters on a day wholly inside the window is a `did`;
        // "any event" is not (passive events, such as transitions, do not count as activity).
        let exact =
            means_did(&event.measure) && event.matching.filters.is_empty() && event.matching.event.is_some();
        if exact {
            let sure = &within & &inside;
            let unsure = (within & edges) - &sure;
            sure | self.one_by_one(condition, unsure)
        } else {
            self.one_by_one(condition, within & (inside | edges))
        }
    }

    /// An event name as the index numbers it: `None` for any event, `Some(None)` for a
    /// name never seen.
    fn name(&self, name: Option<&str>) -> Option<Option<u32>> {
        name.map(|n| self.index.strings.find(n))
    }

    /// The candidates meeting `condition`, each looked at on its own.
    fn one_by_one(&self, condition: &Condition, candidates: RoaringBitmap) -> RoaringBitmap {
        let holds = |n: &u32| {
            self.index
                .holds(condition, *n, self.at, &self.today, self.segments)
        };
        if candidates.len() < PARALLEL_FROM {
            return candidates.iter().filter(holds).collect();
        }
        let numbers: Vec<u32> = candidates.iter().collect();
        let hits: Vec<u32> = numbers.par_iter().copied().filter(holds).collect();
        RoaringBitmap::from_sorted_iter(hits).unwrap_or_default()
    }
}

/// Whether a number test depends on the value only through it as a number.
fn numeric_test(test: &ValueTest) -> bool {
    matches!(
        test,
        ValueTest::Eq { .. }
            | ValueTest::Ne { .. }
            | ValueTest::In { .. }
            | ValueTest::NotIn { .. }
            | ValueTest::Gt { .. }
            | ValueTest::Gte { .. }
            | ValueTest::Lt { .. }
            | ValueTest::Lte { .. }
            | ValueTest::Between { .. }
    )
}

/// Whether a measure holds exactly when there is at least one matching event.
fn means_did(measure: &Measure) -> bool {
    match measure {
        Measure::Did => true,
        Measure::Count { compare, value } => {
            let (v, c) = (*value, *compare);
            matches!(c, Compare::Gte) && v > 0.0 && v <= 1.0
                || matches!(c, Compare::Gt) && (0.0..1.0).contains(&v)
        }
        _ => false,
    }
}

/// How dear a condition is to evaluate, to order an AND's children.
fn cost(condition: &Condition) -> u8 {
    match condition {
        Condition::Segment { .. } | Condition::Tag { .. } => 0,
        Condition::Trait { .. } => 1,
        Condition::Event(_) => 2,
        Condition::And { .. } | Condition::Or { .. } | Condition::Not { .. } => 3,
        Condition::Sequence(_) => 4,
    }
}
