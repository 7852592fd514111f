//! The audit part of the conformance suite: appending, reading with filters, and
//! redacting what the log holds of erased people.

use super::{at, ws};
use jiff::SignedDuration;
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::{ActorKind, AuditEntry, AuditQuery, NewAuditEntry, Stores};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn brand() -> WorkspaceId {
    WorkspaceId::parse("tea-brand").unwrap()
}

fn person(seed: u128) -> ProfileId {
    ProfileId::mint(at(0), seed)
}

/// An entry by `actor` at second `secs`, touching `people` (in id order, so that it
/// reads back equal whether or not an adapter keeps the order given).
fn entry(
    workspace: WorkspaceId,
    secs: i64,
    actor: &str,
    action: &str,
    path: &str,
    people: &[ProfileId],
) -> NewAuditEntry {
    let mut profiles = people.to_vec();
    profiles.sort_unstable();
    NewAuditEntry {
        workspace_id: workspace,
        at: at(secs),
        actor_kind: ActorKind::Operator,
        actor_id: actor.into(),
        actor_name: format!("{actor} 的名字"),
        action: action.into(),
        path: path.into(),
        status: 200,
        before: Some(json!({"path": path, "version": 1})),
        after: Some(json!({"path": path, "version": 2})),
        address: Some("198.51.100.4".into()),
        profiles,
    }
}

/// Appends `entries` in order, giving each as it reads back.
async fn append_all(stores: &Stores, entries: Vec<NewAuditEntry>) -> Vec<AuditEntry> {
    let mut stored = Vec::new();
    for entry in entries {
        let id = stores.audit.append_audit(&entry).await.unwrap();
        stored.push(AuditEntry {
            id,
            entry,
            redacted: false,
        });
    }
    stored
}

fn query(limit: u32) -> AuditQuery {
    AuditQuery {
        limit,
        ..AuditQuery::default()
    }
}

async fn ids(stores: &Stores, workspace: &WorkspaceId, query: &AuditQuery) -> Vec<i64> {
    stores
        .audit
        .audit_entries(workspace, query)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

/// Entries read back whole, newest first, per workspace, up to the limit, ids increasing.
pub async fn audit_entries_read_back_newest_first_per_workspace(stores: &Stores) {
    let stored = append_all(
        stores,
        vec![
            entry(ws(), 1, "op_a", "PUT /v1/segments/{id}", "/v1/segments/vip", &[]),
            entry(
                brand(),
                2,
                "op_x",
                "PUT /v1/segments/{id}",
                "/v1/segments/vip",
                &[],
            ),
            NewAuditEntry {
                actor_kind: ActorKind::Key,
                status: 403,
                before: None,
                after: None,
                address: None,
                ..entry(
                    ws(),
                    3,
                    "key_1",
                    "DELETE /v1/profiles/{id}",
                    "/v1/profiles/p",
                    &[person(1)],
                )
            },
            NewAuditEntry {
                actor_kind: ActorKind::Anonymous,
                status: 401,
                before: None,
                after: None,
                ..entry(ws(), 3, "ming@example.com", "POST /v1/login", "/v1/login", &[])
            },
        ],
    )
    .await;
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id), "ids increase");

    let read = stores.audit.audit_entries(&ws(), &query(10)).await.unwrap();
    assert_eq!(
        read,
        vec![stored[3].clone(), stored[2].clone(), stored[0].clone()]
    );
    let other = stores.audit.audit_entries(&brand(), &query(10)).await.unwrap();
    assert_eq!(other, vec![stored[1].clone()]);
    assert_eq!(
        stores.audit.audit_entries(&ws(), &query(2)).await.unwrap(),
        vec![stored[3].clone(), stored[2].clone()],
        "the newest up to the limit"
    );
    let nowhere = WorkspaceId::parse("nowhere").unwrap();
    assert!(
        stores
            .audit
            .audit_entries(&nowhere, &query(10))
            .await
            .unwrap()
            .is_empty()
    );

    let twice = NewAuditEntry {
        profiles: vec![person(3), person(2), person(3)],
        ..entry(ws(), 4, "op_a", "POST /v1/merge", "/v1/merge", &[])
    };
    stores.audit.append_audit(&twice).await.unwrap();
    let newest = stores.audit.audit_entries(&ws(), &query(1)).await.unwrap();
    let people: BTreeSet<ProfileId> = newest[0].entry.profiles.iter().copied().collect();
    assert_eq!(
        people,
        BTreeSet::from([person(2), person(3)]),
        "a person named twice is touched once"
    );
}

/// Each filter narrows the entries, alone and together, and a cursor pages through them.
pub async fn audit_filters_narrow_the_entries(stores: &Stores) {
    let (ann, bob) = (person(1), person(2));
    let s = append_all(
        stores,
        vec![
            entry(ws(), 10, "op_a", "PUT /v1/segments/{id}", "/v1/segments/vip", &[]),
            entry(
                ws(),
                20,
                "op_b",
                "DELETE /v1/segments/{id}",
                "/v1/segments/vip2",
                &[],
            ),
            entry(
                ws(),
                30,
                "op_a",
                "PUT /v1/segments/{id}",
                "/v1/segments/50%off",
                &[ann],
            ),
            entry(
                ws(),
                40,
                "op_a",
                "PUT /v1/segments/{id}",
                "/v1/segments/50xoff",
                &[ann, bob],
            ),
            entry(
                ws(),
                50,
                "op_b",
                "PUT /v1/templates/{id}",
                "/v1/templates/a_b",
                &[bob],
            ),
            entry(
                ws(),
                60,
                "op_a",
                "PUT /v1/templates/{id}",
                "/v1/templates/axb",
                &[],
            ),
            entry(
                brand(),
                35,
                "op_a",
                "PUT /v1/segments/{id}",
                "/v1/segments/50%off",
                &[ann],
            ),
        ],
    )
    .await;
    let id = |i: usize| s[i].id;
    let all = || query(100);

    let by_actor = AuditQuery {
        actor_id: Some("op_a".into()),
        ..all()
    };
    assert_eq!(
        ids(stores, &ws(), &by_actor).await,
        vec![id(5), id(3), id(2), id(0)]
    );
    let by_prefix_of_actor = AuditQuery {
        actor_id: Some("op_".into()),
        ..all()
    };
    assert!(
        ids(stores, &ws(), &by_prefix_of_actor).await.is_empty(),
        "the actor is exact"
    );

    let puts = AuditQuery {
        action_prefix: Some("PUT /v1/segments".into()),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &puts).await, vec![id(3), id(2), id(0)]);
    let deletes = AuditQuery {
        action_prefix: Some("DELETE".into()),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &deletes).await, vec![id(1)]);
    let lowercase = AuditQuery {
        action_prefix: Some("put".into()),
        ..all()
    };
    assert!(
        ids(stores, &ws(), &lowercase).await.is_empty(),
        "prefixes are exact"
    );

    let vip = AuditQuery {
        path_prefix: Some("/v1/segments/vip".into()),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &vip).await, vec![id(1), id(0)]);
    let percent = AuditQuery {
        path_prefix: Some("/v1/segments/50%".into()),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &percent).await, vec![id(2)], "% is literal");
    let underscore = AuditQuery {
        path_prefix: Some("/v1/templates/a_".into()),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &underscore).await, vec![id(4)], "_ is literal");
    let longer = AuditQuery {
        path_prefix: Some("/v1/segments/vip2/more".into()),
        ..all()
    };
    assert!(ids(stores, &ws(), &longer).await.is_empty());

    let anns = AuditQuery {
        profile: Some(ann),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &anns).await, vec![id(3), id(2)]);
    assert_eq!(ids(stores, &brand(), &anns).await, vec![id(6)]);
    let bobs = AuditQuery {
        profile: Some(bob),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &bobs).await, vec![id(4), id(3)]);
    let nobody = AuditQuery {
        profile: Some(person(9)),
        ..all()
    };
    assert!(ids(stores, &ws(), &nobody).await.is_empty());

    let since = AuditQuery {
        since: Some(at(40)),
        ..all()
    };
    assert_eq!(
        ids(stores, &ws(), &since).await,
        vec![id(5), id(4), id(3)],
        "since is inclusive"
    );
    let until = AuditQuery {
        until: Some(at(30)),
        ..all()
    };
    assert_eq!(
        ids(stores, &ws(), &until).await,
        vec![id(1), id(0)],
        "until is exclusive"
    );
    let between = AuditQuery {
        since: Some(at(20)),
        until: Some(at(50)),
        ..all()
    };
    assert_eq!(ids(stores, &ws(), &between).await, vec![id(3), id(2), id(1)]);
    let nanosecond = SignedDuration::from_nanos(1);
    let just_after = AuditQuery {
        since: Some(at(40) + nanosecond),
        until: Some(at(50) + nanosecond),
        ..all()
    };
    assert_eq!(
        ids(stores, &ws(), &just_after).await,
        vec![id(4)],
        "bounds between two milliseconds"
    );

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = ids(
            stores,
            &ws(),
            &AuditQuery {
                before_id: cursor,
                ..query(2)
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        cursor = Some(*last);
        pages.push(page);
    }
    assert_eq!(
        pages,
        vec![vec![id(5), id(4)], vec![id(3), id(2)], vec![id(1), id(0)]]
    );

    let together = AuditQuery {
        actor_id: Some("op_a".into()),
        action_prefix: Some("PUT /v1/segments".into()),
        path_prefix: Some("/v1/segments/50".into()),
        profile: Some(ann),
        since: Some(at(30)),
        until: Some(at(60)),
        before_id: Some(id(5)),
        limit: 1,
    };
    assert_eq!(ids(stores, &ws(), &together).await, vec![id(3)]);
    let next = AuditQuery {
        before_id: Some(id(3)),
        ..together.clone()
    };
    assert_eq!(ids(stores, &ws(), &next).await, vec![id(2)]);
    let last = AuditQuery {
        before_id: Some(id(2)),
        ..together
    };
    assert!(ids(stores, &ws(), &last).await.is_empty());
}

/// Redaction clears only the given people's entries, in their workspace, each counted once.
pub async fn redacting_people_clears_only_their_entries(stores: &Stores) {
    let (ann, bob, cai) = (person(1), person(2), person(3));
    let s = append_all(
        stores,
        vec![
            entry(
                ws(),
                1,
                "op_a",
                "PUT /v1/profiles/{id}",
                "/v1/profiles/ann",
                &[ann],
            ),
            entry(
                ws(),
                2,
                "op_a",
                "PUT /v1/profiles/{id}",
                "/v1/profiles/bob",
                &[bob],
            ),
            entry(ws(), 3, "op_a", "POST /v1/merge", "/v1/merge", &[ann, bob]),
            entry(ws(), 4, "op_a", "PUT /v1/segments/{id}", "/v1/segments/vip", &[]),
            entry(
                brand(),
                5,
                "op_a",
                "PUT /v1/profiles/{id}",
                "/v1/profiles/ann",
                &[ann],
            ),
            entry(
                ws(),
                6,
                "op_a",
                "PUT /v1/profiles/{id}",
                "/v1/profiles/cai",
                &[cai],
            ),
        ],
    )
    .await;
    let redacted = |e: &AuditEntry| AuditEntry {
        entry: NewAuditEntry {
            before: None,
            after: None,
            ..e.entry.clone()
        },
        redacted: true,
        ..e.clone()
    };

    assert_eq!(stores.audit.redact_audit(&ws(), &[ann]).await.unwrap(), 2);
    assert_eq!(
        stores.audit.audit_entries(&ws(), &query(10)).await.unwrap(),
        vec![
            s[5].clone(),
            s[3].clone(),
            redacted(&s[2]),
            s[1].clone(),
            redacted(&s[0])
        ]
    );
    assert_eq!(
        stores.audit.audit_entries(&brand(), &query(10)).await.unwrap(),
        vec![s[4].clone()],
        "another workspace's entries are not touched"
    );
    assert_eq!(
        stores.audit.redact_audit(&ws(), &[ann]).await.unwrap(),
        0,
        "already redacted"
    );

    assert_eq!(
        stores
            .audit
            .redact_audit(&ws(), &[ann, bob, person(9)])
            .await
            .unwrap(),
        1,
        "only the entry not yet redacted"
    );
    let anns = AuditQuery {
        profile: Some(ann),
        ..query(10)
    };
    assert_eq!(
        stores.audit.audit_entries(&ws(), &anns).await.unwrap(),
        vec![redacted(&s[2]), redacted(&s[0])],
        "a redacted entry is still found by the people it touched"
    );
    assert_eq!(stores.audit.redact_audit(&ws(), &[]).await.unwrap(), 0);
    assert_eq!(
        stores.audit.audit_entries(&ws(), &query(10)).await.unwrap(),
        vec![
            s[5].clone(),
            s[3].clone(),
            redacted(&s[2]),
            redacted(&s[1]),
            redacted(&s[0])
        ]
    );
}

/// Before and after read back exactly: nested documents, numbers, escapes, Chinese text.
pub async fn audit_documents_round_trip_exactly(stores: &Stores) {
    let documents: Vec<(Option<Value>, Option<Value>)> = vec![
        (
            Some(json!({
                "name": "高价值客户 VIP",
                "definition": {"all": [
                    {"trait": "城市", "op": "eq", "value": "上海"},
                    {"event": "order_paid", "count": {"gte": 3}, "within": [30, "days"]}
                ]},
                "tags": ["新客", "活跃", ""],
                "limits": {"max": 18_446_744_073_709_551_615_u64, "min": -9_007_199_254_740_993_i64},
                "ratio": 59.9,
                "tiny": 1.5e-7,
                "empty": {},
                "none": null,
                "on": false,
                "quote": "\"引号\" \\ 反斜杠\n换行\t制表 🍵 \u{0}"
            })),
            Some(json!({"name": "高价值客户", "definition": {"any": []}, "ratio": 0.1})),
        ),
        (None, Some(json!(["只有之后", 1, [2, [3]]]))),
        (Some(json!("只有之前")), None),
        (Some(json!(0)), Some(json!(null))),
    ];
    let mut appended = Vec::new();
    for (i, (before, after)) in documents.into_iter().enumerate() {
        let e = NewAuditEntry {
            before,
            after,
            ..entry(
                ws(),
                i64::try_from(i).unwrap(),
                "op_a",
                "PUT /v1/segments/{id}",
                "/v1/segments/高价值",
                &[],
            )
        };
        appended.extend(append_all(stores, vec![e]).await);
    }
    appended.reverse();
    assert_eq!(
        stores.audit.audit_entries(&ws(), &query(10)).await.unwrap(),
        appended
    );
}
