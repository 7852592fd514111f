//! Counts by quarter hour of the index's events (by event time) and of its live
//! profiles (by when each was created), so that "today" in any time zone is a sum of
//! about a hundred counts however many profiles and events the index holds.
//!
//! They are kept as the index changes and rebuilt with it (from the log or a
//! snapshot's timelines), so they are as durable as the index itself.

use super::AudienceIndex;
use foldhash::HashMap;
use orbit_store::TALLY_MINUTES;

const QUARTER_MS: i64 = TALLY_MINUTES * 60_000;

/// How many things fell in each quarter hour (epoch milliseconds ÷ 900,000).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QuarterHours(HashMap<i64, u64>);

impl QuarterHours {
    /// Counts one thing at `at_ms`.
    pub fn add(&mut self, at_ms: i64) {
        *self.0.entry(at_ms.div_euclid(QUARTER_MS)).or_default() += 1;
    }

    /// Takes back one thing counted at `at_ms`.
    pub fn remove(&mut self, at_ms: i64) {
        let quarter = at_ms.div_euclid(QUARTER_MS);
        if let Some(count) = self.0.get_mut(&quarter) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.0.remove(&quarter);
            }
        }
    }

    /// How many fell in the quarter hours that start in `[from_ms, to_ms)`.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> u64 {
        let first_at_or_after =
            |ms: i64| ms.div_euclid(QUARTER_MS) + i64::from(ms.rem_euclid(QUARTER_MS) != 0);
        let (first, end) = (first_at_or_after(from_ms), first_at_or_after(to_ms));
        let span = u64::try_from(end - first).unwrap_or(0);
        // A long range reads the counts there are rather than every quarter in it.
        if span > self.0.len() as u64 {
            self.0
                .iter()
                .filter(|(quarter, _)| (first..end).contains(*quarter))
                .map(|(_, count)| count)
                .sum()
        } else {
            (first..end).filter_map(|quarter| self.0.get(&quarter)).sum()
        }
    }
}

impl AudienceIndex {
    /// Events held whose time falls in the quarter hours that start in
    /// `[from_ms, to_ms)`.
    pub fn events_between(&self, from_ms: i64, to_ms: i64) -> u64 {
        self.events_by_time.between(from_ms, to_ms)
    }

    /// Live profiles created in the quarter hours that start in `[from_ms, to_ms)`:
    /// those whose id was minted then (a profile merged into an older one is gone).
    pub fn profiles_created_between(&self, from_ms: i64, to_ms: i64) -> u64 {
        self.profiles_by_creation.between(from_ms, to_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_core::ProfileId;
    use serde_json::Map;

    const MINUTE: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MINUTE;

    fn person(created_ms: i64, seed: u128) -> ProfileId {
        ProfileId::mint(
            jiff::Timestamp::from_millisecond(created_ms).expect("a time"),
            seed,
        )
    }

    #[test]
    fn the_index_counts_follow_merges_erasures_and_a_snapshot() {
        let (old, young, gone) = (person(0, 1), person(DAY, 2), person(DAY + MINUTE, 3));
        let mut index = AudienceIndex::default();
        let mut position = 0;
        for (profile, at) in [(old, 0), (old, DAY), (young, DAY), (gone, DAY + 5 * MINUTE)] {
            position += 1;
            index.record_event(profile, at, position, Some("page_viewed"), &Map::new());
        }
        let today = |index: &AudienceIndex| {
            (
                index.events_between(DAY, 2 * DAY),
                index.profiles_created_between(DAY, 2 * DAY),
            )
        };
        assert_eq!(today(&index), (3, 2));
        // A merge moves events, and the younger profile is no longer one.
        index.merge(old, young);
        assert_eq!(today(&index), (3, 1));
        // Erasure takes a person's events with them.
        index.erase(gone);
        assert_eq!(today(&index), (2, 0));
        assert_eq!(index.events_between(0, DAY), 1);
        assert_eq!(index.profiles_created_between(0, DAY), 1);
        let restored = index
            .capture()
            .compact()
            .into_index()
            .expect("a well-formed image");
        assert_eq!(today(&restored), (2, 0));
        assert_eq!(restored.profiles_created_between(0, DAY), 1);
    }

    #[test]
    fn counts_sum_over_the_quarter_hours_that_start_in_the_range() {
        let mut tally = QuarterHours::default();
        for at in [0, 14 * MINUTE, 15 * MINUTE, 61 * MINUTE, -MINUTE] {
            tally.add(at);
        }
        assert_eq!(tally.between(0, 60 * MINUTE), 3);
        assert_eq!(tally.between(0, 75 * MINUTE), 4);
        assert_eq!(
            tally.between(MINUTE, 75 * MINUTE),
            2,
            "the first quarter starts before"
        );
        assert_eq!(tally.between(-15 * MINUTE, 0), 1, "times before 1970 count too");
        assert_eq!(tally.between(0, 1_000 * 24 * 60 * MINUTE), 4, "a long range");
        for _ in 0..3 {
            tally.remove(14 * MINUTE);
        }
        assert_eq!(tally.between(0, 60 * MINUTE), 1);
        tally.add(0);
        assert_eq!(tally.between(0, 60 * MINUTE), 2, "a count never goes below zero");
    }
}
