use super::*;
use crate::wire::TextOrNumber;
use jiff::{SignedDuration, Timestamp};
use orbit_core::{SourceId, WorkspaceId};
use serde_json::json;

fn ctx() -> IngestContext {
    IngestContext {
        workspace_id: WorkspaceId::default_workspace(),
        source_id: SourceId::parse("python").expect("valid"),
        received_at: "2026-11-23T10:00:00Z".parse().expect("valid"),
        default_region: phonenumber::country::Id::CN,
        max_future: crate::DEFAULT_MAX_FUTURE,
        body_bytes: None,
    }
}

/// What segment-analytics-python 2.x posts for identify + track + alias.
fn python_batch() -> Value {
    json!({
        "batch": [
            {"traits": {"email": "Mei@Example.com", "phone": "138 0013 8000", "name": "李梅"}, "anonymousId": null,
             "context": {"library": {"name": "analytics-python", "version": "2.3.3"}}, "timestamp": "2026-11-23T09:59:58.123456+00:00",
             "integrations": {}, "type": "identify", "userId": "u-1", "messageId": "6f3b6c38-7c1a-4f5e-9d0e-7e1f0c6a1a01"},
            {"properties": {"order_id": "o-1", "amount": 59.9, "currency": "CNY"}, "anonymousId": null,
             "context": {"library": {"name": "analytics-python", "version": "2.3.3"}}, "timestamp": "2026-11-23T09:59:59+00:00",
             "integrations": {}, "event": "order_paid", "type": "track", "userId": "u-1", "messageId": "m-2"},
            {"previousId": "anon-1", "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
             "timestamp": "2026-11-23T09:59:59+00:00", "integrations": {}, "type": "alias", "userId": "u-1", "messageId": "m-3"}
        ],
        "sentAt": "2026-11-23T10:00:00.000000+00:00",
        "writeKey": "wk_test"
    })
}

#[test]
fn python_sdk_batches_parse_into_three_events() {
    let parsed = parse_batch(python_batch(), &ctx()).expect("a valid body");
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    let kinds: Vec<EventKind> = parsed.accepted.iter().map(|(_, e)| e.kind).collect();
    assert_eq!(kinds, [EventKind::Identify, EventKind::Track, EventKind::Alias]);
    let identify = &parsed.accepted[0].1;
    let ids: Vec<String> = identify.identities.iter().map(ToString::to_string).collect();
    assert_eq!(
        ids,
        ["user_id:u-1", "email:mei@example.com", "phone:+8613800138000"]
    );
    assert_eq!(
        parsed.accepted[1].1.name.as_ref().map(|n| n.as_str()),
        Some("order_paid")
    );
    assert_eq!(parsed.accepted[2].1.previous_id.as_deref(), Some("anon-1"));
    assert_eq!(body_write_key(&python_batch()), Some("wk_test"));
}

#[test]
fn clock_skew_is_corrected_by_the_send_gap() {
    // The device clock is an hour fast: it stamped the event at 11:00 and sent it at 11:00:05.
    let body = json!({"batch": [{"type": "track", "event": "x", "userId": "u", "originalTimestamp": "2026-11-23T11:00:00Z"}],
                      "sentAt": "2026-11-23T11:00:05Z"});
    let parsed = parse_batch(body, &ctx()).expect("valid");
    let expected: Timestamp = "2026-11-23T09:59:55Z".parse().expect("valid");
    assert_eq!(parsed.accepted[0].1.timestamp, expected);
}

#[test]
fn identify_traits_may_come_in_context_traits() {
    let body = json!({"type": "identify", "anonymousId": "a-1", "context": {"traits": {"email": "x@example.com", "city": "重庆"}}});
    let parsed = parse_single(body, EventKind::Identify, &ctx()).expect("valid");
    let event = &parsed.accepted[0].1;
    assert_eq!(event.traits.get("city"), Some(&json!("重庆")));
    assert!(
        event
            .identities
            .iter()
            .any(|i| i.to_string() == "email:x@example.com")
    );
}

#[test]
fn bad_items_are_named_and_good_ones_kept() {
    let future = (ctx().received_at + SignedDuration::from_hours(48)).to_string();
    let body = json!({"batch": [
        {"type": "track", "userId": "u", "event": "ok"},
        {"type": "track", "userId": "u"},
        {"type": "teleport", "userId": "u"},
        {"type": "track", "event": "x"},
        {"type": "track", "userId": "u", "event": "x", "properties": "nope"},
        {"type": "track", "userId": "u", "event": "x", "timestamp": future},
        {"type": "track", "userId": "u", "event": "x", "timestamp": "soon"},
        {"type": "alias", "userId": "u"},
        "not an object"
    ]});
    let parsed = parse_batch(body, &ctx()).expect("valid body");
    assert_eq!(parsed.accepted.len(), 1);
    let got: Vec<(usize, &str, &str)> = parsed
        .rejected
        .iter()
        .map(|r| (r.index, r.field.as_str(), r.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "batch[1].event", "missing_field"),
            (2, "batch[2].type", "unknown_type"),
            (3, "batch[3].userId", "missing_identity"),
            (4, "batch[4].properties", "wrong_type"),
            (5, "batch[5].timestamp", "timestamp_in_future"),
            (6, "batch[6].timestamp", "invalid_timestamp"),
            (7, "batch[7].previousId", "missing_field"),
            (8, "batch[8]", "wrong_type"),
        ]
    );
}

#[test]
fn a_body_without_a_batch_array_is_refused_whole() {
    let error = |body: Value| {
        parse_batch(body, &ctx())
            .err()
            .map(|e| (e.field, e.code.as_str()))
    };
    assert_eq!(
        error(json!({"batch": {}})),
        Some(("batch".to_owned(), "wrong_type"))
    );
    assert_eq!(error(json!([])), Some((String::new(), "wrong_type")));
    let too_many = json!({"batch": vec![json!({"type": "track"}); crate::MAX_BATCH_EVENTS + 1]});
    assert_eq!(error(too_many), Some(("batch".to_owned(), "batch_too_large")));
}

#[test]
fn events_are_measured_only_when_their_body_could_hold_one_too_large() {
    let big =
        json!({"type": "track", "event": "x", "userId": "u", "properties": {"text": "a".repeat(70_000)}});
    let Value::Object(big) = big else {
        unreachable!("an object")
    };
    let unknown_body = ctx();
    assert!(
        unknown_body
            .oversized(&big)
            .is_some_and(|size| size > crate::MAX_EVENT_BYTES)
    );
    let large_body = IngestContext {
        body_bytes: Some(80_000),
        ..ctx()
    };
    assert!(large_body.oversized(&big).is_some());
    let small = json!({"type": "track", "event": "x", "userId": "u"});
    let Value::Object(small) = small else {
        unreachable!("an object")
    };
    assert_eq!(large_body.oversized(&small), None);
    let small_body = IngestContext {
        body_bytes: Some(2_000),
        ..ctx()
    };
    assert_eq!(
        small_body.oversized(&small),
        None,
        "a small body holds no large event"
    );
}

#[test]
fn the_documented_types_read_what_the_sdks_send() {
    let batch: SegmentBatch = serde_json::from_value(python_batch()).expect("the python SDK's batch");
    assert_eq!(batch.batch.len(), 3);
    assert_eq!(batch.write_key.as_deref(), Some("wk_test"));
    let identify = &batch.batch[0];
    assert_eq!(identify.kind, Some(EventKind::Identify));
    assert_eq!(identify.user_id, Some(TextOrNumber::Text("u-1".to_owned())));
    assert_eq!(identify.anonymous_id, None, "null is absent");
    assert_eq!(
        batch.batch[2].previous_id,
        Some(TextOrNumber::Text("anon-1".to_owned()))
    );

    // analytics.js (next) posts single calls as text/plain with the key in the body.
    let browser = json!({
        "type": "identify", "anonymousId": "web-anon-1", "writeKey": "wk_test",
        "context": {"traits": {"email": "web@example.com"}, "library": {"name": "analytics.js", "version": "next-1.70.0"},
                    "device": {"id": "dev-1", "model": "iPhone15,2"}, "identities": {"member_card": 1001}},
        "integrations": {}, "messageId": "ajs-next-1", "timestamp": "2026-11-23T09:59:58.000Z",
        "sentAt": "2026-11-23T09:59:58.100Z", "_metadata": {"bundled": ["Segment.io"]}
    });
    let message: SegmentMessage = serde_json::from_value(browser.clone()).expect("analytics.js's identify");
    let context = message.context.as_ref().expect("a context");
    assert_eq!(
        context.traits.as_ref().and_then(|t| t.get("email")),
        Some(&json!("web@example.com"))
    );
    let device = context.device.as_ref().expect("a device");
    assert_eq!(device.id, Some(TextOrNumber::Text("dev-1".to_owned())));
    assert_eq!(device.other.get("model"), Some(&json!("iPhone15,2")));
    assert_eq!(
        context.identities.as_ref().and_then(|i| i.get("member_card")),
        Some(&TextOrNumber::Number(1001.into()))
    );
    assert!(
        context.other.contains_key("library"),
        "the rest of the context is kept"
    );
    // What the parser takes from it, the documented type holds: nothing it reads is
    // lost in the round trip.
    let again = serde_json::to_value(&message).expect("serialises");
    let parsed = |body: Value| {
        let parsed = parse_single(body, EventKind::Identify, &ctx()).expect("valid");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        parsed.accepted.into_iter().map(|(_, e)| e).collect::<Vec<_>>()
    };
    assert_eq!(parsed(again), parsed(browser));
}
