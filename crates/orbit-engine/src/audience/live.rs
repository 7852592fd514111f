//! Every workspace's audience index, kept current by the pipeline and rebuilt from
//! storage at start-up.

use super::index::AudienceIndex;
use crate::resolver::Resolver;
use orbit_core::{NewEvent, ProfileId, WorkspaceId};
use orbit_store::{LogPosition, StoreError, Stores};
use std::collections::HashMap;

/// Events read per page when the indexes are rebuilt.
const EVENTS_PER_PAGE: u32 = 20_000;

/// The audience index of each workspace.
#[derive(Debug, Default)]
pub struct Audiences {
    workspaces: HashMap<WorkspaceId, AudienceIndex>,
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

    /// Puts a committed event on its profile's timeline.
    pub fn record(&mut self, profile: ProfileId, event: &NewEvent) {
        self.workspace_index(&event.workspace_id).record_event(
            profile,
            event.timestamp.as_millisecond(),
            event.name.as_ref().map(|n| n.as_str()),
            &event.properties,
        );
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
        let mut after = LogPosition(0);
        let mut pages = 0usize;
        loop {
            let page = stores.events.read_after(after, EVENTS_PER_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            pages += 1;
            for stored in &page {
                let Some(recorded) = stored.profile_id else {
                    continue;
                };
                let live = resolver
                    .get(&stored.event.workspace_id)
                    .and_then(|state| state.graph.canonical(recorded));
                if let Some(profile) = live {
                    audiences.record(profile, &stored.event);
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
