//! The audience index (ADR 0006): compact behaviour timelines and the evaluation of
//! conditions over them, segments, and tags with their values (ADR 0008). Its answers
//! are those of [`orbit_core::audience::reference`], checked by a differential
//! property test.

pub mod behaviour;
pub mod filters;
mod held;
pub mod index;
pub mod libraries;
pub mod live;
pub mod membership;
mod restore;
pub mod segments;
mod tag_values;
pub mod tags;
pub mod timeline;

pub use live::AudienceIndexes;
pub use membership::{MembershipWatcher, Sweep, SweepReport};
pub use restore::RestoreError;
pub use segments::{SegmentCatalog, SegmentDefinition};
pub use tag_values::{IndexAccess, ThroughPipeline};
pub use tags::{RefreshReport, RfmProfile, TagCatalog, TagEntry};

#[cfg(test)]
mod tag_tests;
#[cfg(test)]
mod tests;
