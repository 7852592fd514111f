//! Consent: the choices a person made per channel and topic, and what they allow now
//! for marketing and for service messages, decided exactly as the delivery worker
//! decides (the latest covering record, the workspace's opt-in channels).

use super::Delivery;
use crate::EngineError;
use crate::service::profiles::{ids_of, live_profile};
use orbit_core::messaging::{
    Channel, ConsentRecord, ConsentStatus, Consents, ContactPolicy, MessageClass, SuppressionReason,
};
use orbit_core::profile::Profile;
use orbit_core::{ErrorCode, Problem, ProfileId, TagId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The marketing topic resolved when none is named, and the topic of marketing
/// templates that name none.
pub(crate) const DEFAULT_TOPIC: &str = "promotions";

/// One consent change; a missing channel or topic means all of them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// The channel it applies to; every channel when left out.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The marketing topic it applies to (`[a-z0-9_-]`); every topic when left out. A
    /// block takes none: it stops every message on its channels.
    #[serde(default)]
    #[schema(example = "newsletter")]
    pub topic: Option<String>,
    /// The person's choice.
    #[serde(default)]
    #[schema(required = true)]
    pub status: Option<ConsentStatus>,
}

/// Whether a class of message may go on a channel, and the status that decided.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConsentVerdict {
    /// The status of the latest record covering the channel (and the topic, for
    /// marketing); null when the person never chose.
    pub status: Option<ConsentStatus>,
    /// Whether the message may go.
    pub allowed: bool,
    /// Why it may not; null when it may.
    pub reason: Option<SuppressionReason>,
}

/// What a person's consent allows on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelConsent {
    /// Marketing on the resolved topic.
    pub marketing: ConsentVerdict,
    /// Service messages, which only a block stops.
    pub transactional: ConsentVerdict,
}

/// A person's consent: their records and what they allow per channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConsentView {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// The marketing topic resolved.
    pub topic: String,
    /// Every record, under the person's ids merged into it too, oldest first.
    pub records: Vec<ConsentRecord>,
    /// Every channel and what it allows now.
    pub resolved: BTreeMap<Channel, ChannelConsent>,
}

/// A consent change recorded, and the consent it leaves, resolved for its topic.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecordedConsent {
    /// The record stored, as of now.
    pub recorded: ConsentRecord,
    /// The person's consent now.
    #[serde(flatten)]
    pub consent: ConsentView,
}

impl Delivery {
    /// A person's consent records and what they allow per channel, marketing resolved
    /// for `topic` (`promotions` when none is named).
    ///
    /// # Errors
    /// `invalid_request` (`topic`), `invalid_id`, `not_found`.
    pub async fn consent(
        &self,
        workspace: &WorkspaceId,
        profile: &str,
        topic: Option<&str>,
    ) -> Result<ConsentView, EngineError> {
        let topic = parse_topic(topic.unwrap_or(DEFAULT_TOPIC))?;
        let person = live_profile(&self.pipeline, workspace, profile, "id")?;
        self.consent_of(workspace, &person, topic).await
    }

    /// Records one consent change of a person, as of now.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `missing_field` (`status`); `invalid_request`
    /// (`topic`), also for a block limited to a topic.
    pub async fn record_consent(
        &self,
        workspace: &WorkspaceId,
        profile: &str,
        change: ConsentChange,
    ) -> Result<RecordedConsent, EngineError> {
        let person = live_profile(&self.pipeline, workspace, profile, "id")?;
        let status = change.status.ok_or_else(|| {
            Problem::at(
                ErrorCode::MissingField,
                "status",
                "give the status: subscribed, unsubscribed or blocked",
            )
        })?;
        let topic = change.topic.as_deref().map(parse_topic).transpose()?;
        // Service messages have no topic, so a block limited to one would never stop them.
        if status == ConsentStatus::Blocked && topic.is_some() {
            return Err(Problem::invalid(
                "topic",
                "a block stops every message on its channels; leave the topic out",
            )
            .into());
        }
        let record = ConsentRecord {
            channel: change.channel,
            topic: topic.clone(),
            status,
            at: self.clock.now(),
        };
        self.stores
            .consents
            .record_consent(workspace, &person.id, &record)
            .await?;
        let topic = topic.unwrap_or_else(|| DEFAULT_TOPIC.to_owned());
        Ok(RecordedConsent {
            recorded: record,
            consent: self.consent_of(workspace, &person, topic).await?,
        })
    }

    /// The consent records of a person and the ids merged into them, oldest first.
    ///
    /// # Errors
    /// Fails when the store cannot be read.
    pub(crate) async fn consent_records(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Result<Vec<ConsentRecord>, EngineError> {
        let records = self.stores.consents.consents_of(workspace, people).await?;
        Ok(records.into_iter().map(|(_, record)| record).collect())
    }

    async fn consent_of(
        &self,
        workspace: &WorkspaceId,
        person: &Profile,
        topic: String,
    ) -> Result<ConsentView, EngineError> {
        let records = self.consent_records(workspace, &ids_of(person)).await?;
        let consents = Consents::new(records.clone());
        let policy = self.pipeline.contact_policy(workspace);
        let marketing = MessageClass::Marketing { topic: topic.clone() };
        let resolved = Channel::ALL
            .into_iter()
            .map(|channel| {
                let consent = ChannelConsent {
                    marketing: verdict(&consents, channel, &marketing, &policy),
                    transactional: verdict(&consents, channel, &MessageClass::Transactional, &policy),
                };
                (channel, consent)
            })
            .collect();
        Ok(ConsentView {
            profile_id: person.id,
            topic,
            records,
            resolved,
        })
    }
}

/// Whether a class of message may go on a channel, as the delivery worker decides.
fn verdict(
    consents: &Consents,
    channel: Channel,
    class: &MessageClass,
    policy: &ContactPolicy,
) -> ConsentVerdict {
    let topic = match class {
        MessageClass::Marketing { topic } => Some(topic.as_str()),
        MessageClass::Transactional => None,
    };
    let allowed = consents.allows(channel, class, policy.opt_in_required.contains(&channel));
    ConsentVerdict {
        status: consents.status(channel, topic),
        allowed: allowed.is_ok(),
        reason: allowed.err(),
    }
}

/// A marketing topic: the same slug rule as ids, so it can key consent records.
///
/// # Errors
/// `invalid_request` naming `topic`.
pub(crate) fn parse_topic(raw: &str) -> Result<String, Problem> {
    TagId::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| Problem::invalid("topic", format!("topic {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(channel: Option<Channel>, status: ConsentStatus, at: &str) -> ConsentRecord {
        ConsentRecord {
            channel,
            topic: None,
            status,
            at: at.parse().expect("a time"),
        }
    }

    #[test]
    fn a_block_stops_service_messages_and_leaving_marketing_does_not() {
        let consents = Consents::new(vec![
            record(None, ConsentStatus::Unsubscribed, "2026-11-11T12:00:00Z"),
            record(Some(Channel::Sms), ConsentStatus::Blocked, "2026-11-11T13:00:00Z"),
        ]);
        let policy = ContactPolicy::default();
        let promotions = MessageClass::Marketing {
            topic: DEFAULT_TOPIC.to_owned(),
        };
        let email = verdict(&consents, Channel::Email, &promotions, &policy);
        assert_eq!(
            (email.status, email.allowed, email.reason),
            (
                Some(ConsentStatus::Unsubscribed),
                false,
                Some(SuppressionReason::Unsubscribed)
            )
        );
        let service = verdict(&consents, Channel::Email, &MessageClass::Transactional, &policy);
        assert!(service.allowed);
        let sms = verdict(&consents, Channel::Sms, &MessageClass::Transactional, &policy);
        assert_eq!(
            (sms.allowed, sms.reason),
            (false, Some(SuppressionReason::Blocked))
        );
    }

    #[test]
    fn topics_are_slugs() {
        assert_eq!(parse_topic("member_day").as_deref(), Ok("member_day"));
        for bad in ["双11", "Promo!", ""] {
            assert_eq!(
                parse_topic(bad).map_err(|p| p.field),
                Err(Some("topic".to_owned())),
                "{bad}"
            );
        }
    }
}
