use super::*;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;

fn id(raw: &str) -> Identity {
    Identity::parse_typed(raw).expect("valid identity")
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("in range")
}

struct Minter(u128);

impl Minter {
    fn next(&mut self) -> ProfileId {
        self.0 += 1;
        ProfileId::mint(at(0), self.0)
    }
}

fn resolve(
    graph: &mut IdentityGraph,
    ids: &[&str],
    secs: i64,
    policy: &IdentityPolicy,
    minter: &mut Minter,
) -> Resolution {
    let ids: Vec<Identity> = ids.iter().map(|s| id(s)).collect();
    graph.resolve(&ids, at(secs), policy, &TraitRules::default(), &mut || {
        minter.next()
    })
}

fn grouping(graph: &IdentityGraph) -> BTreeSet<BTreeSet<Identity>> {
    graph
        .profiles()
        .map(|p| p.identities.iter().cloned().collect())
        .collect()
}

#[test]
fn a_b_and_c_of_the_oneid_example_become_one_profile() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    let a = resolve(
        &mut graph,
        &["phone:+8613800138000", "device_id:ipad-1"],
        1,
        &policy,
        &mut minter,
    );
    let b = resolve(
        &mut graph,
        &["email:mei@example.com", "device_id:ipad-1"],
        2,
        &policy,
        &mut minter,
    );
    let c = resolve(
        &mut graph,
        &["email:mei@example.com", "wechat_openid:oX1"],
        3,
        &policy,
        &mut minter,
    );
    assert!(a.created && !b.created && !c.created);
    assert_eq!(a.profile, b.profile);
    assert_eq!(b.profile, c.profile);
    assert_eq!(graph.profile_count(), 1);
    let profile = graph.profile(a.profile.expect("resolved")).expect("live");
    let held: BTreeSet<String> = profile.identities.iter().map(ToString::to_string).collect();
    assert_eq!(
        held,
        BTreeSet::from(
            [
                "phone:+8613800138000",
                "device_id:ipad-1",
                "email:mei@example.com",
                "wechat_openid:oX1"
            ]
            .map(String::from)
        )
    );
}

#[test]
fn linking_two_profiles_merges_them_and_the_older_survives() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    let newer = resolve(&mut graph, &["email:b@example.com"], 20, &policy, &mut minter)
        .profile
        .expect("resolved");
    let older = resolve(&mut graph, &["phone:+8613800138000"], 10, &policy, &mut minter)
        .profile
        .expect("resolved");
    let linked = resolve(
        &mut graph,
        &["email:b@example.com", "phone:+8613800138000"],
        30,
        &policy,
        &mut minter,
    );
    assert_eq!(linked.profile, Some(older));
    assert_eq!(
        linked.merges,
        vec![Merge {
            survivor: older,
            merged: newer,
            linked_by: id("phone:+8613800138000")
        }]
    );
    assert_eq!(graph.canonical(newer), Some(older), "the merged id is an alias");
    assert_eq!(graph.profile_of(&id("email:b@example.com")), Some(older));
}

#[test]
fn a_second_user_id_is_a_conflict_not_a_merge() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    let first = resolve(
        &mut graph,
        &["user_id:u1", "anonymous_id:shared"],
        1,
        &policy,
        &mut minter,
    );
    let second = resolve(
        &mut graph,
        &["user_id:u2", "anonymous_id:shared"],
        2,
        &policy,
        &mut minter,
    );
    assert_ne!(first.profile, second.profile, "u2 gets its own profile");
    assert!(second.merges.is_empty());
    assert_eq!(
        second.conflicts,
        vec![Conflict {
            identity: id("anonymous_id:shared"),
            profile: second.profile.expect("resolved"),
            other_profile: first.profile,
            reason: ConflictReason::TooManyOfType {
                kind: IdentityKind::UserId,
                limit: 1
            },
        }]
    );
}

#[test]
fn a_shared_device_stops_linking_once_seen_with_too_many_people() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    for (n, email) in ["a", "b", "c"].iter().enumerate() {
        resolve(
            &mut graph,
            &[&format!("email:{email}@example.com"), "device_id:family-ipad"],
            n as i64,
            &policy,
            &mut minter,
        );
    }
    assert_eq!(
        graph.profile_count(),
        1,
        "three people on one device are within the limit of 3"
    );
    let fourth = resolve(
        &mut graph,
        &["email:d@example.com", "device_id:family-ipad"],
        9,
        &policy,
        &mut minter,
    );
    assert!(
        fourth.created,
        "the fourth person is not fused into the household"
    );
    assert_eq!(graph.profile_count(), 2);
    assert!(matches!(
        fourth.conflicts[0].reason,
        ConflictReason::SharedIdentity { limit: 3 }
    ));
    assert!(
        graph
            .identity_state(&id("device_id:family-ipad"))
            .expect("known")
            .shared
    );
    let fifth = resolve(
        &mut graph,
        &[
            "email:a@example.com",
            "device_id:family-ipad",
            "email:d@example.com",
        ],
        10,
        &policy,
        &mut minter,
    );
    assert_eq!(fifth.merges.len(), 1, "other identities still link");
}

#[test]
fn merging_applies_trait_rules() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    let rules: TraitRules = serde_json::from_value(
        json!({"points": {"rule": "sum"}, "tier": {"rule": "max", "order": ["silver", "gold"]}}),
    )
    .expect("rules");
    let mut mint = || minter.next();
    let a = graph
        .resolve(&[id("phone:+8613800138000")], at(1), &policy, &rules, &mut mint)
        .profile
        .expect("a");
    graph.observe_traits(
        a,
        json!({"points": 100, "tier": "gold"})
            .as_object()
            .expect("object"),
        at(1),
        &rules,
    );
    let b = graph
        .resolve(&[id("email:x@example.com")], at(2), &policy, &rules, &mut mint)
        .profile
        .expect("b");
    graph.observe_traits(
        b,
        json!({"points": 40, "tier": "silver"})
            .as_object()
            .expect("object"),
        at(2),
        &rules,
    );
    let merged = graph.resolve(
        &[id("email:x@example.com"), id("phone:+8613800138000")],
        at(3),
        &policy,
        &rules,
        &mut mint,
    );
    let profile = graph.profile(merged.profile.expect("resolved")).expect("live");
    assert_eq!(profile.traits.get("points"), Some(&json!(140)));
    assert_eq!(profile.traits.get("tier"), Some(&json!("gold")));
}

#[test]
fn erasing_a_profile_forgets_its_identities_and_aliases() {
    let (mut graph, policy, mut minter) = (IdentityGraph::default(), IdentityPolicy::default(), Minter(0));
    let old = resolve(&mut graph, &["email:e@example.com"], 1, &policy, &mut minter)
        .profile
        .expect("resolved");
    let young = resolve(&mut graph, &["phone:+8613800138000"], 2, &policy, &mut minter)
        .profile
        .expect("resolved");
    resolve(
        &mut graph,
        &["email:e@example.com", "phone:+8613800138000"],
        3,
        &policy,
        &mut minter,
    );
    assert!(
        graph.erase(young).is_some(),
        "erasing by a merged-away id erases the person"
    );
    assert_eq!(graph.canonical(old), None);
    assert_eq!(graph.profile_of(&id("phone:+8613800138000")), None);
    assert_eq!(graph.profile_count(), 0);
}

/// The grouping a plain union-find over "appeared in one event" gives.
fn reference_components(events: &[Vec<Identity>]) -> BTreeSet<BTreeSet<Identity>> {
    let mut parent: std::collections::BTreeMap<Identity, Identity> = Default::default();
    fn find(parent: &mut std::collections::BTreeMap<Identity, Identity>, x: &Identity) -> Identity {
        let p = parent.entry(x.clone()).or_insert_with(|| x.clone()).clone();
        if &p == x {
            p
        } else {
            let root = find(parent, &p);
            parent.insert(x.clone(), root.clone());
            root
        }
    }
    for event in events {
        for pair in event.windows(2) {
            let (a, b) = (find(&mut parent, &pair[0]), find(&mut parent, &pair[1]));
            parent.insert(a, b);
        }
        if let Some(only) = event.first() {
            find(&mut parent, only);
        }
    }
    let keys: Vec<Identity> = parent.keys().cloned().collect();
    let mut groups: std::collections::BTreeMap<Identity, BTreeSet<Identity>> = Default::default();
    for k in keys {
        let root = find(&mut parent, &k);
        groups.entry(root).or_default().insert(k);
    }
    groups.into_values().collect()
}

fn unlimited_policy() -> IdentityPolicy {
    let mut policy = IdentityPolicy::default();
    for rule in policy.rules.values_mut() {
        rule.max_per_profile = None;
        rule.max_linked = None;
    }
    policy
}

fn replay(events: &[Vec<Identity>], policy: &IdentityPolicy) -> (IdentityGraph, usize) {
    let (mut graph, mut minter) = (IdentityGraph::default(), Minter(0));
    let mut conflicts = 0;
    for (n, event) in events.iter().enumerate() {
        conflicts += graph
            .resolve(event, at(n as i64), policy, &TraitRules::default(), &mut || {
                minter.next()
            })
            .conflicts
            .len();
    }
    (graph, conflicts)
}

fn pool_identity() -> impl Strategy<Value = Identity> {
    let kinds = [
        "user_id",
        "email",
        "phone",
        "device_id",
        "wechat_openid",
        "anonymous_id",
        "member_card",
    ];
    (0..kinds.len(), 0..12u8).prop_map(move |(k, v)| id(&format!("{}:{v}", kinds[k])))
}

/// Linked histories of people who each own their identifiers, so no guard rail trips.
fn people_histories() -> impl Strategy<Value = Vec<Vec<Identity>>> {
    prop::collection::vec(prop::collection::vec(0..6usize, 1..4), 1..40)
        .prop_flat_map(|events| {
            let len = events.len();
            (Just(events), prop::collection::vec(0..8u8, len))
        })
        .prop_map(|(events, people)| {
            let kinds = [
                "user_id",
                "email",
                "phone",
                "device_id",
                "wechat_openid",
                "anonymous_id",
            ];
            events
                .into_iter()
                .zip(people)
                .map(|(picks, person)| {
                    picks
                        .into_iter()
                        .map(|k| id(&format!("{}:p{person}", kinds[k])))
                        .collect()
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn without_limits_any_order_gives_the_connected_components(
        events in prop::collection::vec(prop::collection::vec(pool_identity(), 1..4), 1..40),
        seed in any::<u64>(),
    ) {
        let policy = unlimited_policy();
        let (graph, _) = replay(&events, &policy);
        let expected = reference_components(&events);
        prop_assert_eq!(grouping(&graph), expected.clone());
        let mut shuffled = events.clone();
        shuffle(&mut shuffled, seed);
        let (again, _) = replay(&shuffled, &policy);
        prop_assert_eq!(grouping(&again), expected);
    }

    #[test]
    fn shuffled_histories_that_hit_no_limit_group_the_same(events in people_histories(), seed in any::<u64>()) {
        let policy = IdentityPolicy::default();
        let (graph, conflicts) = replay(&events, &policy);
        prop_assert_eq!(conflicts, 0);
        let mut shuffled = events.clone();
        shuffle(&mut shuffled, seed);
        let (again, conflicts_again) = replay(&shuffled, &policy);
        prop_assert_eq!(conflicts_again, 0);
        prop_assert_eq!(grouping(&graph), grouping(&again));
        prop_assert_eq!(grouping(&graph), reference_components(&events));
    }
}

/// A deterministic Fisher–Yates shuffle driven by a 64-bit seed (splitmix64).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}
