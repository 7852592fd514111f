//! The suite every storage adapter passes, so that SQLite and PostgreSQL keep one
//! contract: the behaviour the engine relies on, written once as tests over
//! [`Stores`].
//!
//! An adapter takes this crate as a dev-dependency and instantiates the suite in its
//! tests with [`store_conformance_tests!`], handing over a factory of fresh, empty
//! stores; each test then runs as a `#[tokio::test]` of that adapter. The suite lives
//! outside `orbit-store` so that it never reaches the `orbit` binary.

#![expect(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test support: a failure is a failed test"
)]

use jiff::Timestamp;
use orbit_core::profile::Profile;
use orbit_core::resolution::{IdentityState, Merge};
use orbit_core::{EventKind, EventName, Identity, NewEvent, ProfileId, SourceId, WorkspaceId};
use orbit_store::{
    ApiKeyRecord, AppendOutcome, KeyKind, LogEntry, LogPosition, MergeRecord, Placement, ProfileRecord,
    Scope, SegmentKind, SegmentRecord, Stores, WorkspaceChanges, WorkspaceRecord, WorkspaceSettings,
};
use serde_json::json;

mod messaging;
mod tags;
pub use messaging::{
    a_held_origin_keeps_rows_that_come_back_from_dispatching, call_tasks_are_listed_by_status_and_closed,
    consent_records_are_appended, dead_letters_page_through_rows_that_failed_together,
    erasure_clears_consent_and_ledger_addresses, inbox_messages_are_kept_once_and_read_once,
    messaging_definitions_round_trip, the_send_ledger_never_holds_a_message_twice,
};
pub use tags::{
    assigned_tag_values_are_replaced_per_profile_and_go_with_their_tag, tags_round_trip_and_refuse_a_taken_id,
};

/// Instantiates the conformance suite for an adapter: `$make` is an async expression
/// giving a fresh [`Stores`] (and whatever guard keeps it alive) as `(Stores, guard)`.
///
/// The expansion is one `#[tokio::test]` per test of the suite, so the calling crate
/// needs `tokio` (with `macros` and a runtime) among its dev-dependencies.
///
/// ```text
/// async fn fresh() -> (orbit_store::Stores, tempfile::TempDir) { /* … */ }
///
/// orbit_store_conformance::store_conformance_tests!(fresh());
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@tests $make;
            appended_events_read_back_in_order,
            a_transaction_appends_events_with_their_profiles_atomically,
            a_large_transaction_keeps_its_events_in_order,
            duplicate_message_ids_are_stored_once,
            same_message_id_in_another_source_is_not_a_duplicate,
            committed_profiles_read_back_with_their_linking_states,
            merges_leave_the_merged_id_as_an_alias,
            profiles_load_in_pages,
            erasure_removes_everything_about_a_person,
            events_are_read_back_by_position,
            keys_are_found_by_digest_until_revoked,
            workspaces_round_trip_with_settings,
            the_default_workspace_exists,
            segments_round_trip_with_members_and_history,
            tags_round_trip_and_refuse_a_taken_id,
            assigned_tag_values_are_replaced_per_profile_and_go_with_their_tag,
            messaging_definitions_round_trip,
            consent_records_are_appended,
            the_send_ledger_never_holds_a_message_twice,
            a_held_origin_keeps_rows_that_come_back_from_dispatching,
            erasure_clears_consent_and_ledger_addresses,
            inbox_messages_are_kept_once_and_read_once,
            call_tasks_are_listed_by_status_and_closed,
            dead_letters_page_through_rows_that_failed_together,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (stores, _guard) = $make.await;
                $crate::$name(&stores).await;
            }
        )*
    };
}

fn ws() -> WorkspaceId {
    WorkspaceId::default_workspace()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + secs).unwrap()
}

/// An event for the suite, encoded for the log: a track call from `source` with
/// `message_id`.
pub fn sample_entry(source: &str, message_id: &str, secs: i64) -> LogEntry {
    LogEntry::encode(sample_event(source, message_id, secs)).unwrap()
}

fn sample_event(source: &str, message_id: &str, secs: i64) -> NewEvent {
    NewEvent {
        workspace_id: ws(),
        source_id: SourceId::parse(source).unwrap(),
        message_id: message_id.to_owned(),
        kind: EventKind::Track,
        name: Some(EventName::parse("order_paid").unwrap()),
        timestamp: at(secs),
        received_at: at(secs),
        identities: vec![Identity::parse_typed("user_id:u1").unwrap()],
        user_id: Some("u1".into()),
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        traits: Default::default(),
        properties: json!({"amount": 59.9, "currency": "CNY"})
            .as_object()
            .unwrap()
            .clone(),
        context: Default::default(),
        issues: Vec::new(),
    }
}

fn positions(outcomes: &[AppendOutcome]) -> Vec<LogPosition> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            AppendOutcome::Appended(p) => Some(*p),
            AppendOutcome::Duplicate => None,
        })
        .collect()
}

fn profile(seed: u128, identities: &[&str], secs: i64) -> ProfileRecord {
    let id = ProfileId::mint(at(secs), seed);
    let mut p = Profile::new(id, at(secs));
    p.identities = identities
        .iter()
        .map(|i| Identity::parse_typed(i).unwrap())
        .collect();
    ProfileRecord::plain(p)
}

async fn commit_profile(stores: &Stores, record: &ProfileRecord) {
    let mut changes = WorkspaceChanges::new(ws());
    changes.profiles.push(record.clone());
    stores.profiles.commit(&[changes]).await.unwrap();
}

/// Appends events with no profile attached, in one transaction, as a pipeline would
/// for events it cannot resolve.
async fn append_unassigned(
    stores: &Stores,
    entries: &[LogEntry],
) -> Result<Vec<AppendOutcome>, orbit_store::StoreError> {
    let mut tx = stores.events.begin().await?;
    let refs: Vec<&NewEvent> = entries.iter().map(|e| &e.event).collect();
    let fresh = tx.claim_message_ids(&refs).await?;
    let to_store: Vec<(&LogEntry, Option<ProfileId>)> = entries
        .iter()
        .zip(&fresh)
        .filter(|(_, new)| **new)
        .map(|(e, _)| (e, None))
        .collect();
    let positions = tx.append(&to_store).await?;
    tx.commit().await?;
    Ok(AppendOutcome::from_claims(&fresh, positions))
}

/// Appends events as the pipeline does: claimed, and attached to `profile`.
async fn append_for(stores: &Stores, profile: ProfileId, entries: &[LogEntry]) -> Vec<LogPosition> {
    let mut tx = stores.events.begin().await.unwrap();
    let refs: Vec<&NewEvent> = entries.iter().map(|e| &e.event).collect();
    assert!(tx.claim_message_ids(&refs).await.unwrap().iter().all(|f| *f));
    let with_profile: Vec<(&LogEntry, Option<ProfileId>)> =
        entries.iter().map(|e| (e, Some(profile))).collect();
    let positions = tx.append(&with_profile).await.unwrap();
    tx.commit().await.unwrap();
    positions
}

/// The log hands events back in append order, after any position.
pub async fn appended_events_read_back_in_order(stores: &Stores) {
    let batch: Vec<LogEntry> = (0..5).map(|n| sample_entry("web", &format!("m{n}"), n)).collect();
    let stored = positions(&append_unassigned(stores, &batch).await.unwrap());
    assert_eq!(stored.len(), 5);
    assert!(stored.windows(2).all(|w| w[0] < w[1]), "positions increase");
    assert_eq!(stores.events.head().await.unwrap(), stored[4]);
    let read = stores.events.read_after(stored[1], 10).await.unwrap();
    let ids: Vec<&str> = read.iter().map(|e| e.event.message_id.as_str()).collect();
    assert_eq!(ids, ["m2", "m3", "m4"]);
    assert_eq!(read[0].event, batch[2].event, "events round-trip unchanged");
    let encoded = stores.events.read_encoded_after(stored[1], 2).await.unwrap();
    assert_eq!(
        encoded.iter().map(|e| e.position).collect::<Vec<_>>(),
        stored[2..4].to_vec()
    );
    let essentials = LogEntry::decode_essentials(&encoded[0].body).unwrap();
    let event = &batch[2].event;
    assert_eq!(
        (&essentials.workspace_id, &essentials.source_id, &essentials.name),
        (&event.workspace_id, &event.source_id, &event.name)
    );
    assert_eq!(
        (essentials.timestamp, &essentials.properties),
        (event.timestamp, &event.properties)
    );
    assert_eq!(LogEntry::decode(&encoded[1].body).unwrap(), batch[3].event);
}

/// Events appended with their profile are on its timeline once committed, and a
/// transaction dropped without commit leaves nothing behind.
pub async fn a_transaction_appends_events_with_their_profiles_atomically(stores: &Stores) {
    let record = profile(1, &["user_id:u1"], 0);
    let p = record.profile.clone();
    let (first, second) = (sample_entry("web", "t1", 1), sample_entry("web", "t2", 2));
    let mut tx = stores.events.begin().await.unwrap();
    assert_eq!(
        tx.claim_message_ids(&[&first.event, &second.event, &first.event])
            .await
            .unwrap(),
        vec![true, true, false]
    );
    let positions = tx
        .append(&[(&first, Some(p.id)), (&second, Some(p.id))])
        .await
        .unwrap();
    assert!(positions[0] < positions[1]);
    let mut changes = WorkspaceChanges::new(ws());
    changes.profiles.push(record);
    tx.apply(&changes).await.unwrap();
    tx.commit().await.unwrap();
    let placed = stores.events.placements(LogPosition(0), 10).await.unwrap();
    assert_eq!(
        placed,
        vec![
            Placement {
                position: positions[0],
                workspace_id: ws(),
                profile_id: Some(p.id),
                timestamp_ms: at(1).as_millisecond(),
            },
            Placement {
                position: positions[1],
                workspace_id: ws(),
                profile_id: Some(p.id),
                timestamp_ms: at(2).as_millisecond(),
            },
        ]
    );
    assert_eq!(
        stores.profiles.profile(&ws(), p.id).await.unwrap(),
        Some(p.clone())
    );

    let abandoned = sample_entry("web", "t3", 3);
    let mut tx = stores.events.begin().await.unwrap();
    assert_eq!(
        tx.claim_message_ids(&[&abandoned.event]).await.unwrap(),
        vec![true]
    );
    tx.append(&[(&abandoned, Some(p.id))]).await.unwrap();
    drop(tx);
    assert_eq!(stores.events.read_after(positions[1], 10).await.unwrap(), vec![]);
    let retried = append_unassigned(stores, &[abandoned]).await.unwrap();
    assert!(
        matches!(retried[..], [AppendOutcome::Appended(_)]),
        "a rolled-back claim is not a duplicate"
    );
}

/// A commit larger than any one statement's share keeps its events in order, each at
/// the position it was given.
pub async fn a_large_transaction_keeps_its_events_in_order(stores: &Stores) {
    let batch: Vec<LogEntry> = (0..9_000)
        .map(|n| sample_entry("web", &format!("big-{n}"), n))
        .collect();
    let outcomes = append_unassigned(stores, &batch).await.unwrap();
    let stored = positions(&outcomes);
    assert_eq!(stored.len(), batch.len());
    assert!(
        stored.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "consecutive positions"
    );
    let back = stores
        .events
        .events_at(&[stored[0], stored[4_500], stored[8_999]])
        .await
        .unwrap();
    let ids: Vec<&str> = back.iter().map(|e| e.event.message_id.as_str()).collect();
    assert_eq!(ids, ["big-0", "big-4500", "big-8999"]);
    assert_eq!(stores.events.head().await.unwrap(), stored[8_999]);
}

/// A resent message id, in the same batch or a later one, is stored once.
pub async fn duplicate_message_ids_are_stored_once(stores: &Stores) {
    let first = append_unassigned(
        stores,
        &[sample_entry("web", "dup", 0), sample_entry("web", "dup", 0)],
    )
    .await
    .unwrap();
    assert!(matches!(
        first[..],
        [AppendOutcome::Appended(_), AppendOutcome::Duplicate]
    ));
    let again = append_unassigned(stores, &[sample_entry("web", "dup", 1)])
        .await
        .unwrap();
    assert_eq!(again, vec![AppendOutcome::Duplicate]);
    assert_eq!(
        stores.events.read_after(LogPosition(0), 10).await.unwrap().len(),
        1
    );
    // Pruning ids older than the window keeps recent ones.
    stores
        .events
        .prune_message_ids(at(-1).as_millisecond())
        .await
        .unwrap();
    assert_eq!(
        append_unassigned(stores, &[sample_entry("web", "dup", 2)])
            .await
            .unwrap(),
        vec![AppendOutcome::Duplicate]
    );
}

/// De-duplication is per source.
pub async fn same_message_id_in_another_source_is_not_a_duplicate(stores: &Stores) {
    let out = append_unassigned(
        stores,
        &[sample_entry("web", "m", 0), sample_entry("ios", "m", 0)],
    )
    .await
    .unwrap();
    assert_eq!(positions(&out).len(), 2);
}

/// A committed profile reads back by id with its identities and their linking
/// states, and only in its own workspace.
pub async fn committed_profiles_read_back_with_their_linking_states(stores: &Stores) {
    let mut record = profile(1, &["user_id:u1", "email:a@example.com", "device_id:d1"], 0);
    let id = record.profile.id;
    record.linking.push((
        Identity::parse_typed("device_id:d1").unwrap(),
        IdentityState {
            profile: id,
            seen_with: vec![Identity::parse_typed("user_id:u1").unwrap()],
            shared: true,
        },
    ));
    commit_profile(stores, &record).await;
    assert_eq!(
        stores.profiles.profile(&ws(), id).await.unwrap(),
        Some(record.profile.clone())
    );
    let other_ws = WorkspaceId::parse("other").unwrap();
    assert_eq!(
        stores.profiles.profile(&other_ws, id).await.unwrap(),
        None,
        "workspaces are isolated"
    );
    let loaded = stores.profiles.load_profiles(None, 10).await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].workspace_id, ws());
    assert_eq!(loaded[0].record, record);
}

/// Start-up loads profiles page by page, each exactly once, in id order.
pub async fn profiles_load_in_pages(stores: &Stores) {
    let people = [
        profile(1, &["user_id:u1", "email:a@example.com"], 0),
        profile(2, &["user_id:u2"], 1),
        profile(3, &["user_id:u3", "phone:+8613800138000", "device_id:d3"], 2),
    ];
    for record in &people {
        commit_profile(stores, record).await;
    }
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = stores.profiles.load_profiles(after.clone(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.workspace_id.clone(), last.record.profile.id));
        seen.extend(page.into_iter().map(|s| s.record));
    }
    assert_eq!(seen, people);
}

/// A merge leaves the merged id as an alias of the survivor; events keep the profile
/// id they were appended with, for readers to resolve.
pub async fn merges_leave_the_merged_id_as_an_alias(stores: &Stores) {
    let (old, young) = (
        profile(1, &["user_id:u1"], 0).profile,
        profile(2, &["email:b@example.com"], 1).profile,
    );
    commit_profile(stores, &ProfileRecord::plain(old.clone())).await;
    commit_profile(stores, &ProfileRecord::plain(young.clone())).await;
    let mut events = append_for(stores, old.id, &[sample_entry("web", "a", 0)]).await;
    events.extend(append_for(stores, young.id, &[sample_entry("web", "b", 1)]).await);

    let mut survivor = old.clone();
    survivor.identities.extend(young.identities.clone());
    survivor.merged_ids.push(young.id);
    let mut changes = WorkspaceChanges::new(ws());
    changes.profiles.push(ProfileRecord::plain(survivor.clone()));
    let merge = Merge {
        survivor: old.id,
        merged: young.id,
        linked_by: young.identities[0].clone(),
    };
    changes.merges.push(MergeRecord {
        merge: merge.clone(),
        position: events[1],
        at_ms: 5,
    });
    stores.profiles.commit(&[changes]).await.unwrap();

    assert_eq!(
        stores.profiles.profile(&ws(), young.id).await.unwrap(),
        Some(survivor.clone())
    );
    assert_eq!(
        stores
            .profiles
            .load_profiles(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.record.profile)
            .collect::<Vec<_>>(),
        vec![survivor],
        "the merged profile's document is gone"
    );
    let placed = stores.events.placements(LogPosition(0), 10).await.unwrap();
    assert_eq!(
        placed.iter().map(|p| p.profile_id).collect::<Vec<_>>(),
        vec![Some(old.id), Some(young.id)]
    );
    let merges = stores.profiles.merges(&ws(), old.id).await.unwrap();
    assert_eq!(merges.iter().map(|m| &m.merge).collect::<Vec<_>>(), vec![&merge]);
}

/// Erasure leaves no trace of the person: profile, identities, aliases, events.
pub async fn erasure_removes_everything_about_a_person(stores: &Stores) {
    let mut record = profile(1, &["user_id:u1"], 0);
    let alias = ProfileId::mint(at(0), 99);
    record.profile.merged_ids.push(alias);
    commit_profile(stores, &record).await;
    let p = record.profile;
    let mut events = append_for(stores, p.id, &[sample_entry("web", "a", 0)]).await;
    events.extend(append_for(stores, alias, &[sample_entry("web", "b", 0)]).await);
    let kept = append_unassigned(stores, &[sample_entry("web", "c", 0)])
        .await
        .unwrap();
    let mut changes = WorkspaceChanges::new(ws());
    changes.erased.push(p.clone());
    changes.erased_events = events.clone();
    stores.profiles.commit(&[changes]).await.unwrap();
    assert_eq!(stores.profiles.profile(&ws(), p.id).await.unwrap(), None);
    assert_eq!(stores.profiles.profile(&ws(), alias).await.unwrap(), None);
    assert!(stores.events.events_at(&events).await.unwrap().is_empty());
    assert_eq!(
        stores
            .events
            .read_after(LogPosition(0), 10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        positions(&kept),
        "the person's events are gone from the log, others stay"
    );
    assert!(stores.profiles.load_profiles(None, 10).await.unwrap().is_empty());
}

/// Events come back by position in the order asked for; erased positions are skipped.
pub async fn events_are_read_back_by_position(stores: &Stores) {
    let batch: Vec<LogEntry> = [30, 10, 20]
        .iter()
        .map(|s| sample_entry("web", &format!("t{s}"), *s))
        .collect();
    let stored = positions(&append_unassigned(stores, &batch).await.unwrap());
    let missing = LogPosition(stored[2].0 + 100);
    let read = stores
        .events
        .events_at(&[stored[2], missing, stored[0]])
        .await
        .unwrap();
    assert_eq!(
        read.iter()
            .map(|e| (e.position, e.event.message_id.as_str()))
            .collect::<Vec<_>>(),
        [(stored[2], "t20"), (stored[0], "t30")]
    );
    assert_eq!(read[0].event, batch[2].event);
}

/// Keys are looked up by digest and stop working once revoked.
pub async fn keys_are_found_by_digest_until_revoked(stores: &Stores) {
    let key = ApiKeyRecord {
        id: "key_1".into(),
        workspace_id: ws(),
        kind: KeyKind::Api,
        name: "crm sync".into(),
        digest: "ab".repeat(32),
        scopes: vec![Scope::ProfilesRead, Scope::ProfilesWrite],
        source_id: None,
        created_at_ms: 1,
        revoked_at_ms: None,
    };
    stores.keys.create_key(&key).await.unwrap();
    assert_eq!(
        stores.keys.key_by_digest(&key.digest).await.unwrap(),
        Some(key.clone())
    );
    assert!(stores.keys.create_key(&key).await.is_err(), "ids are unique");
    assert!(stores.keys.revoke_key(&ws(), "key_1", 2).await.unwrap());
    assert_eq!(stores.keys.key_by_digest(&key.digest).await.unwrap(), None);
    assert_eq!(
        stores.keys.list_keys(&ws()).await.unwrap()[0].revoked_at_ms,
        Some(2)
    );
}

/// Workspaces keep their settings.
pub async fn workspaces_round_trip_with_settings(stores: &Stores) {
    let mut settings = WorkspaceSettings::default();
    settings.identity_policy.default_rule.priority = 7;
    let record = WorkspaceRecord {
        id: WorkspaceId::parse("tea-brand").unwrap(),
        name: "茶饮品牌".into(),
        settings,
    };
    stores.workspaces.save_workspace(&record).await.unwrap();
    assert_eq!(
        stores.workspaces.workspace(&record.id).await.unwrap(),
        Some(record.clone())
    );
    assert!(
        stores
            .workspaces
            .list_workspaces()
            .await
            .unwrap()
            .contains(&record)
    );
}

/// A fresh store has the `default` workspace.
pub async fn the_default_workspace_exists(stores: &Stores) {
    assert!(stores.workspaces.workspace(&ws()).await.unwrap().is_some());
}

/// Segments keep their definition, static members and size history; deleting one
/// removes all three.
pub async fn segments_round_trip_with_members_and_history(stores: &Stores) {
    let id = orbit_core::SegmentId::parse("checkout-drop").unwrap();
    let condition: orbit_core::audience::Condition = serde_json::from_value(json!({
        "type": "tag", "tag": "lifecycle", "values": ["active"]
    }))
    .unwrap();
    let mut record = SegmentRecord {
        workspace_id: ws(),
        id: id.clone(),
        name: "结账流失".into(),
        description: "reached checkout, did not pay".into(),
        kind: SegmentKind::Dynamic,
        condition: Some(condition),
        created_at: at(0),
        updated_at: at(0),
    };
    let segments = &stores.segments;
    segments.insert_segment(&record).await.unwrap();
    assert_eq!(segments.segment(&ws(), &id).await.unwrap(), Some(record.clone()));
    assert!(matches!(
        segments.insert_segment(&record).await,
        Err(orbit_store::StoreError::AlreadyExists(_))
    ));
    record.name = "renamed".into();
    record.kind = SegmentKind::Static;
    record.updated_at = at(60);
    segments.save_segment(&record).await.unwrap();
    assert_eq!(segments.segments(&ws()).await.unwrap(), vec![record.clone()]);
    assert_eq!(segments.all_segments().await.unwrap(), vec![record.clone()]);

    let (a, b) = (ProfileId::mint(at(1), 1), ProfileId::mint(at(2), 2));
    segments
        .save_static_members(&ws(), &id, &[b, a, a])
        .await
        .unwrap();
    let mut expected = vec![a, b];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), expected);
    segments.save_static_members(&ws(), &id, &[b]).await.unwrap();
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), vec![b]);
    // Created with its members in one step; a taken id changes neither.
    assert!(matches!(
        segments.save_static_segment(&record, true, &[a]).await,
        Err(orbit_store::StoreError::AlreadyExists(_))
    ));
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), vec![b]);
    segments.save_static_segment(&record, false, &[a]).await.unwrap();
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), vec![a]);
    segments.save_static_segment(&record, false, &[b]).await.unwrap();

    segments
        .record_sizes(&ws(), at(100), &[(id.clone(), 5)])
        .await
        .unwrap();
    segments
        .record_sizes(&ws(), at(200), &[(id.clone(), 7)])
        .await
        .unwrap();
    let history = segments.size_history(&ws(), &id, at(150)).await.unwrap();
    assert_eq!(
        history.iter().map(|p| (p.at, p.size)).collect::<Vec<_>>(),
        vec![(at(200), 7)]
    );

    let baseline = orbit_store::MembershipBaseline {
        position: LogPosition(41),
        members: expected.clone(),
    };
    segments.save_baseline(&ws(), &id, &baseline).await.unwrap();
    let later = orbit_store::MembershipBaseline {
        position: LogPosition(97),
        members: vec![a],
    };
    segments.save_baseline(&ws(), &id, &later).await.unwrap();
    assert_eq!(
        segments.baselines().await.unwrap(),
        vec![(ws(), id.clone(), later.clone())]
    );
    segments.save_static_segment(&record, false, &[b]).await.unwrap();
    assert!(
        segments.baselines().await.unwrap().is_empty(),
        "a static segment has none"
    );
    segments.save_baseline(&ws(), &id, &later).await.unwrap();

    assert!(segments.delete_segment(&ws(), &id).await.unwrap());
    assert!(!segments.delete_segment(&ws(), &id).await.unwrap());
    assert!(segments.baselines().await.unwrap().is_empty());
    assert_eq!(segments.segment(&ws(), &id).await.unwrap(), None);
    assert!(segments.static_members(&ws(), &id).await.unwrap().is_empty());
    assert!(segments.size_history(&ws(), &id, at(0)).await.unwrap().is_empty());
}
