//! Live segment membership: the watcher that announces each real change of a dynamic
//! segment's membership with one `segment_entered` or `segment_exited` event.
//!
//! After commits it re-evaluates the profiles they touched; on a schedule (and when a
//! simulated clock moves) it re-evaluates everyone in the segments whose conditions
//! depend on time. What was last announced lives in the audience index and is derived
//! from the log itself (baseline + transition events), so a change is announced once
//! even across crashes: an append that failed is retried from the next evaluation,
//! one that landed is seen in the log.

use super::live::AudienceIndexes;
use super::segments::SegmentCatalog;
use crate::clock::{EngineClock, Periodic};
use crate::sync::Shared;
use crate::{EngineError, PipelineHandle};
use orbit_core::audience::Evaluation;
use orbit_core::audience::membership::{Transition, addressing_identity, transition_event};
use orbit_core::{NewEvent, ProfileId, SegmentId, WorkspaceId};
use orbit_store::{MembershipBaseline, SegmentKind, SegmentStore};
use roaring::RoaringBitmap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

/// Transition events appended per request.
const EVENTS_PER_APPEND: usize = 5_000;

/// Which profiles a sweep re-evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Those touched since the last sweep.
    Touched,
    /// Those touched, and everyone in segments that depend on time.
    Time,
    /// Everyone in every dynamic segment.
    Everyone,
}

/// What one sweep announced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// `segment_entered` events appended.
    pub entered: usize,
    /// `segment_exited` events appended.
    pub exited: usize,
}

/// A dynamic segment a sweep looks at.
#[derive(Clone)]
struct Watched {
    id: SegmentId,
    name: String,
    /// Whether time alone can change its membership.
    timed: bool,
}

/// One change found by a sweep, before it becomes an event.
struct Found {
    segment: SegmentId,
    segment_name: String,
    profile: ProfileId,
    transition: Transition,
}

/// Announces segment membership changes; one per server.
pub struct MembershipWatcher {
    pipeline: PipelineHandle,
    catalog: Arc<Shared<SegmentCatalog>>,
    segments: Arc<dyn SegmentStore>,
    clock: EngineClock,
    /// Sweeps of everyone in segments that depend on time.
    time_sweeps: Periodic,
    /// Serialises sweeps and baselines; holds whether the next sweep must look at
    /// everyone (after a failed append, whose touched profiles were already taken).
    turn: Mutex<bool>,
    wake: Notify,
}

impl std::fmt::Debug for MembershipWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembershipWatcher").finish_non_exhaustive()
    }
}

impl MembershipWatcher {
    /// A watcher over the pipeline's indexes and the segment catalog.
    pub(crate) fn new(
        pipeline: PipelineHandle,
        catalog: Arc<Shared<SegmentCatalog>>,
        segments: Arc<dyn SegmentStore>,
        clock: EngineClock,
        every: Duration,
    ) -> Self {
        Self {
            pipeline,
            catalog,
            segments,
            clock,
            time_sweeps: Periodic::new(every),
            turn: Mutex::new(false),
            wake: Notify::new(),
        }
    }

    /// Asks the running watcher for a sweep of touched profiles soon.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Makes a saved definition current (`install` puts it in the catalog) between
    /// sweeps. A dynamic segment's current members become its baseline, unannounced:
    /// saving a definition does not emit entries for the members it starts with. Other
    /// segments may name the one saved, so the next sweep looks at everyone.
    pub async fn saved(
        &self,
        workspace: &WorkspaceId,
        segment: &SegmentId,
        kind: SegmentKind,
        install: impl FnOnce(),
    ) -> Result<(), EngineError> {
        let mut everyone_next = self.turn.lock().await;
        install();
        *everyone_next = true;
        self.nudge();
        match kind {
            SegmentKind::Dynamic => self.rebase_locked(workspace, segment).await,
            SegmentKind::Static => Ok(()),
        }
    }

    /// Forgets a deleted segment (`remove` takes it out of the catalog) between sweeps.
    pub async fn deleted(&self, workspace: &WorkspaceId, segment: &SegmentId, remove: impl FnOnce()) {
        let _turn = self.turn.lock().await;
        remove();
        self.pipeline.with_audiences_mut(|audiences| {
            audiences
                .workspace_index(workspace)
                .forget_announced(segment.as_str());
        });
    }

    async fn rebase_locked(&self, workspace: &WorkspaceId, segment: &SegmentId) -> Result<(), EngineError> {
        let at = self.evaluation(workspace);
        let (pipeline, catalog) = (self.pipeline.clone(), self.catalog.clone());
        let (ws, id) = (workspace.clone(), segment.clone());
        let baseline = tokio::task::spawn_blocking(move || {
            let catalog = catalog.read();
            pipeline.with_audiences(|audiences| {
                let position = audiences.applied();
                let members = audiences
                    .index(&ws)
                    .map(|index| {
                        let numbers = catalog
                            .segment_members_among(&ws, index, &id, &at, None)
                            .unwrap_or_default();
                        numbers.iter().filter_map(|n| index.profile(n)).collect()
                    })
                    .unwrap_or_default();
                MembershipBaseline { position, members }
            })
        })
        .await
        .map_err(|_| EngineError::Stopped)?;
        self.segments.save_baseline(workspace, segment, &baseline).await?;
        self.pipeline.with_audiences_mut(|audiences| {
            audiences.workspace_index(workspace).set_baseline(
                segment.as_str(),
                baseline.position.0,
                &baseline.members,
            );
        });
        Ok(())
    }

    /// Re-evaluates dynamic segments and appends one event per membership change.
    pub async fn sweep(&self, scope: Sweep) -> Result<SweepReport, EngineError> {
        let mut everyone_next = self.turn.lock().await;
        let scope = if std::mem::take(&mut *everyone_next) {
            Sweep::Everyone
        } else {
            scope
        };
        if scope != Sweep::Touched {
            self.time_sweeps.done(self.clock.now());
        }
        let result = self.sweep_locked(scope).await;
        if result.is_err() {
            *everyone_next = true;
        }
        result
    }

    async fn sweep_locked(&self, scope: Sweep) -> Result<SweepReport, EngineError> {
        let mut report = SweepReport::default();
        let plans: Vec<(WorkspaceId, Vec<Watched>)> = {
            let catalog = self.catalog.read();
            catalog
                .workspaces()
                .map(|ws| {
                    let dynamic = catalog
                        .list(ws)
                        .filter(|d| d.record.kind == SegmentKind::Dynamic && d.record.condition.is_some())
                        .map(|d| Watched {
                            id: d.record.id.clone(),
                            name: d.record.name.clone(),
                            timed: catalog.depends_on_time(ws, &d.record.id),
                        })
                        .collect();
                    (ws.clone(), dynamic)
                })
                .collect()
        };
        for (workspace, segments) in plans {
            if segments.is_empty() {
                continue;
            }
            for Watched { id, .. } in &segments {
                let missing = self.pipeline.with_audiences(|a| {
                    a.index(&workspace)
                        .is_some_and(|index| index.announced(id.as_str()).is_none())
                });
                if missing {
                    // Saved before its baseline was (a crash in between): start from now.
                    self.rebase_locked(&workspace, id).await?;
                }
            }
            let at = self.evaluation(&workspace);
            let (found, position) = self.changes(&workspace, &segments, scope, at).await?;
            let events = self.events_for(&workspace, found, position);
            for event in &events {
                match event.name.as_ref().map(|n| n.as_str()) {
                    Some(orbit_core::audience::membership::SEGMENT_ENTERED) => report.entered += 1,
                    _ => report.exited += 1,
                }
            }
            let mut events = events;
            while !events.is_empty() {
                let rest = events.split_off(events.len().min(EVENTS_PER_APPEND));
                self.pipeline.append(events).await?;
                events = rest;
            }
        }
        if report != SweepReport::default() {
            tracing::debug!(
                entered = report.entered,
                exited = report.exited,
                "segment transitions announced"
            );
        }
        Ok(report)
    }

    /// The changes in one workspace, with the log position they were seen at.
    async fn changes(
        &self,
        workspace: &WorkspaceId,
        segments: &[Watched],
        scope: Sweep,
        at: Evaluation,
    ) -> Result<(Vec<Found>, i64), EngineError> {
        let (generation, touched) = self.pipeline.with_audiences_mut(|audiences| {
            let touched = audiences.workspace_index(workspace).take_touched();
            (audiences.generation(), touched)
        });
        let (pipeline, catalog) = (self.pipeline.clone(), self.catalog.clone());
        let (ws, segments) = (workspace.clone(), segments.to_vec());
        let job = move || {
            let catalog = catalog.read();
            pipeline.with_audiences(|audiences: &AudienceIndexes| {
                let position = audiences.applied().0;
                let Some(index) = audiences.index(&ws) else {
                    return (Vec::new(), position);
                };
                // Numbers taken from another build of the index mean other profiles.
                let scope = if audiences.generation() == generation {
                    scope
                } else {
                    Sweep::Everyone
                };
                let mut found = Vec::new();
                for Watched { id, name, timed } in &segments {
                    let Some(announced) = index.announced(id.as_str()) else {
                        continue;
                    };
                    let among: Option<&RoaringBitmap> = match scope {
                        Sweep::Everyone => None,
                        Sweep::Time if *timed => None,
                        _ => Some(&touched),
                    };
                    let members = match catalog.segment_members_among(&ws, index, id, &at, among) {
                        Ok(members) => members,
                        Err(error) => {
                            tracing::warn!(segment = %id, error = %error.message, "segment not evaluated");
                            continue;
                        }
                    };
                    let before = match among {
                        Some(among) => &announced.members & among,
                        None => announced.members.clone(),
                    };
                    let changes = [
                        (&members - &before, Transition::Entered),
                        (&before - &members, Transition::Exited),
                    ];
                    for (numbers, transition) in changes {
                        for profile in numbers.iter().filter_map(|n| index.profile(n)) {
                            found.push(Found {
                                segment: id.clone(),
                                segment_name: name.clone(),
                                profile,
                                transition,
                            });
                        }
                    }
                }
                (found, position)
            })
        };
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|_| EngineError::Stopped)
    }

    fn events_for(&self, workspace: &WorkspaceId, found: Vec<Found>, position: i64) -> Vec<NewEvent> {
        let now = self.clock.now();
        let evaluated_at = u64::try_from(position).unwrap_or(0);
        found
            .into_iter()
            .filter_map(|change| {
                let profile = self.pipeline.profile(workspace, change.profile)?;
                let address = addressing_identity(&profile.identities)?.clone();
                Some(transition_event(
                    workspace,
                    &change.segment,
                    &change.segment_name,
                    profile.id,
                    address,
                    change.transition,
                    now,
                    evaluated_at,
                ))
            })
            .collect()
    }

    fn evaluation(&self, workspace: &WorkspaceId) -> Evaluation {
        Evaluation::new(self.clock.now(), self.pipeline.time_zone(workspace))
    }

    /// Sweeps touched profiles after every commit (and when nudged), and everyone in
    /// time-dependent segments each period of the engine's clock, until the pipeline
    /// stops.
    pub async fn run(self: Arc<Self>) {
        let mut head = self.pipeline.head();
        loop {
            let next = self.time_sweeps.next_due(self.clock.now());
            let scope = tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    Sweep::Touched
                }
                () = self.wake.notified() => Sweep::Touched,
                () = self.clock.job_due(next) => {
                    // A move of a simulated clock may have swept already.
                    if !self.time_sweeps.claim(self.clock.now()) {
                        continue;
                    }
                    Sweep::Time
                }
            };
            if let Err(error) = self.sweep(scope).await {
                tracing::warn!(error = %error, "segment membership sweep failed; everyone is looked at next time");
                // An idle pause before retrying storage, not product time.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
