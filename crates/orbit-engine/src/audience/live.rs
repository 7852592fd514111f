//! Every workspace's audience index, kept current by the pipeline and rebuilt from
//! storage at start-up.

use super::index::AudienceIndex;
use crate::resolver::Resolver;
use orbit_core::audience::membership::announced;
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use orbit_store::{LogPosition, StoreError, Stores};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Events read per page when the indexes are rebuilt.
const EVENTS_PER_PAGE: u32 = 20_000;

/// Numbers each build of the indexes, so that dense numbers taken from one build are
/// never used with another.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// The audience index of each workspace.
#[derive(Debug)]
pub struct Audiences {
    workspaces: HashMap<WorkspaceId, AudienceIndex>,
    applied: LogPosition,
    generation: u64,
}

impl Default for Audiences {
    fn default() -> Self {
        Self {
            workspaces: HashMap::new(),
            applied: LogPosition(0),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Audiences {
    /// A workspace's index, if it holds any profile.
    pub fn index(&self, workspace: &WorkspaceId) -> Option<&AudienceIndex> {
        self.workspaces.get(workspace)
    }

    /// A workspace's index, created empty on first use.
    pub fn workspace_index(&mut self, workspace: &WorkspaceId) -> &mut AudienceIndex {
        self.workspaces.entry(workspace.clone()).or_default()
    }

    /// Puts a committed event on its profile's timeline; a segment transition Orbit
    /// announced also moves that segment's announced membership.
    pub fn record(&mut self, profile: ProfileId, event: &NewEvent, position: LogPosition) {
        let name = event.name.as_ref().map(|n| n.as_str());
        let index = self.workspaces.entry(event.workspace_id.clone()).or_default();
        index.record_event(profile, event.timestamp.as_millisecond(), name, &event.properties);
        if let Some(announcement) = announced(&event.source_id, name, &event.properties) {
            index.apply_announcement(profile, &announcement, position.0);
        }
        self.applied = self.applied.max(position);
    }

    /// The newest log position the indexes reflect.
    pub fn applied(&self) -> LogPosition {
        self.applied
    }

    /// Marks the indexes as reflecting the log up to `position`.
    pub fn advance(&mut self, position: LogPosition) {
        self.applied = self.applied.max(position);
    }

    /// Which build of the indexes this is: dense numbers mean nothing across builds.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every workspace with an index.
    pub fn workspaces(&self) -> impl Iterator<Item = &WorkspaceId> {
        self.workspaces.keys()
    }

    /// Events held across every workspace.
    pub fn event_count(&self) -> usize {
        self.workspaces.values().map(AudienceIndex::event_count).sum()
    }

    /// Builds every workspace's index from the resolver's profiles and the event log.
    pub(crate) async fn load(stores: &Stores, resolver: &Resolver) -> Result<Self, StoreError> {
        let started = std::time::Instant::now();
        let mut audiences = Self::default();
        for (workspace, state) in resolver.states() {
            let index = audiences.workspace_index(workspace);
            for profile in state.graph.profiles() {
                index.set_traits(profile.id, profile.traits.to_object());
            }
        }
        for (workspace, segment, baseline) in stores.segments.baselines().await? {
            let Some(state) = resolver.get(&workspace) else {
                continue;
            };
            // Members merged away since count as their survivors; erased ones are gone.
            let members: Vec<ProfileId> = baseline
                .members
                .iter()
                .filter_map(|p| state.graph.canonical(*p))
                .collect();
            audiences.workspace_index(&workspace).set_baseline(
                segment.as_str(),
                baseline.position.0,
                &members,
            );
        }
        let mut after = LogPosition(0);
        let mut pages = 0usize;
        loop {
            let page = stores.events.read_after(after, EVENTS_PER_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            audiences.advance(after);
            pages += 1;
            for stored in &page {
                let Some(recorded) = stored.profile_id else {
                    continue;
                };
                let live = resolver
                    .get(&stored.event.workspace_id)
                    .and_then(|state| state.graph.canonical(recorded));
                if let Some(profile) = live {
                    audiences.record(profile, &stored.event, stored.position);
                }
            }
            if pages.is_multiple_of(25) {
                tracing::info!(events = audiences.event_count(), "rebuilding audience indexes");
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            events = audiences.event_count(),
            seconds,
            "audience indexes rebuilt"
        );
        Ok(audiences)
    }
}
