//! The index agrees with the reference evaluator on random histories and conditions.

use super::behaviour::{event_holds, sequence_holds};
use super::timeline::{Interner, ProfileTimeline};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orbit_core::audience::{
    Aggregate, Compare, Condition, Evaluation, EventCondition, EventFact, EventMatch, Measure, ProfileFacts,
    PropertyFilter, SequenceCondition, Span, TimeUnit, ValueTest, ValueType, Window, evaluate,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// One of them is passive: "any event" must pass over it in both evaluators.
const NAMES: [&str; 4] = [
    "product_viewed",
    "added_to_cart",
    "order_paid",
    "message_delivered",
];
const CITIES: [&str; 3] = ["重庆", "成都", "上海"];
/// 2026-11-23T10:17:30.250+08:00: not on a day, hour or minute boundary.
const NOW_MS: i64 = 1_795_400_250_250;
const DAY_MS: i64 = 86_400_000;
/// From today's midnight in Shanghai to now.
const SINCE_MIDNIGHT_MS: i64 = (10 * 3_600 + 17 * 60 + 30) * 1_000 + 250;

fn now() -> Evaluation {
    Evaluation::new(
        Timestamp::from_millisecond(NOW_MS).expect("a time"),
        TimeZone::get("Asia/Shanghai").expect("bundled"),
    )
}

prop_compose! {
    fn event()(
        name in prop::option::weighted(0.9, 0..NAMES.len()),
        // Up to 20 days back, a few in the future, many near midnights and near now,
        // where windows begin and end.
        offset in prop_oneof![
            -20 * DAY_MS..DAY_MS,
            (0i64..6, -3_600_000i64..3_600_000).prop_map(|(d, near)| -SINCE_MIDNIGHT_MS - d * DAY_MS + near),
            -7_200_000i64..60_000,
            Just(0i64),
            Just(-DAY_MS),
        ],
        amount in prop::option::of(prop_oneof![(0i64..200).prop_map(Value::from), (0.0f64..200.0).prop_map(Value::from),
                                              (0i64..200).prop_map(|n| Value::from(n.to_string()))]),
        city in prop::option::of(0..CITIES.len()),
    ) -> EventFact {
        let mut properties = Map::new();
        if let Some(amount) = amount { properties.insert("amount".into(), amount); }
        if let Some(city) = city { properties.insert("city".into(), json!(CITIES[city])); }
        EventFact {
            name: name.map(|i| NAMES[i].to_owned()),
            at: Timestamp::from_millisecond(NOW_MS + offset).expect("a time"),
            properties,
        }
    }
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::Ever),
        (
            1u32..40,
            prop_oneof![
                Just(TimeUnit::Minutes),
                Just(TimeUnit::Hours),
                Just(TimeUnit::Days)
            ]
        )
            .prop_map(|(amount, unit)| Window::Last { amount, unit }),
        (0u32..6).prop_map(|days_ago| Window::Since { days_ago }),
        (0u32..6).prop_map(|days_ago| Window::Day { days_ago }),
        (-20 * DAY_MS..0, 1..10 * DAY_MS).prop_map(|(from, length)| Window::Between {
            from: Timestamp::from_millisecond(NOW_MS + from).expect("a time"),
            to: Timestamp::from_millisecond(NOW_MS + from + length).expect("a time"),
        }),
    ]
}

fn compare() -> impl Strategy<Value = Compare> {
    prop_oneof![
        Just(Compare::Eq),
        Just(Compare::Ne),
        Just(Compare::Gt),
        Just(Compare::Gte),
        Just(Compare::Lt),
        Just(Compare::Lte)
    ]
}

fn filter() -> impl Strategy<Value = PropertyFilter> {
    prop_oneof![
        (0..CITIES.len()).prop_map(|c| PropertyFilter {
            property: "city".into(),
            value_type: ValueType::String,
            test: ValueTest::Eq {
                value: json!(CITIES[c])
            },
        }),
        (0i64..200).prop_map(|n| PropertyFilter {
            property: "amount".into(),
            value_type: ValueType::Number,
            test: ValueTest::Gt { value: json!(n) },
        }),
        (0i64..200).prop_map(|n| PropertyFilter {
            property: "amount".into(),
            value_type: ValueType::String,
            test: ValueTest::Eq {
                value: json!(n.to_string())
            },
        }),
        Just(PropertyFilter {
            property: "city".into(),
            value_type: ValueType::String,
            test: ValueTest::IsNotSet
        }),
    ]
}

fn matching() -> impl Strategy<Value = EventMatch> {
    (
        prop::option::weighted(0.8, 0..NAMES.len() + 1),
        prop::collection::vec(filter(), 0..2),
    )
        .prop_map(|(name, filters)| EventMatch {
            // One past the names: an event never seen.
            event: name.map(|i| NAMES.get(i).map_or("never_sent", |n| n).to_owned()),
            filters,
        })
}

fn measure() -> impl Strategy<Value = Measure> {
    prop_oneof![
        Just(Measure::Did),
        Just(Measure::DidNot),
        Just(Measure::FirstTime),
        Just(Measure::LastTime),
        (compare(), 0u32..5).prop_map(|(compare, v)| Measure::Count {
            compare,
            value: f64::from(v)
        }),
        (
            prop_oneof![
                Just(Aggregate::Sum),
                Just(Aggregate::Min),
                Just(Aggregate::Max),
                Just(Aggregate::Avg)
            ],
            compare(),
            0u32..300
        )
            .prop_map(|(function, compare, v)| Measure::Aggregate {
                function,
                property: "amount".into(),
                compare,
                value: f64::from(v),
            }),
    ]
}

fn timeline_of(facts: &ProfileFacts, strings: &mut Interner) -> ProfileTimeline {
    let mut timeline = ProfileTimeline::default();
    for (position, e) in (1..).zip(&facts.events) {
        timeline.push(
            e.at.as_millisecond(),
            position,
            e.name.as_deref(),
            &e.properties,
            strings,
        );
    }
    timeline
}

fn history(events: Vec<EventFact>) -> ProfileFacts {
    let mut events = events;
    events.sort_by_key(|e| e.at);
    ProfileFacts {
        events,
        ..ProfileFacts::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn event_conditions_agree_with_the_reference(
        events in prop::collection::vec(event(), 0..25),
        matching in matching(), measure in measure(), window in window(),
    ) {
        let facts = history(events);
        let condition = EventCondition { matching, measure, window };
        let mut strings = Interner::default();
        let timeline = timeline_of(&facts, &mut strings);
        let at = now();
        prop_assert_eq!(
            event_holds(&condition, &timeline, &strings, &at, &at.today()),
            evaluate(&Condition::Event(condition.clone()), &facts, &at),
            "{:?}", condition
        );
    }

    #[test]
    fn sequence_conditions_agree_with_the_reference(
        events in prop::collection::vec(event(), 0..25),
        first in matching(), then in matching(),
        amount in 1u32..48, unit in prop_oneof![Just(TimeUnit::Minutes), Just(TimeUnit::Hours), Just(TimeUnit::Days)],
        then_not in any::<bool>(), window in window(),
    ) {
        let facts = history(events);
        let condition = SequenceCondition { first, then, within: Span { amount, unit }, then_not, window };
        let mut strings = Interner::default();
        let timeline = timeline_of(&facts, &mut strings);
        let at = now();
        prop_assert_eq!(
            sequence_holds(&condition, &timeline, &strings, &at, &at.today()),
            evaluate(&Condition::Sequence(condition.clone()), &facts, &at),
            "{:?}", condition
        );
    }
}

fn leaf() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (30i64..60, 40i64..70).prop_map(|(a, b)| Condition::Trait {
            name: "age".into(),
            value_type: ValueType::Number,
            test: ValueTest::Between {
                min: json!(a.min(b)),
                max: json!(a.max(b))
            },
        }),
        (0..CITIES.len()).prop_map(|c| Condition::Trait {
            name: "city".into(),
            value_type: ValueType::String,
            test: ValueTest::Eq {
                value: json!(CITIES[c])
            },
        }),
        prop::collection::vec(0..CITIES.len(), 0..3).prop_map(|cs| Condition::Trait {
            name: "city".into(),
            value_type: ValueType::String,
            test: ValueTest::In {
                values: cs.into_iter().map(|c| json!(CITIES[c])).collect()
            },
        }),
        (0..CITIES.len()).prop_map(|c| Condition::Trait {
            name: "city".into(),
            value_type: ValueType::String,
            test: ValueTest::Ne {
                value: json!(CITIES[c])
            },
        }),
        Just(Condition::Trait {
            name: "tier".into(),
            value_type: ValueType::String,
            test: ValueTest::IsSet
        }),
        prop::collection::vec(prop_oneof![Just("new"), Just("active"), Just("silent")], 0..2).prop_map(
            |values| {
                Condition::Tag {
                    tag: "lifecycle".into(),
                    values: values.into_iter().map(str::to_owned).collect(),
                }
            }
        ),
        Just(Condition::Segment {
            segment: "vip".into()
        }),
        (matching(), measure(), window()).prop_map(|(matching, measure, window)| Condition::Event(
            EventCondition {
                matching,
                measure,
                window
            }
        )),
        (matching(), matching(), 1u32..48, any::<bool>(), window()).prop_map(
            |(first, then, amount, then_not, window)| {
                Condition::Sequence(SequenceCondition {
                    first,
                    then,
                    within: Span {
                        amount,
                        unit: TimeUnit::Hours,
                    },
                    then_not,
                    window,
                })
            }
        ),
    ]
}

fn tree() -> impl Strategy<Value = Condition> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|conditions| Condition::And { conditions }),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|conditions| Condition::Or { conditions }),
            inner.prop_map(|c| Condition::Not {
                condition: Box::new(c)
            }),
        ]
    })
}

prop_compose! {
    fn person()(
        events in prop::collection::vec(event(), 0..15),
        age in prop::option::of(prop_oneof![(18i64..80).prop_map(Value::from), (18i64..80).prop_map(|a| Value::from(a.to_string()))]),
        city in prop::option::of(0..CITIES.len()),
        tier in prop::option::of(Just("gold")),
        lifecycle in prop::collection::vec(prop_oneof![Just("new"), Just("active"), Just("silent")], 0..2),
        vip in any::<bool>(),
    ) -> ProfileFacts {
        let mut facts = history(events);
        if let Some(age) = age { facts.traits.insert("age".into(), age); }
        if let Some(city) = city { facts.traits.insert("city".into(), json!(CITIES[city])); }
        if let Some(tier) = tier { facts.traits.insert("tier".into(), json!(tier)); }
        if !lifecycle.is_empty() {
            facts.tags.insert("lifecycle".into(), lifecycle.into_iter().map(str::to_owned).collect());
        }
        if vip { facts.segments.insert("vip".into()); }
        facts
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_index_finds_the_same_members_as_the_reference(
        people in prop::collection::vec(person(), 1..30),
        condition in tree(),
    ) {
        use super::index::AudienceIndex;
        let at = now();
        let mut index = AudienceIndex::default();
        let mut vip = roaring::RoaringBitmap::new();
        let mut expected = Vec::new();
        for (i, facts) in people.iter().enumerate() {
            let id = orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, i as u128 + 1);
            let n = index.number(id);
            // Values held before and replaced must not linger in the narrowing bitmaps.
            let mut earlier = Map::new();
            earlier.insert("city".into(), json!(CITIES[i % CITIES.len()]));
            earlier.insert("tier".into(), json!("silver"));
            index.set_traits(id, earlier);
            index.set_tag(id, "lifecycle", vec!["churned".into(), "new".into()]);
            index.set_traits(id, facts.traits.clone());
            index.set_tag(id, "lifecycle", Vec::new());
            for (tag, values) in &facts.tags {
                index.set_tag(id, tag, values.clone());
            }
            for (position, e) in (1..).zip(&facts.events) {
                index.record_event(id, e.at.as_millisecond(), position, e.name.as_deref(), &e.properties);
            }
            if facts.segments.contains("vip") {
                vip.insert(n);
            }
            if evaluate(&condition, facts, &at) {
                expected.push(n);
            }
        }
        index.set_segment("vip", vip);
        let got: Vec<u32> = index.members(&condition, &at).iter().collect();
        prop_assert_eq!(got, expected, "{:?}", condition);
    }
}

#[test]
fn merges_move_events_and_erasures_retire_numbers() {
    use super::index::AudienceIndex;
    let at = now();
    let (old, young) = (
        orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, 1),
        orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, 2),
    );
    let mut index = AudienceIndex::default();
    let paid = |amount: i64| json!({"amount": amount}).as_object().cloned().unwrap_or_default();
    index.record_event(old, NOW_MS - DAY_MS, 1, Some("order_paid"), &paid(30));
    index.record_event(young, NOW_MS - 2 * DAY_MS, 2, Some("order_paid"), &paid(80));
    let two_orders = Condition::Event(EventCondition {
        matching: EventMatch {
            event: Some("order_paid".into()),
            filters: Vec::new(),
        },
        measure: Measure::Aggregate {
            function: Aggregate::Sum,
            property: "amount".into(),
            compare: Compare::Eq,
            value: 110.0,
        },
        window: Window::Ever,
    });
    assert!(index.members(&two_orders, &at).is_empty());
    index.merge(old, young);
    let members: Vec<Option<orbit_core::ProfileId>> = index
        .members(&two_orders, &at)
        .iter()
        .map(|n| index.profile(n))
        .collect();
    assert_eq!(members, vec![Some(old)], "the survivor holds both orders");
    assert_eq!(index.len(), 1);
    // Lists naming the merged-away id (static segments) still find the person.
    assert_eq!(index.resolve(young), index.find(old));
    assert!(index.resolve(young).is_some());
    index.erase(old);
    assert_eq!(index.resolve(young), None, "erased with the survivor");
    assert!(index.is_empty());
    assert!(index.members(&two_orders, &at).is_empty());
}

#[test]
fn a_merge_reads_as_if_both_histories_had_been_one_from_the_start() {
    use super::index::AudienceIndex;
    use orbit_core::audience::membership::{AnnouncedTransition, Transition};
    let (old, young, other) = (
        orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, 1),
        orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, 2),
        orbit_core::ProfileId::mint(Timestamp::UNIX_EPOCH, 3),
    );
    let announce = |segment: &str, entered: bool| AnnouncedTransition {
        segment: segment.into(),
        transition: if entered {
            Transition::Entered
        } else {
            Transition::Exited
        },
    };
    let mut index = AudienceIndex::default();
    // Three events in the same millisecond, logged at positions 1 (old), 2 (young), 3 (old).
    index.record_event(old, NOW_MS, 1, Some("product_viewed"), &Map::new());
    index.record_event(young, NOW_MS, 2, Some("added_to_cart"), &Map::new());
    index.record_event(old, NOW_MS, 3, Some("order_paid"), &Map::new());
    // "vip": the young one's later exit decides; "lapsed": only the young one was in
    // the baseline and neither moved; "new": the old one's later entry decides.
    index.set_baseline("vip", 0, &[old, young]);
    index.set_baseline("lapsed", 0, &[young]);
    index.set_baseline("new", 0, &[other]);
    index.apply_announcement(old, &announce("vip", true), 4);
    index.apply_announcement(young, &announce("vip", false), 5);
    index.apply_announcement(young, &announce("new", false), 6);
    index.apply_announcement(old, &announce("new", true), 7);
    index.merge(old, young);

    let n = index.find(old).expect("the survivor");
    let positions: Vec<i64> = index
        .timelines()
        .find(|(id, _)| *id == old)
        .map(|(_, t)| t.events().iter().map(|e| e.position()).collect())
        .unwrap_or_default();
    assert_eq!(
        positions,
        vec![1, 2, 3],
        "same-millisecond events stay in log order"
    );
    let member = |segment: &str| index.announced(segment).is_some_and(|a| a.members.contains(n));
    assert!(!member("vip"), "the later transition (an exit) decides");
    assert!(
        member("lapsed"),
        "a baseline member merged in makes the survivor one"
    );
    assert!(member("new"), "the later transition (an entry) decides");
}
