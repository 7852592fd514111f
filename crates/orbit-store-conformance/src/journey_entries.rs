//! The journey runs part of the suite that concerns how people enter and what is done
//! for them: date entries and their marks, and the outbox's lanes.

use super::journey_runs::{at_ms, commit, commit_effects, effect, person};
use super::ws;
use orbit_core::journey::{Action, JourneyEvent};
use orbit_core::{JourneyId, ProfileId};
use orbit_store::{DateTimerKey, DateTimerRecord, EffectLane, EntryMark, JourneyBatch, LogPosition, Stores};
use serde_json::json;

/// Date entries set after an event are kept once until fired, and each journey's
/// entry mark is replaced whole, its schedule progress too.
pub async fn date_entries_and_entry_marks_round_trip(stores: &Stores) {
    let store = &stores.journey_runs;
    let (ann, bo) = (person(1), person(2));
    let journey = JourneyId::parse("aircon-care").unwrap();
    let timer = |profile: ProfileId, position: i64, due_ms: i64| DateTimerRecord {
        key: DateTimerKey {
            workspace_id: ws(),
            journey_id: journey.clone(),
            profile_id: profile,
            position: LogPosition(position),
        },
        due_at: at_ms(due_ms),
        event: JourneyEvent {
            name: "order_paid".into(),
            at: at_ms(position),
            properties: json!({"category": "空调"}).as_object().unwrap().clone(),
        },
    };
    let mark = |done_ms: i64, progress: Option<(i64, ProfileId)>| EntryMark {
        workspace_id: ws(),
        journey_id: journey.clone(),
        done_until: at_ms(done_ms),
        in_progress: progress.map(|(ms, p)| (at_ms(ms), p)),
    };
    commit(
        stores,
        JourneyBatch {
            date_timers: vec![timer(ann, 10, 1_000), timer(bo, 11, 2_000)],
            marks: vec![mark(5, Some((7, ann)))],
            ..JourneyBatch::default()
        },
    )
    .await;
    // The same event set again (a replayed page) keeps the first.
    commit(
        stores,
        JourneyBatch {
            date_timers: vec![timer(ann, 10, 9_999)],
            marks: vec![mark(8, None)],
            ..JourneyBatch::default()
        },
    )
    .await;
    let mut timers = store.date_timers().await.unwrap();
    timers.sort_by_key(|t| t.key.position);
    assert_eq!(timers, vec![timer(ann, 10, 1_000), timer(bo, 11, 2_000)]);
    assert_eq!(store.entry_marks().await.unwrap(), vec![mark(8, None)]);

    commit(
        stores,
        JourneyBatch {
            date_timers_done: vec![timer(ann, 10, 1_000).key],
            ..JourneyBatch::default()
        },
    )
    .await;
    assert_eq!(store.date_timers().await.unwrap(), vec![timer(bo, 11, 2_000)]);
}

/// Each lane takes only its own pending effects: webhooks and staff notices apart
/// from messages and profile changes.
pub async fn pending_effects_are_taken_per_lane(stores: &Stores) {
    let store = &stores.journey_runs;
    let ann = person(1);
    let tag = effect("fx-tag", ws(), ann, "金卡", 1);
    let mut hook = effect("fx-hook", ws(), ann, "", 2);
    hook.effect.action = Action::Webhook {
        url: "https://crm.example/apology".to_owned(),
    };
    let mut notice = effect("fx-notice", ws(), ann, "", 3);
    notice.effect.action = Action::NotifyStaff {
        to: orbit_core::journey::StaffTarget::Email {
            address: "manager@dealer.example".to_owned(),
        },
        subject: "低分".to_owned(),
        account: None,
    };
    commit_effects(stores, vec![notice.clone(), tag.clone(), hook.clone()]).await;
    assert_eq!(
        store
            .pending_effects_in(EffectLane::WithinOrbit, 10)
            .await
            .unwrap(),
        vec![tag.clone()]
    );
    assert_eq!(
        store.pending_effects_in(EffectLane::Outbound, 10).await.unwrap(),
        vec![hook.clone(), notice.clone()]
    );
    assert_eq!(
        store.pending_effects(10).await.unwrap(),
        vec![tag, hook.clone(), notice.clone()]
    );
    store
        .complete_effects(&[hook.id.clone()], at_ms(10))
        .await
        .unwrap();
    assert_eq!(
        store.pending_effects_in(EffectLane::Outbound, 10).await.unwrap(),
        vec![notice.clone()]
    );

    // Done effects are forgotten once old enough; pending ones never are.
    assert_eq!(store.prune_done_effects(at_ms(10)).await.unwrap(), 0);
    assert_eq!(store.prune_done_effects(at_ms(11)).await.unwrap(), 1);
    assert_eq!(
        store.pending_effects(10).await.unwrap(),
        vec![effect("fx-tag", ws(), ann, "金卡", 1), notice]
    );
    // A pruned effect decided again (it never is) would count as new.
    commit_effects(stores, vec![hook.clone()]).await;
    assert_eq!(
        store
            .pending_effects_in(EffectLane::Outbound, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}
