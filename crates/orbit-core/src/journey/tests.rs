use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde_json::{Map, Value, json};

use super::*;
use crate::audience::Condition;
use crate::{JourneyId, NodeId, ProfileId, SegmentId, TemplateId};

fn at(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").expect("tz")
}

/// The person as the engine would read them: traits and the events they did.
struct Person {
    traits: Map<String, Value>,
    events: Vec<JourneyEvent>,
}

impl PersonFacts for Person {
    fn time_zone(&self) -> TimeZone {
        shanghai()
    }
    fn trait_value(&self, name: &str) -> Option<Value> {
        self.traits.get(name).cloned()
    }
    fn holds(&self, condition: &Condition) -> bool {
        let facts = crate::audience::ProfileFacts {
            traits: self.traits.clone(),
            events: self
                .events
                .iter()
                .map(|e| crate::audience::EventFact {
                    name: Some(e.name.clone()),
                    at: e.at,
                    properties: e.properties.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let at = crate::audience::Evaluation::new(at("2026-12-11T00:00:00Z"), shanghai());
        crate::audience::evaluate(condition, &facts, &at)
    }
}

fn person(traits: Value) -> Person {
    Person {
        traits: traits.as_object().cloned().unwrap_or_default(),
        events: Vec::new(),
    }
}

fn definition(raw: Value) -> JourneyDefinition {
    serde_json::from_value(raw).expect("a journey definition")
}

fn event(name: &str, when: &str, properties: Value) -> JourneyEvent {
    JourneyEvent {
        name: name.to_owned(),
        at: at(when),
        properties: properties.as_object().cloned().unwrap_or_default(),
    }
}

struct Journey {
    id: JourneyId,
    definition: JourneyDefinition,
}

impl Journey {
    fn new(raw: Value) -> Self {
        Self {
            id: JourneyId::parse("j").expect("id"),
            definition: definition(raw),
        }
    }

    fn graph(&self) -> Graph<'_> {
        let key_property = match &self.definition.entry {
            Entry::Event { key, .. } => key.as_deref(),
            _ => None,
        };
        Graph {
            journey: &self.id,
            start: &self.definition.start,
            nodes: &self.definition.nodes,
            goal: self.definition.goal.as_ref(),
            key_property,
        }
    }

    fn enter(
        &self,
        facts: &dyn PersonFacts,
        entry_event: Option<JourneyEvent>,
        now: &str,
    ) -> (Run, Transition) {
        let mut run = Run {
            journey: self.id.clone(),
            version: 1,
            profile: ProfileId::mint(Timestamp::UNIX_EPOCH, 7),
            entry: "e1".to_owned(),
            key: None,
            entered_at: at(now),
            entry_event,
            wait_event: None,
            steps: 0,
            state: RunState::Entering,
            path: RunPath::default(),
        };
        let t = apply(&self.graph(), &mut run, Input::Enter, facts, at(now)).expect("enters");
        (run, t)
    }

    fn feed(&self, run: &mut Run, input: Input<'_>, facts: &dyn PersonFacts, now: &str) -> Transition {
        apply(&self.graph(), run, input, facts, at(now)).expect("applies")
    }
}

fn sends(t: &Transition) -> Vec<String> {
    t.effects
        .iter()
        .filter_map(|e| match &e.action {
            Action::Send { messages, .. } => Some(messages[0].template.to_string()),
            _ => None,
        })
        .collect()
}

fn until(run: &Run) -> Timestamp {
    match &run.state {
        RunState::Waiting { until, .. } => *until,
        other => panic!("not waiting: {other:?}"),
    }
}

fn exited(run: &Run) -> Option<ExitReason> {
    match &run.state {
        RunState::Exited { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// Seed 004: active in Chongqing and no order within 5 minutes.
fn no_order_in_five_minutes() -> Journey {
    Journey::new(json!({
        "name": "重庆活跃未下单",
        "entry": {"type": "event", "event": "app_active", "filters": [
            {"property": "city", "value_type": "string", "op": "eq", "value": "重庆"}]},
        "start": "wait",
        "nodes": {
            "wait": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT5M",
                     "on_event": "done", "on_timeout": "nudge"},
            "nudge": {"type": "send", "messages": [{"template": "coupon-nudge"}], "next": "done"},
            "done": {"type": "exit"}
        }
    }))
}

#[test]
fn absence_of_an_order_within_five_minutes_sends_once_and_an_order_in_minute_four_sends_nothing() {
    let journey = no_order_in_five_minutes();
    let facts = person(json!({}));

    let (mut run, t) = journey.enter(&facts, None, "2026-12-07T02:00:00Z");
    assert!(t.effects.is_empty());
    assert_eq!(until(&run), at("2026-12-07T02:05:00Z"));
    // A timer never fires a node early.
    let early = journey.feed(&mut run, Input::Timer, &facts, "2026-12-07T02:04:59Z");
    assert!(!early.moved);
    let fired = journey.feed(&mut run, Input::Timer, &facts, "2026-12-07T02:05:00Z");
    assert_eq!(sends(&fired), vec!["coupon-nudge"]);
    assert_eq!(exited(&run), Some(ExitReason::Completed));
    // Once out, nothing moves it again.
    let again = journey.feed(&mut run, Input::Timer, &facts, "2026-12-07T02:06:00Z");
    assert!(!again.moved && again.effects.is_empty());

    let (mut run, _) = journey.enter(&facts, None, "2026-12-07T02:00:00Z");
    let other = event("page_viewed", "2026-12-07T02:03:00Z", json!({}));
    assert!(
        !journey
            .feed(&mut run, Input::Event(&other), &facts, "2026-12-07T02:03:00Z")
            .moved
    );
    let order = event("order_paid", "2026-12-07T02:04:00Z", json!({"amount": 59.9}));
    let t = journey.feed(&mut run, Input::Event(&order), &facts, "2026-12-07T02:04:00Z");
    assert!(t.effects.is_empty());
    assert_eq!(exited(&run), Some(ExitReason::Completed));
    assert!(
        journey
            .feed(&mut run, Input::Timer, &facts, "2026-12-07T02:05:00Z")
            .effects
            .is_empty()
    );
}

#[test]
fn replaying_a_transition_yields_the_same_effect_keys_and_each_loop_visit_a_new_one() {
    let journey = Journey::new(json!({
        "name": "weekly",
        "entry": {"type": "api"},
        "start": "send",
        "nodes": {
            "send": {"type": "send", "messages": [{"template": "digest"}], "next": "week"},
            "week": {"type": "wait", "duration": "P7D", "next": "send"}
        }
    }));
    let facts = person(json!({}));
    let (run, first) = journey.enter(&facts, None, "2026-12-07T02:00:00Z");
    let (replayed_run, replayed) = journey.enter(&facts, None, "2026-12-07T02:00:00Z");
    assert_eq!(first.effects, replayed.effects);
    assert_eq!(run, replayed_run);

    let mut run = run;
    let second = journey.feed(&mut run, Input::Timer, &facts, "2026-12-14T02:00:00Z");
    let mut clone = replayed_run;
    let second_again = journey.feed(&mut clone, Input::Timer, &facts, "2026-12-14T02:00:00Z");
    assert_eq!(second.effects, second_again.effects);
    assert_ne!(first.effects[0].origin, second.effects[0].origin);
    assert_eq!(until(&run), at("2026-12-21T02:00:00Z"));
}

#[test]
fn a_birthday_greeting_waits_for_nine_local_and_is_skipped_when_over_six_hours_late() {
    let journey = Journey::new(json!({
        "name": "生日",
        "entry": {"type": "api"},
        "start": "nine",
        "nodes": {
            "nine": {"type": "wait_until", "until": {"kind": "time_of_day", "time": "09:00"},
                     "lateness_limit": "PT6H", "next": "greet"},
            "greet": {"type": "send", "messages": [{"template": "birthday"}], "next": "done"},
            "done": {"type": "exit"}
        }
    }));
    let facts = person(json!({}));
    // 00:30 in Shanghai: 09:00 the same day is 01:00 UTC.
    let (mut run, _) = journey.enter(&facts, None, "2026-12-06T16:30:00Z");
    assert_eq!(until(&run), at("2026-12-07T01:00:00Z"));
    let mut late = run.clone();
    let on_time = journey.feed(&mut run, Input::Timer, &facts, "2026-12-07T07:00:00Z");
    assert_eq!(sends(&on_time), vec!["birthday"]);
    let skipped = journey.feed(&mut late, Input::Timer, &facts, "2026-12-07T07:00:01Z");
    assert!(skipped.effects.is_empty());
    assert_eq!(exited(&late), Some(ExitReason::Late));
    assert_eq!(skipped.passed[0].outcome.as_deref(), Some("late"));
}

/// Scenario 13: the 4S test drive.
fn test_drive() -> Journey {
    Journey::new(json!({
        "name": "试驾",
        "entry": {"type": "event", "event": "test_drive_booked", "key": "booking_id"},
        "start": "eve",
        "nodes": {
            "eve": {"type": "wait_until", "until": {"kind": "entry_property", "property": "booked_at",
                    "offset": "-P1D", "time": "10:00"}, "next": "remind"},
            "remind": {"type": "send", "class": "transactional",
                       "messages": [{"template": "drive-reminder"}], "next": "arrival"},
            "arrival": {"type": "wait_for_event", "event": "store_arrived", "same_key": true,
                        "timeout": "P1D", "on_event": "welcome", "on_timeout": "call"},
            "welcome": {"type": "send", "class": "transactional",
                        "messages": [{"template": "welcome-hotline"}], "next": "next-day"},
            "call": {"type": "call_task", "purpose": "invite again", "next": "done"},
            "next-day": {"type": "wait", "duration": "P1D", "next": "ask"},
            "ask": {"type": "send", "messages": [{"template": "rate-us"}], "next": "rating"},
            "rating": {"type": "wait_for_event", "event": "drive_rated", "timeout": "P3D",
                       "on_event": "score", "on_timeout": "done"},
            "score": {"type": "branch", "paths": [{"name": "happy", "condition": {"type": "wait_event",
                      "filter": {"property": "score", "value_type": "number", "op": "gte", "value": 7}},
                      "next": "thanks"}], "default": "sorry"},
            "thanks": {"type": "send", "messages": [{"template": "thanks"}], "next": "done"},
            "sorry": {"type": "send", "messages": [{"template": "apology"}], "next": "manager"},
            "manager": {"type": "notify_staff", "to": {"kind": "trait", "trait": "dealer_manager_email"},
                        "subject": "低分试驾", "next": "done"},
            "done": {"type": "exit"}
        }
    }))
}

#[test]
fn the_test_drive_journey_reminds_the_day_before_and_branches_on_the_rating() {
    let journey = test_drive();
    let facts = person(json!({"dealer_manager_email": "manager@dealer.example"}));
    let booked = event(
        "test_drive_booked",
        "2026-12-07T02:00:00Z",
        json!({"booking_id": "b-1", "booked_at": "2026-12-10T15:00:00+08:00"}),
    );
    let (mut run, _) = journey.enter(&facts, Some(booked), "2026-12-07T02:00:00Z");
    run.key = Some("b-1".to_owned());
    // 10:00 Shanghai on the 9th.
    assert_eq!(until(&run), at("2026-12-09T02:00:00Z"));
    let t = journey.feed(&mut run, Input::Timer, &facts, "2026-12-09T02:00:00Z");
    assert_eq!(sends(&t), vec!["drive-reminder"]);
    // Arrival for another booking does not count.
    let elsewhere = event(
        "store_arrived",
        "2026-12-09T03:00:00Z",
        json!({"booking_id": "b-2"}),
    );
    assert!(
        !journey
            .feed(&mut run, Input::Event(&elsewhere), &facts, "2026-12-09T03:00:00Z")
            .moved
    );
    let arrived = event(
        "store_arrived",
        "2026-12-09T07:00:00Z",
        json!({"booking_id": "b-1"}),
    );
    let t = journey.feed(&mut run, Input::Event(&arrived), &facts, "2026-12-09T07:00:00Z");
    assert_eq!(sends(&t), vec!["welcome-hotline"]);
    let t = journey.feed(&mut run, Input::Timer, &facts, "2026-12-10T07:00:00Z");
    assert_eq!(sends(&t), vec!["rate-us"]);

    let mut unhappy = run.clone();
    let good = event("drive_rated", "2026-12-10T08:00:00Z", json!({"score": 9}));
    let t = journey.feed(&mut run, Input::Event(&good), &facts, "2026-12-10T08:00:00Z");
    assert_eq!(sends(&t), vec!["thanks"]);
    let bad = event("drive_rated", "2026-12-10T08:00:00Z", json!({"score": "5"}));
    let t = journey.feed(&mut unhappy, Input::Event(&bad), &facts, "2026-12-10T08:00:00Z");
    assert_eq!(sends(&t), vec!["apology"]);
    let notified: Vec<&Action> = t
        .effects
        .iter()
        .map(|e| &e.action)
        .filter(|a| matches!(a, Action::NotifyStaff { .. }))
        .collect();
    assert_eq!(
        notified,
        vec![&Action::NotifyStaff {
            to: StaffTarget::Email {
                address: "manager@dealer.example".to_owned()
            },
            subject: "低分试驾".to_owned(),
            account: None,
        }]
    );
}

#[test]
fn a_no_show_gets_a_call_task_and_a_booking_without_a_time_leaves_with_the_reason() {
    let journey = test_drive();
    let facts = person(json!({}));
    let booked = event(
        "test_drive_booked",
        "2026-12-07T02:00:00Z",
        json!({"booked_at": "2026-12-10"}),
    );
    let (mut run, _) = journey.enter(&facts, Some(booked), "2026-12-07T02:00:00Z");
    journey.feed(&mut run, Input::Timer, &facts, "2026-12-09T02:00:00Z");
    let t = journey.feed(&mut run, Input::Timer, &facts, "2026-12-10T02:00:00Z");
    assert!(matches!(t.effects[0].action, Action::CallTask { .. }));
    assert_eq!(exited(&run), Some(ExitReason::Completed));

    let (run, t) = journey.enter(
        &facts,
        Some(event("test_drive_booked", "2026-12-07T02:00:00Z", json!({}))),
        "2026-12-07T02:00:00Z",
    );
    assert_eq!(exited(&run), Some(ExitReason::MissingTime));
    assert_eq!(t.passed[0].outcome.as_deref(), Some("missing_time"));
}

#[test]
fn the_goal_event_takes_a_waiting_person_out_as_converted() {
    let mut journey = no_order_in_five_minutes();
    journey.definition.goal = Some(crate::audience::EventMatch {
        event: Some("order_paid".to_owned()),
        filters: vec![],
    });
    if let Some(Step::WaitForEvent { event, .. }) = journey
        .definition
        .nodes
        .get_mut(&NodeId::parse("wait").expect("id"))
    {
        *event = "coupon_claimed".to_owned();
    }
    let facts = person(json!({}));
    let (mut run, _) = journey.enter(&facts, None, "2026-12-07T02:00:00Z");
    let order = event("order_paid", "2026-12-07T02:01:00Z", json!({}));
    journey.feed(&mut run, Input::Event(&order), &facts, "2026-12-07T02:01:00Z");
    assert_eq!(exited(&run), Some(ExitReason::Goal));
}

#[test]
fn splits_are_stable_per_person_and_the_holdout_is_about_its_share() {
    let journey = Journey::new(json!({
        "name": "exp", "entry": {"type": "api"}, "start": "exp",
        "nodes": {
            "exp": {"type": "experiment", "holdout_percent": 10,
                    "variants": [{"name": "a", "weight": 1, "next": "done"}, {"name": "b", "weight": 1, "next": "done"}]},
            "done": {"type": "exit"}
        }
    }));
    let facts = person(json!({}));
    let mut held = 0;
    for n in 0..10_000u64 {
        let mut run = Run {
            journey: journey.id.clone(),
            version: 1,
            profile: ProfileId::mint(Timestamp::UNIX_EPOCH, u128::from(n)),
            entry: "e".to_owned(),
            key: None,
            entered_at: Timestamp::UNIX_EPOCH,
            entry_event: None,
            wait_event: None,
            steps: 0,
            state: RunState::Entering,
            path: RunPath::default(),
        };
        let mut again = run.clone();
        let t = apply(
            &journey.graph(),
            &mut run,
            Input::Enter,
            &facts,
            Timestamp::UNIX_EPOCH,
        )
        .expect("applies");
        let u = apply(
            &journey.graph(),
            &mut again,
            Input::Enter,
            &facts,
            Timestamp::UNIX_EPOCH,
        )
        .expect("applies");
        assert_eq!(t.passed, u.passed);
        if exited(&run) == Some(ExitReason::Holdout) {
            held += 1;
        }
    }
    assert!((900..=1_100).contains(&held), "{held} of 10,000 held out");
}

struct Catalog {
    templates: BTreeSet<&'static str>,
    segments: BTreeMap<&'static str, SegmentKind>,
}

impl JourneyReferences for Catalog {
    fn template_exists(&self, template: &TemplateId) -> bool {
        self.templates.contains(template.as_str())
    }
    fn tag_exists(&self, tag: &str) -> bool {
        tag == "lifecycle"
    }
    fn segment(&self, segment: &SegmentId) -> Option<SegmentKind> {
        self.segments.get(segment.as_str()).copied()
    }
}

fn catalog() -> Catalog {
    Catalog {
        templates: BTreeSet::from(["coupon-nudge"]),
        segments: BTreeMap::from([("vip", SegmentKind::Static), ("active", SegmentKind::Dynamic)]),
    }
}

fn problems(raw: Value) -> Vec<(Option<String>, String)> {
    validate(&definition(raw), &catalog())
        .into_iter()
        .map(|p| (p.node.map(|n| n.to_string()), p.field))
        .collect()
}

#[test]
fn a_valid_journey_has_no_problems() {
    assert_eq!(
        validate(&no_order_in_five_minutes().definition, &catalog()),
        vec![]
    );
}

#[test]
fn bad_definitions_are_refused_naming_the_node_and_the_field() {
    let found = problems(json!({
        "name": "bad", "entry": {"type": "segment", "segment": "nobody", "on": "entered"}, "start": "a",
        "nodes": {
            "a": {"type": "branch", "paths": [{"condition": {"type": "profile",
                  "condition": {"type": "tag", "tag": "mood"}}, "next": "b"}], "default": "c"},
            "b": {"type": "set_trait", "trait": "seen", "value": {"kind": "now"}, "next": "a"},
            "c": {"type": "wait", "duration": "PT0S", "next": "d"},
            "d": {"type": "send", "messages": [{"template": "missing"}], "next": "gone"},
            "island": {"type": "add_to_segment", "segment": "active", "next": "c"}
        }
    }));
    let expected: Vec<(Option<String>, String)> = vec![
        (None, "entry.segment".to_owned()),
        (
            Some("a".to_owned()),
            "paths[0].condition.condition.tag".to_owned(),
        ),
        (Some("b".to_owned()), "next".to_owned()),
        (Some("c".to_owned()), "duration".to_owned()),
        (Some("d".to_owned()), "messages[0].template".to_owned()),
        (Some("d".to_owned()), "next".to_owned()),
        (Some("island".to_owned()), "segment".to_owned()),
        (Some("island".to_owned()), "id".to_owned()),
    ];
    let mut found_sorted = found.clone();
    found_sorted.sort();
    let mut expected_sorted = expected;
    expected_sorted.sort();
    assert_eq!(found_sorted, expected_sorted, "{found:?}");
}

#[test]
fn a_staff_notice_s_subject_must_parse_as_a_template() {
    let notice = |subject: &str| {
        problems(json!({
            "name": "notice", "entry": {"type": "api"}, "start": "tell",
            "nodes": {"tell": {"type": "notify_staff", "to": {"kind": "email", "address": "boss@dealer.example"},
                               "subject": subject, "next": "done"},
                      "done": {"type": "exit"}}
        }))
    };
    assert_eq!(
        notice("{{ profile.traits.name }} 试驾评分 {{ event.rating }}"),
        vec![]
    );
    assert_eq!(
        notice("{{ profile.traits.name "),
        vec![(Some("tell".to_owned()), "subject".to_owned())]
    );
}

#[test]
fn a_loop_through_a_wait_is_allowed_and_a_branch_needs_its_default() {
    assert_eq!(
        problems(json!({
            "name": "ok", "entry": {"type": "api"}, "start": "a",
            "nodes": {"a": {"type": "wait", "duration": "P1D", "next": "b"},
                      "b": {"type": "add_tag", "tag": "lifecycle", "value": "x", "next": "a"}}
        })),
        vec![]
    );
    let missing_default = serde_json::from_value::<JourneyDefinition>(json!({
        "name": "x", "entry": {"type": "api"}, "start": "a",
        "nodes": {"a": {"type": "branch", "paths": []}}
    }));
    let message = missing_default.expect_err("refused").to_string();
    assert!(message.contains("default"), "{message}");
}

#[test]
fn reentry_rules_and_limits_decide_who_may_enter() {
    let tz = shanghai();
    let now = at("2026-12-07T02:00:00Z");
    let fresh = EntryHistory::default();
    let before = EntryHistory {
        entries: 1,
        per_person: 1,
        total: 10,
        last_entered_at: Some(at("2026-11-20T02:00:00Z")),
        active: false,
    };
    let none = EntryLimits::default();
    assert_eq!(may_enter(&Reentry::Once, &none, &fresh, now, &tz), Ok(()));
    assert_eq!(
        may_enter(&Reentry::Once, &none, &before, now, &tz),
        Err(EntryRefusal::EnteredBefore)
    );
    let monthly = Reentry::OncePer {
        period: model::Delay(Span::new().months(1)),
    };
    assert_eq!(
        may_enter(&monthly, &none, &before, now, &tz),
        Err(EntryRefusal::TooSoon)
    );
    assert_eq!(
        may_enter(&monthly, &none, &before, at("2026-12-20T02:00:00Z"), &tz),
        Ok(())
    );
    let active = EntryHistory {
        active: true,
        ..before
    };
    assert_eq!(
        may_enter(&Reentry::Always, &none, &active, now, &tz),
        Err(EntryRefusal::AlreadyIn)
    );
    let capped = EntryLimits {
        per_person: Some(1),
        total: Some(10),
    };
    assert_eq!(
        may_enter(&Reentry::Always, &capped, &before, now, &tz),
        Err(EntryRefusal::TotalLimit)
    );
    assert!(crossed(9, 10, 10) && crossed(9, 11, 10));
    assert!(!crossed(10, 11, 10) && !crossed(8, 9, 10));
}

#[test]
fn anniversaries_and_times_of_day_fall_on_the_local_calendar() {
    let tz = shanghai();
    let leap = jiff::civil::date(2000, 2, 29);
    let nine = jiff::civil::time(9, 0, 0, 0);
    assert_eq!(
        time::next_anniversary(leap, nine, at("2026-01-01T00:00:00Z"), &tz),
        Some(at("2026-02-28T01:00:00Z"))
    );
    assert_eq!(
        time::next_anniversary(leap, nine, at("2026-03-01T00:00:00Z"), &tz),
        Some(at("2027-02-28T01:00:00Z"))
    );
    let ten = jiff::civil::time(10, 0, 0, 0);
    // 11:00 in Shanghai: today's 10:00 has passed, so tomorrow's.
    assert_eq!(
        time::next_time_of_day(at("2026-12-07T03:00:00Z"), ten, 0, &tz),
        Some(at("2026-12-08T02:00:00Z"))
    );
    assert_eq!(
        time::next_time_of_day(at("2026-12-07T01:00:00Z"), ten, 1, &tz),
        Some(at("2026-12-08T02:00:00Z"))
    );
    let new_york = TimeZone::get("America/New_York").expect("tz");
    // A calendar day across the end of daylight saving time is 25 hours.
    assert_eq!(
        time::after(at("2026-10-31T14:00:00Z"), Span::new().days(1), &new_york),
        Some(at("2026-11-01T15:00:00Z"))
    );
}

#[test]
fn an_effects_origin_names_its_journey_version_and_node() {
    let journey = JourneyId::parse("koc-gift").expect("id");
    let node = NodeId::parse("gift").expect("id");
    let origin = journey_origin(&journey, 3, &node, "1234:order:a-1", 7);
    assert_eq!(origin, "journey:koc-gift:v3:gift:1234:order:a-1:7");
    assert_eq!(parse_journey_origin(&origin), Some((journey, 3, node)));
    assert_eq!(parse_journey_origin("campaign:double-12:run:1"), None);
    assert_eq!(parse_journey_origin("journey:x:3:gift:e:1"), None);
}
