//! The journeys part of the conformance suite: drafts, published versions, and the
//! rule that a published version is never overwritten.

use super::ws;
use jiff::Timestamp;
use orbit_core::journey::{JourneyDefinition, JourneyStatus};
use orbit_core::{JourneyId, WorkspaceId};
use orbit_store::{JourneyRecord, JourneyVersion, StoreError, Stores, Write};
use serde_json::json;

/// A time with milliseconds, so that a store keeping only seconds fails the suite.
fn at_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_767_225_600_000 + ms).unwrap()
}

fn other_ws() -> WorkspaceId {
    WorkspaceId::parse("other-brand").unwrap()
}

/// The smallest valid journey: entered through the API, left at once.
fn minimal(name: &str) -> JourneyDefinition {
    serde_json::from_value(json!({
        "name": name,
        "entry": {"type": "api"},
        "start": "done",
        "nodes": {"done": {"type": "exit"}}
    }))
    .unwrap()
}

/// A journey with most of what a draft can hold, in Chinese, so that a store which
/// loses a field, a node or the text's encoding fails the round trip.
fn welcome() -> JourneyDefinition {
    serde_json::from_value(json!({
        "name": "新客欢迎",
        "description": "首单后一天发短信",
        "entry": {"type": "event", "event": "order_paid", "key": "order_id"},
        "reentry": {"kind": "always"},
        "start": "wait",
        "nodes": {
            "wait": {"type": "wait", "duration": "P1D", "next": "sms"},
            "sms": {
                "type": "send",
                "messages": [{"template": "welcome-sms"}],
                "topic": "promotions",
                "next": "done"
            },
            "done": {"type": "exit"}
        },
        "layout": {"entry": {"x": 0.0, "y": 40.5},
                   "nodes": {"wait": {"x": 260.0, "y": 40.5}, "sms": {"x": 520.25, "y": -12.0}}}
    }))
    .unwrap()
}

fn journey(workspace: WorkspaceId, id: &str, draft: JourneyDefinition, ms: i64) -> JourneyRecord {
    JourneyRecord {
        workspace_id: workspace,
        id: JourneyId::parse(id).unwrap(),
        draft,
        status: JourneyStatus::Draft,
        live_version: None,
        created_at: at_ms(ms),
        updated_at: at_ms(ms),
    }
}

/// `journey` published as `version` at `ms`: the version row and the journey as it
/// becomes, live on that version.
fn published(journey: &JourneyRecord, version: u32, ms: i64) -> (JourneyRecord, JourneyVersion) {
    let live = JourneyRecord {
        status: JourneyStatus::Live,
        live_version: Some(version),
        updated_at: at_ms(ms),
        ..journey.clone()
    };
    let version = JourneyVersion {
        workspace_id: journey.workspace_id.clone(),
        journey_id: journey.id.clone(),
        version,
        definition: journey.draft.clone(),
        published_at: at_ms(ms),
    };
    (live, version)
}

/// A journey round-trips whole (draft, status, no live version, timestamps to the
/// millisecond), refuses a taken id on create, is replaced on replace, and is listed by
/// id in its own workspace only.
pub async fn journeys_round_trip_and_refuse_a_taken_id(stores: &Stores) {
    let store = &stores.journeys;
    let first = journey(ws(), "welcome", welcome(), 123);
    store.save_journey(&first, Write::Create).await.unwrap();
    assert_eq!(
        store.journey(&ws(), &first.id).await.unwrap(),
        Some(first.clone())
    );

    let mut taken = first.clone();
    taken.draft = minimal("another");
    assert!(matches!(
        store.save_journey(&taken, Write::Create).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.journey(&ws(), &first.id).await.unwrap(),
        Some(first.clone()),
        "a refused create changes nothing"
    );

    let mut edited = first.clone();
    edited.draft = minimal("新客欢迎（改）");
    edited.updated_at = at_ms(4_567);
    store.save_journey(&edited, Write::Replace).await.unwrap();
    assert_eq!(
        store.journey(&ws(), &first.id).await.unwrap(),
        Some(edited.clone())
    );

    // Created second but sorting first: the list is by id, not by making.
    let abandoned = journey(ws(), "abandoned-cart", minimal("弃购挽回"), 5_001);
    store.save_journey(&abandoned, Write::Create).await.unwrap();
    // The same id in another workspace is another journey.
    let elsewhere = journey(other_ws(), "welcome", minimal("elsewhere"), 6_001);
    store.save_journey(&elsewhere, Write::Create).await.unwrap();

    assert_eq!(
        store.journeys(&ws()).await.unwrap(),
        vec![abandoned.clone(), edited.clone()]
    );
    assert_eq!(
        store.journeys(&other_ws()).await.unwrap(),
        vec![elsewhere.clone()]
    );
    assert_eq!(store.journey(&ws(), &first.id).await.unwrap(), Some(edited));
    assert_eq!(
        store.journey(&other_ws(), &first.id).await.unwrap(),
        Some(elsewhere)
    );
    assert_eq!(store.journey(&other_ws(), &abandoned.id).await.unwrap(), None);
}

/// Publishing stores the version and makes the journey live on it together; a taken
/// version number is refused and leaves the journey and the version as they were;
/// versions list oldest first, by number rather than as text.
pub async fn published_journey_versions_are_never_overwritten(stores: &Stores) {
    let store = &stores.journeys;
    let draft = journey(ws(), "welcome", welcome(), 1);
    store.save_journey(&draft, Write::Create).await.unwrap();

    let (live, v1) = published(&draft, 1, 1_001);
    store.publish_version(&live, &v1).await.unwrap();
    let stored = store.journey(&ws(), &draft.id).await.unwrap().unwrap();
    assert_eq!(stored.status, JourneyStatus::Live);
    assert_eq!(stored.live_version, Some(1));
    assert_eq!(stored, live);
    assert_eq!(
        store.journey_version(&ws(), &draft.id, 1).await.unwrap(),
        Some(v1.clone())
    );

    // A second publisher that read the journey before the first published.
    let mut rival = draft.clone();
    rival.draft = minimal("rival");
    let (mut rival_live, rival_v1) = published(&rival, 1, 2_002);
    rival_live.status = JourneyStatus::Paused;
    assert!(matches!(
        store.publish_version(&rival_live, &rival_v1).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.journey(&ws(), &draft.id).await.unwrap(),
        Some(live.clone()),
        "a refused publication leaves the journey as it was"
    );
    assert_eq!(
        store.journey_version(&ws(), &draft.id, 1).await.unwrap(),
        Some(v1.clone()),
        "a published version is never overwritten"
    );

    // Up to version 10, which sorts before 2 as text.
    let mut versions = vec![v1];
    let mut current = live;
    for n in 2..=10 {
        let mut next = current.clone();
        next.draft = minimal(&format!("欢迎 v{n}"));
        let (next_live, version) = published(&next, n, i64::from(n) * 1_000 + 7);
        store.publish_version(&next_live, &version).await.unwrap();
        versions.push(version);
        current = next_live;
    }
    assert_eq!(store.journey_versions(&ws(), &draft.id).await.unwrap(), versions);
    assert_eq!(
        store.journey(&ws(), &draft.id).await.unwrap(),
        Some(current.clone())
    );
    assert_eq!(current.live_version, Some(10));
    assert_eq!(
        store.journey_version(&ws(), &draft.id, 7).await.unwrap(),
        Some(versions[6].clone())
    );
    assert_eq!(store.journey_version(&ws(), &draft.id, 11).await.unwrap(), None);
    assert_eq!(
        store.journey_version(&other_ws(), &draft.id, 1).await.unwrap(),
        None
    );
    assert!(
        store
            .journey_versions(&other_ws(), &draft.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The engine's start-up list is the live and paused journeys of every workspace,
/// never a draft or an archived one.
pub async fn active_journeys_are_the_live_and_paused_ones(stores: &Stores) {
    let store = &stores.journeys;
    let statuses = [
        ("a-draft", JourneyStatus::Draft),
        ("b-live", JourneyStatus::Live),
        ("c-paused", JourneyStatus::Paused),
        ("d-archived", JourneyStatus::Archived),
    ];
    let mut expected = Vec::new();
    for (workspace, offset) in [(ws(), 0), (other_ws(), 100)] {
        for (n, (id, status)) in (0_i64..).zip(statuses) {
            let mut record = journey(workspace.clone(), id, minimal(id), offset + n);
            record.status = status;
            record.live_version = (status != JourneyStatus::Draft).then_some(1);
            store.save_journey(&record, Write::Create).await.unwrap();
            if matches!(status, JourneyStatus::Live | JourneyStatus::Paused) {
                expected.push(record);
            }
        }
    }
    let mut active = store.active_journeys().await.unwrap();
    // The port promises no order across workspaces.
    active.sort_by(|a, b| {
        (a.workspace_id.as_str(), a.id.as_str()).cmp(&(b.workspace_id.as_str(), b.id.as_str()))
    });
    expected.sort_by(|a, b| {
        (a.workspace_id.as_str(), a.id.as_str()).cmp(&(b.workspace_id.as_str(), b.id.as_str()))
    });
    assert_eq!(active, expected);
}

/// Deleting a journey takes its versions with it and leaves every other journey's;
/// it says whether there was one.
pub async fn deleting_a_journey_takes_its_versions(stores: &Stores) {
    let store = &stores.journeys;
    let doomed = journey(ws(), "welcome", welcome(), 1);
    let kept = journey(ws(), "winback", minimal("召回"), 2);
    let namesake = journey(other_ws(), "welcome", minimal("namesake"), 3);
    let mut kept_versions = Vec::new();
    for record in [&doomed, &kept, &namesake] {
        store.save_journey(record, Write::Create).await.unwrap();
        let (live, version) = published(record, 1, 10);
        store.publish_version(&live, &version).await.unwrap();
        if record.id != doomed.id || record.workspace_id != doomed.workspace_id {
            kept_versions.push((live, version));
        }
    }

    assert!(store.delete_journey(&ws(), &doomed.id).await.unwrap());
    assert_eq!(store.journey(&ws(), &doomed.id).await.unwrap(), None);
    assert!(
        store
            .journey_versions(&ws(), &doomed.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.journey_version(&ws(), &doomed.id, 1).await.unwrap(), None);
    assert!(!store.delete_journey(&ws(), &doomed.id).await.unwrap());

    for (live, version) in kept_versions {
        assert_eq!(
            store.journey(&live.workspace_id, &live.id).await.unwrap(),
            Some(live.clone())
        );
        assert_eq!(
            store
                .journey_versions(&live.workspace_id, &live.id)
                .await
                .unwrap(),
            vec![version]
        );
    }

    // With its versions gone, the id can be used afresh from version 1.
    let reborn = journey(ws(), "welcome", minimal("reborn"), 20);
    store.save_journey(&reborn, Write::Create).await.unwrap();
    let (live, version) = published(&reborn, 1, 21);
    store.publish_version(&live, &version).await.unwrap();
    assert_eq!(
        store.journey_versions(&ws(), &reborn.id).await.unwrap(),
        vec![version]
    );
}
