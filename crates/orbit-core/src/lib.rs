//! Orbit's domain: the types every other crate speaks and the pure rules over them.
//!
//! Nothing here performs I/O or reads ambient time: identity resolution, trait merge
//! rules and contact cleaning are plain functions so they can be tested exhaustively.

pub mod audience;
pub mod clock;
pub mod contact;
pub mod event;
pub mod identity;
pub mod ids;
pub mod journey;
pub mod messaging;
pub mod privacy;
pub mod problem;
pub mod profile;
pub mod resolution;
pub mod tags;
pub mod trait_rules;

pub use clock::{Clock, ManualClock, SystemClock};
pub use event::{EventKind, EventName, NewEvent};
pub use identity::{Identity, IdentityKind};
pub use ids::{
    CampaignId, ChannelId, JourneyId, NodeId, ProfileId, SegmentId, SourceId, TagId, TemplateId, WorkspaceId,
};
pub use problem::{ErrorCode, Problem};
