//! The journey runs part of the suite that concerns people rather than journeys: a
//! merge carrying a run over to the surviving person, and an erasure taking a person
//! out of every journey.

use super::journey_runs::{
    at_ms, commit, commit_effects, commit_runs, count, effect, exited, keyed, other_ws, person, run, sorted,
    sorted_counts, sorted_summaries, stored, waiting,
};
use super::ws;
use orbit_core::journey::JourneyEvent;
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{EntrySummary, JourneyBatch, LogPosition, MovedRun, Stores};

fn moved(journey: &str, from: orbit_core::ProfileId, entry: &str) -> MovedRun {
    MovedRun {
        workspace_id: ws(),
        journey_id: JourneyId::parse(journey).unwrap(),
        from,
        entry: entry.to_owned(),
    }
}

/// A run carried over by a merge is stored under the survivor only: the merged-away
/// person's row is gone, the survivor's entry summary counts it, and a run carried
/// along two merges in one batch leaves one row, under the last survivor.
pub async fn a_run_carried_over_by_a_merge_is_stored_under_the_survivor_only(stores: &Stores) {
    let store = &stores.journey_runs;
    let (anon, mei, lei) = (person(1), person(2), person(3));
    let anon_run = keyed(run("welcome", anon, "e-1", 100, waiting("wait", 9_000)), "k");
    let kept = stored(ws(), run("welcome", anon, "e-0", 50, exited("done", 60)), 60);
    commit_runs(stores, vec![stored(ws(), anon_run.clone(), 100), kept.clone()]).await;

    let mut carried = anon_run.clone();
    carried.profile = mei;
    commit(
        stores,
        JourneyBatch {
            runs: vec![stored(ws(), carried.clone(), 200)],
            moved: vec![moved("welcome", anon, "e-1")],
            ..JourneyBatch::default()
        },
    )
    .await;
    assert_eq!(
        store.profile_runs(&ws(), anon).await.unwrap(),
        vec![kept.clone()],
        "the merged-away person keeps only what was not carried over"
    );
    assert_eq!(
        store.profile_runs(&ws(), mei).await.unwrap(),
        vec![stored(ws(), carried.clone(), 200)]
    );
    assert_eq!(
        store.active_runs().await.unwrap(),
        vec![stored(ws(), carried.clone(), 200)]
    );
    let journey = JourneyId::parse("welcome").unwrap();
    assert_eq!(
        sorted_summaries(store.entry_summaries().await.unwrap()),
        sorted_summaries(vec![
            EntrySummary {
                workspace_id: ws(),
                journey_id: journey.clone(),
                profile_id: anon,
                key: None,
                entries: 1,
                last_entered_at: at_ms(50),
                active: false,
            },
            EntrySummary {
                workspace_id: ws(),
                journey_id: journey.clone(),
                profile_id: mei,
                key: Some("k".to_owned()),
                entries: 1,
                last_entered_at: at_ms(100),
                active: true,
            },
        ])
    );

    // Mei merged into Lei, within the same batch the run moves again.
    let mut twice = carried.clone();
    twice.profile = lei;
    commit(
        stores,
        JourneyBatch {
            runs: vec![stored(ws(), carried, 300), stored(ws(), twice.clone(), 300)],
            moved: vec![moved("welcome", anon, "e-1"), moved("welcome", mei, "e-1")],
            ..JourneyBatch::default()
        },
    )
    .await;
    assert_eq!(store.profile_runs(&ws(), mei).await.unwrap(), vec![]);
    assert_eq!(store.active_runs().await.unwrap(), vec![stored(ws(), twice, 300)]);
}

/// Erasing people takes every run of theirs (in a journey or out of it) and their
/// effects not yet done, and adds their exits to the tallies; everyone else's runs and
/// effects, their own done effects' bookkeeping and the same ids in another workspace
/// stay as they were.
pub async fn erasing_people_takes_their_runs_and_pending_effects(stores: &Stores) {
    let store = &stores.journey_runs;
    let (ann, merged_into_ann, bo) = (person(1), person(2), person(3));
    let ann_waiting = stored(ws(), run("welcome", ann, "e-1", 10, waiting("wait", 9_000)), 10);
    let ann_done = stored(ws(), run("order-care", ann, "e-2", 20, exited("done", 30)), 30);
    let alias_waiting = stored(
        ws(),
        run("order-care", merged_into_ann, "e-3", 40, waiting("wait", 9_000)),
        40,
    );
    let bo_waiting = stored(ws(), run("welcome", bo, "e-4", 50, waiting("wait", 9_000)), 50);
    let elsewhere = stored(
        other_ws(),
        run("welcome", ann, "e-1", 60, waiting("wait", 9_000)),
        60,
    );
    commit_runs(
        stores,
        vec![
            ann_waiting,
            ann_done,
            alias_waiting,
            bo_waiting.clone(),
            elsewhere.clone(),
        ],
    )
    .await;
    commit_effects(
        stores,
        vec![
            effect("fx-ann", ws(), ann, "金卡", 100),
            effect("fx-alias", ws(), merged_into_ann, "金卡", 101),
            effect("fx-bo", ws(), bo, "银卡", 102),
            effect("fx-elsewhere", other_ws(), ann, "银卡", 103),
        ],
    )
    .await;
    let date = |workspace: WorkspaceId, profile: ProfileId, position: i64| orbit_store::DateTimerRecord {
        key: orbit_store::DateTimerKey {
            workspace_id: workspace,
            journey_id: JourneyId::parse("aircon-care").unwrap(),
            profile_id: profile,
            position: LogPosition(position),
        },
        due_at: at_ms(9_000),
        event: JourneyEvent {
            name: "order_paid".into(),
            at: at_ms(position),
            properties: serde_json::Map::new(),
        },
    };
    commit(
        stores,
        JourneyBatch {
            date_timers: vec![date(ws(), ann, 7), date(ws(), bo, 8), date(other_ws(), ann, 9)],
            ..JourneyBatch::default()
        },
    )
    .await;
    let exits = vec![
        count(ws(), "welcome", 1, "_journey", "exit:erased", 1),
        count(ws(), "order-care", 1, "_journey", "exit:erased", 1),
    ];
    store
        .erase_journey_people(&ws(), &[ann, merged_into_ann], &exits)
        .await
        .unwrap();

    assert_eq!(store.profile_runs(&ws(), ann).await.unwrap(), vec![]);
    assert_eq!(store.profile_runs(&ws(), merged_into_ann).await.unwrap(), vec![]);
    assert_eq!(
        sorted(store.active_runs().await.unwrap()),
        sorted(vec![bo_waiting, elsewhere])
    );
    let pending: Vec<String> = store
        .pending_effects(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(pending, vec!["fx-bo", "fx-elsewhere"]);
    let mut dates: Vec<i64> = store
        .date_timers()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key.position.0)
        .collect();
    dates.sort_unstable();
    assert_eq!(
        dates,
        vec![8, 9],
        "the erased person's dates after events are gone"
    );
    assert!(
        store
            .entry_summaries()
            .await
            .unwrap()
            .iter()
            .all(|s| s.workspace_id != ws() || s.profile_id == bo),
        "no entry of theirs is left to count"
    );
    for journey in ["welcome", "order-care"] {
        let id = JourneyId::parse(journey).unwrap();
        assert_eq!(
            sorted_counts(store.node_counts(&ws(), &id).await.unwrap()),
            vec![count(ws(), journey, 1, "_journey", "exit:erased", 1)]
        );
    }
    // Erasing again, or nobody, changes nothing.
    store.erase_journey_people(&ws(), &[ann], &[]).await.unwrap();
    store.erase_journey_people(&ws(), &[], &[]).await.unwrap();
    assert_eq!(store.pending_effects(10).await.unwrap().len(), 2);
}
