//! A tag as the API and the tag libraries write it, checked into a [`TagDefinition`].
//!
//! The shape is flat so that errors name short paths (`values[2].condition.window`):
//!
//! ```json
//! {"id": "lifecycle", "name": "生命周期", "family": "lifecycle", "kind": "rule",
//!  "values": [{"value": "new", "condition": {…}}, {"value": "active", "condition": {…}}]}
//! ```

use super::references::{Reference, references};
use super::{
    DeclaredValue, Label, RfmSpec, RuleValue, TagDefinition, TagError, TagFamily, TagKind, TagSource,
    clean_value,
};
use crate::TagId;
use crate::audience::{Condition, validate};
use serde::{Deserialize, Serialize};

/// Most values one tag declares.
pub const MAX_VALUES: usize = 100;
/// Most days an RFM window spans.
pub const MAX_RFM_WINDOW_DAYS: u32 = 3_650;

/// A tag as written by people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    /// Optional id (`[a-z0-9_-]`, 1–64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// What it means.
    #[serde(default)]
    pub description: String,
    /// Its family.
    pub family: TagFamily,
    /// `rule`, `rfm`, `imported` or `manual`.
    pub kind: TagKind,
    /// Rule values (required for `rule`), or the values an imported or manual tag
    /// accepts (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<ValueInput>>,
    /// Where an RFM tag reads orders from (defaults: `order_paid`, `amount`, 365 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfm: Option<RfmSpec>,
}

/// One value as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    /// The value.
    pub value: String,
    /// How people read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Rule tags: who gets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

impl TagInput {
    /// Checks the input; the error names the first offending field. The id, when
    /// given, is parsed too.
    ///
    /// Conditions are checked on their own here; whether the tags they name exist and
    /// do not loop back is the catalog's to say.
    pub fn parse(self) -> Result<(Option<TagId>, TagDefinition), TagError> {
        let id = self
            .id
            .as_deref()
            .map(|raw| TagId::parse(raw).map_err(|e| TagError::new("id", format!("tag id {e}"))))
            .transpose()?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(TagError::new("name", "give the tag a name"));
        }
        if name.chars().count() > 200 {
            return Err(TagError::new("name", "a name has at most 200 characters"));
        }
        if self.description.chars().count() > 2_000 {
            return Err(TagError::new(
                "description",
                "a description has at most 2000 characters",
            ));
        }
        let source = match self.kind {
            TagKind::Rule => {
                refuse_rfm(self.rfm.as_ref())?;
                let values = self
                    .values
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| TagError::new("values", "a rule tag needs at least one value"))?;
                TagSource::Rule {
                    values: rule_values(values)?,
                }
            }
            TagKind::Rfm => {
                if self.values.is_some() {
                    return Err(TagError::new(
                        "values",
                        "an RFM tag's values are the eight RFM groups; leave values out",
                    ));
                }
                let rfm = self.rfm.unwrap_or_default();
                check_rfm(&rfm)?;
                TagSource::Rfm { rfm }
            }
            TagKind::Imported | TagKind::Manual => {
                refuse_rfm(self.rfm.as_ref())?;
                let values = declared_values(self.values.unwrap_or_default())?;
                if self.kind == TagKind::Imported {
                    TagSource::Imported { values }
                } else {
                    TagSource::Manual { values }
                }
            }
        };
        Ok((
            id,
            TagDefinition {
                name: name.to_owned(),
                description: self.description,
                family: self.family,
                source,
            },
        ))
    }
}

fn refuse_rfm(rfm: Option<&RfmSpec>) -> Result<(), TagError> {
    match rfm {
        Some(_) => Err(TagError::new("rfm", "only an RFM tag takes rfm")),
        None => Ok(()),
    }
}

fn check_rfm(rfm: &RfmSpec) -> Result<(), TagError> {
    if rfm.order_event.trim().is_empty() {
        return Err(TagError::new("rfm.order_event", "name the order event"));
    }
    if rfm.amount_property.trim().is_empty() {
        return Err(TagError::new("rfm.amount_property", "name the amount property"));
    }
    if !(1..=MAX_RFM_WINDOW_DAYS).contains(&rfm.window_days) {
        return Err(TagError::new(
            "rfm.window_days",
            format!("must be from 1 to {MAX_RFM_WINDOW_DAYS}"),
        ));
    }
    Ok(())
}

fn check_value_list<'a>(values: impl ExactSizeIterator<Item = &'a str>) -> Result<Vec<String>, TagError> {
    if values.len() > MAX_VALUES {
        return Err(TagError::new(
            "values",
            format!("a tag has at most {MAX_VALUES} values"),
        ));
    }
    let mut seen: Vec<String> = Vec::with_capacity(values.len());
    for (i, raw) in values.enumerate() {
        let at = format!("values[{i}].value");
        let value = clean_value(raw).map_err(|m| TagError::new(&at, m))?;
        if seen.contains(&value) {
            return Err(TagError::new(at, format!("{value:?} is listed twice")));
        }
        seen.push(value);
    }
    Ok(seen)
}

fn rule_values(values: Vec<ValueInput>) -> Result<Vec<RuleValue>, TagError> {
    let cleaned = check_value_list(values.iter().map(|v| v.value.as_str()))?;
    let mut rules = Vec::with_capacity(values.len());
    for (i, (input, value)) in values.into_iter().zip(cleaned).enumerate() {
        let at = format!("values[{i}].condition");
        let condition = input
            .condition
            .ok_or_else(|| TagError::new(&at, "a rule value needs a condition"))?;
        validate(&condition).map_err(|e| {
            let path = if e.path.is_empty() {
                at.clone()
            } else {
                format!("{at}.{}", e.path)
            };
            TagError::new(path, e.message)
        })?;
        if let Some((path, name)) = references(&condition).into_iter().find_map(|(path, r)| match r {
            Reference::Segment(name) => Some((path, name)),
            Reference::Tag(_) => None,
        }) {
            return Err(TagError::new(
                format!("{at}.{path}"),
                format!(
                    "a tag rule may not name a segment ({name:?}): segments are built from tags, \
                     not the other way round"
                ),
            ));
        }
        rules.push(RuleValue {
            value,
            label: input.label,
            condition,
        });
    }
    Ok(rules)
}

fn declared_values(values: Vec<ValueInput>) -> Result<Vec<DeclaredValue>, TagError> {
    let cleaned = check_value_list(values.iter().map(|v| v.value.as_str()))?;
    values
        .into_iter()
        .zip(cleaned)
        .enumerate()
        .map(|(i, (input, value))| {
            if input.condition.is_some() {
                return Err(TagError::new(
                    format!("values[{i}].condition"),
                    "only a rule tag's values take a condition",
                ));
            }
            Ok(DeclaredValue {
                value,
                label: input.label,
            })
        })
        .collect()
}

impl From<&TagDefinition> for TagInput {
    /// The input that defines the same tag (without an id).
    fn from(definition: &TagDefinition) -> Self {
        let (values, rfm) = match &definition.source {
            TagSource::Rule { values } => (
                Some(
                    values
                        .iter()
                        .map(|v| ValueInput {
                            value: v.value.clone(),
                            label: v.label.clone(),
                            condition: Some(v.condition.clone()),
                        })
                        .collect(),
                ),
                None,
            ),
            TagSource::Rfm { rfm } => (None, Some(rfm.clone())),
            TagSource::Imported { values } | TagSource::Manual { values } => (
                Some(
                    values
                        .iter()
                        .map(|v| ValueInput {
                            value: v.value.clone(),
                            label: v.label.clone(),
                            condition: None,
                        })
                        .collect(),
                ),
                None,
            ),
        };
        Self {
            id: None,
            name: definition.name.clone(),
            description: definition.description.clone(),
            family: definition.family,
            kind: definition.source.kind(),
            values,
            rfm,
        }
    }
}
