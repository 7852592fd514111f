//! The send ledger's tallies per quarter hour: what the dashboard counts days with.

use super::messaging::{new_send, person};
use super::{at, ws};
use orbit_core::messaging::Channel;
use orbit_core::{ChannelId, WorkspaceId};
use orbit_store::{Engagement, SendState, SendTally, SendUpdate, Stores};

fn accepted(id: &str, secs: i64) -> SendUpdate {
    SendUpdate::Accepted {
        id: id.to_owned(),
        channel: Channel::Sms,
        account: ChannelId::parse("sms-1").unwrap(),
        address: "+8613800138000".to_owned(),
        provider_message_id: None,
        at: at(secs),
    }
}

/// Each message counts once as sent, in the quarter hour it was accepted, and once as
/// delivered, in the quarter hour its first receipt came; tallies are per workspace
/// and read by the quarter hours that start in the range asked for.
pub async fn send_tallies_count_each_message_once_per_quarter_hour(stores: &Stores) {
    let ledger = &stores.ledger;
    let other = WorkspaceId::parse("other-brand").unwrap();
    let origin = "campaign:spring:run:1";
    let mut rows: Vec<_> = (1..=3)
        .map(|n| new_send(origin, person(n), SendState::Scheduled, 0))
        .collect();
    let mut theirs = new_send(origin, person(9), SendState::Scheduled, 0);
    theirs.workspace_id = other.clone();
    theirs.id = "other-brand-send".to_owned();
    rows.push(theirs);
    ledger.insert_sends(&rows).await.unwrap();
    let claimed = ledger.claim_due(at(0), 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ledger
        .apply_updates(&[accepted(ids[0], 10), accepted(ids[1], 20), accepted(ids[3], 30)])
        .await
        .unwrap();
    // The third goes a quarter of an hour later; an acceptance written again (a round
    // recorded twice) counts nothing more.
    ledger
        .apply_updates(&[accepted(ids[2], 1_000), accepted(ids[0], 1_100)])
        .await
        .unwrap();
    for secs in [950, 960] {
        ledger
            .record_engagement(&ws(), ids[0], Engagement::Delivered, at(secs))
            .await
            .unwrap();
    }
    ledger
        .record_engagement(&ws(), ids[1], Engagement::Bounced, at(970))
        .await
        .unwrap();

    let tally = |start: i64, sent: u64, delivered: u64| SendTally {
        start: at(start),
        sent,
        delivered,
    };
    assert_eq!(
        ledger.send_tallies(&ws(), at(0), at(3_600)).await.unwrap(),
        vec![tally(0, 2, 0), tally(900, 1, 1)]
    );
    assert_eq!(
        ledger.send_tallies(&ws(), at(1), at(3_600)).await.unwrap(),
        vec![tally(900, 1, 1)],
        "a quarter hour that starts before the range is left out"
    );
    assert_eq!(
        ledger.send_tallies(&ws(), at(0), at(900)).await.unwrap(),
        vec![tally(0, 2, 0)],
        "the range's end is left out"
    );
    assert_eq!(
        ledger.send_tallies(&other, at(0), at(3_600)).await.unwrap(),
        vec![tally(0, 1, 0)]
    );
}
