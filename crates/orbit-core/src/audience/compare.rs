//! Comparing two audiences' tag distributions (churned vs paying users: the tags where
//! they differ most are the growth opportunity).
//!
//! # Contract
//! - A value's share is its holders over the audience's size; an empty audience has
//!   every share 0.
//! - The difference is `a`'s share minus `b`'s, in percentage points; the lift is
//!   `a`'s share over `b`'s, absent when `b`'s is 0.
//! - Values are ordered by the size of the difference, largest first, then by value;
//!   tags by their largest value difference, largest first, keeping the given order
//!   between equals.

use std::collections::HashMap;

/// Holders of each tag and value among one audience's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many members the audience has.
    pub size: u64,
    /// Members holding any value of a tag, by tag.
    pub holders: HashMap<String, u64>,
    /// Members holding a value, by (tag, value).
    pub values: HashMap<(String, String), u64>,
}

impl Tally {
    /// An empty tally of an audience of `size`.
    pub fn of_size(size: u64) -> Self {
        Self {
            size,
            ..Self::default()
        }
    }

    /// Counts one member's values of one tag.
    pub fn add(&mut self, tag: &str, values: &[&str]) {
        *self.holders.entry(tag.to_owned()).or_default() += 1;
        for value in values {
            *self
                .values
                .entry((tag.to_owned(), (*value).to_owned()))
                .or_default() += 1;
        }
    }
}

/// How many of one audience hold something, and what share of it they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// How many.
    pub count: u64,
    /// `count` over the audience's size (0 for an empty audience).
    pub share: f64,
}

impl Share {
    fn of(count: u64, size: u64) -> Self {
        let share = if size == 0 {
            0.0
        } else {
            count as f64 / size as f64
        };
        Self { count, share }
    }
}

/// One value compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueDifference {
    /// The value.
    pub value: String,
    /// Its holders in `a`.
    pub a: Share,
    /// Its holders in `b`.
    pub b: Share,
    /// `a`'s share minus `b`'s, in percentage points.
    pub difference_pp: f64,
    /// `a`'s share over `b`'s; `None` when `b`'s is 0.
    pub lift: Option<f64>,
}

/// One tag compared.
#[derive(Debug, Clone, PartialEq)]
pub struct TagDifference {
    /// The tag.
    pub tag: String,
    /// The largest difference of its values, in percentage points (absolute).
    pub max_difference_pp: f64,
    /// Holders of any of its values in `a`.
    pub a: Share,
    /// Holders of any of its values in `b`.
    pub b: Share,
    /// Its values, those that differ most first.
    pub values: Vec<ValueDifference>,
}

/// Compares `tags` between two audiences; see the module's contract.
pub fn compare_tallies(tags: &[&str], a: &Tally, b: &Tally) -> Vec<TagDifference> {
    let mut compared: Vec<TagDifference> = tags
        .iter()
        .map(|tag| {
            let mut names: Vec<&String> = a
                .values
                .keys()
                .chain(b.values.keys())
                .filter(|(t, _)| t == tag)
                .map(|(_, v)| v)
                .collect();
            names.sort_unstable();
            names.dedup();
            let mut values: Vec<ValueDifference> = names
                .into_iter()
                .map(|value| {
                    let key = ((*tag).to_owned(), value.clone());
                    let count = |t: &Tally| t.values.get(&key).copied().unwrap_or(0);
                    let (sa, sb) = (Share::of(count(a), a.size), Share::of(count(b), b.size));
                    ValueDifference {
                        value: value.clone(),
                        a: sa,
                        b: sb,
                        difference_pp: (sa.share - sb.share) * 100.0,
                        lift: (sb.share > 0.0).then(|| sa.share / sb.share),
                    }
                })
                .collect();
            values.sort_by(|x, y| {
                y.difference_pp
                    .abs()
                    .total_cmp(&x.difference_pp.abs())
                    .then_with(|| x.value.cmp(&y.value))
            });
            let holders = |t: &Tally| t.holders.get(*tag).copied().unwrap_or(0);
            TagDifference {
                tag: (*tag).to_owned(),
                max_difference_pp: values.first().map_or(0.0, |v| v.difference_pp.abs()),
                a: Share::of(holders(a), a.size),
                b: Share::of(holders(b), b.size),
                values,
            }
        })
        .collect();
    // A stable sort: equal differences keep the given order.
    compared.sort_by(|x, y| y.max_difference_pp.total_cmp(&x.max_difference_pp));
    compared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(size: u64, members: &[(&str, &[&str])]) -> Tally {
        let mut t = Tally::of_size(size);
        for (tag, values) in members {
            t.add(tag, values);
        }
        t
    }

    #[test]
    fn shares_differences_and_lift_follow_the_contract() {
        // 3 of 4 churned users are "silent"; 1 of 10 payers is.
        let a = tally(
            4,
            &[
                ("life", &["silent"]),
                ("life", &["silent"]),
                ("life", &["silent"]),
            ],
        );
        let b = tally(10, &[("life", &["silent"]), ("life", &["active"])]);
        let compared = compare_tallies(&["life"], &a, &b);
        let life = &compared[0];
        assert_eq!(
            life.a,
            Share {
                count: 3,
                share: 0.75
            }
        );
        assert_eq!(life.b, Share { count: 2, share: 0.2 });
        let silent = &life.values[0];
        assert_eq!(silent.value, "silent");
        assert!((silent.difference_pp - 65.0).abs() < 1e-9);
        assert_eq!(silent.lift, Some(7.5));
        let active = &life.values[1];
        assert_eq!((active.a.count, active.b.count), (0, 1));
        assert!((active.difference_pp + 10.0).abs() < 1e-9);
        assert_eq!(active.lift, Some(0.0));
        assert!((life.max_difference_pp - 65.0).abs() < 1e-9);
    }

    #[test]
    fn an_empty_audience_has_zero_shares_and_no_lift_against_it() {
        let a = tally(0, &[]);
        let b = tally(0, &[]);
        let compared = compare_tallies(&["vip"], &a, &b);
        assert_eq!(compared[0].a, Share { count: 0, share: 0.0 });
        assert!(compared[0].values.is_empty());
        assert_eq!(compared[0].max_difference_pp, 0.0);
        let held = tally(5, &[("vip", &["gold"])]);
        let compared = compare_tallies(&["vip"], &held, &b);
        assert_eq!(compared[0].values[0].lift, None);
    }

    #[test]
    fn tags_are_ordered_by_their_largest_difference_keeping_ties_in_order() {
        let a = tally(10, &[("x", &["1"]), ("y", &["1"]), ("y", &["1"]), ("z", &["1"])]);
        let b = tally(10, &[]);
        let order: Vec<String> = compare_tallies(&["x", "y", "z"], &a, &b)
            .into_iter()
            .map(|t| t.tag)
            .collect();
        assert_eq!(order, ["y", "x", "z"]);
    }

    #[test]
    fn values_with_equal_differences_are_ordered_by_value() {
        let a = tally(10, &[("t", &["b", "a"])]);
        let b = tally(10, &[]);
        let values: Vec<String> = compare_tallies(&["t"], &a, &b)[0]
            .values
            .iter()
            .map(|v| v.value.clone())
            .collect();
        assert_eq!(values, ["a", "b"]);
    }
}
