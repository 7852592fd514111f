//! Compact behaviour timelines: one per profile, events in time order with their
//! indexed property values (ADR 0006).

use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Numbers for strings: event names, property names and text values.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The number of `text`, assigned on first sight.
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(text.to_owned());
        self.ids.insert(text.to_owned(), id);
        id
    }

    /// The number of `text`, if it was ever seen.
    pub fn find(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The text of a number.
    pub fn text(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    /// Every string, by number: what a snapshot keeps.
    pub fn texts(&self) -> &[String] {
        &self.names
    }

    /// The interner that numbered `names` in this order.
    pub fn from_texts(names: Vec<String>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .map(|(id, name)| (name.clone(), id as u32))
            .collect();
        Self { ids, names }
    }
}

/// One indexed property value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    /// A whole number, kept whole so that it reads back as written.
    Integer(i64),
    /// A number.
    Number(f64),
    /// Interned text.
    Text(u32),
    /// A boolean.
    Bool(bool),
}

/// No event name (identify and other unnamed calls).
pub const UNNAMED: u32 = u32::MAX;

/// Log positions a record can hold: 48 bits, the room its layout leaves.
pub const MAX_POSITION: i64 = (1 << 48) - 1;

/// One event on a compact timeline.
///
/// The log position is kept so that events of the same millisecond stay in log order
/// whatever path they arrive by (a merge interleaves two timelines): a timeline then
/// reads the same after a merge as after a rebuild from the log. It fits in what would
/// otherwise be padding, 48 bits split in two, so a record stays 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Event time, epoch milliseconds.
    pub at_ms: i64,
    /// Interned event name, or [`UNNAMED`].
    pub name: u32,
    /// Where its property values start in the timeline's value list.
    props_start: u32,
    /// How many it has.
    props_len: u16,
    position_high: u16,
    position_low: u32,
}

impl EventRecord {
    /// The event's log position.
    pub fn position(&self) -> i64 {
        (i64::from(self.position_high) << 32) | i64::from(self.position_low)
    }

    /// Where the event sorts on a timeline: by time, then by log position.
    fn order(&self) -> (i64, i64) {
        (self.at_ms, self.position())
    }
}

/// Property keys a timeline can index: the top two bits of a value's first word hold
/// its kind. A key numbered past this (a billion strings in) is not indexed.
const MAX_KEY: u32 = (1 << 30) - 1;
const KIND_SHIFT: u32 = 30;

/// One indexed property value as a timeline holds it, in 12 bytes rather than the 24
/// a `(u32, Scalar)` takes: the interned key with the kind in its top two bits, then
/// the payload (a number's 64 bits, interned text, a boolean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct PackedValue {
    key_kind: u32,
    payload: [u32; 2],
}

impl PackedValue {
    fn new(key: u32, value: Scalar) -> Option<Self> {
        if key > MAX_KEY {
            return None;
        }
        let (kind, bits) = match value {
            Scalar::Integer(i) => (0, i as u64),
            Scalar::Number(x) => (1, x.to_bits()),
            Scalar::Text(t) => (2, u64::from(t)),
            Scalar::Bool(b) => (3, u64::from(b)),
        };
        Some(Self {
            key_kind: key | (kind << KIND_SHIFT),
            payload: [bits as u32, (bits >> 32) as u32],
        })
    }

    fn key(self) -> u32 {
        self.key_kind & MAX_KEY
    }

    fn scalar(self) -> Scalar {
        let bits = u64::from(self.payload[0]) | (u64::from(self.payload[1]) << 32);
        match self.key_kind >> KIND_SHIFT {
            0 => Scalar::Integer(bits as i64),
            1 => Scalar::Number(f64::from_bits(bits)),
            2 => Scalar::Text(bits as u32),
            _ => Scalar::Bool(bits != 0),
        }
    }
}

/// Grows a vector by half when full rather than doubling it: timelines are many and
/// short, and doubling leaves a third of them empty on average.
fn reserve_one<T>(items: &mut Vec<T>) {
    if items.len() == items.capacity() {
        items.reserve_exact((items.len() / 2).max(4));
    }
}

/// One profile's events, oldest first, ties in log order.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileTimeline {
    events: Vec<EventRecord>,
    values: Vec<PackedValue>,
}

impl ProfileTimeline {
    /// Adds the event at log `position`: its top-level scalar properties are indexed
    /// (text, numbers, booleans); nested values are not.
    pub fn push(
        &mut self,
        at_ms: i64,
        position: i64,
        name: Option<&str>,
        properties: &Map<String, Value>,
        strings: &mut Interner,
    ) {
        debug_assert!(
            (0..=MAX_POSITION).contains(&position),
            "a log position fits in 48 bits"
        );
        let position = position.clamp(0, MAX_POSITION);
        let props_start = self.values.len() as u32;
        for (key, value) in properties {
            let scalar = match value {
                Value::Number(n) => n
                    .as_i64()
                    .map(Scalar::Integer)
                    .or_else(|| n.as_f64().map(Scalar::Number)),
                Value::String(s) => Some(Scalar::Text(strings.intern(s))),
                Value::Bool(b) => Some(Scalar::Bool(*b)),
                _ => None,
            };
            if let Some(value) = scalar.and_then(|scalar| PackedValue::new(strings.intern(key), scalar)) {
                reserve_one(&mut self.values);
                self.values.push(value);
            }
        }
        let record = EventRecord {
            at_ms,
            name: name.map_or(UNNAMED, |n| strings.intern(n)),
            props_start,
            props_len: (self.values.len() as u32 - props_start) as u16,
            position_high: (position >> 32) as u16,
            position_low: position as u32,
        };
        // Events mostly arrive in time and log order: appending is the common case.
        let key = record.order();
        let at = self.events.partition_point(|e| e.order() <= key);
        reserve_one(&mut self.events);
        self.events.insert(at, record);
    }

    /// The events, oldest first.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// An event's value of an indexed property.
    pub fn property(&self, event: &EventRecord, key: u32) -> Option<Scalar> {
        let start = event.props_start as usize;
        self.values[start..start + usize::from(event.props_len)]
            .iter()
            .find(|v| v.key() == key)
            .map(|v| v.scalar())
    }

    /// An event's indexed properties as JSON, to move it to another timeline.
    pub fn properties_of(&self, event: &EventRecord, strings: &Interner) -> Map<String, Value> {
        let start = event.props_start as usize;
        self.values[start..start + usize::from(event.props_len)]
            .iter()
            .filter_map(|v| Some((strings.text(v.key())?.to_owned(), v.scalar().to_json(strings))))
            .collect()
    }

    /// Moves every event of `other` (a timeline over the same strings) onto this one,
    /// interleaved in time and log order.
    pub fn absorb(&mut self, other: Self) {
        let shift = self.values.len() as u32;
        self.values.extend_from_slice(&other.values);
        let moved = other.events.into_iter().map(|e| EventRecord {
            props_start: e.props_start + shift,
            ..e
        });
        let kept = std::mem::take(&mut self.events);
        let mut merged = Vec::with_capacity(kept.len() + moved.len());
        let (mut a, mut b) = (kept.into_iter().peekable(), moved.peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.order() <= y.order() => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.events = merged;
    }

    /// Whether the timeline is one this code could have built over `strings` strings:
    /// events in order, their values in range, every number interned. A snapshot is
    /// checked with this before use, since reads index without checking.
    pub fn is_well_formed(&self, strings: usize) -> bool {
        let interned = |id: u32| (id as usize) < strings;
        let ordered = self.events.windows(2).all(|w| w[0].order() <= w[1].order());
        let events_fit = self.events.iter().all(|e| {
            let end = e.props_start as usize + usize::from(e.props_len);
            end <= self.values.len() && (e.name == UNNAMED || interned(e.name))
        });
        let values_fit = self
            .values
            .iter()
            .all(|v| interned(v.key()) && !matches!(v.scalar(), Scalar::Text(text) if !interned(text)));
        ordered && events_fit && values_fit
    }

    /// Bytes this timeline holds, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<EventRecord>()
            + self.values.capacity() * std::mem::size_of::<PackedValue>()
    }
}

impl Scalar {
    /// The value as JSON, for the shared value tests.
    pub fn to_json(self, strings: &Interner) -> Value {
        match self {
            Self::Integer(i) => Value::from(i),
            Self::Number(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Self::Text(id) => strings
                .text(id)
                .map_or(Value::Null, |t| Value::String(t.to_owned())),
            Self::Bool(b) => Value::Bool(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn packed_values_read_back_as_written() {
        let mut strings = Interner::default();
        let mut timeline = ProfileTimeline::default();
        let properties = json!({
            "big": i64::MIN, "small": -3, "price": 12.3, "nan_free": -0.5,
            "city": "重庆", "paid": true, "refunded": false, "nested": {"x": 1}
        });
        timeline.push(
            5,
            1,
            Some("order_paid"),
            properties.as_object().expect("an object"),
            &mut strings,
        );
        let event = timeline.events()[0];
        let read = |key: &str| timeline.property(&event, strings.find(key).expect("interned"));
        assert_eq!(read("big"), Some(Scalar::Integer(i64::MIN)));
        assert_eq!(read("small"), Some(Scalar::Integer(-3)));
        assert_eq!(read("price"), Some(Scalar::Number(12.3)));
        assert_eq!(read("nan_free"), Some(Scalar::Number(-0.5)));
        assert_eq!(
            read("city"),
            Some(Scalar::Text(strings.find("重庆").expect("interned")))
        );
        assert_eq!(read("paid"), Some(Scalar::Bool(true)));
        assert_eq!(read("refunded"), Some(Scalar::Bool(false)));
        assert_eq!(strings.find("nested"), None, "nested values are not indexed");
        assert!(timeline.is_well_formed(strings.texts().len()));
        assert_eq!(std::mem::size_of::<PackedValue>(), 12);
    }

    #[test]
    fn keys_past_the_packed_range_are_left_unindexed() {
        assert!(PackedValue::new(MAX_KEY, Scalar::Bool(true)).is_some());
        assert!(PackedValue::new(MAX_KEY + 1, Scalar::Bool(true)).is_none());
        let value = PackedValue::new(MAX_KEY, Scalar::Text(u32::MAX)).expect("in range");
        assert_eq!((value.key(), value.scalar()), (MAX_KEY, Scalar::Text(u32::MAX)));
    }
}
