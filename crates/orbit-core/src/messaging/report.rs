//! A campaign's report: the send ledger's counts, tallied per variant and, inside each
//! variant, per channel.
//!
//! # Contract
//! Every message is counted once in `targeted` and once in exactly one of `sent`,
//! `failed`, `ambiguous`, `pending` or a `suppressed` reason; `delivered`, `bounced`,
//! `opened` and `clicked` count what came back about those messages. A variant's
//! counts are the sums of its channels'.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Channel, SuppressionReason};

/// The name a report gives to messages without a variant or a channel.
const NONE: &str = "none";

/// The name a report gives to a suppression reason this version does not know.
const UNKNOWN_REASON: &str = "unknown";

/// Where the messages of one report line are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// Waiting for their time (or a retry), or being handed to a provider.
    Pending,
    /// The provider took them.
    Sent,
    /// They failed for good.
    Failed,
    /// The provider may or may not have taken them; they are not resent.
    Ambiguous,
    /// They were not sent, for this reason (`None`: one this version does not know).
    Suppressed(Option<SuppressionReason>),
}

/// Messages of one campaign alike in variant, channel and state, with what came back
/// about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// The variant (`control` for the control group).
    pub variant: Option<String>,
    /// The channel (none for people suppressed before one was chosen).
    pub channel: Option<Channel>,
    /// Where they are.
    pub state: LineState,
    /// How many messages.
    pub count: u64,
    /// Of those, delivered.
    pub delivered: u64,
    /// Of those, bounced.
    pub bounced: u64,
    /// Of those, opened.
    pub opened: u64,
    /// Of those, clicked.
    pub clicked: u64,
}

/// What became of a set of a campaign's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tally {
    /// Messages written for the audience, the control group's included.
    pub targeted: u64,
    /// Messages not sent, by reason (`control_group`, `no_address`, `unsubscribed`,
    /// `blocked`, `no_consent`, `frequency_cap`, `channel_cap`, `profile_erased`,
    /// `cancelled`; `unknown` for a reason this version does not know).
    pub suppressed: BTreeMap<String, u64>,
    /// Messages the provider took.
    pub sent: u64,
    /// Messages that failed for good (dead letters).
    pub failed: u64,
    /// Messages the provider may or may not have taken; never resent blindly.
    pub ambiguous: u64,
    /// Messages waiting for their time, quiet hours' end or a retry.
    pub pending: u64,
    /// Messages a provider receipt said arrived.
    pub delivered: u64,
    /// Messages a provider receipt said did not arrive.
    pub bounced: u64,
    /// Messages opened.
    pub opened: u64,
    /// Messages with a link clicked.
    pub clicked: u64,
}

impl Tally {
    fn add(&mut self, line: &ReportLine) {
        self.targeted += line.count;
        match line.state {
            LineState::Sent => self.sent += line.count,
            LineState::Failed => self.failed += line.count,
            LineState::Ambiguous => self.ambiguous += line.count,
            LineState::Pending => self.pending += line.count,
            LineState::Suppressed(reason) => {
                let reason = reason.map_or(UNKNOWN_REASON, SuppressionReason::as_str);
                *self.suppressed.entry(reason.to_owned()).or_default() += line.count;
            }
        }
        self.delivered += line.delivered;
        self.bounced += line.bounced;
        self.opened += line.opened;
        self.clicked += line.clicked;
    }
}

/// One channel's tally within a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChannelTally {
    /// The channel (`none` for people suppressed before one was chosen).
    #[schema(example = "sms")]
    pub channel: String,
    /// Its counts.
    #[serde(flatten)]
    pub tally: Tally,
}

/// One variant's tally, with its channels'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VariantTally {
    /// The variant (`control` for the control group).
    #[schema(example = "a")]
    pub variant: String,
    /// Its counts, over every channel.
    #[serde(flatten)]
    pub tally: Tally,
    /// Its counts per channel, by channel name.
    pub channels: Vec<ChannelTally>,
}

/// Tallies a campaign's report lines per variant (the control group as its own), and
/// inside each per channel; both by name.
pub fn tally_report(lines: &[ReportLine]) -> Vec<VariantTally> {
    let mut variants: BTreeMap<&str, (Tally, BTreeMap<&str, Tally>)> = BTreeMap::new();
    for line in lines {
        let variant = line.variant.as_deref().unwrap_or(NONE);
        let (total, channels) = variants.entry(variant).or_default();
        total.add(line);
        let channel = line.channel.map_or(NONE, Channel::as_str);
        channels.entry(channel).or_default().add(line);
    }
    variants
        .into_iter()
        .map(|(variant, (tally, channels))| VariantTally {
            variant: variant.to_owned(),
            tally,
            channels: channels
                .into_iter()
                .map(|(channel, tally)| ChannelTally {
                    channel: channel.to_owned(),
                    tally,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(variant: Option<&str>, channel: Option<Channel>, state: LineState, count: u64) -> ReportLine {
        ReportLine {
            variant: variant.map(str::to_owned),
            channel,
            state,
            count,
            delivered: 0,
            bounced: 0,
            opened: 0,
            clicked: 0,
        }
    }

    #[test]
    fn each_message_counts_once_in_its_variant_and_its_channel() {
        let mut sent_sms = line(Some("a"), Some(Channel::Sms), LineState::Sent, 5);
        sent_sms.delivered = 4;
        sent_sms.bounced = 1;
        let mut sent_push = line(Some("a"), Some(Channel::Push), LineState::Sent, 3);
        sent_push.opened = 2;
        sent_push.clicked = 1;
        let lines = [
            sent_sms,
            sent_push,
            line(Some("a"), Some(Channel::Sms), LineState::Failed, 2),
            line(Some("a"), Some(Channel::Sms), LineState::Pending, 1),
            line(Some("a"), Some(Channel::Push), LineState::Ambiguous, 1),
            line(
                Some("a"),
                None,
                LineState::Suppressed(Some(SuppressionReason::NoAddress)),
                4,
            ),
        ];
        let report = tally_report(&lines);
        assert_eq!(report.len(), 1);
        let a = &report[0];
        assert_eq!(a.variant, "a");
        assert_eq!(
            (
                a.tally.targeted,
                a.tally.sent,
                a.tally.failed,
                a.tally.pending,
                a.tally.ambiguous
            ),
            (16, 8, 2, 1, 1)
        );
        assert_eq!(a.tally.suppressed, BTreeMap::from([("no_address".to_owned(), 4)]));
        assert_eq!(
            (
                a.tally.delivered,
                a.tally.bounced,
                a.tally.opened,
                a.tally.clicked
            ),
            (4, 1, 2, 1)
        );
        let names: Vec<&str> = a.channels.iter().map(|c| c.channel.as_str()).collect();
        assert_eq!(names, ["none", "push", "sms"], "channels by name");
        let sum: u64 = a.channels.iter().map(|c| c.tally.targeted).sum();
        assert_eq!(sum, a.tally.targeted, "the channels add up to the variant");
        assert_eq!((a.channels[2].tally.sent, a.channels[2].tally.failed), (5, 2));
    }

    #[test]
    fn the_control_group_and_rows_without_a_variant_are_their_own_variants() {
        let lines = [
            line(Some("b"), Some(Channel::Email), LineState::Sent, 1),
            line(
                Some("control"),
                None,
                LineState::Suppressed(Some(SuppressionReason::ControlGroup)),
                7,
            ),
            line(None, None, LineState::Suppressed(None), 2),
        ];
        let report = tally_report(&lines);
        let names: Vec<&str> = report.iter().map(|v| v.variant.as_str()).collect();
        assert_eq!(names, ["b", "control", "none"], "variants by name");
        assert_eq!(report[1].tally.suppressed["control_group"], 7);
        assert_eq!(report[1].tally.sent, 0);
        assert_eq!(
            report[2].tally.suppressed,
            BTreeMap::from([("unknown".to_owned(), 2)]),
            "a reason this version does not know is still counted"
        );
    }

    #[test]
    fn a_variant_reads_as_its_counts_beside_its_name_and_channels() {
        let report = tally_report(&[line(Some("a"), Some(Channel::Sms), LineState::Sent, 1)]);
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json[0]["variant"], "a");
        assert_eq!(json[0]["sent"], 1);
        assert_eq!(json[0]["suppressed"], serde_json::json!({}));
        assert_eq!(json[0]["channels"][0]["channel"], "sms");
        assert_eq!(json[0]["channels"][0]["targeted"], 1);
    }

    #[test]
    fn an_empty_ledger_has_no_variants() {
        assert!(tally_report(&[]).is_empty());
    }
}
