//! The tag part of the conformance suite.

use super::{at, ws};
use orbit_core::tags::TagInput;
use orbit_core::{ProfileId, TagId, WorkspaceId};
use orbit_store::{StoreError, Stores, TagAssignment, TagRecord};
use serde_json::json;

fn lifecycle() -> TagRecord {
    let input: TagInput = serde_json::from_value(json!({
        "name": "生命周期 Lifecycle", "description": "新客、活跃、沉默、流失", "family": "lifecycle",
        "kind": "rule",
        "values": [{"value": "active", "label": {"zh": "活跃", "en": "Active"},
                    "condition": {"type": "event", "measure": {"kind": "did"},
                                  "window": {"kind": "last", "amount": 30, "unit": "days"}}}]
    }))
    .unwrap();
    TagRecord {
        workspace_id: ws(),
        id: TagId::parse("lifecycle").unwrap(),
        definition: input.parse().unwrap().1,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn assignment(profile: ProfileId, values: &[&str]) -> TagAssignment {
    TagAssignment {
        profile,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// Tags keep their definition (conditions, labels, Chinese text) and refuse a taken
/// id on insert.
pub async fn tags_round_trip_and_refuse_a_taken_id(stores: &Stores) {
    let tags = &stores.tags;
    let mut record = lifecycle();
    tags.insert_tag(&record).await.unwrap();
    assert_eq!(tags.tag(&ws(), &record.id).await.unwrap(), Some(record.clone()));
    assert!(matches!(
        tags.insert_tag(&record).await,
        Err(StoreError::AlreadyExists(_))
    ));

    let manual: TagInput = serde_json::from_value(json!({
        "name": "高净值", "family": "business", "kind": "manual", "values": [{"value": "yes"}]
    }))
    .unwrap();
    let vip = TagRecord {
        workspace_id: ws(),
        id: TagId::parse("high-net-worth").unwrap(),
        definition: manual.parse().unwrap().1,
        created_at: at(5),
        updated_at: at(5),
    };
    tags.save_tag(&vip).await.unwrap();
    record.definition.name = "renamed".into();
    record.updated_at = at(60);
    tags.save_tag(&record).await.unwrap();
    assert_eq!(
        tags.tags(&ws()).await.unwrap(),
        vec![vip.clone(), record.clone()],
        "by id"
    );
    assert_eq!(tags.all_tags().await.unwrap(), vec![vip.clone(), record.clone()]);
    let elsewhere = WorkspaceId::parse("elsewhere").unwrap();
    assert!(tags.tags(&elsewhere).await.unwrap().is_empty());

    assert!(tags.delete_tag(&ws(), &record.id).await.unwrap());
    assert!(!tags.delete_tag(&ws(), &record.id).await.unwrap());
    assert_eq!(tags.tag(&ws(), &record.id).await.unwrap(), None);
    assert_eq!(tags.tags(&ws()).await.unwrap(), vec![vip]);
}

/// Assigned values replace a profile's values, are listed by profile, may be replaced
/// wholesale, are forgotten on erasure, and go when their tag is deleted.
pub async fn assigned_tag_values_are_replaced_per_profile_and_go_with_their_tag(stores: &Stores) {
    let tags = &stores.tags;
    let record = lifecycle();
    tags.insert_tag(&record).await.unwrap();
    let other = TagId::parse("other").unwrap();
    let (a, b, c) = (
        ProfileId::mint(at(1), 1),
        ProfileId::mint(at(2), 2),
        ProfileId::mint(at(3), 3),
    );
    let sorted = |mut list: Vec<TagAssignment>| {
        list.sort_by_key(|x| x.profile.to_string());
        list
    };

    tags.assign_tag_values(
        &ws(),
        &record.id,
        &[assignment(a, &["x", "y"]), assignment(b, &["z"])],
    )
    .await
    .unwrap();
    tags.assign_tag_values(&ws(), &other, &[assignment(a, &["keep"])])
        .await
        .unwrap();
    assert_eq!(
        tags.tag_values(&ws(), &record.id).await.unwrap(),
        sorted(vec![assignment(a, &["x", "y"]), assignment(b, &["z"])])
    );

    // Listed profiles are replaced; empty values remove; others stay.
    tags.assign_tag_values(&ws(), &record.id, &[assignment(a, &[]), assignment(c, &["新"])])
        .await
        .unwrap();
    assert_eq!(
        tags.tag_values(&ws(), &record.id).await.unwrap(),
        sorted(vec![assignment(b, &["z"]), assignment(c, &["新"])])
    );

    tags.replace_tag_values(&ws(), &record.id, &[assignment(a, &["only"])])
        .await
        .unwrap();
    assert_eq!(
        tags.tag_values(&ws(), &record.id).await.unwrap(),
        vec![assignment(a, &["only"])]
    );

    tags.forget_tag_values(&ws(), &[a]).await.unwrap();
    assert!(tags.tag_values(&ws(), &record.id).await.unwrap().is_empty());
    assert!(
        tags.tag_values(&ws(), &other).await.unwrap().is_empty(),
        "erasure covers every tag"
    );

    tags.assign_tag_values(&ws(), &record.id, &[assignment(b, &["z"])])
        .await
        .unwrap();
    tags.assign_tag_values(&ws(), &other, &[assignment(b, &["keep"])])
        .await
        .unwrap();
    assert!(tags.delete_tag(&ws(), &record.id).await.unwrap());
    assert!(tags.tag_values(&ws(), &record.id).await.unwrap().is_empty());
    assert_eq!(
        tags.tag_values(&ws(), &other).await.unwrap(),
        vec![assignment(b, &["keep"])]
    );
}
