//! Profile traits and the rules that settle conflicts between two values of one trait.
//!
//! A trait update on one profile follows its rule's update behaviour (`first` keeps the
//! earliest value; the others keep the latest by event time). When two profiles merge,
//! the rule decides between their values: latest, first, sum (points) or max (tiers).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashMap};

/// How a trait's conflicting values are settled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum TraitMergeRule {
    /// The value with the latest event time wins (the default).
    #[default]
    Latest,
    /// The value with the earliest event time wins; later updates are ignored.
    First,
    /// Numeric values add up when profiles merge (points, stored value).
    Sum,
    /// The higher value wins when profiles merge: numbers by size, or text by its
    /// position in `order` (lowest first), e.g. `["silver", "gold", "diamond"]`.
    Max {
        /// Ranks of textual values, lowest first; empty for numbers.
        #[serde(default)]
        order: Vec<String>,
    },
}

/// The merge rule of each trait; traits not named use [`TraitMergeRule::Latest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct TraitRules(HashMap<String, TraitMergeRule>);

impl TraitRules {
    /// Rules from a map of trait name to rule.
    pub fn new(rules: HashMap<String, TraitMergeRule>) -> Self {
        Self(rules)
    }

    /// The rule for `trait_name`.
    pub fn rule_for(&self, trait_name: &str) -> &TraitMergeRule {
        static LATEST: TraitMergeRule = TraitMergeRule::Latest;
        self.0.get(trait_name).unwrap_or(&LATEST)
    }
}

/// One trait's value and the event time that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TraitEntry {
    /// The value.
    pub value: Value,
    /// When the value was observed (the event's timestamp).
    pub at: Timestamp,
}

/// A profile's traits, each with the time it was set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct TraitSet(BTreeMap<String, TraitEntry>);

impl TraitSet {
    /// Applies one observed value; returns whether the stored value changed.
    pub fn observe(&mut self, name: &str, value: Value, at: Timestamp, rules: &TraitRules) -> bool {
        match self.0.get_mut(name) {
            None => {
                self.0.insert(name.to_owned(), TraitEntry { value, at });
                true
            }
            Some(entry) => {
                let replaces = match rules.rule_for(name) {
                    TraitMergeRule::First => at < entry.at,
                    _ => at >= entry.at,
                };
                if replaces && (entry.value != value || entry.at != at) {
                    *entry = TraitEntry { value, at };
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Folds the traits of a merged-away profile into this one, by each trait's rule.
    pub fn absorb(&mut self, other: TraitSet, rules: &TraitRules) {
        for (name, theirs) in other.0 {
            let Some(ours) = self.0.get_mut(&name) else {
                self.0.insert(name, theirs);
                continue;
            };
            let at = ours.at.max(theirs.at);
            *ours = match rules.rule_for(&name) {
                TraitMergeRule::Latest => latest(ours.clone(), theirs),
                TraitMergeRule::First => {
                    if theirs.at < ours.at {
                        theirs
                    } else {
                        ours.clone()
                    }
                }
                TraitMergeRule::Sum => match add(&ours.value, &theirs.value) {
                    Some(value) => TraitEntry { value, at },
                    None => latest(ours.clone(), theirs),
                },
                TraitMergeRule::Max { order } => match higher(&ours.value, &theirs.value, order) {
                    Some(true) => TraitEntry {
                        value: ours.value.clone(),
                        at,
                    },
                    Some(false) => TraitEntry {
                        value: theirs.value,
                        at,
                    },
                    None => latest(ours.clone(), theirs),
                },
            };
        }
    }

    /// The traits as a plain JSON object.
    pub fn to_object(&self) -> Map<String, Value> {
        self.0.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect()
    }

    /// One trait's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).map(|e| &e.value)
    }

    /// Whether the set holds no trait.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn latest(ours: TraitEntry, theirs: TraitEntry) -> TraitEntry {
    if theirs.at > ours.at { theirs } else { ours }
}

fn add(a: &Value, b: &Value) -> Option<Value> {
    let (a, b) = (a.as_number()?, b.as_number()?);
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(sum) = x.checked_add(y)
    {
        return Some(Value::Number(sum.into()));
    }
    Number::from_f64(a.as_f64()? + b.as_f64()?).map(Value::Number)
}

/// `Some(true)` when `a` ranks at least as high as `b`; `None` when they don't compare.
fn higher(a: &Value, b: &Value, order: &[String]) -> Option<bool> {
    if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
        return Some(x >= y);
    }
    let rank = |v: &Value| v.as_str().and_then(|s| order.iter().position(|o| o == s));
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => Some(x >= y),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("in range")
    }

    fn rules() -> TraitRules {
        TraitRules::new(HashMap::from([
            ("points".to_owned(), TraitMergeRule::Sum),
            ("signup_channel".to_owned(), TraitMergeRule::First),
            (
                "tier".to_owned(),
                TraitMergeRule::Max {
                    order: vec!["silver".into(), "gold".into(), "diamond".into()],
                },
            ),
        ]))
    }

    #[test]
    fn latest_wins_by_event_time_not_arrival() {
        let mut traits = TraitSet::default();
        traits.observe("city", json!("重庆"), at(20), &rules());
        traits.observe("city", json!("成都"), at(10), &rules());
        assert_eq!(traits.get("city"), Some(&json!("重庆")));
    }

    #[test]
    fn first_wins_keeps_the_earliest_value() {
        let mut traits = TraitSet::default();
        traits.observe("signup_channel", json!("app"), at(20), &rules());
        traits.observe("signup_channel", json!("store"), at(10), &rules());
        traits.observe("signup_channel", json!("web"), at(30), &rules());
        assert_eq!(traits.get("signup_channel"), Some(&json!("store")));
    }

    #[test]
    fn merging_adds_points_and_keeps_the_higher_tier() {
        let mut a = TraitSet::default();
        a.observe("points", json!(120), at(10), &rules());
        a.observe("tier", json!("diamond"), at(10), &rules());
        a.observe("city", json!("上海"), at(10), &rules());
        let mut b = TraitSet::default();
        b.observe("points", json!(30), at(20), &rules());
        b.observe("tier", json!("gold"), at(20), &rules());
        b.observe("city", json!("北京"), at(20), &rules());
        a.absorb(b, &rules());
        assert_eq!(a.get("points"), Some(&json!(150)));
        assert_eq!(a.get("tier"), Some(&json!("diamond")));
        assert_eq!(a.get("city"), Some(&json!("北京")));
    }

    #[test]
    fn merge_rules_read_from_json() {
        let parsed: TraitRules = serde_json::from_value(json!({
            "points": {"rule": "sum"},
            "tier": {"rule": "max", "order": ["silver", "gold"]}
        }))
        .expect("valid rules");
        assert_eq!(parsed.rule_for("points"), &TraitMergeRule::Sum);
        assert_eq!(parsed.rule_for("name"), &TraitMergeRule::Latest);
    }
}
