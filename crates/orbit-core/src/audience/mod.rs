//! Audiences: the condition language that says who is in a segment or carries a tag
//! value, its validation, and the reference evaluator that defines what it means.

pub mod compare;
pub mod condition;
pub mod membership;
pub mod reference;
pub mod validate;
pub mod values;

pub use condition::{
    Aggregate, Compare, Condition, EventCondition, EventMatch, Measure, PropertyFilter, SequenceCondition,
    Span, TimeUnit, ValueTest, ValueType, Window,
};
pub use reference::{Evaluation, EventFact, ProfileFacts, evaluate};
pub use validate::{ConditionError, validate};

/// Events Orbit appends about a person that are not the person's doing: segment
/// transitions, and a provider saying a message arrived or bounced. "Any event"
/// (being active) passes over them; opening, clicking and unsubscribing count.
pub const PASSIVE_EVENTS: [&str; 4] = [
    membership::SEGMENT_ENTERED,
    membership::SEGMENT_EXITED,
    crate::messaging::engagement::MESSAGE_DELIVERED,
    crate::messaging::engagement::MESSAGE_BOUNCED,
];

/// Whether an event is one of the [`PASSIVE_EVENTS`].
pub fn is_passive_event(name: &str) -> bool {
    PASSIVE_EVENTS.contains(&name)
}

#[cfg(test)]
mod tests;
