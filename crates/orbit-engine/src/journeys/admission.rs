//! Admitting a person into a journey: the one way in, whatever the entry — an event,
//! an event count, a segment transition, a date, a schedule or an API call.

use jiff::Timestamp;
use orbit_core::journey::{
    EntryRefusal, ExitReason, Input, JourneyDefinition, JourneyEvent, PersonFacts, Run, RunPath, RunState,
    may_enter,
};
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{JourneyBatch, StoredRun};

use super::JourneyRunner;
use super::facts::LiveFacts;
use super::state::{RunKey, RunnerState, tallies};

/// Who enters, how, and into what.
pub(super) struct Admission<'a> {
    pub(super) workspace: &'a WorkspaceId,
    pub(super) journey: &'a JourneyId,
    pub(super) version: u32,
    pub(super) definition: &'a JourneyDefinition,
    pub(super) profile: ProfileId,
    /// The entry's id, unique per person and journey (the event's log position, the
    /// date's occurrence, the caller's idempotency key).
    pub(super) entry: String,
    /// The value re-entry rules count by (an order id, a birthday's year).
    pub(super) key: Option<String>,
    pub(super) entry_event: Option<JourneyEvent>,
    /// Later than the entry's lateness limit: recorded as entered and left at once,
    /// with the reason.
    pub(super) late: bool,
}

impl JourneyRunner {
    /// Enters one person if the journey's re-entry rules and limits allow it, and
    /// moves them on as far as they go now; why not otherwise.
    pub(super) fn admit(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        who: Admission<'_>,
        now: Timestamp,
    ) -> Result<(), EntryRefusal> {
        let facts = LiveFacts::read(who.workspace, who.profile, &self.pipeline, &self.audiences);
        let history = state.history(who.workspace, who.journey, who.profile, who.key.as_deref());
        let definition = who.definition;
        may_enter(
            &definition.reentry,
            &definition.limits,
            &history,
            now,
            &facts.time_zone(),
        )?;
        let mut run = Run {
            journey: who.journey.clone(),
            version: who.version,
            profile: who.profile,
            entry: who.entry,
            key: who.key,
            entered_at: now,
            entry_event: who.entry_event,
            wait_event: None,
            steps: 0,
            state: RunState::Entering,
            path: RunPath::default(),
        };
        state.note_entry(who.workspace, &run);
        if who.late {
            run.state = RunState::Exited {
                node: None,
                reason: ExitReason::Late,
                at: now,
            };
            run.path.leave(None, ExitReason::Late, now);
            batch.counts.extend(tallies(who.workspace, &run, &[], true));
            batch.runs.push(StoredRun {
                workspace_id: who.workspace.clone(),
                run: run.clone(),
                updated_at: now,
            });
            state.put(who.workspace, run);
            return Ok(());
        }
        let key = RunKey::of(who.workspace, &run);
        state.put(who.workspace, run);
        self.move_run(state, batch, &key, Input::Enter, now);
        Ok(())
    }
}
