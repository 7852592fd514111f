//! Audiences: the condition language that says who is in a segment or carries a tag
//! value, its validation, and the reference evaluator that defines what it means.

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

#[cfg(test)]
mod tests;
