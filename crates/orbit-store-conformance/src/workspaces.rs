//! The tenancy part of the conformance suite: keys and workspaces.

use super::ws;
use orbit_core::WorkspaceId;
use orbit_store::{ApiKeyRecord, KeyKind, Scope, Stores, WorkspaceRecord, WorkspaceSettings};

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
