use super::*;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

fn cond(value: Value) -> Condition {
    let condition: Condition = serde_json::from_value(value).expect("a valid condition");
    validate(&condition).expect("it validates");
    condition
}

fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").expect("the tz database has Asia/Shanghai")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 time")
}

/// Now is 2026-11-23 10:00 in Shanghai.
fn now() -> Evaluation {
    Evaluation::new(at("2026-11-23T02:00:00Z"), shanghai())
}

fn event(name: &str, when: &str, properties: Value) -> EventFact {
    EventFact {
        name: Some(name.to_owned()),
        at: at(when),
        properties: properties.as_object().cloned().unwrap_or_default(),
    }
}

fn with_events(mut events: Vec<EventFact>) -> ProfileFacts {
    events.sort_by_key(|e| e.at);
    ProfileFacts {
        events,
        ..ProfileFacts::default()
    }
}

#[test]
fn first_installed_yesterday_and_never_ordered() {
    let segment = cond(json!({"type": "and", "conditions": [
        {"type": "event", "event": "app_installed", "measure": {"kind": "first_time"},
         "window": {"kind": "day", "days_ago": 1}},
        {"type": "event", "event": "order_paid", "measure": {"kind": "did_not"}, "window": {"kind": "ever"}}
    ]}));
    // Yesterday in Shanghai is 2026-11-21T16:00Z .. 2026-11-22T16:00Z.
    let yesterday_late = with_events(vec![event("app_installed", "2026-11-22T15:30:00Z", json!({}))]);
    assert!(evaluate(&segment, &yesterday_late, &now()));
    let today_early = with_events(vec![event("app_installed", "2026-11-22T16:30:00Z", json!({}))]);
    assert!(
        !evaluate(&segment, &today_early, &now()),
        "after midnight in Shanghai is today"
    );
    let reinstalled = with_events(vec![
        event("app_installed", "2026-10-01T00:00:00Z", json!({})),
        event("app_installed", "2026-11-22T08:00:00Z", json!({})),
    ]);
    assert!(
        !evaluate(&segment, &reinstalled, &now()),
        "the first install was earlier"
    );
    let ordered = with_events(vec![
        event("app_installed", "2026-11-22T08:00:00Z", json!({})),
        event("order_paid", "2026-11-22T09:00:00Z", json!({"amount": 25})),
    ]);
    assert!(!evaluate(&segment, &ordered, &now()));
}

#[test]
fn ordered_exactly_once_and_not_again_within_30_days() {
    let segment = cond(json!({"type": "and", "conditions": [
        {"type": "event", "event": "order_paid", "measure": {"kind": "count", "compare": "eq", "value": 1},
         "window": {"kind": "ever"}},
        {"type": "sequence", "first": {"event": "order_paid"}, "then": {"event": "order_paid"},
         "within": {"amount": 30, "unit": "days"}, "then_not": true, "window": {"kind": "ever"}}
    ]}));
    let once_long_ago = with_events(vec![event("order_paid", "2026-09-01T00:00:00Z", json!({}))]);
    assert!(evaluate(&segment, &once_long_ago, &now()));
    let once_recently = with_events(vec![event("order_paid", "2026-11-10T00:00:00Z", json!({}))]);
    assert!(
        !evaluate(&segment, &once_recently, &now()),
        "30 days have not passed: not yet known"
    );
    let twice = with_events(vec![
        event("order_paid", "2026-09-01T00:00:00Z", json!({})),
        event("order_paid", "2026-09-20T00:00:00Z", json!({})),
    ]);
    assert!(!evaluate(&segment, &twice, &now()));
}

#[test]
fn age_between_40_and_60_reads_numbers_and_numeric_text() {
    let segment = cond(json!({"type": "trait", "trait": "age", "value_type": "number",
                              "op": "between", "min": 40, "max": 60}));
    for (age, inside) in [
        (json!(40), true),
        (json!("60"), true),
        (json!(39.9), false),
        (json!(61), false),
    ] {
        let facts = ProfileFacts {
            traits: json!({"age": age}).as_object().cloned().unwrap_or_default(),
            ..ProfileFacts::default()
        };
        assert_eq!(evaluate(&segment, &facts, &now()), inside, "age {age}");
    }
    assert!(
        !evaluate(&segment, &ProfileFacts::default(), &now()),
        "no age, not in"
    );
}

#[test]
fn shared_more_than_ten_times() {
    let segment = cond(json!({"type": "event", "event": "product_shared",
        "measure": {"kind": "count", "compare": "gt", "value": 10}, "window": {"kind": "ever"}}));
    let shares = |n: usize| {
        with_events(
            (0..n)
                .map(|i| {
                    event(
                        "product_shared",
                        &format!("2026-11-{:02}T00:00:00Z", i + 1),
                        json!({}),
                    )
                })
                .collect(),
        )
    };
    assert!(!evaluate(&segment, &shares(10), &now()));
    assert!(evaluate(&segment, &shares(11), &now()));
}

#[test]
fn active_in_chongqing_in_the_last_hour_without_an_order_within_five_minutes() {
    let active =
        json!({"filters": [{"property": "city", "value_type": "string", "op": "eq", "value": "重庆"}]});
    let segment = cond(json!({"type": "and", "conditions": [
        {"type": "event", "filters": active["filters"], "measure": {"kind": "did"},
         "window": {"kind": "last", "amount": 1, "unit": "hours"}},
        {"type": "sequence", "first": active, "then": {"event": "order_paid"},
         "within": {"amount": 5, "unit": "minutes"}, "then_not": true,
         "window": {"kind": "last", "amount": 1, "unit": "hours"}}
    ]}));
    let browsed = with_events(vec![event(
        "page_viewed",
        "2026-11-23T01:30:00Z",
        json!({"city": "重庆"}),
    )]);
    assert!(evaluate(&segment, &browsed, &now()));
    let bought = with_events(vec![
        event("page_viewed", "2026-11-23T01:30:00Z", json!({"city": "重庆"})),
        event("order_paid", "2026-11-23T01:33:00Z", json!({"amount": 18})),
    ]);
    assert!(!evaluate(&segment, &bought, &now()));
    let just_now = with_events(vec![event(
        "page_viewed",
        "2026-11-23T01:58:00Z",
        json!({"city": "重庆"}),
    )]);
    assert!(
        !evaluate(&segment, &just_now, &now()),
        "five minutes have not passed yet"
    );
    let elsewhere = with_events(vec![event(
        "page_viewed",
        "2026-11-23T01:30:00Z",
        json!({"city": "成都"}),
    )]);
    assert!(!evaluate(&segment, &elsewhere, &now()));
    let hours_ago = with_events(vec![event(
        "page_viewed",
        "2026-11-22T23:00:00Z",
        json!({"city": "重庆"}),
    )]);
    assert!(!evaluate(&segment, &hours_ago, &now()));
}

#[test]
fn reached_checkout_and_did_not_pay_within_a_day() {
    let segment = cond(json!({"type": "sequence", "first": {"event": "checkout_started"},
        "then": {"event": "order_paid"}, "within": {"amount": 1, "unit": "days"}, "then_not": true,
        "window": {"kind": "ever"}}));
    let dropped = with_events(vec![event("checkout_started", "2026-11-20T00:00:00Z", json!({}))]);
    assert!(evaluate(&segment, &dropped, &now()));
    let paid_next_morning = with_events(vec![
        event("checkout_started", "2026-11-20T00:00:00Z", json!({})),
        event("order_paid", "2026-11-20T20:00:00Z", json!({})),
    ]);
    assert!(!evaluate(&segment, &paid_next_morning, &now()));
    let paid_too_late = with_events(vec![
        event("checkout_started", "2026-11-20T00:00:00Z", json!({})),
        event("order_paid", "2026-11-21T01:00:00Z", json!({})),
    ]);
    assert!(
        evaluate(&segment, &paid_too_late, &now()),
        "paying after the day still dropped"
    );
}

#[test]
fn dates_relative_to_today_use_the_workspace_calendar() {
    let birthday = cond(
        json!({"type": "trait", "trait": "birthday", "value_type": "datetime",
                               "op": "anniversary_today"}),
    );
    let signed_up = cond(
        json!({"type": "trait", "trait": "signed_up_at", "value_type": "datetime",
                                "op": "days_ago", "min": 3, "max": 7}),
    );
    let facts = |traits: Value| ProfileFacts {
        traits: traits.as_object().cloned().unwrap_or_default(),
        ..ProfileFacts::default()
    };
    assert!(evaluate(
        &birthday,
        &facts(json!({"birthday": "1985-11-23"})),
        &now()
    ));
    assert!(!evaluate(
        &birthday,
        &facts(json!({"birthday": "1985-11-22"})),
        &now()
    ));
    // 2026-11-19T20:00Z is 11-20 04:00 in Shanghai: 3 days before 11-23.
    assert!(evaluate(
        &signed_up,
        &facts(json!({"signed_up_at": "2026-11-19T20:00:00Z"})),
        &now()
    ));
    assert!(!evaluate(
        &signed_up,
        &facts(json!({"signed_up_at": "2026-11-21T00:00:00Z"})),
        &now()
    ));
    assert!(!evaluate(
        &signed_up,
        &facts(json!({"signed_up_at": "2026-11-15T00:00:00Z"})),
        &now()
    ));
}

#[test]
fn aggregates_tags_lists_and_segments() {
    let spent = cond(json!({"type": "event", "event": "order_paid",
        "measure": {"kind": "aggregate", "function": "sum", "property": "amount", "compare": "gte", "value": 100},
        "window": {"kind": "last", "amount": 30, "unit": "days"}}));
    let orders = with_events(vec![
        event("order_paid", "2026-11-01T00:00:00Z", json!({"amount": 60})),
        event("order_paid", "2026-11-20T00:00:00Z", json!({"amount": "45.5"})),
        event("order_paid", "2026-09-01T00:00:00Z", json!({"amount": 500})),
    ]);
    assert!(evaluate(&spent, &orders, &now()));
    let facts = ProfileFacts {
        traits: json!({"interests": ["tea", "cheese foam"]})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        tags: [("lifecycle".to_owned(), vec!["active".to_owned()])].into(),
        segments: ["vip".to_owned()].into(),
        ..ProfileFacts::default()
    };
    let all = cond(json!({"type": "and", "conditions": [
        {"type": "trait", "trait": "interests", "value_type": "list", "op": "contains", "value": "tea"},
        {"type": "tag", "tag": "lifecycle", "values": ["new", "active"]},
        {"type": "segment", "segment": "vip"},
        {"type": "not", "condition": {"type": "tag", "tag": "rfm"}}
    ]}));
    assert!(evaluate(&all, &facts, &now()));
}

#[test]
fn validation_names_the_offending_field() {
    for (condition, path) in [
        (json!({"type": "and", "conditions": []}), "conditions"),
        (
            json!({"type": "or", "conditions": [{"type": "trait", "trait": "age", "value_type": "number",
                    "op": "between", "min": 60, "max": 40}]}),
            "conditions[0].max",
        ),
        (
            json!({"type": "trait", "trait": "city", "value_type": "string", "op": "gt", "value": "a"}),
            "op",
        ),
        (
            json!({"type": "trait", "trait": "age", "value_type": "number", "op": "eq", "value": "forty"}),
            "value",
        ),
        (
            json!({"type": "event", "event": "order_paid", "measure": {"kind": "did"},
                   "window": {"kind": "last", "amount": 0, "unit": "days"}}),
            "window.amount",
        ),
        (
            json!({"type": "sequence", "first": {"event": "a"}, "then": {"event": ""},
                   "within": {"amount": 1, "unit": "days"}, "window": {"kind": "ever"}}),
            "then.event",
        ),
        (
            json!({"type": "event", "event": "order_paid", "filters": [{"property": "amount",
                   "value_type": "number", "op": "contains", "value": 1}],
                   "measure": {"kind": "did"}, "window": {"kind": "ever"}}),
            "filters[0].op",
        ),
    ] {
        let parsed: Condition = serde_json::from_value(condition.clone()).expect("well-formed");
        let error = validate(&parsed).expect_err("refused");
        assert_eq!(error.path, path, "{condition}: {error}");
    }
}

#[test]
fn malformed_conditions_are_refused_by_the_parser() {
    for bad in [
        json!({"type": "trait", "trait": "age", "value_type": "integer", "op": "eq", "value": 1}),
        json!({"type": "event", "event": "order_paid", "measure": {"kind": "did"}}),
        json!({"type": "maybe"}),
    ] {
        assert!(serde_json::from_value::<Condition>(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn conditions_round_trip_through_json() {
    let value = json!({"type": "and", "conditions": [
        {"type": "trait", "trait": "tier", "value_type": "string", "op": "in", "values": ["gold", "platinum"]},
        {"type": "event", "event": "order_paid", "filters": [], "measure": {"kind": "aggregate",
         "function": "avg", "property": "amount", "compare": "gt", "value": 50.0},
         "window": {"kind": "since", "days_ago": 7}}
    ]});
    let condition = cond(value.clone());
    let back = serde_json::to_value(&condition).expect("serialises");
    assert_eq!(
        serde_json::from_value::<Condition>(back).expect("parses"),
        condition
    );
}
