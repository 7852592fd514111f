//! The contact policy: the one decision every message passes before it is sent.
//!
//! Given a person's reachable channels in priority order, their consent, what they
//! were already sent today and the time where they are, it answers send (on which
//! channel), defer (until when) or suppress (why). Fallback is part of the decision,
//! so one message reaches a person once, on the best channel they can receive.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::channel::{Channel, MessageClass};
use super::consent::Consents;

/// A workspace's rules for not annoying people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    /// At most this many marketing messages per person per local day, all channels
    /// together.
    #[serde(default)]
    pub daily_cap: Option<u32>,
    /// At most this many marketing messages per person per local day on a channel.
    #[serde(default)]
    pub channel_caps: BTreeMap<Channel, u32>,
    /// No marketing in this window of the person's local time; deferred, not dropped.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Channels on which marketing needs an explicit opt-in.
    #[serde(default)]
    pub opt_in_required: BTreeSet<Channel>,
}

/// A daily window of local time, possibly across midnight (21:00–09:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet starts, local time.
    #[schema(value_type = String, example = "21:00")]
    pub start: Time,
    /// When quiet ends, local time.
    #[schema(value_type = String, example = "09:00")]
    pub end: Time,
}

impl QuietHours {
    /// If `now` falls in the window in `tz`, the instant the window ends.
    pub fn ends_after(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.start == self.end {
            return None;
        }
        let local = now.to_zoned(tz.clone());
        let time = local.time();
        let inside = if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return None;
        }
        let mut day = local.date();
        if time >= self.end {
            day = day.tomorrow().ok()?;
        }
        // A gap at the end time (DST) resolves forward, which is what a person means.
        day.at(self.end.hour(), self.end.minute(), self.end.second(), 0)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

/// A channel a person could be reached on, with the address found on their profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCandidate {
    /// The channel.
    pub channel: Channel,
    /// The address (email, phone, token, openid); `None` when the profile has none.
    /// Channels that reach the profile itself (webhook, inbox) have the profile id.
    pub address: Option<String>,
}

/// Marketing messages a person was already sent on their current local day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentToday {
    /// All channels together.
    pub total: u32,
    /// Per channel.
    pub by_channel: BTreeMap<Channel, u32>,
}

/// Why a message was not sent to a person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The person is in the campaign's holdout group.
    ControlGroup,
    /// No channel of the message has an address on the profile.
    NoAddress,
    /// The person left this kind of marketing.
    Unsubscribed,
    /// The channel is blocked for the person (STOP, hard bounce, complaint).
    Blocked,
    /// The channel needs an opt-in the person never gave.
    NoConsent,
    /// The person reached the daily cap across channels.
    FrequencyCap,
    /// Every usable channel reached its own daily cap for the person.
    ChannelCap,
    /// The profile was erased before the message went.
    ProfileErased,
    /// The campaign was cancelled before the message went.
    Cancelled,
}

impl SuppressionReason {
    /// The name used in reports and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::ControlGroup => "control_group",
            SuppressionReason::NoAddress => "no_address",
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Blocked => "blocked",
            SuppressionReason::NoConsent => "no_consent",
            SuppressionReason::FrequencyCap => "frequency_cap",
            SuppressionReason::ChannelCap => "channel_cap",
            SuppressionReason::ProfileErased => "profile_erased",
            SuppressionReason::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        use SuppressionReason::*;
        [
            ControlGroup,
            NoAddress,
            Unsubscribed,
            Blocked,
            NoConsent,
            FrequencyCap,
            ChannelCap,
            ProfileErased,
            Cancelled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What to do with one message for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it now on this channel to this address.
    Send {
        /// The channel chosen.
        channel: Channel,
        /// The address on it.
        address: String,
    },
    /// Not now: ask again at this instant.
    Defer {
        /// When quiet hours end for the person.
        until: Timestamp,
    },
    /// Not at all.
    Suppress {
        /// Why.
        reason: SuppressionReason,
    },
}

impl ContactPolicy {
    /// Decides for one message. `candidates` are the message's channels in priority
    /// order with the person's addresses; `tz` is the person's time zone.
    pub fn decide(
        &self,
        class: &MessageClass,
        candidates: &[ChannelCandidate],
        consents: &Consents,
        sent_today: &SentToday,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Decision {
        let reachable: Vec<(Channel, &str)> = candidates
            .iter()
            .filter_map(|c| c.address.as_deref().map(|a| (c.channel, a)))
            .collect();
        if reachable.is_empty() {
            return Decision::Suppress {
                reason: SuppressionReason::NoAddress,
            };
        }
        let mut first_refusal = None;
        let consenting: Vec<(Channel, &str)> = reachable
            .into_iter()
            .filter(|(channel, _)| {
                let opt_in = self.opt_in_required.contains(channel);
                match consents.allows(*channel, class, opt_in) {
                    Ok(()) => true,
                    Err(reason) => {
                        first_refusal.get_or_insert(reason);
                        false
                    }
                }
            })
            .collect();
        let Some(&(best_channel, best_address)) = consenting.first() else {
            return Decision::Suppress {
                reason: first_refusal.unwrap_or(SuppressionReason::NoAddress),
            };
        };
        if !class.is_marketing() {
            return Decision::Send {
                channel: best_channel,
                address: best_address.to_owned(),
            };
        }
        // Quiet hours before caps: a deferred message goes on another day, perhaps,
        // and is counted against that one when it is decided again.
        if let Some(until) = self.quiet_hours.and_then(|q| q.ends_after(now, tz)) {
            return Decision::Defer { until };
        }
        if self.daily_cap.is_some_and(|cap| sent_today.total >= cap) {
            return Decision::Suppress {
                reason: SuppressionReason::FrequencyCap,
            };
        }
        let under_cap = consenting.into_iter().find(|(channel, _)| {
            let sent = sent_today.by_channel.get(channel).copied().unwrap_or(0);
            self.channel_caps.get(channel).is_none_or(|cap| sent < *cap)
        });
        let Some((channel, address)) = under_cap else {
            return Decision::Suppress {
                reason: SuppressionReason::ChannelCap,
            };
        };
        Decision::Send {
            channel,
            address: address.to_owned(),
        }
    }
}

/// The person's local calendar day at `now`, which caps count within.
pub fn local_day(now: Timestamp, tz: &TimeZone) -> Date {
    now.to_zoned(tz.clone()).date()
}

/// The instant a local day starts, for counting what was sent since.
pub fn start_of_local_day(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let zoned = now.to_zoned(tz.clone());
    zoned
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| now - 24.hours())
}

#[cfg(test)]
mod tests;
