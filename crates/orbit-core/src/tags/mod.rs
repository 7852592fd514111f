//! Tags: one dimension of a person each (标签). A tag's values come from its source:
//! a **rule** (ordered values, each with a condition; a profile takes the first value
//! whose condition holds), **RFM** (recency, frequency and monetary quintiles over the
//! workspace's buyers, giving the eight classic groups), an **import** (a file of
//! identities and values) or **manual** assignment on one profile at a time.
//!
//! This module holds the definitions and the pure rules; the engine materialises the
//! values in its audience index.

pub mod input;
pub mod library;
pub mod references;
pub mod rfm;

pub use input::{TagInput, ValueInput};
pub use library::{TagLibrary, TagLibraryFile};
pub use references::{Reference, check_tag_references, references};
pub use rfm::{RfmFacts, RfmGroup, RfmScore, score_population};

use crate::audience::Condition;
use serde::{Deserialize, Serialize};

/// The family a tag belongs to, for browsing a tag library.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TagFamily {
    /// Basic attributes: gender, age, city, member tier.
    Basic,
    /// What the person does: browsing, sharing, cart.
    Behaviour,
    /// Orders: counts, categories, refunds.
    Orders,
    /// Ratings and satisfaction.
    Ratings,
    /// Recency, frequency, monetary groups.
    Rfm,
    /// Lifecycle stage: new, active, silent, churned, returning.
    Lifecycle,
    /// Marketing preferences: channels, coupons, delivery.
    Preference,
    /// Activity: active in the last 7 or 30 days.
    Activity,
    /// Consumption capacity: how much they spend.
    Consumption,
    /// Interests: categories and topics.
    Interest,
    /// Business tags specific to one brand or industry.
    Business,
}

/// A text in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

/// One value of a rule tag: given to a profile when its condition holds and no earlier
/// value's did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleValue {
    /// The value, as segments name it.
    pub value: String,
    /// How people read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Who gets it.
    pub condition: Condition,
}

/// A value an imported or manual tag accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclaredValue {
    /// The value.
    pub value: String,
    /// How people read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

/// Where an RFM tag reads orders from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RfmSpec {
    /// The event that is one order.
    #[serde(default = "default_order_event")]
    pub order_event: String,
    /// The order's numeric amount property.
    #[serde(default = "default_amount_property")]
    pub amount_property: String,
    /// Orders count when placed within this many days before now.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
}

fn default_order_event() -> String {
    "order_paid".into()
}

fn default_amount_property() -> String {
    "amount".into()
}

fn default_window_days() -> u32 {
    365
}

impl Default for RfmSpec {
    fn default() -> Self {
        Self {
            order_event: default_order_event(),
            amount_property: default_amount_property(),
            window_days: default_window_days(),
        }
    }
}

/// How a tag's values come about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    /// Computed from ordered rules: the first value whose condition holds.
    Rule,
    /// Computed from orders: the eight RFM groups.
    Rfm,
    /// Uploaded as a file of identities and values.
    Imported,
    /// Set on one profile at a time.
    Manual,
}

impl TagKind {
    /// The kind's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Rfm => "rfm",
            Self::Imported => "imported",
            Self::Manual => "manual",
        }
    }

    /// Whether values are computed by Orbit rather than assigned.
    pub fn is_computed(self) -> bool {
        matches!(self, Self::Rule | Self::Rfm)
    }
}

/// A tag's source, with what its kind needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TagSource {
    /// Ordered values, the first that holds wins.
    Rule {
        /// At least one.
        values: Vec<RuleValue>,
    },
    /// RFM groups over orders.
    Rfm {
        /// Where orders are read from.
        rfm: RfmSpec,
    },
    /// Values set by uploads.
    Imported {
        /// The values accepted; empty accepts any.
        #[serde(default)]
        values: Vec<DeclaredValue>,
    },
    /// Values set on one profile at a time.
    Manual {
        /// The values accepted; empty accepts any.
        #[serde(default)]
        values: Vec<DeclaredValue>,
    },
}

impl TagSource {
    /// The source's kind.
    pub fn kind(&self) -> TagKind {
        match self {
            Self::Rule { .. } => TagKind::Rule,
            Self::Rfm { .. } => TagKind::Rfm,
            Self::Imported { .. } => TagKind::Imported,
            Self::Manual { .. } => TagKind::Manual,
        }
    }

    /// Whether an assigned value is accepted (imported and manual tags only).
    pub fn accepts(&self, value: &str) -> bool {
        match self {
            Self::Imported { values } | Self::Manual { values } => {
                values.is_empty() || values.iter().any(|v| v.value == value)
            }
            Self::Rule { .. } | Self::Rfm { .. } => false,
        }
    }

    /// The conditions of a rule tag, with their paths (`values[2].condition`).
    pub fn conditions(&self) -> Vec<(String, &Condition)> {
        match self {
            Self::Rule { values } => values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("values[{i}].condition"), &v.condition))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A tag as defined: what people read and where its values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagDefinition {
    /// Display name (Chinese or English).
    pub name: String,
    /// What it means, in the marketer's words.
    pub description: String,
    /// Its family.
    pub family: TagFamily,
    /// Where its values come from.
    pub source: TagSource,
}

/// A definition that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TagError {
    /// The offending field's path, e.g. `values[2].condition.window`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl TagError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Most characters in a tag value.
pub const MAX_VALUE_CHARS: usize = 64;

/// Checks one assigned or declared value: trimmed, non-empty, at most
/// [`MAX_VALUE_CHARS`] characters. Returns it trimmed.
pub fn clean_value(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("a value may not be empty".into());
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("a value has at most {MAX_VALUE_CHARS} characters"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests;
