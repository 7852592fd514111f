//! A person's journeys (`GET /v1/profiles/{id}/journeys`): every entry of theirs,
//! under their id or one merged into them, with where it stands and the way it went.

use std::collections::BTreeMap;

use jiff::Timestamp;
use orbit_core::journey::{ExitReason, RunPath, RunState};
use orbit_core::{JourneyId, NodeId, ProfileId, WorkspaceId};
use orbit_store::StoredRun;
use serde::Serialize;
use utoipa::ToSchema;

use super::Journeys;
use crate::EngineError;
use crate::service::profiles::{ids_of, live_profile};

/// A person's journeys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileJourneys {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// Every entry into a journey, newest first.
    pub journeys: Vec<ProfileJourney>,
}

/// One entry of a person into a journey.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileJourney {
    /// The journey.
    pub journey: JourneyId,
    /// Its name, as in the version entered.
    pub name: String,
    /// The version entered; the person stays on it.
    pub version: u32,
    /// The entry's id: the log position of the event that brought the person in, or
    /// `api:…` for an API call.
    pub entry: String,
    /// The entry key's value, for keyed entries (`order_id`…).
    pub key: Option<String>,
    /// The profile id the entry is recorded under: the person's own, or, for an entry
    /// that left as `merged`, the id of the profile merged into them.
    pub profile_id: ProfileId,
    /// When the person entered.
    pub entered_at: Timestamp,
    /// Where the entry stands.
    pub state: JourneyStanding,
    /// The nodes passed, with how and when each was left, and the exit: the first 20
    /// steps and the latest 30, `omitted` counting those between.
    pub path: RunPath,
}

/// Where an entry stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JourneyStanding {
    /// Just entered, not yet moved.
    Entering,
    /// Waiting at a node.
    Waiting {
        /// The node.
        node: NodeId,
        /// Until when (for an event: when the wait times out).
        until: Timestamp,
        /// Whether an event can end the wait first.
        for_event: bool,
    },
    /// Left the journey.
    Exited {
        /// The node it left at, if any.
        node: Option<NodeId>,
        /// Why (`completed`, `goal`, `late`, `holdout`, `missing_time`, `merged`,
        /// `archived`).
        reason: ExitReason,
        /// When.
        at: Timestamp,
    },
}

impl From<RunState> for JourneyStanding {
    fn from(state: RunState) -> Self {
        match state {
            RunState::Entering => Self::Entering,
            RunState::Waiting {
                node,
                until,
                for_event,
            } => Self::Waiting {
                node,
                until,
                for_event,
            },
            RunState::Exited { node, reason, at } => Self::Exited { node, reason, at },
        }
    }
}

impl Journeys {
    /// A person's journeys, by their id or one merged into them: the entries of the
    /// person and of every profile merged into them, newest entry first.
    ///
    /// # Errors
    /// `invalid_id` (`id`), `not_found`; fails when the runs cannot be read.
    pub async fn profile_journeys(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<ProfileJourneys, EngineError> {
        let profile = live_profile(&self.pipeline, workspace, id, "id")?;
        let mut runs: Vec<StoredRun> = Vec::new();
        for person in ids_of(&profile) {
            runs.extend(self.stores.journey_runs.profile_runs(workspace, person).await?);
        }
        // Newest entry first; entries at the same moment in a fixed order, as the store gives them.
        runs.sort_by(|a, b| {
            b.run
                .entered_at
                .cmp(&a.run.entered_at)
                .then_with(|| (&a.run.journey, &a.run.entry).cmp(&(&b.run.journey, &b.run.entry)))
        });
        let mut names: BTreeMap<(JourneyId, u32), String> = BTreeMap::new();
        let mut journeys = Vec::with_capacity(runs.len());
        for stored in runs {
            let run = stored.run;
            let name = match names.get(&(run.journey.clone(), run.version)) {
                Some(name) => name.clone(),
                None => {
                    let version = self
                        .stores
                        .journeys
                        .journey_version(workspace, &run.journey, run.version)
                        .await?;
                    let name = version.map(|v| v.definition.name).unwrap_or_default();
                    names.insert((run.journey.clone(), run.version), name.clone());
                    name
                }
            };
            journeys.push(ProfileJourney {
                journey: run.journey,
                name,
                version: run.version,
                entry: run.entry,
                key: run.key,
                profile_id: run.profile,
                entered_at: run.entered_at,
                state: run.state.into(),
                path: run.path,
            });
        }
        Ok(ProfileJourneys {
            profile_id: profile.id,
            journeys,
        })
    }
}
