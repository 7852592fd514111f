//! The console part of the conformance suite: operators and their sessions.

use super::ws;
use orbit_core::WorkspaceId;
use orbit_store::{OperatorRecord, Role, SessionRecord, StoreError, Stores};

fn brand() -> WorkspaceId {
    WorkspaceId::parse("tea-brand").unwrap()
}

fn operator(workspace: WorkspaceId, id: &str, login: &str, created_at_ms: i64) -> OperatorRecord {
    OperatorRecord {
        id: id.into(),
        workspace_id: workspace,
        login: login.into(),
        name: "王小明".into(),
        role: Role::Marketer,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        created_at_ms,
        updated_at_ms: created_at_ms,
        disabled_at_ms: None,
    }
}

fn session(workspace: WorkspaceId, digest: &str, operator_id: &str, last_seen_ms: i64) -> SessionRecord {
    SessionRecord {
        digest: digest.into(),
        operator_id: operator_id.into(),
        workspace_id: workspace,
        created_at_ms: 1_000,
        last_seen_ms,
        expires_at_ms: 100_000,
        address: Some("203.0.113.7".into()),
    }
}

/// Operators read back by login and id; a login is taken server-wide, across workspaces.
pub async fn operators_round_trip_and_refuse_a_taken_login(stores: &Stores) {
    let ops = &stores.operators;
    let ming = operator(ws(), "op_ming", "ming@example.com", 1);
    ops.create_operator(&ming).await.unwrap();
    assert_eq!(
        ops.operator_by_login("ming@example.com").await.unwrap(),
        Some(ming.clone())
    );
    assert_eq!(ops.operator(&ws(), "op_ming").await.unwrap(), Some(ming.clone()));
    assert_eq!(
        ops.operator(&brand(), "op_ming").await.unwrap(),
        None,
        "per workspace"
    );
    assert_eq!(ops.operator_by_login("hong@example.com").await.unwrap(), None);

    let elsewhere = operator(brand(), "op_other", "ming@example.com", 2);
    assert!(
        matches!(
            ops.create_operator(&elsewhere).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "a login is unique across workspaces"
    );
    let same_id = operator(ws(), "op_ming", "hong@example.com", 2);
    assert!(matches!(
        ops.create_operator(&same_id).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(ops.operator_by_login("hong@example.com").await.unwrap(), None);
    assert_eq!(ops.operator(&brand(), "op_other").await.unwrap(), None);

    let disabled = OperatorRecord {
        role: Role::Viewer,
        disabled_at_ms: Some(9),
        ..operator(brand(), "op_hong", "hong@example.com", 3)
    };
    ops.create_operator(&disabled).await.unwrap();
    assert_eq!(
        ops.operator_by_login("hong@example.com").await.unwrap(),
        Some(disabled),
        "a disabled operator is still found"
    );
    assert_eq!(ops.count_operators().await.unwrap(), 2, "every workspace counts");
}

/// Updates replace all but the creation, never take a login; lists are per workspace, oldest first.
pub async fn operators_are_updated_and_listed_per_workspace(stores: &Stores) {
    let ops = &stores.operators;
    assert_eq!(ops.count_operators().await.unwrap(), 0);
    let late = operator(ws(), "op_a", "a@example.com", 30);
    let early = operator(ws(), "op_b", "b@example.com", 10);
    let middle = operator(ws(), "op_c", "c@example.com", 20);
    let other = operator(brand(), "op_d", "d@example.com", 5);
    for op in [&late, &early, &middle, &other] {
        ops.create_operator(op).await.unwrap();
    }
    assert_eq!(
        ops.list_operators(&ws()).await.unwrap(),
        vec![early.clone(), middle.clone(), late.clone()]
    );
    assert_eq!(ops.list_operators(&brand()).await.unwrap(), vec![other.clone()]);
    assert_eq!(ops.count_operators().await.unwrap(), 4);

    let changed = OperatorRecord {
        name: "Li Hua".into(),
        role: Role::Admin,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA".into(),
        updated_at_ms: 40,
        disabled_at_ms: Some(40),
        ..early.clone()
    };
    assert!(ops.update_operator(&changed).await.unwrap());
    assert_eq!(ops.operator(&ws(), "op_b").await.unwrap(), Some(changed.clone()));
    assert_eq!(
        ops.operator_by_login("b@example.com").await.unwrap(),
        Some(changed.clone())
    );

    let enabled = OperatorRecord {
        disabled_at_ms: None,
        updated_at_ms: 50,
        ..changed.clone()
    };
    assert!(ops.update_operator(&enabled).await.unwrap());
    assert_eq!(ops.operator(&ws(), "op_b").await.unwrap(), Some(enabled.clone()));

    let renamed = OperatorRecord {
        login: "b2@example.com".into(),
        ..enabled.clone()
    };
    assert!(ops.update_operator(&renamed).await.unwrap());
    assert_eq!(ops.operator_by_login("b@example.com").await.unwrap(), None);
    assert_eq!(
        ops.operator_by_login("b2@example.com").await.unwrap(),
        Some(renamed.clone()),
        "a freed login is found under the new one"
    );

    for taken in ["c@example.com", "d@example.com"] {
        let clash = OperatorRecord {
            login: taken.into(),
            name: "clash".into(),
            ..renamed.clone()
        };
        assert!(
            matches!(
                ops.update_operator(&clash).await,
                Err(StoreError::AlreadyExists(_))
            ),
            "{taken} is taken"
        );
    }
    assert_eq!(
        ops.operator(&ws(), "op_b").await.unwrap(),
        Some(renamed.clone()),
        "a refused update changes nothing"
    );

    let missing = operator(ws(), "op_none", "none@example.com", 1);
    assert!(!ops.update_operator(&missing).await.unwrap());
    let wrong_workspace = OperatorRecord {
        workspace_id: brand(),
        name: "moved".into(),
        ..renamed.clone()
    };
    assert!(!ops.update_operator(&wrong_workspace).await.unwrap());
    assert_eq!(ops.operator(&ws(), "op_b").await.unwrap(), Some(renamed.clone()));
    assert_eq!(ops.operator(&ws(), "op_none").await.unwrap(), None);
    assert_eq!(ops.count_operators().await.unwrap(), 4);
}

/// Sessions are read by digest, touched, ended singly or per operator, and pruned when stale.
pub async fn sessions_are_touched_ended_and_pruned(stores: &Stores) {
    let ops = &stores.operators;
    let first = session(ws(), "d1", "op_a", 5_000);
    let second = SessionRecord {
        address: None,
        ..session(ws(), "d2", "op_a", 5_000)
    };
    let colleague = session(ws(), "d3", "op_b", 5_000);
    let namesake = session(brand(), "d4", "op_a", 5_000);
    for s in [&first, &second, &colleague, &namesake] {
        ops.create_session(s).await.unwrap();
    }
    assert_eq!(ops.session("d1").await.unwrap(), Some(first.clone()));
    assert_eq!(ops.session("d2").await.unwrap(), Some(second.clone()));
    assert_eq!(ops.session("nope").await.unwrap(), None);
    assert!(
        matches!(
            ops.create_session(&first).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "digests are unique"
    );

    ops.touch_session("d1", 6_000).await.unwrap();
    assert_eq!(
        ops.session("d1").await.unwrap(),
        Some(SessionRecord {
            last_seen_ms: 6_000,
            ..first.clone()
        })
    );
    assert_eq!(ops.session("d2").await.unwrap(), Some(second.clone()));
    ops.touch_session("nope", 6_000).await.unwrap();
    assert_eq!(ops.session("nope").await.unwrap(), None, "touching makes nothing");

    assert!(ops.end_session("d2").await.unwrap());
    assert!(!ops.end_session("d2").await.unwrap());
    assert_eq!(ops.session("d2").await.unwrap(), None);

    ops.create_session(&second).await.unwrap();
    assert_eq!(ops.end_sessions_of(&ws(), "op_a").await.unwrap(), 2);
    assert_eq!(ops.session("d1").await.unwrap(), None);
    assert_eq!(ops.session("d2").await.unwrap(), None);
    assert_eq!(
        ops.session("d3").await.unwrap(),
        Some(colleague.clone()),
        "another's"
    );
    assert_eq!(
        ops.session("d4").await.unwrap(),
        Some(namesake.clone()),
        "the same id in another workspace"
    );
    assert_eq!(ops.end_sessions_of(&ws(), "op_a").await.unwrap(), 0);

    let expired = SessionRecord {
        expires_at_ms: 20_000,
        last_seen_ms: 19_000,
        ..session(ws(), "e1", "op_c", 0)
    };
    let expiring_now = SessionRecord {
        expires_at_ms: 30_000,
        last_seen_ms: 29_000,
        ..session(ws(), "e2", "op_c", 0)
    };
    let idle = session(ws(), "i1", "op_c", 9_999);
    let just_active = session(ws(), "k1", "op_c", 10_000);
    let active = session(ws(), "k2", "op_c", 25_000);
    for s in [&expired, &expiring_now, &idle, &just_active, &active] {
        ops.create_session(s).await.unwrap();
    }
    // At 30 s, sessions not seen since 10 s are idle; d3 and d4 were last seen at 5 s.
    assert_eq!(ops.prune_sessions(30_000, 10_000).await.unwrap(), 5);
    for gone in ["e1", "e2", "i1", "d3", "d4"] {
        assert_eq!(ops.session(gone).await.unwrap(), None, "{gone} is pruned");
    }
    assert_eq!(ops.session("k1").await.unwrap(), Some(just_active));
    assert_eq!(ops.session("k2").await.unwrap(), Some(active));
    assert_eq!(ops.prune_sessions(30_000, 10_000).await.unwrap(), 0);
}
