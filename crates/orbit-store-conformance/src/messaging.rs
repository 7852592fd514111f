//! The messaging part of the conformance suite: definitions, consent and the ledger.

use super::{at, ws};
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{
    CampaignState, Channel, ConsentRecord, ConsentStatus, Lane, MessageClass, SendKey, SuppressionReason,
    TemplateContent,
};
use orbit_core::{CampaignId, ChannelId, ProfileId, TemplateId};
use orbit_store::{
    CampaignRecord, ChannelAccountRecord, Engagement, NewSend, SendState, SendUpdate, StoreError, Stores,
    TemplateRecord,
};
use serde_json::json;

pub(super) fn person(n: u128) -> ProfileId {
    ProfileId::mint(at(0), n)
}

pub(super) fn new_send(origin: &str, profile: ProfileId, state: SendState, due: i64) -> NewSend {
    NewSend {
        id: SendKey {
            workspace: &ws(),
            origin,
            profile: &profile,
            lane: Lane::Priority,
        }
        .id(),
        workspace_id: ws(),
        origin: origin.to_owned(),
        campaign_id: Some(CampaignId::parse("spring").unwrap()),
        profile_id: profile,
        lane: Lane::Priority,
        variant: Some("a".to_owned()),
        marketing: true,
        state,
        suppression: (state == SendState::Suppressed).then_some(SuppressionReason::ControlGroup),
        not_before: at(due),
        created_at: at(0),
    }
}

/// Templates, accounts and campaigns round-trip whole, with Chinese text, and refuse
/// a taken id on create; one account per channel is the default.
pub async fn messaging_definitions_round_trip(stores: &Stores) {
    let template = TemplateRecord {
        workspace_id: ws(),
        id: TemplateId::parse("welcome-sms").unwrap(),
        name: "新客欢迎".to_owned(),
        class: MessageClass::Marketing {
            topic: "promotions".to_owned(),
        },
        content: TemplateContent::Sms {
            text: "{{ profile.traits.name }}您好".to_owned(),
            provider_template: Some("SMS_1234".to_owned()),
            params: vec![],
        },
        defaults: [("profile.traits.name".to_owned(), json!("会员"))]
            .into_iter()
            .collect(),
        created_at: at(1),
        updated_at: at(1),
    };
    stores
        .templates
        .save_template(&template, orbit_store::Write::Create)
        .await
        .unwrap();
    assert!(matches!(
        stores
            .templates
            .save_template(&template, orbit_store::Write::Create)
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        stores.templates.template(&ws(), &template.id).await.unwrap(),
        Some(template.clone())
    );
    assert_eq!(stores.templates.templates(&ws()).await.unwrap().len(), 1);
    assert!(
        stores
            .templates
            .delete_template(&ws(), &template.id)
            .await
            .unwrap()
    );
    assert!(
        !stores
            .templates
            .delete_template(&ws(), &template.id)
            .await
            .unwrap()
    );

    let account = |id: &str, default: bool| ChannelAccountRecord {
        workspace_id: ws(),
        id: ChannelId::parse(id).unwrap(),
        name: "阿里云短信".to_owned(),
        channel: Channel::Sms,
        provider: "aliyun_sms".to_owned(),
        sealed_config: vec![1, 2, 3, 0, 255],
        masked_config: json!({"access_key_secret": "••••"}),
        is_default: default,
        rate_per_second: Some(100),
        created_at: at(2),
        updated_at: at(2),
    };
    stores
        .accounts
        .save_account(&account("sms-1", true), orbit_store::Write::Create)
        .await
        .unwrap();
    stores
        .accounts
        .save_account(&account("sms-2", true), orbit_store::Write::Create)
        .await
        .unwrap();
    let accounts = stores.accounts.all_accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(
        accounts[0],
        account("sms-1", false),
        "the newer default replaced it"
    );
    assert_eq!(accounts[1], account("sms-2", true));

    let definition = serde_json::from_value(json!({
        "name": "双十二", "segment": "silent", "control_percent": 10,
        "variants": [{"name": "a", "messages": [{"template": "welcome-sms"}]}]
    }))
    .unwrap();
    let mut campaign = CampaignRecord {
        workspace_id: ws(),
        id: CampaignId::parse("double-12").unwrap(),
        definition,
        lifecycle: Lifecycle::draft(),
        materialized_runs: 0,
        created_at: at(3),
        updated_at: at(3),
    };
    stores
        .campaigns
        .save_campaign(&campaign, orbit_store::Write::Create)
        .await
        .unwrap();
    assert!(stores.campaigns.live_campaigns().await.unwrap().is_empty());
    campaign.lifecycle = Lifecycle {
        state: CampaignState::Scheduled,
        runs: 0,
        next_run_at: Some(at(100)),
    };
    stores
        .campaigns
        .save_campaign(&campaign, orbit_store::Write::Replace)
        .await
        .unwrap();
    assert_eq!(
        stores.campaigns.live_campaigns().await.unwrap(),
        vec![campaign.clone()]
    );
    assert_eq!(
        stores.campaigns.campaign(&ws(), &campaign.id).await.unwrap(),
        Some(campaign.clone())
    );
}

/// Consent records come back in the order they were made.
pub async fn consent_records_are_appended(stores: &Stores) {
    let p = person(1);
    for (channel, status, t) in [
        (None, ConsentStatus::Unsubscribed, 1),
        (Some(Channel::Sms), ConsentStatus::Subscribed, 2),
    ] {
        let record = ConsentRecord {
            channel,
            topic: Some("promotions".to_owned()),
            status,
            at: at(t),
        };
        stores.consents.record_consent(&ws(), &p, &record).await.unwrap();
    }
    let records = stores.consents.consents_of(&ws(), &[p]).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1],
        (
            p,
            ConsentRecord {
                channel: Some(Channel::Sms),
                topic: Some("promotions".to_owned()),
                status: ConsentStatus::Subscribed,
                at: at(2)
            }
        )
    );
    assert_eq!(stores.consents.all_consents().await.unwrap().len(), 2);
    assert!(
        stores
            .consents
            .consents_of(&ws(), &[person(2)])
            .await
            .unwrap()
            .is_empty()
    );
    // Many people at once: each record comes back with whose it is.
    let many: Vec<ProfileId> = (100..1_300).map(person).collect();
    let blocked = ConsentRecord {
        channel: Some(Channel::Email),
        topic: None,
        status: ConsentStatus::Blocked,
        at: at(3),
    };
    stores
        .consents
        .record_consent(&ws(), &many[1_100], &blocked)
        .await
        .unwrap();
    let mut asked = many.clone();
    asked.push(p);
    let found = stores.consents.consents_of(&ws(), &asked).await.unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found.last(), Some(&(many[1_100], blocked)), "oldest first");
}

/// The ledger keeps one row per id whatever is written twice, hands each due row to
/// one claimer, holds, cancels and reports.
pub async fn the_send_ledger_never_holds_a_message_twice(stores: &Stores) {
    let ledger = &stores.ledger;
    let origin = "campaign:spring:run:1";
    let mut rows: Vec<NewSend> = (1..=300)
        .map(|n| new_send(origin, person(n), SendState::Scheduled, 10))
        .collect();
    rows.push(new_send(origin, person(999), SendState::Suppressed, 10));
    assert_eq!(ledger.insert_sends(&rows).await.unwrap(), 301);
    // Materialising again after a crash writes nothing new.
    assert_eq!(ledger.insert_sends(&rows).await.unwrap(), 0);
    assert_eq!(ledger.pending_in_origin(&ws(), origin).await.unwrap(), 300);

    assert!(
        ledger.claim_due(at(5), 100).await.unwrap().is_empty(),
        "not due yet"
    );
    let first = ledger.claim_due(at(10), 100).await.unwrap();
    let second = ledger.claim_due(at(10), 100).await.unwrap();
    assert_eq!((first.len(), second.len()), (100, 100));
    assert!(first.iter().all(|s| s.state == SendState::Dispatching));
    let mut ids: Vec<&str> = first.iter().chain(&second).map(|s| s.send.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no row handed out twice");

    // Outcomes.
    let account = ChannelId::parse("sms-1").unwrap();
    let mut updates = vec![
        SendUpdate::Accepted {
            id: first[0].send.id.clone(),
            channel: Channel::Sms,
            account: account.clone(),
            address: "+8613800138000".to_owned(),
            provider_message_id: Some("biz-1".to_owned()),
            at: at(11),
        },
        SendUpdate::Failed {
            id: first[1].send.id.clone(),
            channel: Some(Channel::Sms),
            error: "isv.MOBILE_NUMBER_ILLEGAL".to_owned(),
            at: at(11),
        },
        SendUpdate::Suppressed {
            id: first[2].send.id.clone(),
            reason: SuppressionReason::Unsubscribed,
            at: at(11),
        },
        SendUpdate::Retry {
            id: first[3].send.id.clone(),
            next_attempt_at: at(60),
            error: "throttled".to_owned(),
            counts_as_attempt: true,
        },
    ];
    updates.extend(first[4..].iter().map(|s| SendUpdate::Ambiguous {
        id: s.send.id.clone(),
        channel: Channel::Sms,
        error: "timed out".to_owned(),
        at: at(11),
    }));
    ledger.apply_updates(&updates).await.unwrap();
    let accepted = ledger.send(&ws(), &first[0].send.id).await.unwrap().unwrap();
    assert_eq!(accepted.state, SendState::Accepted);
    assert_eq!(accepted.attempts, 1);
    assert_eq!(accepted.address.as_deref(), Some("+8613800138000"));
    assert_eq!(
        ledger
            .send_by_provider_id("biz-1")
            .await
            .unwrap()
            .map(|s| s.send.id),
        Some(first[0].send.id.clone())
    );
    let retried = ledger.send(&ws(), &first[3].send.id).await.unwrap().unwrap();
    assert_eq!(
        (
            retried.state,
            retried.next_attempt_at,
            retried.attempts,
            retried.last_error.as_deref()
        ),
        (SendState::Scheduled, at(60), 1, Some("throttled"))
    );
    let failed = ledger.send(&ws(), &first[1].send.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.state, failed.channel, failed.last_error.as_deref()),
        (
            SendState::Failed,
            Some(Channel::Sms),
            Some("isv.MOBILE_NUMBER_ILLEGAL")
        )
    );
    let suppressed = ledger.send(&ws(), &first[2].send.id).await.unwrap().unwrap();
    assert_eq!(
        (suppressed.state, suppressed.suppression, suppressed.attempts),
        (SendState::Suppressed, Some(SuppressionReason::Unsubscribed), 0)
    );
    // Every one of many outcomes of one kind is written, whatever the batch's size.
    for row in &first[4..] {
        let ambiguous = ledger.send(&ws(), &row.send.id).await.unwrap().unwrap();
        assert_eq!(
            (
                ambiguous.state,
                ambiguous.channel,
                ambiguous.attempts,
                ambiguous.updated_at
            ),
            (SendState::Ambiguous, Some(Channel::Sms), 1, at(11))
        );
    }
    assert_eq!(
        ledger.marketing_accepted_since(at(0)).await.unwrap(),
        vec![(ws(), first[0].send.profile_id, Channel::Sms, at(11))]
    );
    assert_eq!(ledger.dead_letters(&ws(), 10, None).await.unwrap().len(), 1);

    // Engagement is recorded once.
    assert!(
        ledger
            .record_engagement(&ws(), &first[0].send.id, Engagement::Delivered, at(12))
            .await
            .unwrap()
    );
    assert!(
        !ledger
            .record_engagement(&ws(), &first[0].send.id, Engagement::Delivered, at(13))
            .await
            .unwrap()
    );

    // The second batch was left dispatching, as by a process that stopped.
    assert_eq!(ledger.in_flight().await.unwrap().len(), 100);
    let ids: Vec<String> = second.iter().map(|s| s.send.id.clone()).collect();
    ledger.requeue(&ids, at(20)).await.unwrap();
    assert!(ledger.in_flight().await.unwrap().is_empty());

    // Held rows are not claimed; cancelled rows are suppressed.
    assert_eq!(ledger.hold_origin(&ws(), origin, true).await.unwrap(), 201);
    assert!(ledger.claim_due(at(100), 1000).await.unwrap().is_empty());
    assert_eq!(ledger.hold_origin(&ws(), origin, false).await.unwrap(), 201);
    assert_eq!(ledger.cancel_origin(&ws(), origin, at(101)).await.unwrap(), 201);
    assert_eq!(ledger.pending_in_origin(&ws(), origin).await.unwrap(), 0);

    let report = ledger
        .campaign_report(&ws(), &CampaignId::parse("spring").unwrap())
        .await
        .unwrap();
    let count = |state: SendState, reason: Option<SuppressionReason>| {
        report
            .iter()
            .filter(|r| r.state == state && r.suppression == reason)
            .map(|r| r.count)
            .sum::<u64>()
    };
    assert_eq!(count(SendState::Accepted, None), 1);
    assert_eq!(count(SendState::Failed, None), 1);
    assert_eq!(count(SendState::Ambiguous, None), 96);
    assert_eq!(
        count(SendState::Suppressed, Some(SuppressionReason::ControlGroup)),
        1
    );
    assert_eq!(
        count(SendState::Suppressed, Some(SuppressionReason::Unsubscribed)),
        1
    );
    assert_eq!(
        count(SendState::Suppressed, Some(SuppressionReason::Cancelled)),
        201
    );
    let delivered: u64 = report.iter().map(|r| r.delivered).sum();
    assert_eq!(delivered, 1);
}

/// Holding an origin covers rows being sent when it is held: one that comes back
/// for a retry, or is put back after a crash, stays held until released.
pub async fn a_held_origin_keeps_rows_that_come_back_from_dispatching(stores: &Stores) {
    let ledger = &stores.ledger;
    let origin = "campaign:spring:run:1";
    let rows: Vec<NewSend> = (1..=3)
        .map(|n| new_send(origin, person(n), SendState::Scheduled, 10))
        .collect();
    ledger.insert_sends(&rows).await.unwrap();
    assert_eq!(ledger.claim_due(at(10), 10).await.unwrap().len(), 3);
    assert_eq!(ledger.hold_origin(&ws(), origin, true).await.unwrap(), 3);
    let retries: Vec<SendUpdate> = rows[..2]
        .iter()
        .map(|row| SendUpdate::Retry {
            id: row.id.clone(),
            next_attempt_at: at(20),
            error: "provider busy".to_owned(),
            counts_as_attempt: true,
        })
        .collect();
    ledger.apply_updates(&retries).await.unwrap();
    ledger.requeue(&[rows[2].id.clone()], at(30)).await.unwrap();
    assert!(
        ledger.claim_due(at(100), 10).await.unwrap().is_empty(),
        "still held"
    );
    assert_eq!(ledger.pending_in_origin(&ws(), origin).await.unwrap(), 3);
    assert_eq!(ledger.hold_origin(&ws(), origin, false).await.unwrap(), 3);
    assert_eq!(ledger.claim_due(at(100), 10).await.unwrap().len(), 3);
}

/// Erasing a person removes their consent and the addresses in their ledger rows,
/// and what had not gone yet is suppressed; the rows stay for campaign counts.
pub async fn erasure_clears_consent_and_ledger_addresses(stores: &Stores) {
    use orbit_store::WorkspaceChanges;
    let p = person(7);
    let record = ConsentRecord {
        channel: Some(Channel::Email),
        topic: None,
        status: ConsentStatus::Subscribed,
        at: at(1),
    };
    stores.consents.record_consent(&ws(), &p, &record).await.unwrap();
    stores
        .inbox
        .put_inbox_messages(&[inbox_message(p, "erase-me", 1)])
        .await
        .unwrap();
    let sent = new_send("campaign:spring:run:1", p, SendState::Scheduled, 0);
    let pending = new_send("campaign:spring:run:2", p, SendState::Scheduled, 0);
    stores
        .ledger
        .insert_sends(&[sent.clone(), pending.clone()])
        .await
        .unwrap();
    let claimed = stores.ledger.claim_due(at(0), 1).await.unwrap();
    stores
        .ledger
        .apply_updates(&[SendUpdate::Accepted {
            id: claimed[0].send.id.clone(),
            channel: Channel::Email,
            account: ChannelId::parse("smtp").unwrap(),
            address: "wang@example.cn".to_owned(),
            provider_message_id: None,
            at: at(2),
        }])
        .await
        .unwrap();

    let mut profile = orbit_core::profile::Profile::new(p, at(0));
    profile
        .identities
        .push(orbit_core::Identity::parse_typed("email:wang@example.cn").unwrap());
    let mut changes = WorkspaceChanges::new(ws());
    changes.erased.push(profile);
    stores.profiles.commit(&[changes]).await.unwrap();

    assert!(stores.consents.consents_of(&ws(), &[p]).await.unwrap().is_empty());
    assert!(stores.inbox.inbox_messages_since(at(0)).await.unwrap().is_empty());
    let accepted = stores
        .ledger
        .send(&ws(), &claimed[0].send.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((accepted.state, accepted.address), (SendState::Accepted, None));
    let other = if claimed[0].send.id == sent.id {
        &pending
    } else {
        &sent
    };
    let suppressed = stores.ledger.send(&ws(), &other.id).await.unwrap().unwrap();
    assert_eq!(
        (suppressed.state, suppressed.suppression),
        (SendState::Suppressed, Some(SuppressionReason::ProfileErased))
    );
}

fn inbox_message(profile: ProfileId, id: &str, t: i64) -> orbit_store::InboxMessage {
    orbit_store::InboxMessage {
        id: id.to_owned(),
        workspace_id: ws(),
        profile_id: profile,
        campaign_id: Some(CampaignId::parse("spring").unwrap()),
        title: "双十二".to_owned(),
        body: "您的专属券已到账".to_owned(),
        popup: true,
        link: Some("app://coupons".to_owned()),
        created_at: at(t),
        read_at: None,
    }
}

/// Inbox messages are kept once per id, read back by time, marked read once.
pub async fn inbox_messages_are_kept_once_and_read_once(stores: &Stores) {
    let p = person(3);
    let first = inbox_message(p, "m1", 10);
    stores
        .inbox
        .put_inbox_messages(std::slice::from_ref(&first))
        .await
        .unwrap();
    stores
        .inbox
        .put_inbox_messages(&[first.clone(), first.clone()])
        .await
        .unwrap();
    stores
        .inbox
        .put_inbox_messages(&[inbox_message(p, "m2", 20)])
        .await
        .unwrap();
    assert_eq!(stores.inbox.inbox_messages_since(at(0)).await.unwrap().len(), 2);
    let recent = stores.inbox.inbox_messages_since(at(15)).await.unwrap();
    assert_eq!(
        recent.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["m2"]
    );
    assert_eq!(recent[0].body, "您的专属券已到账");
    assert!(stores.inbox.mark_inbox_read(&ws(), "m1", at(30)).await.unwrap());
    assert!(!stores.inbox.mark_inbox_read(&ws(), "m1", at(31)).await.unwrap());
    let all = stores.inbox.inbox_messages_since(at(0)).await.unwrap();
    assert_eq!(all[0].read_at, Some(at(30)));
    // A round's messages go in one call, however many.
    let many: Vec<_> = (0..300u32)
        .map(|n| inbox_message(person(1_000 + u128::from(n)), &format!("bulk-{n:03}"), 40))
        .collect();
    stores.inbox.put_inbox_messages(&many).await.unwrap();
    let bulk = stores.inbox.inbox_messages_since(at(40)).await.unwrap();
    assert_eq!(bulk.len(), 300);
    assert_eq!(bulk[299].id, "bulk-299");
}

/// Call tasks are kept once per id, listed by status in creation order with a
/// cursor, and closed with an outcome.
pub async fn call_tasks_are_listed_by_status_and_closed(stores: &Stores) {
    let task = |id: &str, t: i64| orbit_store::CallTask {
        id: id.to_owned(),
        workspace_id: ws(),
        profile_id: person(4),
        phone: "+8613800138000".to_owned(),
        script: "邀请您再次试驾".to_owned(),
        campaign_id: None,
        status: "open".to_owned(),
        outcome: None,
        created_at: at(t),
        updated_at: at(t),
    };
    for (id, t) in [("t1", 1), ("t2", 2), ("t3", 3)] {
        stores.call_tasks.put_call_task(&task(id, t)).await.unwrap();
    }
    stores.call_tasks.put_call_task(&task("t1", 9)).await.unwrap();
    let all = stores.call_tasks.call_tasks(&ws(), None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["t1", "t2", "t3"]
    );
    assert_eq!(all[0].created_at, at(1), "written once");
    let page = stores
        .call_tasks
        .call_tasks(&ws(), None, Some("t1"), 1)
        .await
        .unwrap();
    assert_eq!(page[0].id, "t2");
    let done = stores
        .call_tasks
        .update_call_task(&ws(), "t2", "done", Some("已预约周六试驾"), at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.status.as_str(), done.outcome.as_deref()),
        ("done", Some("已预约周六试驾"))
    );
    let open = stores
        .call_tasks
        .call_tasks(&ws(), Some("open"), None, 10)
        .await
        .unwrap();
    assert_eq!(
        open.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["t1", "t3"]
    );
    assert!(
        stores
            .call_tasks
            .update_call_task(&ws(), "nope", "done", None, at(6))
            .await
            .unwrap()
            .is_none()
    );
}

/// Dead letters page newest first; rows that failed in the same round (one time)
/// are neither skipped nor repeated across a page boundary.
pub async fn dead_letters_page_through_rows_that_failed_together(stores: &Stores) {
    let ledger = &stores.ledger;
    let sends: Vec<NewSend> = (0..5)
        .map(|n| new_send("campaign:spring:run:9", person(900 + n), SendState::Scheduled, 1))
        .collect();
    ledger.insert_sends(&sends).await.unwrap();
    let claimed = ledger.claim_due(at(2), 10).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let failed: Vec<SendUpdate> = claimed
        .iter()
        .enumerate()
        .map(|(i, row)| SendUpdate::Failed {
            id: row.send.id.clone(),
            channel: Some(Channel::Sms),
            error: "rejected".to_owned(),
            // Four fail in one round, one later.
            at: at(if i == 0 { 4 } else { 3 }),
        })
        .collect();
    ledger.apply_updates(&failed).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = ledger.dead_letters(&ws(), 2, cursor.clone()).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some((last.updated_at, last.send.id.clone()));
        seen.extend(page.into_iter().map(|r| (r.updated_at, r.send.id)));
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[0], (at(4), claimed[0].send.id.clone()), "newest first");
    let mut ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "no row twice");
}
