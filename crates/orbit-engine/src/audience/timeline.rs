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

/// One profile's events, oldest first, ties in log order.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileTimeline {
    events: Vec<EventRecord>,
    values: Vec<(u32, Scalar)>,
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
            if let Some(scalar) = scalar {
                self.values.push((strings.intern(key), scalar));
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
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// An event's indexed properties as JSON, to move it to another timeline.
    pub fn properties_of(&self, event: &EventRecord, strings: &Interner) -> Map<String, Value> {
        let start = event.props_start as usize;
        self.values[start..start + usize::from(event.props_len)]
            .iter()
            .filter_map(|(key, value)| Some((strings.text(*key)?.to_owned(), value.to_json(strings))))
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
            .all(|(key, value)| interned(*key) && !matches!(value, Scalar::Text(text) if !interned(*text)));
        ordered && events_fit && values_fit
    }

    /// Bytes this timeline holds, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<EventRecord>()
            + self.values.capacity() * std::mem::size_of::<(u32, Scalar)>()
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
