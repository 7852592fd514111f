use super::rfm::quintiles;
use super::*;
use serde_json::{Value, json};

fn input(value: Value) -> TagInput {
    serde_json::from_value(value).expect("well-formed input")
}

fn error_of(value: Value) -> TagError {
    input(value).parse().expect_err("refused")
}

const LATELY: &str = r#"{"type": "event", "measure": {"kind": "did"}, "window": {"kind": "last", "amount": 30, "unit": "days"}}"#;

#[test]
fn quintiles_of_distinct_values_give_each_score_a_fifth() {
    let values: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(quintiles(&values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    let five: Vec<f64> = [50.0, 10.0, 40.0, 20.0, 30.0].to_vec();
    assert_eq!(quintiles(&five), [5, 1, 4, 2, 3]);
}

#[test]
fn tied_values_share_the_score_of_their_mid_rank() {
    // Sorted: 1, 5, 5, 5, 9. The 5s sit at percentiles (1 + 3/2) / 5 = 0.5 → 3.
    assert_eq!(quintiles(&[5.0, 5.0, 5.0, 1.0, 9.0]), [3, 3, 3, 1, 5]);
    assert_eq!(quintiles(&[7.0; 4]), [3; 4], "everyone ties: the middle");
    assert_eq!(quintiles(&[]), Vec::<u8>::new());
    assert_eq!(quintiles(&[2.0]), [3]);
}

#[test]
fn most_buyers_ordering_once_score_low_on_frequency() {
    // 7 ordered once, 2 twice, 1 five times.
    let mut facts = vec![(1u32, 10.0); 7];
    facts.extend([(2, 10.0), (2, 10.0), (5, 10.0)]);
    let population: Vec<RfmFacts> = facts
        .iter()
        .map(|(f, m)| RfmFacts {
            recency_days: 3,
            frequency: *f,
            monetary: *m,
        })
        .collect();
    let scores = score_population(&population);
    // Once: (0 + 3.5) / 10 → 2; twice: (7 + 1) / 10 → 5; five: (9 + 0.5) / 10 → 5.
    let f: Vec<u8> = scores.iter().map(|s| s.f).collect();
    assert_eq!(f, [2, 2, 2, 2, 2, 2, 2, 5, 5, 5]);
    // The average F is 2.9: once-buyers are low, the others high.
    assert!(
        scores[..7]
            .iter()
            .all(|s| s.group == RfmGroup::ImportantDevelopment)
    );
    assert!(scores[7..].iter().all(|s| s.group == RfmGroup::ImportantValue));
}

#[test]
fn the_eight_groups_follow_high_and_low_against_the_average() {
    // Each dimension splits four good and four bad: bad scores (0 + 2) / 8 → 2, good
    // (4 + 2) / 8 → 4; the average is 3, so good is high and bad low.
    let pattern = [
        (true, true, true, RfmGroup::ImportantValue),
        (true, false, true, RfmGroup::ImportantDevelopment),
        (false, true, true, RfmGroup::ImportantRetention),
        (false, false, true, RfmGroup::ImportantWinBack),
        (true, true, false, RfmGroup::GeneralValue),
        (true, false, false, RfmGroup::GeneralDevelopment),
        (false, true, false, RfmGroup::GeneralRetention),
        (false, false, false, RfmGroup::GeneralWinBack),
    ];
    let population: Vec<RfmFacts> = pattern
        .iter()
        .map(|(r, f, m, _)| RfmFacts {
            recency_days: if *r { 2 } else { 120 },
            frequency: if *f { 6 } else { 1 },
            monetary: if *m { 1_200.0 } else { 35.5 },
        })
        .collect();
    let scores = score_population(&population);
    for ((r, f, m, group), score) in pattern.iter().zip(&scores) {
        assert_eq!(score.group, *group);
        let expect = |high: bool| if high { 4 } else { 2 };
        assert_eq!((score.r, score.f, score.m), (expect(*r), expect(*f), expect(*m)));
    }
    let slugs: Vec<&str> = RfmGroup::ALL.iter().map(|g| g.as_str()).collect();
    assert_eq!(slugs[0], "important_value");
    assert_eq!(RfmGroup::ImportantValue.label().zh, "重要价值客户");
    let mut unique = slugs.clone();
    unique.dedup();
    assert_eq!(unique.len(), 8);
}

#[test]
fn a_rule_tag_keeps_its_values_in_order_with_their_conditions() {
    let lately: Value = serde_json::from_str(LATELY).expect("json");
    let (id, definition) = input(json!({
        "id": "lifecycle", "name": "生命周期", "family": "lifecycle", "kind": "rule",
        "values": [{"value": "active", "label": {"zh": "活跃", "en": "Active"}, "condition": lately},
                   {"value": " silent ", "condition": {"type": "not", "condition": lately}}]
    }))
    .parse()
    .expect("valid");
    assert_eq!(id.map(|i| i.to_string()).as_deref(), Some("lifecycle"));
    let TagSource::Rule { values } = &definition.source else {
        panic!("a rule tag")
    };
    let names: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(names, ["active", "silent"]);
    // Rendered back, the input reads the same definition.
    let back = TagInput::from(&definition).parse().expect("valid").1;
    assert_eq!(back, definition);
}

#[test]
fn bad_definitions_name_the_offending_field() {
    let lately: Value = serde_json::from_str(LATELY).expect("json");
    let bad_window = json!({"type": "event", "measure": {"kind": "did"},
                            "window": {"kind": "last", "amount": 0, "unit": "days"}});
    let cases = [
        (json!({"name": " ", "family": "basic", "kind": "manual"}), "name"),
        (
            json!({"id": "Bad Id", "name": "x", "family": "basic", "kind": "manual"}),
            "id",
        ),
        (json!({"name": "x", "family": "basic", "kind": "rule"}), "values"),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": lately}, {"value": "b"}]}),
            "values[1].condition",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": lately}, {"value": "b", "condition": lately},
                              {"value": "c", "condition": bad_window}]}),
            "values[2].condition.window.amount",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": lately}, {"value": "a", "condition": lately}]}),
            "values[1].value",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "rule",
                   "values": [{"value": "a", "condition": {"type": "and", "conditions": [
                       lately, {"type": "segment", "segment": "vip"}]}}]}),
            "values[0].condition.conditions[1].segment",
        ),
        (
            json!({"name": "x", "family": "rfm", "kind": "rfm", "rfm": {"window_days": 0}}),
            "rfm.window_days",
        ),
        (
            json!({"name": "x", "family": "rfm", "kind": "rfm", "values": []}),
            "values",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "manual",
                   "values": [{"value": "a", "condition": lately}]}),
            "values[0].condition",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "manual", "values": [{"value": ""}]}),
            "values[0].value",
        ),
        (
            json!({"name": "x", "family": "basic", "kind": "manual", "rfm": {}}),
            "rfm",
        ),
    ];
    for (value, path) in cases {
        let error = error_of(value.clone());
        assert_eq!(error.path, path, "{value}: {error}");
    }
}

#[test]
fn an_rfm_tag_defaults_to_paid_orders_over_a_year() {
    let (_, definition) = input(json!({"name": "RFM", "family": "rfm", "kind": "rfm"}))
        .parse()
        .expect("valid");
    assert_eq!(
        definition.source,
        TagSource::Rfm {
            rfm: RfmSpec::default()
        }
    );
    assert!(definition.source.kind().is_computed());
}

#[test]
fn declared_values_limit_what_may_be_assigned() {
    let (_, open) = input(json!({"name": "x", "family": "basic", "kind": "imported"}))
        .parse()
        .expect("valid");
    assert!(open.source.accepts("anything"));
    let (_, closed) = input(json!({"name": "x", "family": "basic", "kind": "manual",
                                   "values": [{"value": "vip"}]}))
    .parse()
    .expect("valid");
    assert!(closed.source.accepts("vip") && !closed.source.accepts("other"));
    assert_eq!(clean_value("  高净值 "), Ok("高净值".to_owned()));
    assert!(clean_value(&"x".repeat(65)).is_err());
}

fn rule(name: &str, condition: Value) -> TagDefinition {
    input(json!({"name": name, "family": "business", "kind": "rule",
                 "values": [{"value": "yes", "condition": condition}]}))
    .parse()
    .expect("valid")
    .1
}

#[test]
fn tag_references_must_exist_and_not_loop() {
    let a = rule("a", json!({"type": "tag", "tag": "b"}));
    let b = rule(
        "b",
        json!({"type": "not", "condition": {"type": "tag", "tag": "c", "values": ["x"]}}),
    );
    let c = rule(
        "c",
        json!({"type": "trait", "trait": "city", "value_type": "string", "op": "is_set"}),
    );
    let all = [("a", &a), ("b", &b), ("c", &c)];
    let lookup = |name: &str| all.iter().find(|(id, _)| *id == name).map(|(_, d)| *d);
    assert_eq!(check_tag_references("a", &a, lookup), Ok(()));

    // c coming to name a: a → b → c → a.
    let looping = rule(
        "c",
        json!({"type": "or", "conditions": [{"type": "tag", "tag": "a"}]}),
    );
    let error = check_tag_references("c", &looping, lookup).expect_err("a loop");
    assert_eq!(error.path, "values[0].condition.conditions[0].tag");
    assert!(error.message.contains("c → a → b → c"), "{error}");

    let itself = rule("a", json!({"type": "tag", "tag": "a"}));
    assert!(check_tag_references("a", &itself, lookup).is_err());
    let unknown = rule("d", json!({"type": "tag", "tag": "ghost"}));
    let error = check_tag_references("d", &unknown, lookup).expect_err("unknown");
    assert_eq!(error.path, "values[0].condition.tag");
    assert!(error.message.contains("ghost"));
}

#[test]
fn references_name_their_paths() {
    let condition = serde_json::from_value(json!({"type": "and", "conditions": [
        {"type": "tag", "tag": "rfm"},
        {"type": "not", "condition": {"type": "segment", "segment": "vip"}}
    ]}))
    .expect("a condition");
    assert_eq!(
        references(&condition),
        [
            ("conditions[0].tag".to_owned(), Reference::Tag("rfm")),
            (
                "conditions[1].condition.segment".to_owned(),
                Reference::Segment("vip")
            ),
        ]
    );
}
