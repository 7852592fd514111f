//! The segment part of the conformance suite.

use super::{at, ws};
use orbit_core::ProfileId;
use orbit_store::{LogPosition, MembershipBaseline, SegmentKind, SegmentRecord, StoreError, Stores, Write};
use serde_json::json;

/// Segments keep their definition, static members (replaced, or added to without
/// repeats) and size history; deleting one removes all three.
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
        Err(StoreError::AlreadyExists(_))
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
    // Adding keeps the members there are; one already in is not counted again.
    assert_eq!(
        segments.add_static_members(&ws(), &id, &[a, b, a]).await.unwrap(),
        1
    );
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), expected);
    assert_eq!(segments.add_static_members(&ws(), &id, &[a]).await.unwrap(), 0);
    assert_eq!(segments.add_static_members(&ws(), &id, &[]).await.unwrap(), 0);
    segments.save_static_members(&ws(), &id, &[b]).await.unwrap();
    // Created with its members in one step; a taken id changes neither.
    assert!(matches!(
        segments.save_static_segment(&record, Write::Create, &[a]).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), vec![b]);
    segments
        .save_static_segment(&record, Write::Replace, &[a])
        .await
        .unwrap();
    assert_eq!(segments.static_members(&ws(), &id).await.unwrap(), vec![a]);
    segments
        .save_static_segment(&record, Write::Replace, &[b])
        .await
        .unwrap();

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

    let baseline = MembershipBaseline {
        position: LogPosition(41),
        members: expected.clone(),
    };
    segments.save_baseline(&ws(), &id, &baseline).await.unwrap();
    let later = MembershipBaseline {
        position: LogPosition(97),
        members: vec![a],
    };
    segments.save_baseline(&ws(), &id, &later).await.unwrap();
    assert_eq!(
        segments.baselines().await.unwrap(),
        vec![(ws(), id.clone(), later.clone())]
    );
    segments
        .save_static_segment(&record, Write::Replace, &[b])
        .await
        .unwrap();
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
