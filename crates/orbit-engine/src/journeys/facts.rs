//! A person as a journey's branches and waits read them: traits from the resolver,
//! conditions from the audience index, each read only when a node asks.

use jiff::tz::TimeZone;
use orbit_core::audience::Condition;
use orbit_core::journey::PersonFacts;
use orbit_core::{ProfileId, WorkspaceId};
use serde_json::Value;

use crate::PipelineHandle;
use crate::service::Audiences;

/// One person's facts, read on demand.
pub(super) struct LiveFacts<'a> {
    pub(super) workspace: &'a WorkspaceId,
    pub(super) profile_id: ProfileId,
    pub(super) pipeline: &'a PipelineHandle,
    pub(super) audiences: &'a Audiences,
}

impl<'a> LiveFacts<'a> {
    /// The facts of a person as the engine holds them when asked.
    pub(super) fn read(
        workspace: &'a WorkspaceId,
        profile_id: ProfileId,
        pipeline: &'a PipelineHandle,
        audiences: &'a Audiences,
    ) -> Self {
        Self {
            workspace,
            profile_id,
            pipeline,
            audiences,
        }
    }
}

impl PersonFacts for LiveFacts<'_> {
    fn time_zone(&self) -> TimeZone {
        // The person's own zone when they have a valid one, as the contact policy reads it.
        self.trait_value("time_zone")
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or_else(|| self.pipeline.time_zone(self.workspace))
    }

    fn trait_value(&self, name: &str) -> Option<Value> {
        self.pipeline.profile_trait(self.workspace, self.profile_id, name)
    }

    fn holds(&self, condition: &Condition) -> bool {
        self.audiences
            .profile_holds(self.workspace, self.profile_id, condition)
    }
}
