//! A person's consent, per channel and topic, and what it allows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::channel::{Channel, MessageClass};
use super::policy::SuppressionReason;

/// Where a person stands on one channel and topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// They opted in.
    Subscribed,
    /// They opted out of marketing; service messages still go.
    Unsubscribed,
    /// Nothing may go: they replied STOP/TD, the address hard-bounced or complained.
    Blocked,
}

/// One recorded consent change. A missing channel or topic means "all of them".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    /// The channel it applies to; `None` for every channel.
    pub channel: Option<Channel>,
    /// The marketing topic it applies to; `None` for every topic.
    pub topic: Option<String>,
    /// The person's choice.
    pub status: ConsentStatus,
    /// When it was made: the latest matching record decides.
    pub at: Timestamp,
}

impl ConsentRecord {
    fn covers(&self, channel: Channel, topic: Option<&str>) -> bool {
        self.channel.is_none_or(|c| c == channel)
            && match (&self.topic, topic) {
                (None, _) => true,
                (Some(mine), Some(asked)) => mine == asked,
                (Some(_), None) => false,
            }
    }
}

/// Every consent record of one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consents {
    records: Vec<ConsentRecord>,
}

impl Consents {
    /// A person's records, in any order.
    pub fn new(records: Vec<ConsentRecord>) -> Self {
        Self { records }
    }

    /// The records, as given.
    pub fn records(&self) -> &[ConsentRecord] {
        &self.records
    }

    /// Adds a record.
    pub fn push(&mut self, record: ConsentRecord) {
        self.records.push(record);
    }

    /// The status that decides for a channel and topic: the latest record covering
    /// both (ties go to the narrower record, then to the stricter status).
    pub fn status(&self, channel: Channel, topic: Option<&str>) -> Option<ConsentStatus> {
        self.records
            .iter()
            .filter(|r| r.covers(channel, topic))
            .max_by_key(|r| {
                let narrowness = u8::from(r.channel.is_some()) + u8::from(r.topic.is_some());
                let strictness = match r.status {
                    ConsentStatus::Subscribed => 0,
                    ConsentStatus::Unsubscribed => 1,
                    ConsentStatus::Blocked => 2,
                };
                (r.at, narrowness, strictness)
            })
            .map(|r| r.status)
    }

    /// Whether a message of `class` may go on `channel`; `opt_in_required` says the
    /// channel needs an explicit subscription for marketing (SMS marketing in China,
    /// email under GDPR).
    pub fn allows(
        &self,
        channel: Channel,
        class: &MessageClass,
        opt_in_required: bool,
    ) -> Result<(), SuppressionReason> {
        match class {
            MessageClass::Transactional => {
                // Only a block stops service messages; leaving marketing does not.
                match self.status(channel, None) {
                    Some(ConsentStatus::Blocked) => Err(SuppressionReason::Blocked),
                    _ => Ok(()),
                }
            }
            MessageClass::Marketing { topic } => match self.status(channel, Some(topic)) {
                Some(ConsentStatus::Subscribed) => Ok(()),
                Some(ConsentStatus::Unsubscribed) => Err(SuppressionReason::Unsubscribed),
                Some(ConsentStatus::Blocked) => Err(SuppressionReason::Blocked),
                None if opt_in_required => Err(SuppressionReason::NoConsent),
                None => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn record(
        channel: Option<Channel>,
        topic: Option<&str>,
        status: ConsentStatus,
        when: &str,
    ) -> ConsentRecord {
        ConsentRecord {
            channel,
            topic: topic.map(str::to_owned),
            status,
            at: at(when),
        }
    }

    fn promo() -> MessageClass {
        MessageClass::Marketing {
            topic: "promotions".to_owned(),
        }
    }

    #[test]
    fn leaving_all_marketing_keeps_service_messages_and_a_later_topic_opt_in() {
        let consents = Consents::new(vec![
            record(None, None, ConsentStatus::Unsubscribed, "2026-01-01T00:00:00Z"),
            record(
                Some(Channel::Email),
                Some("newsletter"),
                ConsentStatus::Subscribed,
                "2026-02-01T00:00:00Z",
            ),
        ]);
        assert_eq!(
            consents.allows(Channel::Sms, &promo(), false),
            Err(SuppressionReason::Unsubscribed)
        );
        assert_eq!(
            consents.allows(Channel::Sms, &MessageClass::Transactional, false),
            Ok(())
        );
        let newsletter = MessageClass::Marketing {
            topic: "newsletter".to_owned(),
        };
        assert_eq!(consents.allows(Channel::Email, &newsletter, false), Ok(()));
        assert_eq!(
            consents.allows(Channel::Email, &promo(), false),
            Err(SuppressionReason::Unsubscribed)
        );
    }

    #[test]
    fn a_block_stops_everything_on_its_channel_only() {
        let consents = Consents::new(vec![record(
            Some(Channel::Sms),
            None,
            ConsentStatus::Blocked,
            "2026-01-01T00:00:00Z",
        )]);
        assert_eq!(
            consents.allows(Channel::Sms, &MessageClass::Transactional, false),
            Err(SuppressionReason::Blocked)
        );
        assert_eq!(
            consents.allows(Channel::Sms, &promo(), false),
            Err(SuppressionReason::Blocked)
        );
        assert_eq!(consents.allows(Channel::Push, &promo(), false), Ok(()));
    }

    #[test]
    fn opt_in_channels_need_a_subscription_and_the_latest_choice_wins() {
        let mut consents = Consents::default();
        assert_eq!(
            consents.allows(Channel::Sms, &promo(), true),
            Err(SuppressionReason::NoConsent)
        );
        assert_eq!(consents.allows(Channel::Sms, &promo(), false), Ok(()));
        consents.push(record(
            Some(Channel::Sms),
            None,
            ConsentStatus::Subscribed,
            "2026-01-01T00:00:00Z",
        ));
        assert_eq!(consents.allows(Channel::Sms, &promo(), true), Ok(()));
        consents.push(record(
            Some(Channel::Sms),
            Some("promotions"),
            ConsentStatus::Unsubscribed,
            "2026-03-01T00:00:00Z",
        ));
        assert_eq!(
            consents.allows(Channel::Sms, &promo(), true),
            Err(SuppressionReason::Unsubscribed)
        );
        consents.push(record(
            None,
            None,
            ConsentStatus::Subscribed,
            "2026-04-01T00:00:00Z",
        ));
        assert_eq!(consents.allows(Channel::Sms, &promo(), true), Ok(()));
    }
}
