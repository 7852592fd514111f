//! The audience index (ADR 0006): compact behaviour timelines and the evaluation of
//! conditions over them. Its answers are those of
//! [`orbit_core::audience::reference`], checked by a differential property test.

pub mod behaviour;
pub mod filters;
pub mod index;
pub mod live;
pub mod membership;
pub mod segments;
pub mod timeline;

pub use live::Audiences;
pub use membership::{MembershipWatcher, Sweep, SweepReport};
pub use segments::{SegmentCatalog, SegmentDefinition};

#[cfg(test)]
mod tests;
