//! The state of one person's entry into one journey version, the inputs that move it
//! and the effects a move decides.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::model::{JourneyMessage, Step};
use super::path::RunPath;
use crate::audience::{Condition, EventMatch};
use crate::messaging::{ChannelPolicy, ClassName};
use crate::{ChannelId, JourneyId, NodeId, ProfileId, SegmentId};

/// At most this many nodes are passed in one transition: validation refuses loops
/// without a wait, so only a graph changed behind validation's back reaches it.
pub const MAX_STEPS_PER_TRANSITION: usize = 1_000;
/// An event as a journey sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JourneyEvent {
    /// The event's name.
    pub name: String,
    /// When it happened.
    pub at: Timestamp,
    /// Its properties.
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
}

/// One person's entry into one journey version, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The journey.
    pub journey: JourneyId,
    /// The version entered; the run stays on it.
    pub version: u32,
    /// The person.
    pub profile: ProfileId,
    /// The entry's id, unique for the person in the journey: what caused it.
    pub entry: String,
    /// The entry key's value, for keyed entries (`order_id`).
    pub key: Option<String>,
    /// When the person entered.
    pub entered_at: Timestamp,
    /// The event that brought the person in, if one did.
    pub entry_event: Option<JourneyEvent>,
    /// The event that ended the last wait for an event.
    pub wait_event: Option<JourneyEvent>,
    /// Nodes passed so far; makes each visit's effect keys distinct in a loop.
    pub steps: u32,
    /// Where the run stands.
    pub state: RunState,
    /// The nodes passed so far, with how and when, and the exit (bounded; runs stored
    /// before paths were kept have an empty one).
    #[serde(default)]
    pub path: RunPath,
}

/// Where a run stands between transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    /// Just entered: the first transition starts at the journey's start node.
    Entering,
    /// Waiting at a node until a time, or for an event until a time.
    Waiting {
        /// The waiting node.
        node: NodeId,
        /// When the wait ends (for an event wait: when it times out).
        until: Timestamp,
        /// Whether an event can end the wait first.
        for_event: bool,
    },
    /// Left the journey.
    Exited {
        /// The node it left at, if any.
        node: Option<NodeId>,
        /// Why.
        reason: ExitReason,
        /// When.
        at: Timestamp,
    },
}

/// Why a person left a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Reached an exit node.
    Completed,
    /// Performed the goal event: converted.
    Goal,
    /// A wait ended later than its lateness limit allows (after downtime).
    Late,
    /// Fell in an experiment's holdout group.
    Holdout,
    /// A wait's time could not be read (the trait or property is missing or not a time).
    MissingTime,
    /// Merged into another profile that carries on.
    Merged,
    /// Erased.
    Erased,
    /// The journey was archived.
    Archived,
}

/// What moves a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// The run was just created: start at the start node.
    Enter,
    /// The time the run waits until has come (the engine passes it at or after it).
    Timer,
    /// An event of the person's, committed after the run last moved.
    Event(&'a JourneyEvent),
    /// The engine takes the person out.
    Leave(ExitReason),
}

/// What a journey needs to know of the person, read by the engine.
pub trait PersonFacts {
    /// The person's time zone (their own, else the workspace's).
    fn time_zone(&self) -> TimeZone;
    /// A trait's current value.
    fn trait_value(&self, name: &str) -> Option<Value>;
    /// Whether an audience condition holds for the person now.
    fn holds(&self, condition: &Condition) -> bool;
}

/// An effect a transition decided, with the key that makes doing it idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// The node that decided it.
    pub node: NodeId,
    /// `journey:{id}:v{version}:{node}:{entry}:{step}` ([`journey_origin`]): the same
    /// on every replay of the transition, different on each visit of a node in a loop.
    pub origin: String,
    /// What to do.
    pub action: Action,
}

/// What a node asks the engine to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Send a message through the send ledger and the contact policy.
    Send {
        /// The templates in channel order.
        messages: Vec<JourneyMessage>,
        /// One on the best channel, or one on each.
        channel_policy: ChannelPolicy,
        /// Marketing or transactional.
        class: ClassName,
        /// The subscription topic of marketing messages.
        topic: Option<String>,
    },
    /// Set a trait.
    SetTrait {
        /// The trait.
        name: String,
        /// The value.
        value: Value,
    },
    /// Add a tag value.
    AddTag {
        /// The tag.
        tag: String,
        /// The value.
        value: String,
    },
    /// Remove a tag value, or the whole tag.
    RemoveTag {
        /// The tag.
        tag: String,
        /// The value; all when absent.
        value: Option<String>,
    },
    /// Add the person to a static segment.
    AddToSegment {
        /// The segment.
        segment: SegmentId,
    },
    /// Post to a URL.
    Webhook {
        /// The URL.
        url: String,
    },
    /// Open a call task.
    CallTask {
        /// What the caller should achieve.
        purpose: String,
    },
    /// Notify staff.
    NotifyStaff {
        /// Where, resolved.
        to: StaffTarget,
        /// The subject, placeholders not yet rendered.
        subject: String,
        /// The email account.
        account: Option<ChannelId>,
    },
}

/// A staff address, resolved for this person and entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StaffTarget {
    /// An email address.
    Email {
        /// The address.
        address: String,
    },
    /// A URL.
    Webhook {
        /// The URL.
        url: String,
    },
    /// The node named a trait or property that holds no address.
    Missing {
        /// What was read.
        from: String,
    },
}

/// A node passed in a transition, and how it was left: for reports and the
/// person's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passed {
    /// The node.
    pub node: NodeId,
    /// The path taken out of it (`next`, `on_event`, `on_timeout`, a branch's or
    /// split's path name, `default`, `holdout`), or none at a wait or an exit.
    pub outcome: Option<String>,
}

/// The result of applying one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transition {
    /// Effects to carry out, in order.
    pub effects: Vec<Effect>,
    /// Nodes passed, in order.
    pub passed: Vec<Passed>,
    /// Whether the input changed the run at all (an event no wait looks for does not).
    pub moved: bool,
}

/// Errors that mean the graph does not fit the run: the engine leaves such a run as
/// it is and reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// The run names a node its version's graph lacks.
    #[error("node {0} is not in the journey's graph")]
    UnknownNode(NodeId),
    /// Nodes without a wait led back to themselves.
    #[error("more than {MAX_STEPS_PER_TRANSITION} nodes passed without a wait")]
    Runaway,
}

/// The graph of one published version, as the machine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph<'a> {
    /// The journey.
    pub journey: &'a JourneyId,
    /// The start node.
    pub start: &'a NodeId,
    /// The nodes.
    pub nodes: &'a BTreeMap<NodeId, Step>,
    /// The goal, if any.
    pub goal: Option<&'a EventMatch>,
    /// The entry's key property, for `same_key` waits.
    pub key_property: Option<&'a str>,
}

/// The origin of an effect decided at `node` of `version` for one entry, on the
/// run's `step`th node: what send-ledger rows and other effects are keyed by.
pub fn journey_origin(journey: &JourneyId, version: u32, node: &NodeId, entry: &str, step: u32) -> String {
    format!("journey:{journey}:v{version}:{node}:{entry}:{step}")
}

/// The journey, version and node an origin made by [`journey_origin`] names. Ids
/// have no `:`, so the parts before the entry read back unambiguously.
pub fn parse_journey_origin(origin: &str) -> Option<(JourneyId, u32, NodeId)> {
    let mut parts = origin.splitn(5, ':');
    if parts.next()? != "journey" {
        return None;
    }
    let journey = JourneyId::parse(parts.next()?).ok()?;
    let version = parts.next()?.strip_prefix('v')?.parse().ok()?;
    let node = NodeId::parse(parts.next()?).ok()?;
    Some((journey, version, node))
}
