//! The profile part of the conformance suite: identities, merges, paging, erasure.

use super::{append_for, append_unassigned, at, commit_profile, positions, profile, sample_entry, ws};
use orbit_core::resolution::{IdentityState, Merge};
use orbit_core::{Identity, ProfileId, WorkspaceId};
use orbit_store::{LogPosition, MergeRecord, ProfileRecord, Stores, WorkspaceChanges};

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
