use super::*;
use crate::messaging::consent::{ConsentRecord, ConsentStatus};

fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").expect("tz")
}

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn promo() -> MessageClass {
    MessageClass::Marketing {
        topic: "promotions".to_owned(),
    }
}

fn candidates(list: &[(Channel, Option<&str>)]) -> Vec<ChannelCandidate> {
    list.iter()
        .map(|(channel, address)| ChannelCandidate {
            channel: *channel,
            address: address.map(str::to_owned),
        })
        .collect()
}

fn send(channel: Channel, address: &str) -> Decision {
    Decision::Send {
        channel,
        address: address.to_owned(),
    }
}

fn suppress(reason: SuppressionReason) -> Decision {
    Decision::Suppress { reason }
}

// Noon in Shanghai.
const NOON: &str = "2026-11-23T04:00:00Z";

#[test]
fn fallback_picks_the_first_channel_with_an_address_and_consent() {
    let policy = ContactPolicy::default();
    let push_first = candidates(&[
        (Channel::Push, None),
        (Channel::MiniProgram, Some("o-mini")),
        (Channel::Sms, Some("+8613800138000")),
    ]);
    let consents = Consents::default();
    let today = SentToday::default();
    assert_eq!(
        policy.decide(&promo(), &push_first, &consents, &today, at(NOON), &shanghai()),
        send(Channel::MiniProgram, "o-mini")
    );
    let unsubscribed_mini = Consents::new(vec![ConsentRecord {
        channel: Some(Channel::MiniProgram),
        topic: None,
        status: ConsentStatus::Unsubscribed,
        at: at("2026-01-01T00:00:00Z"),
    }]);
    assert_eq!(
        policy.decide(
            &promo(),
            &push_first,
            &unsubscribed_mini,
            &today,
            at(NOON),
            &shanghai()
        ),
        send(Channel::Sms, "+8613800138000")
    );
    let nowhere = candidates(&[(Channel::Push, None), (Channel::Email, None)]);
    assert_eq!(
        policy.decide(&promo(), &nowhere, &consents, &today, at(NOON), &shanghai()),
        suppress(SuppressionReason::NoAddress)
    );
    assert_eq!(
        policy.decide(
            &promo(),
            &candidates(&[(Channel::MiniProgram, Some("o-mini"))]),
            &unsubscribed_mini,
            &today,
            at(NOON),
            &shanghai()
        ),
        suppress(SuppressionReason::Unsubscribed)
    );
}

#[test]
fn the_daily_cap_counts_every_channel_and_channel_caps_fall_back() {
    let policy = ContactPolicy {
        daily_cap: Some(3),
        channel_caps: [(Channel::Sms, 1)].into_iter().collect(),
        ..ContactPolicy::default()
    };
    let both = candidates(&[
        (Channel::Sms, Some("+8613800138000")),
        (Channel::Email, Some("a@b.cn")),
    ]);
    let consents = Consents::default();
    let mut today = SentToday::default();
    assert_eq!(
        policy.decide(&promo(), &both, &consents, &today, at(NOON), &shanghai()),
        send(Channel::Sms, "+8613800138000")
    );
    today.total = 1;
    today.by_channel.insert(Channel::Sms, 1);
    assert_eq!(
        policy.decide(&promo(), &both, &consents, &today, at(NOON), &shanghai()),
        send(Channel::Email, "a@b.cn")
    );
    let sms_only = candidates(&[(Channel::Sms, Some("+8613800138000"))]);
    assert_eq!(
        policy.decide(&promo(), &sms_only, &consents, &today, at(NOON), &shanghai()),
        suppress(SuppressionReason::ChannelCap)
    );
    today.total = 3;
    assert_eq!(
        policy.decide(&promo(), &both, &consents, &today, at(NOON), &shanghai()),
        suppress(SuppressionReason::FrequencyCap)
    );
    // Service messages ignore caps.
    assert_eq!(
        policy.decide(
            &MessageClass::Transactional,
            &sms_only,
            &consents,
            &today,
            at(NOON),
            &shanghai()
        ),
        send(Channel::Sms, "+8613800138000")
    );
}

#[test]
fn quiet_hours_defer_marketing_to_the_local_end_of_the_window() {
    let policy = ContactPolicy {
        quiet_hours: Some(QuietHours {
            start: Time::constant(21, 0, 0, 0),
            end: Time::constant(9, 0, 0, 0),
        }),
        ..ContactPolicy::default()
    };
    let sms = candidates(&[(Channel::Sms, Some("+8613800138000"))]);
    let consents = Consents::default();
    let today = SentToday::default();
    // 22:30 in Shanghai → 09:00 the next morning there (01:00Z).
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &today,
            at("2026-11-23T14:30:00Z"),
            &shanghai()
        ),
        Decision::Defer {
            until: at("2026-11-24T01:00:00Z")
        }
    );
    // 07:00 in Shanghai → 09:00 the same morning.
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &today,
            at("2026-11-22T23:00:00Z"),
            &shanghai()
        ),
        Decision::Defer {
            until: at("2026-11-23T01:00:00Z")
        }
    );
    // The same instant is 15:00 in London: not quiet there.
    let london = TimeZone::get("Europe/London").expect("tz");
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &today,
            at("2026-11-23T14:30:00Z"),
            &london
        ),
        send(Channel::Sms, "+8613800138000")
    );
    // Service messages are not deferred.
    assert_eq!(
        policy.decide(
            &MessageClass::Transactional,
            &sms,
            &consents,
            &today,
            at("2026-11-23T14:30:00Z"),
            &shanghai()
        ),
        send(Channel::Sms, "+8613800138000")
    );
}

#[test]
fn a_message_deferred_overnight_is_not_capped_by_the_day_it_was_launched() {
    let policy = ContactPolicy {
        daily_cap: Some(1),
        quiet_hours: Some(QuietHours {
            start: Time::constant(21, 0, 0, 0),
            end: Time::constant(9, 0, 0, 0),
        }),
        ..ContactPolicy::default()
    };
    let sms = candidates(&[(Channel::Sms, Some("+8613800138000"))]);
    let consents = Consents::default();
    let spent = SentToday {
        total: 1,
        by_channel: [(Channel::Sms, 1)].into_iter().collect(),
    };
    // 22:00 in Shanghai with the day's allowance spent: it waits for 09:00…
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &spent,
            at("2026-11-23T14:00:00Z"),
            &shanghai()
        ),
        Decision::Defer {
            until: at("2026-11-24T01:00:00Z")
        }
    );
    // …when the new day's count decides.
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &SentToday::default(),
            at("2026-11-24T01:00:00Z"),
            &shanghai()
        ),
        send(Channel::Sms, "+8613800138000")
    );
    assert_eq!(
        policy.decide(
            &promo(),
            &sms,
            &consents,
            &spent,
            at("2026-11-24T01:00:00Z"),
            &shanghai()
        ),
        suppress(SuppressionReason::FrequencyCap)
    );
}

#[test]
fn a_same_day_window_and_an_empty_window() {
    let lunch = QuietHours {
        start: Time::constant(12, 0, 0, 0),
        end: Time::constant(14, 0, 0, 0),
    };
    assert_eq!(
        lunch.ends_after(at(NOON), &shanghai()),
        Some(at("2026-11-23T06:00:00Z"))
    );
    assert_eq!(lunch.ends_after(at("2026-11-23T06:00:00Z"), &shanghai()), None);
    let empty = QuietHours {
        start: Time::constant(9, 0, 0, 0),
        end: Time::constant(9, 0, 0, 0),
    };
    assert_eq!(empty.ends_after(at(NOON), &shanghai()), None);
}

#[test]
fn local_days_follow_the_person_s_zone() {
    // 23:30 UTC on the 22nd is already the 23rd in Shanghai.
    let late = at("2026-11-22T23:30:00Z");
    assert_eq!(local_day(late, &shanghai()).to_string(), "2026-11-23");
    assert_eq!(start_of_local_day(late, &shanghai()), at("2026-11-22T16:00:00Z"));
    assert_eq!(local_day(late, &TimeZone::UTC).to_string(), "2026-11-22");
}
