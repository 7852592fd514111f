//! Entries by API call, idempotent by the caller's key.

use orbit_core::journey::{Entry, JourneyEvent};
use orbit_core::{JourneyId, WorkspaceId};
use orbit_store::JourneyBatch;

use super::JourneyRunner;
use super::admission::Admission;
use super::state::LiveJourney;
use crate::EngineError;

/// What an API entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiEntry {
    /// The person is in, under this entry id (also when an idempotency key found an
    /// earlier call's entry).
    Entered {
        /// The entry's id.
        entry: String,
    },
    /// The journey's re-entry rules or limits refused it.
    Refused {
        /// Why.
        reason: orbit_core::journey::EntryRefusal,
    },
}

impl JourneyRunner {
    /// Enters a person into a journey whose entry is an API call. With an idempotency
    /// key, calling again finds the entry made the first time and makes no second.
    ///
    /// # Errors
    /// `not_found` when the journey is not live; `invalid_request` when its entry is
    /// not an API call; storage failures.
    pub async fn enter_by_api(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
        profile: orbit_core::ProfileId,
        properties: serde_json::Map<String, serde_json::Value>,
        idempotency_key: Option<&str>,
    ) -> Result<ApiEntry, EngineError> {
        let entry = match idempotency_key {
            Some(key) => format!("api:{key}"),
            None => format!("api:{}", uuid::Uuid::new_v4().simple()),
        };
        if idempotency_key.is_some() {
            let before = self.stores.journey_runs.profile_runs(workspace, profile).await?;
            if before
                .iter()
                .any(|r| &r.run.journey == journey && r.run.entry == entry)
            {
                return Ok(ApiEntry::Entered { entry });
            }
        }
        let now = self.clock.now();
        {
            let mut state = self.state.lock().await;
            let (version, definition) = state
                .journeys
                .get(&(workspace.clone(), journey.clone()))
                .and_then(LiveJourney::taking_entries)
                .map(|(version, definition)| (version, definition.clone()))
                .ok_or_else(|| orbit_core::Problem::not_found("live journey"))?;
            if !matches!(definition.entry, Entry::Api) {
                return Err(orbit_core::Problem::invalid(
                    "journey",
                    "this journey's entry is not an API call",
                )
                .into());
            }
            let mut batch = JourneyBatch::default();
            let admission = Admission {
                workspace,
                journey,
                version,
                definition: &definition,
                profile,
                entry: entry.clone(),
                key: None,
                entry_event: Some(JourneyEvent {
                    name: "api_entry".to_owned(),
                    at: now,
                    properties,
                }),
                late: false,
            };
            if let Err(reason) = self.admit(&mut state, &mut batch, admission, now) {
                return Ok(ApiEntry::Refused { reason });
            }
            if let Err(error) = self.commit(batch).await {
                // Memory is ahead of the store now: read it back before anything else.
                *state = self.read_state().await?;
                return Err(error);
            }
        }
        // Its effects go in the next step, which this wakes.
        self.changed.notify_one();
        Ok(ApiEntry::Entered { entry })
    }
}
