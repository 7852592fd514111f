//! Compact behaviour timelines: one per profile, events in time order with their
//! indexed property values (ADR 0006).

use foldhash::HashMap;
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
}

/// One indexed property value.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// One event on a compact timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRecord {
    /// Event time, epoch milliseconds.
    pub at_ms: i64,
    /// Interned event name, or [`UNNAMED`].
    pub name: u32,
    /// Where its property values start in the timeline's value list.
    props_start: u32,
    /// How many it has.
    props_len: u16,
}

/// One profile's events, oldest first (ties in arrival order).
#[derive(Debug, Default, Clone)]
pub struct ProfileTimeline {
    events: Vec<EventRecord>,
    values: Vec<(u32, Scalar)>,
}

impl ProfileTimeline {
    /// Adds an event: its top-level scalar properties are indexed (text, numbers,
    /// booleans); nested values are not.
    pub fn push(
        &mut self,
        at_ms: i64,
        name: Option<&str>,
        properties: &Map<String, Value>,
        strings: &mut Interner,
    ) {
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
        };
        // Events mostly arrive in time order; a late one goes after its equals.
        let at = self.events.partition_point(|e| e.at_ms <= at_ms);
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
