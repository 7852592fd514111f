//! The event log part of the conformance suite: order, atomic commits, de-duplication.

use super::{append_unassigned, at, positions, profile, sample_entry, ws};
use orbit_store::{AppendOutcome, LogEntry, LogPosition, Placement, Stores, WorkspaceChanges};

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
