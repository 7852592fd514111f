//! The journey runner: matches every committed event against journey entries and the
//! people waiting for an event, fires timers when they come due, and carries out the
//! effects the state machine decides (SPEC.md §7, docs/journeys.md).
//!
//! One step reads the events after the runner's cursor, moves every run they concern
//! through `orbit_core::journey::apply`, and stores the new run states, the decided
//! effects, the node tallies and the cursor in one transaction; only then are the
//! effects done, each keyed by its origin so doing one twice after a crash changes
//! nothing. Timers live in memory in a heap rebuilt from the stored runs at start-up,
//! so firing one is not a poll of the table.

mod admission;
mod api_entry;
mod dates;
mod effects;
mod facts;
mod matching;
mod outbound;
mod own_effects;
mod people;
mod state;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use orbit_core::journey::{ExitReason, Input, JourneyStatus, Run, Transition, apply};
use orbit_core::{JourneyId, WorkspaceId};
use orbit_store::{JourneyBatch, JourneyEffectRecord, LogPosition, StoredRun, Stores};

use crate::clock::EngineClock;
use crate::service::{Audiences, Delivery};
use crate::{EngineError, PipelineHandle};
use effects::Reach;
use facts::LiveFacts;
use state::{LiveJourney, RunKey, RunnerState, tallies};

pub use api_entry::ApiEntry;
pub use state::{JOURNEY_TALLY, exit_name};

/// Moves people through journeys.
pub struct JourneyRunner {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: EngineClock,
    audiences: Arc<Audiences>,
    delivery: Arc<Delivery>,
    state: tokio::sync::Mutex<RunnerState>,
    /// Rung when a journey changed, so the loop looks at its timers again.
    changed: tokio::sync::Notify,
    /// Rung when webhooks or staff notices may be waiting.
    outbound_wake: tokio::sync::Notify,
    /// Held while the outbound lane is worked.
    outbound_lock: tokio::sync::Mutex<()>,
    /// Held while effects are done, so that an erasure never drops one under way.
    doing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for JourneyRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneyRunner").finish_non_exhaustive()
    }
}

impl JourneyRunner {
    /// Loads the published journeys, the runs still in them and the entry history.
    ///
    /// # Errors
    /// Fails when the store cannot be read.
    pub async fn load(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: EngineClock,
        audiences: Arc<Audiences>,
        delivery: Arc<Delivery>,
    ) -> Result<Self, EngineError> {
        let runner = Self {
            stores,
            pipeline,
            clock,
            audiences,
            delivery,
            state: tokio::sync::Mutex::new(RunnerState::default()),
            changed: tokio::sync::Notify::new(),
            outbound_wake: tokio::sync::Notify::new(),
            outbound_lock: tokio::sync::Mutex::new(()),
            doing: tokio::sync::Mutex::new(()),
        };
        *runner.state.lock().await = runner.read_state().await?;
        Ok(runner)
    }

    async fn read_state(&self) -> Result<RunnerState, EngineError> {
        let mut state = RunnerState::default();
        state.cursor = match self.stores.journey_runs.journey_cursor().await? {
            // Never run before: journeys react to what happens from now on.
            LogPosition(0) => self.stores.events.head().await?,
            stored => stored,
        };
        for record in self.stores.journeys.active_journeys().await? {
            let journey = self.read_journey(&record.workspace_id, &record.id).await?;
            if let Some(journey) = journey {
                state
                    .journeys
                    .insert((record.workspace_id.clone(), record.id.clone()), journey);
            }
        }
        state.add_summaries(self.stores.journey_runs.entry_summaries().await?);
        for stored in self.stores.journey_runs.active_runs().await? {
            state.restore(&stored.workspace_id, stored.run);
        }
        self.load_dates(&mut state).await?;
        Ok(state)
    }

    async fn read_journey(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
    ) -> Result<Option<LiveJourney>, EngineError> {
        let Some(record) = self.stores.journeys.journey(workspace, id).await? else {
            return Ok(None);
        };
        let published = self.stores.journeys.journey_versions(workspace, id).await?;
        let live_since = published
            .iter()
            .find(|v| Some(v.version) == record.live_version)
            .map(|v| v.published_at);
        let versions = published
            .into_iter()
            .map(|v| (v.version, Arc::new(v.definition)))
            .collect();
        Ok(Some(LiveJourney {
            id: record.id,
            status: record.status,
            live: record.live_version,
            versions,
            live_since,
        }))
    }

    /// Does what a previous process decided and did not finish (its webhooks and staff
    /// notices in the background), catches up with the log, then keeps matching events
    /// and firing timers in the background.
    ///
    /// # Errors
    /// Fails when the first step cannot be stored.
    pub async fn start(self: &Arc<Self>) -> Result<(), EngineError> {
        self.follow_everyone().await?;
        // Posts and emails left pending go out from the outbound worker: a receiver
        // that is slow or down does not hold up the server's start.
        self.step_reaching(Reach::WithinOrbit).await?;
        tokio::spawn(self.clone().run());
        tokio::spawn(self.clone().run_outbound());
        Ok(())
    }

    /// The outbound worker: webhooks and staff notices, apart from the runner's loop
    /// so that a receiver that is slow or down delays no other journey's step.
    async fn run_outbound(self: Arc<Self>) {
        loop {
            if let Err(error) = self.do_outbound_lane().await {
                tracing::warn!(%error, "journey webhooks and notices failed; tried again shortly");
            }
            // An idle pause, not product time: the wake normally comes first.
            let _ = tokio::time::timeout(Duration::from_secs(1), self.outbound_wake.notified()).await;
        }
    }

    async fn run(self: Arc<Self>) {
        let mut head = self.pipeline.head();
        loop {
            let next = {
                let mut state = self.state.lock().await;
                match (state.next_due(), state.dates.next_due()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = wait_for(&self.clock, next) => {}
                () = self.changed.notified() => {}
            }
            if let Err(error) = self.step_reaching(Reach::WithinOrbit).await {
                tracing::warn!(%error, "a journey step failed; its runs are read again from the store");
                // An idle pause before retrying storage, not product time.
                tokio::time::sleep(Duration::from_millis(500)).await;
                // Read under the lock: a step of a clock move stored in between would
                // otherwise be overwritten in memory by the older reading.
                let mut state = self.state.lock().await;
                match self.read_state().await {
                    Ok(fresh) => *state = fresh,
                    Err(error) => tracing::warn!(%error, "reading the journey runs failed"),
                }
            }
        }
    }

    /// Everything due now, done before it returns: events committed so far matched,
    /// timers due fired, effects done. A move of a simulated clock calls it.
    ///
    /// # Errors
    /// Fails when runs or effects cannot be stored.
    pub async fn step(&self) -> Result<(), EngineError> {
        self.step_reaching(Reach::Everywhere).await
    }

    async fn step_reaching(&self, reach: Reach) -> Result<(), EngineError> {
        {
            let mut state = self.state.lock().await;
            self.match_log(&mut state).await?;
            self.fire_due(&mut state).await?;
        }
        self.do_effects(reach).await
    }

    /// Re-reads a journey after its status or versions changed: archiving takes
    /// everyone out, resuming fires the timers that came due while paused.
    ///
    /// # Errors
    /// Fails when the journey or the exits cannot be stored.
    pub async fn journey_changed(&self, workspace: &WorkspaceId, id: &JourneyId) -> Result<(), EngineError> {
        let journey = self.read_journey(workspace, id).await?;
        {
            let mut state = self.state.lock().await;
            let key = (workspace.clone(), id.clone());
            let was_paused = state
                .journeys
                .get(&key)
                .is_some_and(|j| j.status == JourneyStatus::Paused);
            let now = self.clock.now();
            let mut batch = JourneyBatch::default();
            match journey {
                Some(journey) if journey.status == JourneyStatus::Archived => {
                    state.journeys.insert(key, journey);
                    for run_key in state.runs_in(workspace, id) {
                        self.move_run(
                            &mut state,
                            &mut batch,
                            &run_key,
                            Input::Leave(ExitReason::Archived),
                            now,
                        );
                    }
                    self.forget_dates(&mut state, &mut batch, workspace, id, true);
                    self.commit(batch).await?;
                    state.journeys.remove(&(workspace.clone(), id.clone()));
                }
                Some(journey) => {
                    let live = journey.status == JourneyStatus::Live;
                    state.journeys.insert(key, journey);
                    // Planned again from the mark: the new version's entry may differ.
                    self.forget_dates(&mut state, &mut batch, workspace, id, false);
                    if live {
                        state.release_held(workspace, id);
                        if was_paused {
                            self.mark_resumed(&mut state, &mut batch, workspace, id, now);
                        }
                        self.plan_dates(&mut state, workspace, id);
                    }
                    self.commit(batch).await?;
                }
                None => {
                    self.forget_dates(&mut state, &mut batch, workspace, id, true);
                    self.commit(batch).await?;
                    state.journeys.remove(&key);
                }
            }
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Fires every timer due now.
    async fn fire_due(&self, state: &mut RunnerState) -> Result<(), EngineError> {
        let now = self.clock.now();
        let due = state.take_due(now);
        let due = self.follow_due(state, due, now).await?;
        if !due.is_empty() {
            tracing::debug!(count = due.len(), %now, "journey timers fire");
            let mut batch = JourneyBatch::default();
            for key in &due {
                self.move_run(state, &mut batch, key, Input::Timer, now);
            }
            self.commit(batch).await?;
        }
        self.fire_dates(state, now).await
    }

    /// Applies one input to one run and adds what changed to the batch.
    fn move_run(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        key: &RunKey,
        input: Input<'_>,
        now: Timestamp,
    ) {
        let Some(mut run) = state.runs.get(key).cloned() else {
            return;
        };
        let entered = matches!(input, Input::Enter);
        let transition: Transition = {
            let Some(journey) = state.journeys.get(&(key.workspace.clone(), key.journey.clone())) else {
                return;
            };
            // A paused journey holds everyone where they are.
            if journey.status == JourneyStatus::Paused && !matches!(input, Input::Leave(_)) {
                return;
            }
            let Some(graph) = journey.graph(run.version) else {
                return;
            };
            let facts = LiveFacts::read(&key.workspace, key.profile, &self.pipeline, &self.audiences);
            match apply(&graph, &mut run, input, &facts, now) {
                Ok(transition) => transition,
                Err(error) => {
                    tracing::error!(%error, journey = %key.journey, "a run does not fit its journey's graph");
                    return;
                }
            }
        };
        if !transition.moved {
            return;
        }
        batch
            .counts
            .extend(tallies(&key.workspace, &run, &transition.passed, entered));
        for effect in transition.effects {
            batch.effects.push(JourneyEffectRecord {
                id: effect_id(&key.workspace, &effect.origin, &run),
                workspace_id: key.workspace.clone(),
                journey_id: run.journey.clone(),
                version: run.version,
                profile_id: run.profile,
                effect,
                created_at: now,
            });
        }
        batch.runs.push(StoredRun {
            workspace_id: key.workspace.clone(),
            run: run.clone(),
            updated_at: now,
        });
        state.put(&key.workspace, run);
    }

    async fn commit(&self, mut batch: JourneyBatch) -> Result<(), EngineError> {
        if batch.is_empty() {
            return Ok(());
        }
        batch.counts = summed(std::mem::take(&mut batch.counts));
        self.stores.journey_runs.commit_journey_batch(&batch).await?;
        Ok(())
    }

    /// How many people wait at each node, per version, now.
    pub async fn waiting_at(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
    ) -> std::collections::BTreeMap<(u32, orbit_core::NodeId), u64> {
        self.state.lock().await.waiting_at(workspace, journey)
    }
}

/// Returns when a timer due at `next` should fire: on the wall clock then; on a
/// simulated clock only if already due (each move fires what it makes due itself).
async fn wait_for(clock: &EngineClock, next: Option<Timestamp>) {
    match next {
        Some(at) => clock.job_due(at).await,
        None => std::future::pending().await,
    }
}

/// An effect's id: its origin and person, within the workspace.
fn effect_id(workspace: &WorkspaceId, origin: &str, run: &Run) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [
        workspace.as_str().as_bytes(),
        origin.as_bytes(),
        run.profile.as_bytes(),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

/// Tallies with the same node and outcome added together: a step of a thousand
/// entries passing the same nodes stores a handful of rows, not thousands.
fn summed(counts: Vec<orbit_store::NodeCount>) -> Vec<orbit_store::NodeCount> {
    let mut by_key: std::collections::BTreeMap<
        (WorkspaceId, JourneyId, u32, orbit_core::NodeId, String),
        u64,
    > = std::collections::BTreeMap::new();
    for c in counts {
        *by_key
            .entry((c.workspace_id, c.journey_id, c.version, c.node, c.outcome))
            .or_default() += c.count;
    }
    by_key
        .into_iter()
        .map(
            |((workspace_id, journey_id, version, node, outcome), count)| orbit_store::NodeCount {
                workspace_id,
                journey_id,
                version,
                node,
                outcome,
                count,
            },
        )
        .collect()
}
