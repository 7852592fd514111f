//! Effects Orbit keeps itself: a call task for the call centre and a place in a static
//! segment. Both are idempotent by construction: the task's id is the effect's id,
//! which the store keeps once, and joining a segment one is in changes nothing.

use std::collections::BTreeMap;

use orbit_core::journey::Action;
use orbit_core::messaging::Channel;
use orbit_core::{ProfileId, SegmentId, WorkspaceId};
use orbit_store::{CallTask, JourneyEffectRecord};

use super::JourneyRunner;
use crate::EngineError;
use crate::delivery::worker::address_of;

impl JourneyRunner {
    /// Files an outbound-call task for the person, listed with the campaigns' at
    /// `/v1/call-tasks`. A person without a phone number gets none, logged.
    pub(super) async fn file_call_task(
        &self,
        record: &JourneyEffectRecord,
        purpose: &str,
    ) -> Result<(), EngineError> {
        let origin = &record.effect.origin;
        let Some(profile) = self.pipeline.profile(&record.workspace_id, record.profile_id) else {
            tracing::warn!(%origin, "a journey's call task is for a person who is no longer here; not filed");
            return Ok(());
        };
        let Some(phone) = address_of(&profile, Channel::CallTask) else {
            tracing::warn!(%origin, profile = %profile.id, "a journey's call task is for a person with no phone number; not filed");
            return Ok(());
        };
        let now = self.clock.now();
        let task = CallTask {
            // Filed again after a crash, the same id finds the task filed the first time.
            id: record.id.clone(),
            workspace_id: record.workspace_id.clone(),
            profile_id: profile.id,
            phone,
            script: purpose.to_owned(),
            campaign_id: None,
            status: "open".to_owned(),
            outcome: None,
            created_at: now,
            updated_at: now,
        };
        self.stores.call_tasks.put_call_task(&task).await?;
        Ok(())
    }

    /// Adds a round's people to the static segments their nodes name, one write per
    /// segment. A segment deleted or made dynamic since publication takes nobody,
    /// logged: retrying would not help.
    pub(super) async fn add_to_segments(&self, records: &[&JourneyEffectRecord]) -> Result<(), EngineError> {
        let mut joining: BTreeMap<(&WorkspaceId, &SegmentId), Vec<ProfileId>> = BTreeMap::new();
        for record in records {
            if let Action::AddToSegment { segment } = &record.effect.action {
                joining
                    .entry((&record.workspace_id, segment))
                    .or_default()
                    .push(record.profile_id);
            }
        }
        for ((workspace, segment), people) in joining {
            match self
                .audiences
                .add_static_members(workspace, segment, &people)
                .await
            {
                Ok(_) => {}
                Err(EngineError::Rejected(problem)) => {
                    tracing::warn!(%segment, reason = %problem.message, "a journey could not add people to a segment");
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}
