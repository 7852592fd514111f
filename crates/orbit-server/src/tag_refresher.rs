//! Keeps tag values fresh (ADR 0008): after commits (the profiles they changed), on a
//! timer and when the simulated clock moves (everyone, for rules that depend on
//! time), and on request when definitions or assigned values change.
//!
//! Everything that refreshes tag values goes through [`refresh_tags`], so that a later
//! refresher shared with segment membership can take this file's place whole.

use crate::AppState;
use crate::error::ApiError;
use crate::routes::segments::evaluation;
use orbit_core::{ProfileId, WorkspaceId};
use orbit_engine::audience::index::AudienceIndex;
use orbit_engine::audience::{IndexAccess, RefreshReport, ThroughPipeline};
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::PoisonError;
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

/// Recomputes a workspace's tag values now, off the async threads; `None` when the
/// workspace has no index yet or the indexes were rebuilt meanwhile (the next refresh
/// starts over).
///
/// # Errors
/// Fails only when the evaluation task itself fails.
pub async fn refresh_tags(
    state: &AppState,
    workspace: &WorkspaceId,
    scope: RefreshScope,
) -> Result<Option<RefreshReport>, ApiError> {
    let at = evaluation(state, workspace);
    // Assigned values may name profiles merged away since; map them to the survivor
    // before taking the index's lock (the resolver has its own).
    let assigned: Vec<ProfileId> = state
        .tags
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .list(workspace)
        .flat_map(|entry| entry.assigned.keys().copied())
        .collect();
    let resolved: HashMap<ProfileId, ProfileId> = assigned
        .into_iter()
        .filter_map(|id| Some((id, state.pipeline.profile(workspace, id)?.id)))
        .collect();
    let (tags, pipeline, workspace) = (state.tags.clone(), state.pipeline.clone(), workspace.clone());
    let job = move || {
        let catalog = tags.read().unwrap_or_else(PoisonError::into_inner);
        // Values are computed under the index's shared lock and only the changes are
        // written under the exclusive one, tag by tag: commits wait for those writes only.
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
    let Some(report) = tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal(&e))?
    else {
        return Ok(None);
    };
    metrics::counter!("orbit_tag_refreshes_total", "scope" => if report.full { "everyone" } else { "changed" })
        .increment(1);
    metrics::histogram!("orbit_tag_refresh_duration_seconds").record(report.took_ms / 1_000.0);
    Ok(Some(report))
}

/// Refreshes every workspace that has tags.
async fn refresh_all(state: &AppState, scope: &RefreshScope) {
    let workspaces: Vec<WorkspaceId> = state
        .tags
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .workspaces()
        .cloned()
        .collect();
    for workspace in workspaces {
        if let Err(error) = refresh_tags(state, &workspace, scope.clone()).await {
            tracing::warn!(?error, workspace.id = %workspace, "refreshing tag values failed");
        }
    }
}

/// Brings every workspace's tag values up to date now (at start-up, before serving).
pub async fn refresh_everything(state: &AppState) {
    refresh_all(state, &RefreshScope::Everyone).await;
}

/// Refreshes tag values forever: the changed profiles after each commit (at most every
/// 200 ms) and everyone every `every`. A simulated clock's move refreshes everyone itself,
/// before it answers (`POST /v1/clock`).
pub async fn refresh_tags_forever(state: AppState, every: Duration) {
    let mut head = state.pipeline.head();
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pace = tokio::time::interval(MIN_GAP_AFTER_COMMITS);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first ticks are immediate; start-up has just refreshed everything.
    timer.tick().await;
    loop {
        let scope = tokio::select! {
            _ = timer.tick() => RefreshScope::Everyone,
            committed = head.changed() => match committed {
                Ok(()) => {
                    pace.tick().await;
                    RefreshScope::Changed
                }
                Err(_) => return,
            },
        };
        refresh_all(&state, &scope).await;
    }
}
