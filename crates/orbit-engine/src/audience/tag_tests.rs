//! Tag values computed into the index: first-match rules, RFM over the buyers,
//! assigned values through merges, dependency order, partial refreshes.

use super::index::AudienceIndex;
use super::tags::TagCatalog;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orbit_core::audience::Evaluation;
use orbit_core::tags::{RfmGroup, TagInput};
use orbit_core::{ProfileId, TagId, WorkspaceId};
use orbit_store::{TagAssignment, TagRecord};
use roaring::RoaringBitmap;
use serde_json::{Map, Value, json};

/// 2026-11-23T00:00:00Z.
const NOW_MS: i64 = 1_795_392_000_000;
const DAY_MS: i64 = 86_400_000;

fn ws() -> WorkspaceId {
    WorkspaceId::default_workspace()
}

fn now() -> Evaluation {
    Evaluation::new(
        Timestamp::from_millisecond(NOW_MS).expect("a time"),
        TimeZone::UTC,
    )
}

fn person(n: u128) -> ProfileId {
    ProfileId::mint(Timestamp::UNIX_EPOCH, n)
}

fn tag(id: &str, input: Value) -> TagRecord {
    let input: TagInput = serde_json::from_value(input).expect("well-formed");
    TagRecord {
        workspace_id: ws(),
        id: TagId::parse(id).expect("an id"),
        definition: input.parse().expect("valid").1,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

/// Log positions for recorded events, increasing as a log's would.
fn next_position() -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn order(index: &mut AudienceIndex, profile: ProfileId, days_ago: i64, amount: f64) {
    let mut properties = Map::new();
    properties.insert("amount".into(), json!(amount));
    index.record_event(
        profile,
        NOW_MS - days_ago * DAY_MS,
        next_position(),
        Some("order_paid"),
        &properties,
    );
}

fn visit(index: &mut AudienceIndex, profile: ProfileId, days_ago: i64) {
    index.record_event(
        profile,
        NOW_MS - days_ago * DAY_MS,
        next_position(),
        Some("page_viewed"),
        &Map::new(),
    );
}

fn values_of(index: &AudienceIndex, profile: ProfileId, tag: &str) -> Option<Vec<String>> {
    let values = index.tags_of(index.find(profile)?)?.remove(tag)?;
    Some(values.into_iter().map(str::to_owned).collect())
}

fn value_of(index: &AudienceIndex, profile: ProfileId, tag: &str) -> Option<String> {
    values_of(index, profile, tag).map(|v| v.join(","))
}

fn live(id: ProfileId) -> Option<ProfileId> {
    Some(id)
}

fn active_within(days: u32) -> Value {
    json!({"type": "event", "measure": {"kind": "did"},
           "window": {"kind": "last", "amount": days, "unit": "days"}})
}

#[test]
fn a_rule_tag_gives_the_first_value_whose_condition_holds() {
    let mut index = AudienceIndex::default();
    let (recent, lapsing, gone, never) = (person(1), person(2), person(3), person(4));
    visit(&mut index, recent, 2);
    visit(&mut index, recent, 50);
    visit(&mut index, lapsing, 50);
    visit(&mut index, gone, 200);
    index.set_traits(never, Map::new());
    let mut catalog = TagCatalog::default();
    // "silent" holds for the recent visitor too (they visited 50 days ago as well);
    // "active" comes first, so they are active only.
    catalog.put(tag(
        "lifecycle",
        json!({"name": "生命周期", "family": "lifecycle", "kind": "rule", "values": [
            {"value": "active", "condition": active_within(30)},
            {"value": "silent", "condition": active_within(90)},
            {"value": "churned", "condition": {"type": "event", "measure": {"kind": "did"}, "window": {"kind": "ever"}}}
        ]}),
    ));
    let report = catalog.refresh(&ws(), &mut index, None, &now(), &live);
    assert_eq!(value_of(&index, recent, "lifecycle").as_deref(), Some("active"));
    assert_eq!(value_of(&index, lapsing, "lifecycle").as_deref(), Some("silent"));
    assert_eq!(value_of(&index, gone, "lifecycle").as_deref(), Some("churned"));
    assert_eq!(value_of(&index, never, "lifecycle"), None, "no value holds");
    assert_eq!((report.full, report.profiles, report.changes), (true, 4, 3));

    // Time passes: the same data, evaluated 45 days later.
    let later = Evaluation::new(
        Timestamp::from_millisecond(NOW_MS + 45 * DAY_MS).expect("a time"),
        TimeZone::UTC,
    );
    catalog.refresh(&ws(), &mut index, None, &later, &live);
    assert_eq!(value_of(&index, recent, "lifecycle").as_deref(), Some("silent"));
    assert_eq!(value_of(&index, lapsing, "lifecycle").as_deref(), Some("churned"));
}

#[test]
fn rfm_groups_are_computed_over_the_buyers_in_the_window() {
    let mut index = AudienceIndex::default();
    // Recent, frequent, big spender; recent one small order; an old frequent small
    // buyer; one order outside the 365-day window only; a visitor who never bought.
    let (best, newcomer, faded, too_old, browser) = (person(1), person(2), person(3), person(4), person(5));
    for (days, amount) in [(1, 400.0), (20, 300.0), (60, 500.0)] {
        order(&mut index, best, days, amount);
    }
    order(&mut index, newcomer, 3, 20.0);
    for days in [200, 220, 240] {
        order(&mut index, faded, days, 15.0);
    }
    order(&mut index, too_old, 400, 999.0);
    visit(&mut index, browser, 1);
    let mut catalog = TagCatalog::default();
    catalog.put(tag("rfm", json!({"name": "RFM", "family": "rfm", "kind": "rfm"})));
    catalog.refresh(&ws(), &mut index, None, &now(), &live);

    // Three buyers. Recency (days 1, 3, 200) scores 5, 3, 1; frequency (3, 1, 3):
    // the 3s tie at (1 + 1) / 3 → 4, the 1 at 0.5 / 3 → 1; monetary (1200, 20, 45):
    // 5, 1, 3. Averages 3, 3, 3: high is ≥ 3.
    let rfm = TagId::parse("rfm").expect("an id");
    let scores = |p| {
        catalog
            .rfm_of(&ws(), &rfm, p)
            .map(|r| (r.score.r, r.score.f, r.score.m))
    };
    assert_eq!(scores(best), Some((5, 4, 5)));
    assert_eq!(scores(newcomer), Some((3, 1, 1)));
    assert_eq!(scores(faded), Some((1, 4, 3)));
    let group = |p| value_of(&index, p, "rfm");
    assert_eq!(group(best).as_deref(), Some(RfmGroup::ImportantValue.as_str()));
    assert_eq!(
        group(newcomer).as_deref(),
        Some(RfmGroup::GeneralDevelopment.as_str())
    );
    assert_eq!(
        group(faded).as_deref(),
        Some(RfmGroup::ImportantRetention.as_str())
    );
    assert_eq!(group(too_old), None, "no order in the window");
    assert_eq!(group(browser), None);
    let facts = catalog.rfm_of(&ws(), &rfm, best).expect("scored").facts;
    assert_eq!(
        (facts.recency_days, facts.frequency, facts.monetary),
        (1, 3, 1_200.0)
    );
}

#[test]
fn assigned_values_follow_merged_profiles_and_never_number_unknown_ids() {
    let mut index = AudienceIndex::default();
    let (survivor, merged, stranger) = (person(1), person(2), person(3));
    visit(&mut index, survivor, 1);
    visit(&mut index, merged, 1);
    let mut catalog = TagCatalog::default();
    catalog.put(tag(
        "vip",
        json!({"name": "VIP", "family": "business", "kind": "imported"}),
    ));
    let id = TagId::parse("vip").expect("an id");
    catalog.assign(
        &ws(),
        &id,
        &[
            TagAssignment {
                profile: survivor,
                values: vec!["gold".into()],
            },
            TagAssignment {
                profile: merged,
                values: vec!["black".into()],
            },
            TagAssignment {
                profile: stranger,
                values: vec!["x".into()],
            },
        ],
    );
    index.merge(survivor, merged);
    let resolve = |p: ProfileId| match p {
        p if p == merged => Some(survivor),
        p if p == stranger => None,
        p => Some(p),
    };
    let before = index.len();
    catalog.refresh(&ws(), &mut index, None, &now(), &resolve);
    assert_eq!(
        values_of(&index, survivor, "vip"),
        Some(vec!["black".to_owned(), "gold".to_owned()])
    );
    assert_eq!(index.len(), before, "no slot was made for an unknown id");
    assert_eq!(index.find(stranger), None);

    // Removing the assignment removes the value on the next refresh of that profile.
    catalog.replace_assigned(&ws(), &id, &[]);
    let only: RoaringBitmap = index.find(survivor).into_iter().collect();
    catalog.refresh(&ws(), &mut index, Some(&only), &now(), &resolve);
    assert_eq!(values_of(&index, survivor, "vip"), None);
}

#[test]
fn rules_naming_tags_read_the_values_of_the_same_refresh() {
    let mut index = AudienceIndex::default();
    let (marked, plain) = (person(1), person(2));
    visit(&mut index, marked, 1);
    visit(&mut index, plain, 1);
    let mut catalog = TagCatalog::default();
    // "a-vip-active" sorts before "z-vip" but depends on it.
    catalog.put(tag(
        "a-vip-active",
        json!({"name": "活跃 VIP", "family": "business", "kind": "rule", "values": [
            {"value": "yes", "condition": {"type": "and", "conditions": [
                {"type": "tag", "tag": "z-vip", "values": ["yes"]}, active_within(7)]}}
        ]}),
    ));
    catalog.put(tag(
        "z-vip",
        json!({"name": "VIP", "family": "business", "kind": "manual"}),
    ));
    catalog.assign(
        &ws(),
        &TagId::parse("z-vip").expect("an id"),
        &[TagAssignment {
            profile: marked,
            values: vec!["yes".into()],
        }],
    );
    catalog.refresh(&ws(), &mut index, None, &now(), &live);
    assert_eq!(value_of(&index, marked, "a-vip-active").as_deref(), Some("yes"));
    assert_eq!(value_of(&index, plain, "a-vip-active"), None);
    assert_eq!(
        catalog.dependents(&ws(), &TagId::parse("z-vip").expect("an id")),
        [TagId::parse("a-vip-active").expect("an id")]
    );
}

#[test]
fn a_partial_refresh_evaluates_rules_only_for_changed_profiles() {
    let mut index = AudienceIndex::default();
    let (a, b) = (person(1), person(2));
    visit(&mut index, a, 40);
    visit(&mut index, b, 40);
    let mut catalog = TagCatalog::default();
    catalog.put(tag(
        "active",
        json!({"name": "活跃", "family": "activity", "kind": "rule", "values": [
            {"value": "yes", "condition": active_within(30)}]}),
    ));
    catalog.refresh(&ws(), &mut index, None, &now(), &live);
    index.take_changed();
    visit(&mut index, a, 0);
    visit(&mut index, b, 0);
    let changed = index.take_changed();
    assert_eq!(changed.len(), 2);
    // Only a is asked for: b's new event is not looked at yet.
    let only: RoaringBitmap = index.find(a).into_iter().collect();
    let report = catalog.refresh(&ws(), &mut index, Some(&only), &now(), &live);
    assert_eq!((report.full, report.profiles), (false, 1));
    assert_eq!(value_of(&index, a, "active").as_deref(), Some("yes"));
    assert_eq!(value_of(&index, b, "active"), None);
    catalog.refresh(&ws(), &mut index, Some(&changed), &now(), &live);
    assert_eq!(value_of(&index, b, "active").as_deref(), Some("yes"));

    TagCatalog::clear_values(&mut index, &TagId::parse("active").expect("an id"));
    assert_eq!(value_of(&index, a, "active"), None);
}
