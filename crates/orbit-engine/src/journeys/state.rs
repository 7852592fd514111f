//! The journey runner's memory: published versions, the runs still in a journey,
//! indexed by person and by due time, and what re-entry rules need of past entries.
//! Rebuilt from the store at start-up; every change is stored before it is acted on.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use orbit_core::journey::{EntryHistory, ExitReason, Graph, JourneyDefinition, JourneyStatus, Run, RunState};
use orbit_core::{JourneyId, NodeId, ProfileId, WorkspaceId};
use orbit_store::{EntrySummary, LogPosition, NodeCount};

/// The node name journey-wide tallies are kept under (`entered`, `exit:goal`…); node
/// ids of a graph cannot take it (validation refuses a leading `_`).
pub const JOURNEY_TALLY: &str = "_journey";

/// One run's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct RunKey {
    pub(super) workspace: WorkspaceId,
    pub(super) journey: JourneyId,
    pub(super) profile: ProfileId,
    pub(super) entry: String,
}

impl RunKey {
    pub(super) fn of(workspace: &WorkspaceId, run: &Run) -> Self {
        Self {
            workspace: workspace.clone(),
            journey: run.journey.clone(),
            profile: run.profile,
            entry: run.entry.clone(),
        }
    }
}

/// A journey the runner knows: its status, the version taking entries, and every
/// version someone may still be on.
#[derive(Debug, Clone)]
pub(super) struct LiveJourney {
    pub(super) id: JourneyId,
    pub(super) status: JourneyStatus,
    pub(super) live: Option<u32>,
    pub(super) versions: BTreeMap<u32, Arc<JourneyDefinition>>,
    /// When the live version was published: events received before it enter nobody.
    pub(super) live_since: Option<Timestamp>,
}

impl LiveJourney {
    /// The graph of one version, as the state machine reads it.
    pub(super) fn graph(&self, version: u32) -> Option<Graph<'_>> {
        let definition = self.versions.get(&version)?;
        let key_property = match &definition.entry {
            orbit_core::journey::Entry::Event { key, .. } => key.as_deref(),
            _ => None,
        };
        Some(Graph {
            journey: &self.id,
            start: &definition.start,
            nodes: &definition.nodes,
            goal: definition.goal.as_ref(),
            key_property,
        })
    }

    /// The definition taking new entries, while live.
    pub(super) fn taking_entries(&self) -> Option<(u32, &Arc<JourneyDefinition>)> {
        if self.status != JourneyStatus::Live {
            return None;
        }
        let version = self.live?;
        Some((version, self.versions.get(&version)?))
    }
}

/// Past entries of one person with one key.
#[derive(Debug, Clone, Copy, Default)]
struct Past {
    entries: u32,
    last: Option<Timestamp>,
    active: u32,
}

type EntryScope = (WorkspaceId, JourneyId, ProfileId, Option<String>);

/// Everything the runner holds.
#[derive(Debug, Default)]
pub(super) struct RunnerState {
    /// Events up to here have been matched.
    pub(super) cursor: LogPosition,
    pub(super) journeys: HashMap<(WorkspaceId, JourneyId), LiveJourney>,
    pub(super) runs: HashMap<RunKey, Run>,
    by_profile: HashMap<(WorkspaceId, ProfileId), BTreeSet<RunKey>>,
    timers: BinaryHeap<Reverse<(Timestamp, RunKey)>>,
    /// Timers of paused journeys that came due, fired when the journey resumes.
    held: Vec<(Timestamp, RunKey)>,
    past: HashMap<EntryScope, Past>,
    per_person: HashMap<(WorkspaceId, JourneyId, ProfileId), u32>,
    totals: HashMap<(WorkspaceId, JourneyId), u64>,
    /// Date and schedule entries waiting to fire.
    pub(super) dates: super::dates::DateEntries,
}

impl RunnerState {
    /// Takes in what the store holds of past entries.
    pub(super) fn add_summaries(&mut self, summaries: Vec<EntrySummary>) {
        for s in summaries {
            let scope = (s.workspace_id.clone(), s.journey_id.clone(), s.profile_id, s.key);
            let past = self.past.entry(scope).or_default();
            past.entries += s.entries;
            past.last = past.last.max(Some(s.last_entered_at));
            *self
                .per_person
                .entry((s.workspace_id.clone(), s.journey_id.clone(), s.profile_id))
                .or_default() += s.entries;
            *self.totals.entry((s.workspace_id, s.journey_id)).or_default() += u64::from(s.entries);
        }
    }

    /// What re-entry rules see of a person's past entries with a key.
    pub(super) fn history(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
        profile: ProfileId,
        key: Option<&str>,
    ) -> EntryHistory {
        let scope = (
            workspace.clone(),
            journey.clone(),
            profile,
            key.map(str::to_owned),
        );
        let past = self.past.get(&scope).copied().unwrap_or_default();
        EntryHistory {
            entries: past.entries,
            active: past.active > 0,
            last_entered_at: past.last,
            per_person: self
                .per_person
                .get(&(workspace.clone(), journey.clone(), profile))
                .copied()
                .unwrap_or(0),
            total: self
                .totals
                .get(&(workspace.clone(), journey.clone()))
                .copied()
                .unwrap_or(0),
        }
    }

    /// Records a new entry in the history (before its first transition).
    pub(super) fn note_entry(&mut self, workspace: &WorkspaceId, run: &Run) {
        let scope = (
            workspace.clone(),
            run.journey.clone(),
            run.profile,
            run.key.clone(),
        );
        let past = self.past.entry(scope).or_default();
        past.entries += 1;
        past.last = past.last.max(Some(run.entered_at));
        past.active += 1;
        *self
            .per_person
            .entry((workspace.clone(), run.journey.clone(), run.profile))
            .or_default() += 1;
        *self
            .totals
            .entry((workspace.clone(), run.journey.clone()))
            .or_default() += 1;
    }

    /// Puts a run loaded from the store, still in its journey.
    pub(super) fn restore(&mut self, workspace: &WorkspaceId, run: Run) {
        let scope = (
            workspace.clone(),
            run.journey.clone(),
            run.profile,
            run.key.clone(),
        );
        self.past.entry(scope).or_default().active += 1;
        self.put(workspace, run);
    }

    /// Puts a run where it now stands: indexed while in, forgotten once out.
    pub(super) fn put(&mut self, workspace: &WorkspaceId, run: Run) {
        let key = RunKey::of(workspace, &run);
        match &run.state {
            RunState::Exited { .. } => {
                let scope = (
                    workspace.clone(),
                    run.journey.clone(),
                    run.profile,
                    run.key.clone(),
                );
                if let Some(past) = self.past.get_mut(&scope) {
                    past.active = past.active.saturating_sub(1);
                }
                if let Some(keys) = self.by_profile.get_mut(&(workspace.clone(), run.profile)) {
                    keys.remove(&key);
                    if keys.is_empty() {
                        self.by_profile.remove(&(workspace.clone(), run.profile));
                    }
                }
                self.runs.remove(&key);
            }
            RunState::Waiting { until, .. } => {
                self.timers.push(Reverse((*until, key.clone())));
                self.by_profile
                    .entry((workspace.clone(), run.profile))
                    .or_default()
                    .insert(key.clone());
                self.runs.insert(key, run);
            }
            RunState::Entering => {
                self.by_profile
                    .entry((workspace.clone(), run.profile))
                    .or_default()
                    .insert(key.clone());
                self.runs.insert(key, run);
            }
        }
    }

    /// Takes a run out of memory without counting it as having left: a merge carries
    /// it over to another person, or an erasure forgets it.
    pub(super) fn take(&mut self, key: &RunKey) -> Option<Run> {
        let run = self.runs.remove(key)?;
        let person = (key.workspace.clone(), key.profile);
        if let Some(keys) = self.by_profile.get_mut(&person) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_profile.remove(&person);
            }
        }
        Some(run)
    }

    /// Counts a run's entry, still in the journey, under `to` rather than its person:
    /// what the store's entry summaries say once its row is re-keyed.
    pub(super) fn transfer_entry(&mut self, workspace: &WorkspaceId, run: &Run, to: ProfileId) {
        let scope = |profile| (workspace.clone(), run.journey.clone(), profile, run.key.clone());
        if let Some(past) = self.past.get_mut(&scope(run.profile)) {
            past.entries = past.entries.saturating_sub(1);
            past.active = past.active.saturating_sub(1);
        }
        let person = |profile| (workspace.clone(), run.journey.clone(), profile);
        if let Some(entries) = self.per_person.get_mut(&person(run.profile)) {
            *entries = entries.saturating_sub(1);
        }
        let past = self.past.entry(scope(to)).or_default();
        past.entries += 1;
        past.active += 1;
        past.last = past.last.max(Some(run.entered_at));
        *self.per_person.entry(person(to)).or_default() += 1;
    }

    /// The runs of a person that are still in a journey.
    pub(super) fn runs_of(&self, workspace: &WorkspaceId, profile: ProfileId) -> Vec<RunKey> {
        self.by_profile
            .get(&(workspace.clone(), profile))
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// When the next timer is due.
    pub(super) fn next_due(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((due, key))) = self.timers.peek() {
            if self.is_current(key, *due) {
                return Some(*due);
            }
            self.timers.pop();
        }
        None
    }

    /// Takes the runs whose timers are due at `now`; those of paused journeys are
    /// held until they resume.
    pub(super) fn take_due(&mut self, now: Timestamp) -> Vec<RunKey> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, key))) = self.timers.pop() else {
                break;
            };
            if !self.is_current(&key, at) {
                continue;
            }
            let live = self
                .journeys
                .get(&(key.workspace.clone(), key.journey.clone()))
                .is_some_and(|j| j.status == JourneyStatus::Live);
            if live {
                due.push(key);
            } else {
                self.held.push((at, key));
            }
        }
        due
    }

    /// Gives a resumed journey's held timers back.
    pub(super) fn release_held(&mut self, workspace: &WorkspaceId, journey: &JourneyId) {
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(_, key)| &key.workspace == workspace && &key.journey == journey);
        self.held = others;
        for (at, key) in mine {
            self.timers.push(Reverse((at, key)));
        }
    }

    /// The runs still in one journey.
    pub(super) fn runs_in(&self, workspace: &WorkspaceId, journey: &JourneyId) -> Vec<RunKey> {
        self.runs
            .keys()
            .filter(|k| &k.workspace == workspace && &k.journey == journey)
            .cloned()
            .collect()
    }

    /// People waiting at each node of a journey, by version.
    pub(super) fn waiting_at(
        &self,
        workspace: &WorkspaceId,
        journey: &JourneyId,
    ) -> BTreeMap<(u32, NodeId), u64> {
        let mut waiting = BTreeMap::new();
        for (key, run) in &self.runs {
            if &key.workspace != workspace || &key.journey != journey {
                continue;
            }
            if let RunState::Waiting { node, .. } = &run.state {
                *waiting.entry((run.version, node.clone())).or_default() += 1;
            }
        }
        waiting
    }

    fn is_current(&self, key: &RunKey, due: Timestamp) -> bool {
        matches!(
            self.runs.get(key).map(|r| &r.state),
            Some(RunState::Waiting { until, .. }) if *until == due
        )
    }
}

/// The tallies a transition adds: each node passed, and the journey's own.
pub(super) fn tallies(
    workspace: &WorkspaceId,
    run: &Run,
    passed: &[orbit_core::journey::Passed],
    entered: bool,
) -> Vec<NodeCount> {
    let count = |node: NodeId, outcome: String| NodeCount {
        workspace_id: workspace.clone(),
        journey_id: run.journey.clone(),
        version: run.version,
        node,
        outcome,
        count: 1,
    };
    let journey_node = NodeId::parse(JOURNEY_TALLY).ok();
    let mut counts: Vec<NodeCount> = passed
        .iter()
        .map(|p| count(p.node.clone(), p.outcome.clone().unwrap_or_default()))
        .collect();
    if let Some(node) = journey_node {
        if entered {
            counts.push(count(node.clone(), "entered".to_owned()));
        }
        if let RunState::Exited { reason, .. } = &run.state {
            counts.push(count(node, format!("exit:{}", exit_name(*reason))));
        }
    }
    counts
}

/// An exit reason as written in tallies and answers.
pub fn exit_name(reason: ExitReason) -> &'static str {
    match reason {
        ExitReason::Completed => "completed",
        ExitReason::Goal => "goal",
        ExitReason::Late => "late",
        ExitReason::Holdout => "holdout",
        ExitReason::MissingTime => "missing_time",
        ExitReason::Merged => "merged",
        ExitReason::Erased => "erased",
        ExitReason::Archived => "archived",
    }
}
