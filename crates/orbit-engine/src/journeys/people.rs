//! Runs follow the person, not the profile id they started under.
//!
//! **Merges (OneID).** When a profile is merged into an older one, its runs carry on
//! under the survivor: a run with no counterpart is re-keyed to the survivor (its
//! stored row too, and the entry counts for the survivor's re-entry rules) and goes
//! on from where it stood — its timer fires once, and the survivor's events end its
//! wait for an event. When both were in the same journey with the same entry key, the
//! run further along (more nodes passed; on a tie the earlier entry, then the
//! survivor's) carries on and the other leaves as `merged`. A merge is noticed when
//! the runner matches an event of the survivor (the event that caused it comes first:
//! the pipeline has merged by the time the runner reads it), by looking up the ids
//! merged into the event's person among the runs held — one look-up per merged id —
//! and, for runs whose events never come, when their timer fires and at start-up.
//!
//! **Erasure.** An erased person leaves every journey at once (`erased`, tallied); the
//! effects decided for them and not yet done are dropped, and their stored runs,
//! which carry their events' properties and their path, are deleted.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use orbit_core::journey::{ExitReason, Input, Run};
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::{JourneyBatch, MovedRun, StoredEvent, StoredRun};

use super::state::{RunKey, RunnerState};
use super::{JourneyRunner, summed};
use crate::EngineError;

impl JourneyRunner {
    /// Before an event moves anyone: the runs of people merged into its person are
    /// carried over to them, so that this event and those after reach those runs.
    pub(super) fn follow_merges(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        stored: &StoredEvent,
        now: Timestamp,
    ) {
        let Some(profile) = stored.profile_id else {
            return;
        };
        let workspace = &stored.event.workspace_id;
        let Some(survivor) = self.pipeline.survivor(workspace, profile) else {
            return;
        };
        for merged in self.pipeline.merged_ids(workspace, survivor) {
            self.carry_over(state, batch, workspace, merged, survivor, now);
        }
    }

    /// Before timers fire: a run whose person was merged away is carried over first
    /// (and fires under the survivor, unless it left as merged); runs of erased people
    /// are taken out rather than fired. The keys to fire.
    ///
    /// # Errors
    /// Fails when the changes cannot be stored.
    pub(super) async fn follow_due(
        &self,
        state: &mut RunnerState,
        due: Vec<RunKey>,
        now: Timestamp,
    ) -> Result<Vec<RunKey>, EngineError> {
        let mut batch = JourneyBatch::default();
        let mut erased: BTreeMap<WorkspaceId, BTreeSet<ProfileId>> = BTreeMap::new();
        let mut fire = Vec::with_capacity(due.len());
        for key in due {
            match self.pipeline.survivor(&key.workspace, key.profile) {
                Some(survivor) if survivor == key.profile => fire.push(key),
                Some(survivor) => {
                    self.carry_over(state, &mut batch, &key.workspace, key.profile, survivor, now);
                    let carried = RunKey {
                        profile: survivor,
                        ..key
                    };
                    if state.runs.contains_key(&carried) {
                        fire.push(carried);
                    }
                }
                None => {
                    erased
                        .entry(key.workspace.clone())
                        .or_default()
                        .insert(key.profile);
                }
            }
        }
        self.commit(batch).await?;
        for (workspace, people) in erased {
            let people: Vec<ProfileId> = people.into_iter().collect();
            self.take_out(state, &workspace, &people).await?;
        }
        Ok(fire)
    }

    /// At start-up: runs whose person was merged away or erased while the runner was
    /// not looking (a crash between the erasure and taking them out) are dealt with
    /// before anything moves.
    ///
    /// # Errors
    /// Fails when the changes cannot be stored.
    pub(super) async fn follow_everyone(&self) -> Result<(), EngineError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        let people: BTreeSet<(WorkspaceId, ProfileId)> = state
            .runs
            .keys()
            .map(|key| (key.workspace.clone(), key.profile))
            .collect();
        let mut batch = JourneyBatch::default();
        let mut erased: BTreeMap<WorkspaceId, Vec<ProfileId>> = BTreeMap::new();
        for (workspace, person) in people {
            match self.pipeline.survivor(&workspace, person) {
                Some(survivor) if survivor == person => {}
                Some(survivor) => self.carry_over(&mut state, &mut batch, &workspace, person, survivor, now),
                None => erased.entry(workspace).or_default().push(person),
            }
        }
        self.commit(batch).await?;
        for (workspace, people) in erased {
            self.take_out(&mut state, &workspace, &people).await?;
        }
        Ok(())
    }

    /// Takes an erased person (their profile id and the ids merged into it) out of
    /// every journey: each run leaves as `erased`, their effects not yet done are
    /// dropped, and their stored runs are deleted. Effects under way finish first;
    /// none of theirs is done after this returns.
    ///
    /// # Errors
    /// Fails when the store cannot be written; nothing was then deleted.
    pub async fn erase_people(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Result<(), EngineError> {
        let mut state = self.state.lock().await;
        self.take_out(&mut state, workspace, people).await
    }

    /// [`JourneyRunner::erase_people`], the runner's memory held.
    async fn take_out(
        &self,
        state: &mut RunnerState,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Result<(), EngineError> {
        // Lock order: the runner's memory, then the effects (as everywhere).
        let _doing = self.doing.lock().await;
        let now = self.clock.now();
        let mut batch = JourneyBatch::default();
        for person in people {
            for key in state.runs_of(workspace, *person) {
                self.move_run(state, &mut batch, &key, Input::Leave(ExitReason::Erased), now);
                // One whose journey the runner no longer holds is forgotten all the same.
                state.take(&key);
            }
        }
        let counts = summed(batch.counts);
        self.stores
            .journey_runs
            .erase_journey_people(workspace, people, &counts)
            .await?;
        Ok(())
    }

    /// Carries `merged`'s runs over to `survivor`, or lets them leave as merged where
    /// the survivor's own run in the journey, with the same key, is further along.
    fn carry_over(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        workspace: &WorkspaceId,
        merged: ProfileId,
        survivor: ProfileId,
        now: Timestamp,
    ) {
        for key in state.runs_of(workspace, merged) {
            let Some(run) = state.runs.get(&key) else {
                continue;
            };
            let counterpart = state.runs_of(workspace, survivor).into_iter().find(|theirs| {
                theirs.journey == key.journey && state.runs.get(theirs).is_some_and(|r| r.key == run.key)
            });
            let Some(theirs) = counterpart else {
                self.re_key(state, batch, &key, survivor, now);
                continue;
            };
            let ours_ahead = state
                .runs
                .get(&theirs)
                .is_some_and(|their_run| further_along(run, their_run));
            if ours_ahead {
                self.move_run(state, batch, &theirs, Input::Leave(ExitReason::Merged), now);
                self.re_key(state, batch, &key, survivor, now);
            } else {
                self.move_run(state, batch, &key, Input::Leave(ExitReason::Merged), now);
            }
        }
    }

    /// Moves one run to `survivor`, as it stands.
    fn re_key(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        key: &RunKey,
        survivor: ProfileId,
        now: Timestamp,
    ) {
        let Some(mut run) = state.take(key) else {
            return;
        };
        state.transfer_entry(&key.workspace, &run, survivor);
        run.profile = survivor;
        batch.moved.push(MovedRun {
            workspace_id: key.workspace.clone(),
            journey_id: key.journey.clone(),
            from: key.profile,
            entry: key.entry.clone(),
        });
        batch.runs.push(StoredRun {
            workspace_id: key.workspace.clone(),
            run: run.clone(),
            updated_at: now,
        });
        // Indexed under the survivor, its timer pushed anew: the old one is stale.
        state.put(&key.workspace, run);
    }
}

/// Whether `ours` (the merged-away person's run) is further along than `theirs` (the
/// survivor's): more nodes passed, or as many and entered earlier.
fn further_along(ours: &Run, theirs: &Run) -> bool {
    (ours.steps, std::cmp::Reverse(ours.entered_at)) > (theirs.steps, std::cmp::Reverse(theirs.entered_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_core::JourneyId;
    use orbit_core::journey::RunState;

    fn run(steps: u32, entered: i64) -> Run {
        Run {
            journey: JourneyId::parse("j").expect("id"),
            version: 1,
            profile: ProfileId::mint(Timestamp::UNIX_EPOCH, 1),
            entry: "1".to_owned(),
            key: None,
            entered_at: Timestamp::from_second(entered).expect("a time"),
            entry_event: None,
            wait_event: None,
            steps,
            state: RunState::Entering,
            path: Default::default(),
        }
    }

    #[test]
    fn the_run_further_along_wins_and_a_tie_goes_to_the_earlier_entry_then_the_survivor() {
        assert!(further_along(&run(3, 100), &run(2, 50)));
        assert!(!further_along(&run(2, 50), &run(3, 100)));
        assert!(further_along(&run(2, 50), &run(2, 100)));
        assert!(!further_along(&run(2, 100), &run(2, 50)));
        assert!(
            !further_along(&run(2, 50), &run(2, 50)),
            "a full tie keeps the survivor's"
        );
    }
}
