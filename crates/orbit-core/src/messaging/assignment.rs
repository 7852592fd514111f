//! Splitting an audience into a holdout group and variants, stably.
//!
//! A person's arm is a pure function of the campaign's salt and their profile id, so
//! it survives restarts, re-runs and re-materialisation without being stored first,
//! and two campaigns (two salts) split people independently.

use serde::{Deserialize, Serialize};

use crate::ProfileId;

/// The name the held-out control group goes by in the ledger and the reports; no
/// variant may take it.
pub const CONTROL_ARM: &str = "control";

/// Resolution of a split: shares are placed on a line of this many points.
const POINTS: u64 = 1_000_000;

/// How a campaign's audience is divided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Percentage (0–100, fractions allowed) held out and never contacted.
    #[serde(default)]
    pub control_percent: f64,
    /// The variants and their relative weights among everyone not held out.
    pub variants: Vec<VariantWeight>,
}

/// One variant's name and share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantWeight {
    /// The variant's name ("a", "b", "20_off").
    pub name: String,
    /// Its share relative to the other variants' weights.
    pub weight: u32,
}

/// The group a person falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arm {
    /// Held out: never contacted, measured for comparison.
    Control,
    /// The variant at this index of [`Split::variants`].
    Variant(usize),
}

/// A split that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SplitError {
    /// The field at fault, as a JSON path inside the split.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Split {
    /// One variant for everyone, nobody held out.
    pub fn single(name: &str) -> Self {
        Self {
            control_percent: 0.0,
            variants: vec![VariantWeight {
                name: name.to_owned(),
                weight: 1,
            }],
        }
    }

    /// Checks shares and names.
    pub fn validate(&self) -> Result<(), SplitError> {
        let err = |field: &str, message: &str| SplitError {
            field: field.to_owned(),
            message: message.to_owned(),
        };
        if !self.control_percent.is_finite() || !(0.0..=100.0).contains(&self.control_percent) {
            return Err(err("control_percent", "must be between 0 and 100"));
        }
        if self.variants.is_empty() {
            return Err(err("variants", "needs at least one variant"));
        }
        if self.variants.len() > 26 {
            return Err(err("variants", "at most 26 variants"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in self.variants.iter().enumerate() {
            if crate::ids::TemplateId::parse(&v.name).is_err() {
                return Err(err(
                    &format!("variants[{i}].name"),
                    "must be 1–64 characters of a-z, 0-9, '_' and '-'",
                ));
            }
            if v.name == CONTROL_ARM {
                return Err(err(
                    &format!("variants[{i}].name"),
                    "\"control\" names the control group; give the variant another name",
                ));
            }
            if !seen.insert(v.name.as_str()) {
                return Err(err(&format!("variants[{i}].name"), "is used twice"));
            }
            if v.weight == 0 {
                return Err(err(&format!("variants[{i}].weight"), "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The arm of a person; `salt` is the campaign's own (its id), so campaigns split
    /// independently.
    pub fn assign(&self, salt: &str, profile: &ProfileId) -> Arm {
        let point = point_of(salt, profile);
        // Rounded to the line's resolution: 10% holds out exactly 100,000 points.
        let control_points = (self.control_percent / 100.0 * POINTS as f64).round() as u64;
        if point < control_points {
            return Arm::Control;
        }
        let treated = POINTS - control_points;
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        let offset = point - control_points;
        let mut upper = 0u64;
        for (i, v) in self.variants.iter().enumerate() {
            upper += u64::from(v.weight);
            // offset / treated < upper / total, in integers.
            if u128::from(offset) * u128::from(total) < u128::from(upper) * u128::from(treated) {
                return Arm::Variant(i);
            }
        }
        Arm::Variant(self.variants.len().saturating_sub(1))
    }
}

/// A person's point on the split line: uniform, stable across versions and machines.
fn point_of(salt: &str, profile: &ProfileId) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(salt.as_bytes());
    hasher.update(&[0]);
    hasher.update(profile.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    // Multiply-shift maps 64 uniform bits onto the line without modulo bias.
    ((u128::from(u64::from_le_bytes(first)) * u128::from(POINTS)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(control: f64, weights: &[u32]) -> Split {
        Split {
            control_percent: control,
            variants: weights
                .iter()
                .enumerate()
                .map(|(i, w)| VariantWeight {
                    name: format!("v{i}"),
                    weight: *w,
                })
                .collect(),
        }
    }

    #[test]
    fn shares_land_within_a_percent_on_a_large_audience() {
        let s = split(10.0, &[1, 1]);
        let mut counts = [0usize; 3];
        let n = 100_000;
        for i in 0..n {
            let id = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 0x1234_5678 + i as u128 * 7919);
            match s.assign("spring-sale", &id) {
                Arm::Control => counts[0] += 1,
                Arm::Variant(v) => counts[v + 1] += 1,
            }
        }
        let share = |c: usize| c as f64 / n as f64 * 100.0;
        assert!((share(counts[0]) - 10.0).abs() < 1.0, "{counts:?}");
        assert!((share(counts[1]) - 45.0).abs() < 1.0, "{counts:?}");
        assert!((share(counts[2]) - 45.0).abs() < 1.0, "{counts:?}");
    }

    #[test]
    fn assignment_is_stable_and_salted() {
        let s = split(50.0, &[1]);
        let ids: Vec<ProfileId> = (0..200u128)
            .map(|i| ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, i + 1))
            .collect();
        let first: Vec<Arm> = ids.iter().map(|id| s.assign("a", id)).collect();
        let again: Vec<Arm> = ids.iter().map(|id| s.assign("a", id)).collect();
        let other: Vec<Arm> = ids.iter().map(|id| s.assign("b", id)).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn extremes_hold_everyone_or_nobody() {
        let id = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 42);
        assert_eq!(split(100.0, &[1]).assign("x", &id), Arm::Control);
        assert_eq!(split(0.0, &[0, 1]).assign("x", &id), Arm::Variant(1));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            split(120.0, &[1]).validate().map_err(|e| e.field),
            Err("control_percent".to_owned())
        );
        assert_eq!(
            split(0.0, &[]).validate().map_err(|e| e.field),
            Err("variants".to_owned())
        );
        assert_eq!(
            split(0.0, &[1, 0]).validate().map_err(|e| e.field),
            Err("variants[1].weight".to_owned())
        );
        let mut twice = split(0.0, &[1, 1]);
        twice.variants[1].name = "v0".to_owned();
        assert_eq!(
            twice.validate().map_err(|e| e.field),
            Err("variants[1].name".to_owned())
        );
        let mut control = split(10.0, &[1, 1]);
        control.variants[0].name = CONTROL_ARM.to_owned();
        assert_eq!(
            control.validate().map_err(|e| e.field),
            Err("variants[0].name".to_owned()),
            "the control group's name is taken"
        );
        assert_eq!(split(10.0, &[1, 1]).validate(), Ok(()));
    }
}
