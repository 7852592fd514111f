//! What the journeys API reads and answers.

use std::collections::BTreeMap;

use jiff::Timestamp;
use orbit_core::audience::EventMatch;
use orbit_core::journey::{
    Entry, EntryLimits, JourneyDefinition, JourneyLayout, JourneyProblem, JourneyStatus, Reentry, Step,
};
use orbit_core::{ErrorCode, JourneyId, NodeId, Problem};
use orbit_store::{JourneyRecord, JourneyVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A journey's draft as written (`POST /v1/journeys`, `PUT /v1/journeys/{id}`): an
/// optional id beside its definition.
// Spelt out rather than flattened: a flattened definition would neither refuse unknown
// fields nor name the field that is wrong.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyDraft {
    /// `[a-z0-9_-]`, 1–64; one is made up (`journey-…`) on create when left out. On
    /// `PUT` it must match the path.
    #[serde(default)]
    #[schema(example = "first-order-gift")]
    pub id: Option<String>,
    /// A name people recognise, not blank.
    #[schema(example = "首单礼")]
    pub name: String,
    /// What the journey is for.
    #[serde(default)]
    pub description: Option<String>,
    /// How people enter.
    pub entry: Entry,
    /// Whether and when a person may enter again (default: once ever).
    #[serde(default)]
    pub reentry: Reentry,
    /// Caps on entries.
    #[serde(default)]
    pub limits: EntryLimits,
    /// The event that takes a person out as converted.
    #[serde(default)]
    pub goal: Option<EventMatch>,
    /// The node every entry starts at.
    pub start: NodeId,
    /// The graph, by node id.
    pub nodes: BTreeMap<NodeId, Step>,
    /// Where the console draws the entry and each node (`{"entry": {"x": 0, "y": 0},
    /// "nodes": {"wait": {"x": 240, "y": 0}}}`); the runtime never reads it.
    #[serde(default)]
    pub layout: Option<JourneyLayout>,
}

impl JourneyDraft {
    /// The id given, and the definition.
    pub(super) fn into_parts(self) -> (Option<String>, JourneyDefinition) {
        // No `..`: a field added to the definition must be added here too.
        let Self {
            id,
            name,
            description,
            entry,
            reentry,
            limits,
            goal,
            start,
            nodes,
            layout,
        } = self;
        let definition = JourneyDefinition {
            name,
            description,
            entry,
            reentry,
            limits,
            goal,
            start,
            nodes,
            layout,
        };
        (id, definition)
    }
}

/// A published version, in a journey's list of them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionSummary {
    /// The version number, from 1.
    pub version: u32,
    /// When it was published.
    pub published_at: Timestamp,
}

/// A journey as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyView {
    /// Its id.
    pub id: JourneyId,
    /// Where it stands.
    pub status: JourneyStatus,
    /// The published version that takes new entries, once published.
    pub live_version: Option<u32>,
    /// The definition being edited; publishing makes it a new version.
    pub draft: JourneyDefinition,
    /// Every published version, oldest first.
    pub versions: Vec<VersionSummary>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its draft or status last changed.
    pub updated_at: Timestamp,
}

impl JourneyView {
    pub(super) fn new(record: JourneyRecord, versions: &[JourneyVersion]) -> Self {
        Self {
            id: record.id,
            status: record.status,
            live_version: record.live_version,
            draft: record.draft,
            versions: versions
                .iter()
                .map(|v| VersionSummary {
                    version: v.version,
                    published_at: v.published_at,
                })
                .collect(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// The workspace's journeys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyList {
    /// Every journey, by id.
    pub journeys: Vec<JourneyView>,
}

/// One published version with its graph, as it was published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyVersionView {
    /// The journey.
    pub journey: JourneyId,
    /// The version number.
    pub version: u32,
    /// When it was published.
    pub published_at: Timestamp,
    /// The definition as published; it never changes.
    pub definition: JourneyDefinition,
}

impl From<JourneyVersion> for JourneyVersionView {
    fn from(v: JourneyVersion) -> Self {
        Self {
            journey: v.journey_id,
            version: v.version,
            published_at: v.published_at,
            definition: v.definition,
        }
    }
}

/// What checking a draft found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyValidation {
    /// Whether it can be published.
    pub valid: bool,
    /// Every problem, each on its node and field.
    pub problems: Vec<JourneyProblem>,
}

/// A step in a journey's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyAction {
    /// Makes the draft a new version that takes new entries.
    Publish,
    /// Stops new entries and holds everyone where they are.
    Pause,
    /// Lets a paused journey go on.
    Resume,
    /// Ends the journey: no entries; everyone still in it leaves.
    Archive,
}

impl JourneyAction {
    /// Reads the action a path names.
    ///
    /// # Errors
    /// `not_found` for anything else: there is no such route.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        match raw {
            "publish" => Ok(Self::Publish),
            "pause" => Ok(Self::Pause),
            "resume" => Ok(Self::Resume),
            "archive" => Ok(Self::Archive),
            other => Err(Problem::new(
                ErrorCode::NotFound,
                format!("no action {other:?}; use publish, pause, resume or archive"),
            )),
        }
    }
}

/// How a journey is doing: entries, conversions, exits and, per node, how many
/// arrived, wait there now, and left by each path.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyReport {
    /// The journey.
    pub journey: JourneyId,
    /// Where it stands.
    pub status: JourneyStatus,
    /// Entries, all versions.
    pub entered: u64,
    /// People who performed the goal while in it.
    pub converted: u64,
    /// People still in it.
    pub in_journey: u64,
    /// People who left, by reason (`completed`, `goal`, `late`, `holdout`,
    /// `missing_time`, `merged`, `erased`, `archived`).
    pub exited: BTreeMap<String, u64>,
    /// Per version and node.
    pub nodes: Vec<NodeReport>,
}

/// One node of one version in a journey's report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeReport {
    /// The version.
    pub version: u32,
    /// The node.
    pub node: NodeId,
    /// Its `type`.
    pub kind: String,
    /// People who reached it.
    pub entered: u64,
    /// People waiting at it now.
    pub waiting: u64,
    /// People who left it, by path (`next`, `on_event`, `on_timeout`, a branch's or
    /// split's path name, `default`, `late`, `holdout`, `missing_time`, `goal`).
    pub outcomes: BTreeMap<String, u64>,
}

/// A person entered into a journey by an API call (`POST /v1/journeys/{id}/entries`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyEntryRequest {
    /// Who: an identity, `TYPE:VALUE` (`user_id:member-1`, `phone:13800138000`).
    #[schema(example = "user_id:member-1")]
    pub identity: String,
    /// Properties the journey reads as its entry event's (`booked_at`…).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Calling again with the same key finds the first call's entry.
    #[serde(default)]
    #[schema(example = "booking-8812")]
    pub idempotency_key: Option<String>,
}

/// What an API entry did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyEntryAnswer {
    /// Whether the person is in (also when the idempotency key found an earlier entry).
    pub entered: bool,
    /// The entry's id, when entered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Why not, when refused by the re-entry rules or limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<orbit_core::journey::EntryRefusal>,
}
