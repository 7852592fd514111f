//! A broadcast campaign's definition: who, what, on which channels, when, and how the
//! audience is split.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assignment::{Split, VariantWeight};
use super::channel::MessageClass;
use crate::{ChannelId, SegmentId, TemplateId};

/// What a marketer writes to create a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignDefinition {
    /// A name people recognise.
    pub name: String,
    /// The audience: a segment's members when each run opens.
    pub segment: SegmentId,
    /// Marketing (the default) or transactional.
    #[serde(default)]
    pub class: ClassName,
    /// The subscription topic of marketing messages.
    #[serde(default = "promotions")]
    pub topic: String,
    /// Percentage of the audience held out and never contacted.
    #[serde(default)]
    pub control_percent: f64,
    /// The variants: each its own messages and weight.
    pub variants: Vec<CampaignVariant>,
    /// One message on the best channel (`priority`), or one on each (`all`).
    #[serde(default)]
    pub channel_policy: ChannelPolicy,
    /// When runs open.
    #[serde(default)]
    pub schedule: Schedule,
    /// At most this many messages per minute (all channels together).
    #[serde(default)]
    pub throttle_per_minute: Option<u32>,
}

/// One variant of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignVariant {
    /// The variant's name (`a`, `b`, `20_off`).
    pub name: String,
    /// Its share relative to the other variants.
    #[serde(default = "one")]
    pub weight: u32,
    /// Its messages in channel priority order: one template per channel.
    pub messages: Vec<CampaignMessage>,
}

/// The two classes of message, as written in a definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClassName {
    /// Promotional.
    #[default]
    Marketing,
    /// Service.
    Transactional,
}

/// The subscription topic of marketing messages that name none.
pub const DEFAULT_TOPIC: &str = "promotions";

fn promotions() -> String {
    DEFAULT_TOPIC.to_owned()
}

fn one() -> u32 {
    1
}

/// One channel's content in a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignMessage {
    /// The template (its content says the channel).
    pub template: TemplateId,
    /// The configured provider account to send through; the workspace's only or
    /// default one for the channel when absent.
    #[serde(default)]
    pub account: Option<ChannelId>,
}

/// How a variant's messages are spread over channels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelPolicy {
    /// One message per person, on the first channel (in order) they can receive.
    #[default]
    Priority,
    /// One message per channel the person can receive.
    All,
}

/// When a campaign's runs open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// As soon as it is launched.
    #[default]
    Now,
    /// Once, at this instant.
    At {
        /// When.
        at: Timestamp,
    },
    /// Repeatedly, on a cron expression read in a time zone.
    Cron {
        /// Five or six fields (`0 10 * * MON`), croner syntax.
        expression: String,
        /// IANA time zone the expression is read in.
        time_zone: String,
        /// No run opens after this instant.
        #[serde(default)]
        until: Option<Timestamp>,
    },
}

/// A definition that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DefinitionError {
    /// The field, as a JSON path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        field: field.into(),
        message: message.into(),
    }
}

impl CampaignDefinition {
    /// Checks everything that can be checked without the store.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.name.trim().is_empty() {
            return Err(err("name", "must not be empty"));
        }
        if crate::TagId::parse(&self.topic).is_err() {
            return Err(err("topic", "must be 1–64 characters of a-z, 0-9, '_' and '-'"));
        }
        self.split().validate().map_err(|e| err(e.field, e.message))?;
        for (i, variant) in self.variants.iter().enumerate() {
            if variant.messages.is_empty() {
                return Err(err(
                    format!("variants[{i}].messages"),
                    "needs at least one message",
                ));
            }
            if variant.messages.len() > 8 {
                return Err(err(format!("variants[{i}].messages"), "at most 8 channels"));
            }
        }
        if self.throttle_per_minute == Some(0) {
            return Err(err("throttle_per_minute", "must be at least 1"));
        }
        if let Schedule::Cron {
            expression,
            time_zone,
            ..
        } = &self.schedule
        {
            croner::Cron::from_str(expression).map_err(|e| err("schedule.expression", e.to_string()))?;
            TimeZone::get(time_zone)
                .map_err(|_| err("schedule.time_zone", format!("unknown time zone {time_zone:?}")))?;
        }
        Ok(())
    }

    /// The class its messages are sent as.
    pub fn message_class(&self) -> MessageClass {
        match self.class {
            ClassName::Marketing => MessageClass::Marketing {
                topic: self.topic.clone(),
            },
            ClassName::Transactional => MessageClass::Transactional,
        }
    }

    /// The audience split this definition describes.
    pub fn split(&self) -> Split {
        Split {
            control_percent: self.control_percent,
            variants: self
                .variants
                .iter()
                .map(|v| VariantWeight {
                    name: v.name.clone(),
                    weight: v.weight,
                })
                .collect(),
        }
    }

    /// When the first run opens if launched at `now`.
    pub fn first_run(&self, now: Timestamp) -> Result<Timestamp, DefinitionError> {
        match &self.schedule {
            Schedule::Now => Ok(now),
            Schedule::At { at } => Ok(*at),
            Schedule::Cron { .. } => self
                .next_run_after(now)?
                .ok_or_else(|| err("schedule.until", "no run falls before it")),
        }
    }

    /// The next run strictly after `after`, for recurring schedules.
    pub fn next_run_after(&self, after: Timestamp) -> Result<Option<Timestamp>, DefinitionError> {
        let Schedule::Cron {
            expression,
            time_zone,
            until,
        } = &self.schedule
        else {
            return Ok(None);
        };
        let cron =
            croner::Cron::from_str(expression).map_err(|e| err("schedule.expression", e.to_string()))?;
        let tz = TimeZone::get(time_zone)
            .map_err(|_| err("schedule.time_zone", format!("unknown time zone {time_zone:?}")))?;
        let next = cron
            .find_next_occurrence(&after.to_zoned(tz), false)
            .map_err(|e| err("schedule.expression", e.to_string()))?
            .timestamp();
        Ok(until.is_none_or(|u| next <= u).then_some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(extra: serde_json::Value) -> Result<CampaignDefinition, serde_json::Error> {
        let mut base = json!({
            "name": "双十二预热",
            "segment": "silent-users",
            "class": "marketing",
            "topic": "promotions",
            "control_percent": 10,
            "variants": [
                {"name": "a", "messages": [{"template": "push-a"}, {"template": "sms-a"}]},
                {"name": "b", "messages": [{"template": "push-b"}]}
            ]
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base)
    }

    #[test]
    fn a_definition_reads_from_json_and_validates() {
        let d = definition(json!({})).expect("parses");
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(d.channel_policy, ChannelPolicy::Priority);
        assert_eq!(d.schedule, Schedule::Now);
        assert_eq!(d.split().variants.len(), 2);
        let bad = definition(json!({"control_percent": 150})).expect("parses");
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("control_percent".to_owned())
        );
        let no_messages = definition(json!({"variants": [{"name": "a", "messages": []}]})).expect("parses");
        assert_eq!(
            no_messages.validate().map_err(|e| e.field),
            Err("variants[0].messages".to_owned())
        );
        assert!(definition(json!({"colour": "red"})).is_err());
    }

    #[test]
    fn cron_schedules_run_in_their_time_zone_until_the_end() {
        let d = definition(json!({"schedule": {
            "kind": "cron", "expression": "0 10 * * *", "time_zone": "Asia/Shanghai",
            "until": "2026-11-25T03:00:00Z"
        }}))
        .expect("parses");
        assert_eq!(d.validate(), Ok(()));
        let now: Timestamp = "2026-11-23T04:00:00Z".parse().expect("ts");
        // 10:00 in Shanghai is 02:00Z; noon there has passed, so tomorrow.
        assert_eq!(d.first_run(now), Ok("2026-11-24T02:00:00Z".parse().expect("ts")));
        let second = d.next_run_after("2026-11-24T02:00:00Z".parse().expect("ts"));
        assert_eq!(second, Ok(Some("2026-11-25T02:00:00Z".parse().expect("ts"))));
        assert_eq!(
            d.next_run_after("2026-11-25T02:00:00Z".parse().expect("ts")),
            Ok(None)
        );
        let bad = definition(
            json!({"schedule": {"kind": "cron", "expression": "61 * * * *", "time_zone": "Asia/Shanghai"}}),
        )
        .expect("parses");
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("schedule.expression".to_owned())
        );
        let bad_zone = definition(
            json!({"schedule": {"kind": "cron", "expression": "0 10 * * *", "time_zone": "Mars/Olympus"}}),
        )
        .expect("parses");
        assert_eq!(
            bad_zone.validate().map_err(|e| e.field),
            Err("schedule.time_zone".to_owned())
        );
    }
}
