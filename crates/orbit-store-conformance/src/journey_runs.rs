//! The journey runs part of the conformance suite: the runner's batches (runs, the
//! effects outbox, node tallies, the cursor) and what it reads back from them.

use super::ws;
use jiff::Timestamp;
use orbit_core::journey::{Action, Effect, ExitReason, JourneyEvent, PathStep, Run, RunPath, RunState};
use orbit_core::{JourneyId, NodeId, ProfileId, WorkspaceId};
use orbit_store::{
    EntrySummary, JourneyBatch, JourneyEffectRecord, LogPosition, NodeCount, StoredRun, Stores,
};
use serde_json::json;

/// A time with milliseconds, so that a store keeping only seconds fails the suite.
pub(super) fn at_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_767_225_600_000 + ms).unwrap()
}

pub(super) fn other_ws() -> WorkspaceId {
    WorkspaceId::parse("other-brand").unwrap()
}

pub(super) fn person(seed: u128) -> ProfileId {
    ProfileId::mint(at_ms(0), seed)
}

pub(super) fn node(id: &str) -> NodeId {
    NodeId::parse(id).unwrap()
}

pub(super) fn waiting(at: &str, until_ms: i64) -> RunState {
    RunState::Waiting {
        node: node(at),
        until: at_ms(until_ms),
        for_event: false,
    }
}

pub(super) fn exited(at: &str, ms: i64) -> RunState {
    RunState::Exited {
        node: Some(node(at)),
        reason: ExitReason::Completed,
        at: at_ms(ms),
    }
}

/// A run on version 1 of `journey`, unkeyed, with nothing carried along.
pub(super) fn run(journey: &str, profile: ProfileId, entry: &str, entered_ms: i64, state: RunState) -> Run {
    Run {
        journey: JourneyId::parse(journey).unwrap(),
        version: 1,
        profile,
        entry: entry.to_owned(),
        key: None,
        entered_at: at_ms(entered_ms),
        entry_event: None,
        wait_event: None,
        steps: 0,
        state,
        path: RunPath::default(),
    }
}

pub(super) fn keyed(mut run: Run, key: &str) -> Run {
    run.key = Some(key.to_owned());
    run
}

pub(super) fn stored(workspace: WorkspaceId, run: Run, updated_ms: i64) -> StoredRun {
    StoredRun {
        workspace_id: workspace,
        run,
        updated_at: at_ms(updated_ms),
    }
}

/// A run carrying everything a run can: a key, both events with Chinese text, steps,
/// a path and a wait for an event; a store that loses any of it fails the round trip.
fn full_run(profile: ProfileId) -> Run {
    let event = |name: &str, ms: i64, properties: serde_json::Value| JourneyEvent {
        name: name.to_owned(),
        at: at_ms(ms),
        properties: properties.as_object().unwrap().clone(),
    };
    Run {
        version: 3,
        key: Some("订单-8848".to_owned()),
        entry_event: Some(event(
            "order_paid",
            10,
            json!({"order_id": "订单-8848", "amount": 59.9, "items": ["奶茶", "蛋糕"]}),
        )),
        wait_event: Some(event("app_opened", 20, json!({"screen": "首页"}))),
        steps: 7,
        state: RunState::Waiting {
            node: node("wait-for-review"),
            until: at_ms(86_400_123),
            for_event: true,
        },
        path: RunPath {
            steps: vec![
                PathStep {
                    node: node("rating"),
                    outcome: Some("好评".to_owned()),
                    at: at_ms(20),
                },
                PathStep {
                    node: node("wait-for-review"),
                    outcome: None,
                    at: at_ms(21),
                },
            ],
            omitted: 3,
            exit: None,
        },
        ..run("order-care", profile, "evt-8848", 10, RunState::Entering)
    }
}

pub(super) fn effect(
    id: &str,
    workspace: WorkspaceId,
    profile: ProfileId,
    value: &str,
    created_ms: i64,
) -> JourneyEffectRecord {
    JourneyEffectRecord {
        id: id.to_owned(),
        workspace_id: workspace,
        journey_id: JourneyId::parse("order-care").unwrap(),
        version: 3,
        profile_id: profile,
        effect: Effect {
            node: node("tag-buyer"),
            origin: format!("journey:order-care:tag-buyer:{id}:1"),
            action: Action::AddTag {
                tag: "客户等级".to_owned(),
                value: value.to_owned(),
            },
        },
        created_at: at_ms(created_ms),
    }
}

pub(super) fn count(
    workspace: WorkspaceId,
    journey: &str,
    version: u32,
    at: &str,
    outcome: &str,
    n: u64,
) -> NodeCount {
    NodeCount {
        workspace_id: workspace,
        journey_id: JourneyId::parse(journey).unwrap(),
        version,
        node: node(at),
        outcome: outcome.to_owned(),
        count: n,
    }
}

/// Runs in a fixed order, for comparing lists a store may return in any order.
pub(super) fn sorted(mut runs: Vec<StoredRun>) -> Vec<StoredRun> {
    runs.sort_by_key(|r| {
        (
            r.workspace_id.as_str().to_owned(),
            r.run.journey.as_str().to_owned(),
            r.run.profile,
            r.run.entry.clone(),
        )
    });
    runs
}

pub(super) fn sorted_counts(mut counts: Vec<NodeCount>) -> Vec<NodeCount> {
    counts.sort_by_key(|c| (c.version, c.node.as_str().to_owned(), c.outcome.clone()));
    counts
}

pub(super) fn sorted_summaries(mut summaries: Vec<EntrySummary>) -> Vec<EntrySummary> {
    summaries.sort_by_key(|s| {
        (
            s.workspace_id.as_str().to_owned(),
            s.journey_id.as_str().to_owned(),
            s.profile_id,
            s.key.clone(),
        )
    });
    summaries
}

pub(super) async fn commit(stores: &Stores, batch: JourneyBatch) {
    stores.journey_runs.commit_journey_batch(&batch).await.unwrap();
}

pub(super) async fn commit_runs(stores: &Stores, runs: Vec<StoredRun>) {
    commit(
        stores,
        JourneyBatch {
            runs,
            ..JourneyBatch::default()
        },
    )
    .await;
}

pub(super) async fn commit_effects(stores: &Stores, effects: Vec<JourneyEffectRecord>) {
    commit(
        stores,
        JourneyBatch {
            effects,
            ..JourneyBatch::default()
        },
    )
    .await;
}

async fn commit_counts(stores: &Stores, counts: Vec<NodeCount>) {
    commit(
        stores,
        JourneyBatch {
            counts,
            ..JourneyBatch::default()
        },
    )
    .await;
}

/// A batch's runs, effects, counts and cursor are all there once it is committed, and
/// runs come back whole, to the millisecond.
pub async fn a_journey_batch_is_visible_whole_after_commit(stores: &Stores) {
    let store = &stores.journey_runs;
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(0));
    assert_eq!(store.active_runs().await.unwrap(), vec![]);
    assert_eq!(store.entry_summaries().await.unwrap(), vec![]);
    assert_eq!(store.pending_effects(10).await.unwrap(), vec![]);

    let (ann, bo) = (person(1), person(2));
    let entering = stored(ws(), run("welcome", ann, "api-1", 5, RunState::Entering), 5);
    let waiting = stored(ws(), full_run(ann), 21);
    let done = stored(ws(), run("welcome", bo, "api-2", 7, exited("done", 9)), 9);
    let effects = vec![
        effect("fx-1", ws(), ann, "金卡", 21),
        effect("fx-2", ws(), bo, "银卡", 22),
    ];
    let counts = vec![
        count(ws(), "order-care", 3, "tag-buyer", "next", 1),
        count(ws(), "order-care", 3, "wait-for-review", "", 1),
    ];
    commit(
        stores,
        JourneyBatch {
            runs: vec![entering.clone(), waiting.clone(), done.clone()],
            effects: effects.clone(),
            counts: counts.clone(),
            cursor: Some(LogPosition(42)),
            ..JourneyBatch::default()
        },
    )
    .await;

    assert_eq!(
        sorted(store.active_runs().await.unwrap()),
        sorted(vec![entering.clone(), waiting.clone()]),
        "the runs still in a journey, and only those"
    );
    assert_eq!(
        sorted(store.profile_runs(&ws(), ann).await.unwrap()),
        sorted(vec![entering, waiting])
    );
    assert_eq!(store.profile_runs(&ws(), bo).await.unwrap(), vec![done]);
    assert_eq!(store.pending_effects(10).await.unwrap(), effects);
    let journey = JourneyId::parse("order-care").unwrap();
    assert_eq!(
        sorted_counts(store.node_counts(&ws(), &journey).await.unwrap()),
        counts
    );
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(42));
}

/// Effects are an outbox: committing a batch again keeps one copy of each, the first
/// content stays when an id comes back with another action, and a done effect does not
/// come back as pending when its step is replayed.
pub async fn a_committed_effect_is_kept_once_as_first_decided(stores: &Stores) {
    let store = &stores.journey_runs;
    let ann = person(1);
    let first = vec![
        effect("fx-1", ws(), ann, "金卡", 100),
        effect("fx-2", ws(), ann, "银卡", 101),
    ];
    let batch = JourneyBatch {
        effects: first.clone(),
        ..JourneyBatch::default()
    };
    commit(stores, batch.clone()).await;
    commit(stores, batch.clone()).await;
    assert_eq!(store.pending_effects(10).await.unwrap(), first);

    // The same id with another action and time, as a changed graph might decide.
    let changed = effect("fx-1", ws(), ann, "铜卡", 50);
    commit_effects(stores, vec![changed]).await;
    assert_eq!(
        store.pending_effects(10).await.unwrap(),
        first,
        "the first effect stored under an id is kept as it was"
    );

    store
        .complete_effects(&["fx-1".to_owned()], at_ms(200))
        .await
        .unwrap();
    commit(stores, batch).await;
    assert_eq!(
        store.pending_effects(10).await.unwrap(),
        vec![first[1].clone()],
        "a replayed step does not make a done effect pending again"
    );
}

/// Node counts are added to, across batches and within one, per version, node and
/// outcome; another journey's and another workspace's counts stay apart.
pub async fn node_counts_add_up_across_batches(stores: &Stores) {
    let store = &stores.journey_runs;
    commit_counts(
        stores,
        vec![
            count(ws(), "order-care", 1, "wait", "", 2),
            count(ws(), "order-care", 1, "branch", "vip", 1),
            count(ws(), "order-care", 1, "branch", "vip", 2),
            count(ws(), "welcome", 1, "wait", "", 100),
            count(other_ws(), "order-care", 1, "wait", "", 1_000),
        ],
    )
    .await;
    commit_counts(
        stores,
        vec![
            count(ws(), "order-care", 1, "wait", "", 5),
            count(ws(), "order-care", 2, "wait", "", 1),
            count(ws(), "order-care", 1, "branch", "default", 4),
        ],
    )
    .await;
    let journey = JourneyId::parse("order-care").unwrap();
    assert_eq!(
        sorted_counts(store.node_counts(&ws(), &journey).await.unwrap()),
        vec![
            count(ws(), "order-care", 1, "branch", "default", 4),
            count(ws(), "order-care", 1, "branch", "vip", 3),
            count(ws(), "order-care", 1, "wait", "", 7),
            count(ws(), "order-care", 2, "wait", "", 1),
        ]
    );
    assert_eq!(
        store.node_counts(&other_ws(), &journey).await.unwrap(),
        vec![count(other_ws(), "order-care", 1, "wait", "", 1_000)]
    );
    let unknown = JourneyId::parse("never-run").unwrap();
    assert_eq!(store.node_counts(&ws(), &unknown).await.unwrap(), vec![]);
}

/// A run moved from waiting to exited replaces the stored one: it leaves the active
/// runs, stays in the person's runs as it now stands, and is still one entry.
pub async fn an_exited_run_leaves_the_active_runs_but_not_the_person_s(stores: &Stores) {
    let store = &stores.journey_runs;
    let ann = person(1);
    let wait = stored(
        ws(),
        keyed(run("welcome", ann, "e-1", 100, waiting("wait", 9_000)), "k"),
        100,
    );
    commit_runs(stores, vec![wait.clone()]).await;
    assert_eq!(store.active_runs().await.unwrap(), vec![wait.clone()]);

    let mut left = wait.clone();
    left.run.steps = 4;
    left.run.state = exited("done", 9_001);
    left.updated_at = at_ms(9_001);
    commit_runs(stores, vec![left.clone()]).await;
    assert_eq!(store.active_runs().await.unwrap(), vec![]);
    assert_eq!(store.profile_runs(&ws(), ann).await.unwrap(), vec![left]);
    assert_eq!(
        store.entry_summaries().await.unwrap(),
        vec![EntrySummary {
            workspace_id: ws(),
            journey_id: JourneyId::parse("welcome").unwrap(),
            profile_id: ann,
            key: Some("k".to_owned()),
            entries: 1,
            last_entered_at: at_ms(100),
            active: false,
        }],
        "moving a run replaces it: still one entry"
    );
}

/// The cursor starts at 0, follows a batch that moves it forward, and stays where it
/// is for a batch that names an earlier position or none.
pub async fn the_journey_cursor_never_moves_back(stores: &Stores) {
    let store = &stores.journey_runs;
    let at = |position: Option<i64>| JourneyBatch {
        cursor: position.map(LogPosition),
        ..JourneyBatch::default()
    };
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(0));
    commit(stores, at(Some(10))).await;
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(10));
    commit(stores, at(Some(5))).await;
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(10));
    let wait = stored(ws(), run("welcome", person(1), "e-1", 1, waiting("wait", 50)), 1);
    commit_runs(stores, vec![wait]).await;
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(10));
    commit(stores, at(Some(12))).await;
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(12));
}

/// One summary per workspace, journey, person and entry key: how many entries, when
/// the last began, and whether one is still in the journey (entering counts).
pub async fn entry_summaries_count_entries_per_key(stores: &Stores) {
    let store = &stores.journey_runs;
    let (ann, bo) = (person(1), person(2));
    let care = |p, entry, entered, state, key| {
        stored(
            ws(),
            keyed(run("order-care", p, entry, entered, state), key),
            entered,
        )
    };
    commit_runs(
        stores,
        vec![
            care(ann, "e-1", 1_000, exited("done", 2_000), "o-1"),
            care(ann, "e-2", 5_000, waiting("wait", 9_000), "o-1"),
            care(ann, "e-3", 3_000, exited("done", 4_000), "o-2"),
            care(bo, "e-4", 700, RunState::Entering, "o-1"),
            stored(ws(), run("welcome", ann, "e-5", 100, exited("done", 150)), 150),
            stored(ws(), run("welcome", ann, "e-6", 200, exited("done", 250)), 250),
            stored(
                other_ws(),
                keyed(run("order-care", ann, "e-1", 6_000, exited("done", 6_001)), "o-1"),
                6_001,
            ),
        ],
    )
    .await;
    let summary =
        |workspace, journey: &str, profile, key: Option<&str>, entries, last, active| EntrySummary {
            workspace_id: workspace,
            journey_id: JourneyId::parse(journey).unwrap(),
            profile_id: profile,
            key: key.map(str::to_owned),
            entries,
            last_entered_at: at_ms(last),
            active,
        };
    assert_eq!(
        sorted_summaries(store.entry_summaries().await.unwrap()),
        sorted_summaries(vec![
            summary(ws(), "order-care", ann, Some("o-1"), 2, 5_000, true),
            summary(ws(), "order-care", ann, Some("o-2"), 1, 3_000, false),
            summary(ws(), "order-care", bo, Some("o-1"), 1, 700, true),
            summary(ws(), "welcome", ann, None, 2, 200, false),
            summary(other_ws(), "order-care", ann, Some("o-1"), 1, 6_000, false),
        ])
    );
}

/// Pending effects come oldest first (the id breaking ties), at most `limit` of them,
/// across workspaces, and without the completed ones.
pub async fn pending_effects_come_oldest_first_up_to_the_limit(stores: &Stores) {
    let store = &stores.journey_runs;
    let ann = person(1);
    let fx = |id, ms| effect(id, ws(), ann, "金卡", ms);
    let elsewhere = effect("fx-other", other_ws(), ann, "金卡", 150);
    commit_effects(
        stores,
        vec![
            fx("fx-c", 300),
            fx("fx-a", 100),
            fx("fx-t2", 200),
            fx("fx-t1", 200),
        ],
    )
    .await;
    commit_effects(stores, vec![fx("fx-z", 50), elsewhere.clone()]).await;
    let oldest = vec![
        fx("fx-z", 50),
        fx("fx-a", 100),
        elsewhere.clone(),
        fx("fx-t1", 200),
        fx("fx-t2", 200),
        fx("fx-c", 300),
    ];
    assert_eq!(store.pending_effects(3).await.unwrap(), oldest[..3].to_vec());
    assert_eq!(store.pending_effects(100).await.unwrap(), oldest);

    let done = ["fx-z".to_owned(), "fx-t1".to_owned(), "fx-unknown".to_owned()];
    store.complete_effects(&done, at_ms(400)).await.unwrap();
    store.complete_effects(&[], at_ms(401)).await.unwrap();
    assert_eq!(
        store.pending_effects(3).await.unwrap(),
        vec![fx("fx-a", 100), elsewhere, fx("fx-t2", 200)]
    );
}

/// A person's runs are theirs in that workspace only, newest entry first.
pub async fn a_person_s_runs_are_per_workspace_and_newest_first(stores: &Stores) {
    let store = &stores.journey_runs;
    let (ann, bo) = (person(1), person(2));
    let first = stored(ws(), run("welcome", ann, "e-1", 100, exited("done", 150)), 150);
    let second = stored(
        ws(),
        run("order-care", ann, "e-2", 300, waiting("wait", 900)),
        300,
    );
    let third = stored(ws(), run("welcome", ann, "e-3", 500, RunState::Entering), 500);
    let bo_s = stored(ws(), run("welcome", bo, "e-4", 400, RunState::Entering), 400);
    let elsewhere = stored(
        other_ws(),
        run("welcome", ann, "e-1", 200, RunState::Entering),
        200,
    );
    // Committed in no useful order: the order comes from when each entry began.
    commit_runs(
        stores,
        vec![second.clone(), bo_s.clone(), first.clone(), elsewhere.clone()],
    )
    .await;
    commit_runs(stores, vec![third.clone()]).await;
    assert_eq!(
        store.profile_runs(&ws(), ann).await.unwrap(),
        vec![third, second, first]
    );
    assert_eq!(store.profile_runs(&ws(), bo).await.unwrap(), vec![bo_s]);
    assert_eq!(
        store.profile_runs(&other_ws(), ann).await.unwrap(),
        vec![elsewhere]
    );
    assert_eq!(store.profile_runs(&other_ws(), bo).await.unwrap(), vec![]);
    assert_eq!(store.profile_runs(&ws(), person(3)).await.unwrap(), vec![]);
}

/// A batch far larger than one statement's bound values round-trips whole, and so do
/// completing and then moving all of it.
pub async fn a_batch_of_five_thousand_runs_round_trips(stores: &Stores) {
    const N: u128 = 5_000;
    let store = &stores.journey_runs;
    let people: Vec<ProfileId> = (0..N).map(|i| person(i + 1)).collect();
    let runs: Vec<StoredRun> = people
        .iter()
        .zip(0_i64..)
        .map(|(p, i)| {
            let entered = run(
                "order-care",
                *p,
                &format!("e-{i}"),
                i,
                waiting("wait", 100_000 + i),
            );
            stored(ws(), keyed(entered, &format!("订单-{i}")), i)
        })
        .collect();
    let effects: Vec<JourneyEffectRecord> = people
        .iter()
        .zip(0_i64..)
        .map(|(p, i)| effect(&format!("fx-{i:05}"), ws(), *p, "金卡", i))
        .collect();
    commit(
        stores,
        JourneyBatch {
            runs: runs.clone(),
            effects: effects.clone(),
            counts: vec![count(ws(), "order-care", 1, "wait", "", 5_000)],
            cursor: Some(LogPosition(5_000)),
            ..JourneyBatch::default()
        },
    )
    .await;
    assert_eq!(sorted(store.active_runs().await.unwrap()), sorted(runs.clone()));
    assert_eq!(store.pending_effects(10_000).await.unwrap(), effects);
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(5_000));

    // More ids than any store binds in one statement (SQLite: 32,766; PostgreSQL:
    // 65,535), most of them unknown, which completing ignores.
    let ids: Vec<String> = effects
        .iter()
        .map(|e| e.id.clone())
        .chain((0..66_000).map(|i| format!("fx-unknown-{i}")))
        .collect();
    store.complete_effects(&ids, at_ms(200_000)).await.unwrap();
    assert_eq!(store.pending_effects(10_000).await.unwrap(), vec![]);

    let left: Vec<StoredRun> = runs
        .into_iter()
        .map(|mut r| {
            r.run.state = exited("done", 100_000);
            r.updated_at = at_ms(100_000);
            r
        })
        .collect();
    commit_runs(stores, left).await;
    assert_eq!(store.active_runs().await.unwrap(), vec![]);
    let summaries = store.entry_summaries().await.unwrap();
    assert_eq!(summaries.len(), 5_000);
    assert!(summaries.iter().all(|s| s.entries == 1 && !s.active));
}

/// A batch the store refuses leaves nothing of itself behind: here, a count too large
/// for the store (SQLite and PostgreSQL keep signed 64-bit integers).
pub async fn a_refused_journey_batch_writes_nothing(stores: &Stores) {
    let store = &stores.journey_runs;
    let ann = person(1);
    let batch = JourneyBatch {
        runs: vec![stored(
            ws(),
            run("welcome", ann, "e-1", 1, waiting("wait", 50)),
            1,
        )],
        effects: vec![effect("fx-1", ws(), ann, "金卡", 1)],
        counts: vec![
            count(ws(), "welcome", 1, "start", "next", 1),
            count(ws(), "welcome", 1, "wait", "", u64::MAX),
        ],
        cursor: Some(LogPosition(7)),
        ..JourneyBatch::default()
    };
    if store.commit_journey_batch(&batch).await.is_ok() {
        // A store that can hold the count must then hold all of it.
        assert_eq!(store.active_runs().await.unwrap(), batch.runs);
        return;
    }
    assert_eq!(store.active_runs().await.unwrap(), vec![]);
    assert_eq!(store.profile_runs(&ws(), ann).await.unwrap(), vec![]);
    assert_eq!(store.pending_effects(10).await.unwrap(), vec![]);
    let journey = JourneyId::parse("welcome").unwrap();
    assert_eq!(store.node_counts(&ws(), &journey).await.unwrap(), vec![]);
    assert_eq!(store.journey_cursor().await.unwrap(), LogPosition(0));
}
