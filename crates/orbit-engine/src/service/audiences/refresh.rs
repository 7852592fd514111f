//! Keeping tag values fresh (ADR 0008): after commits (the profiles they changed), on
//! a timer and when the clock moves (everyone, for rules that depend on time), and at
//! once when definitions or assigned values change. Everything that refreshes tag
//! values goes through [`Audiences::refresh_tags`].

use super::{Audiences, blocking};
use crate::EngineError;
use crate::audience::index::AudienceIndex;
use crate::audience::{IndexAccess, RefreshReport, ThroughPipeline};
use orbit_core::{ProfileId, WorkspaceId};
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Commits refresh tags at most this often; more commits in between are taken
/// together.
const MIN_GAP_AFTER_COMMITS: Duration = Duration::from_millis(200);

/// Which profiles' rule tags a refresh evaluates (RFM and assigned values are always
/// brought up to date for everyone who needs it).
#[derive(Debug, Clone)]
pub enum RefreshScope {
    /// Every profile: for definitions that changed and for the passage of time.
    Everyone,
    /// The profiles whose events, traits or merges changed since the last refresh.
    Changed,
    /// These profiles (dense numbers), e.g. one whose manual values were just set.
    Profiles(RoaringBitmap),
}

impl Audiences {
    /// Recomputes a workspace's tag values now, off the async threads; `None` when the
    /// workspace has no index yet or the indexes were rebuilt meanwhile (the next
    /// refresh starts over).
    ///
    /// # Errors
    /// Fails only when the evaluation task itself fails.
    pub(crate) async fn refresh_tags(
        &self,
        workspace: &WorkspaceId,
        scope: RefreshScope,
    ) -> Result<Option<RefreshReport>, EngineError> {
        let at = self.evaluation(workspace);
        // Assigned values may name profiles merged away since; map them to the survivor
        // before taking the index's lock (the resolver has its own).
        let assigned: Vec<ProfileId> = self
            .tags
            .read()
            .list(workspace)
            .flat_map(|entry| entry.assigned.keys().copied())
            .collect();
        let resolved: HashMap<ProfileId, ProfileId> = assigned
            .into_iter()
            .filter_map(|id| Some((id, self.pipeline.profile(workspace, id)?.id)))
            .collect();
        let (tags, pipeline, workspace) = (self.tags.clone(), self.pipeline.clone(), workspace.clone());
        let job = move || {
            let catalog = tags.read();
            // Values are computed under the index's shared lock and only the changes are
            // written under the exclusive one, tag by tag: commits wait for those writes.
            let access = ThroughPipeline::new(&pipeline, &workspace);
            let only = match scope {
                RefreshScope::Everyone => {
                    access.write(AudienceIndex::take_changed)?;
                    None
                }
                RefreshScope::Changed => Some(access.write(AudienceIndex::take_changed)?),
                RefreshScope::Profiles(numbers) => Some(numbers),
            };
            catalog.refresh_via(&workspace, &access, only.as_ref(), &at, &|id| {
                resolved.get(&id).copied()
            })
        };
        let Some(report) = blocking(job).await? else {
            return Ok(None);
        };
        let scope = if report.full { "everyone" } else { "changed" };
        metrics::counter!("orbit_tag_refreshes_total", "scope" => scope).increment(1);
        metrics::histogram!("orbit_tag_refresh_duration_seconds").record(report.took_ms / 1_000.0);
        Ok(Some(report))
    }

    /// Recomputes the tag values of these profiles (ids merged away count for their
    /// survivor) now, if the workspace has tags: for changes that reach no log, such as
    /// a trait patch or a manual value.
    ///
    /// # Errors
    /// Fails only when the evaluation task itself fails.
    pub async fn refresh_profiles(
        &self,
        workspace: &WorkspaceId,
        ids: &[ProfileId],
    ) -> Result<(), EngineError> {
        if self.tags.read().list(workspace).next().is_none() {
            return Ok(());
        }
        // Resolved before reading the index: the two locks are never held together.
        let live: Vec<ProfileId> = ids
            .iter()
            .filter_map(|id| Some(self.pipeline.profile(workspace, *id)?.id))
            .collect();
        let numbers = self.pipeline.with_audience(workspace, |index| {
            index.map_or_else(RoaringBitmap::new, |index| {
                live.iter().filter_map(|p| index.find(*p)).collect()
            })
        });
        self.refresh_tags(workspace, RefreshScope::Profiles(numbers))
            .await?;
        Ok(())
    }

    /// Refreshes every workspace that has tags.
    pub(crate) async fn refresh_all(&self, scope: RefreshScope) {
        if matches!(scope, RefreshScope::Everyone) {
            self.everyone_refreshes.done(self.clock.now());
        }
        let workspaces: Vec<WorkspaceId> = self.tags.read().workspaces().cloned().collect();
        for workspace in workspaces {
            if let Err(error) = self.refresh_tags(&workspace, scope.clone()).await {
                tracing::warn!(%error, workspace.id = %workspace, "refreshing tag values failed");
            }
        }
    }

    /// Refreshes tag values forever: the changed profiles after each commit (at most
    /// every 200 ms of real time) and everyone each period of the engine's clock.
    pub(super) async fn refresh_forever(self: Arc<Self>) {
        let mut head = self.pipeline.head();
        let mut pace = tokio::time::interval(MIN_GAP_AFTER_COMMITS);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self.everyone_refreshes.next_due(self.clock.now());
            let scope = tokio::select! {
                () = self.clock.job_due(next) => {
                    // A move of a simulated clock may have refreshed everyone already.
                    if !self.everyone_refreshes.claim(self.clock.now()) {
                        continue;
                    }
                    RefreshScope::Everyone
                }
                committed = head.changed() => match committed {
                    Ok(()) => {
                        pace.tick().await;
                        RefreshScope::Changed
                    }
                    Err(_) => return,
                },
            };
            self.refresh_all(scope).await;
        }
    }
}
