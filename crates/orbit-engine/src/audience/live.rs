//! Every workspace's audience index, kept current by the pipeline and rebuilt from
//! storage at start-up.

use super::index::{AudienceIndex, Captured};
use crate::resolver::Resolver;
use crate::timeline::{TimelineCursor, Timelines};
use orbit_core::audience::membership::announced;
use orbit_core::{NewEvent, ProfileId, SourceId, WorkspaceId};
use orbit_store::{EncodedEvent, EventEssentials, LogEntry};
use orbit_store::{LogPosition, StoreError, Stores};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Events read per page when the indexes are rebuilt.
const EVENTS_PER_PAGE: u32 = 20_000;

/// Numbers each build of the indexes, so that dense numbers taken from one build are
/// never used with another.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// An event read back for the rebuild: position, recorded profile, essentials.
type Decoded = (LogPosition, Option<ProfileId>, EventEssentials);

/// The audience index of each workspace.
#[derive(Debug)]
pub struct AudienceIndexes {
    workspaces: HashMap<WorkspaceId, AudienceIndex>,
    applied: LogPosition,
    /// Whether the indexes hold a commit the log may not yet: set while it syncs, and
    /// left set when it fails, until the indexes are rebuilt.
    in_flight: bool,
    generation: u64,
}

impl Default for AudienceIndexes {
    fn default() -> Self {
        Self {
            workspaces: HashMap::new(),
            applied: LogPosition(0),
            in_flight: false,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl AudienceIndexes {
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
        self.record_parts(
            profile,
            (&event.workspace_id, &event.source_id),
            event.name.as_ref().map(|n| n.as_str()),
            event.timestamp,
            &event.properties,
            position,
        );
    }

    /// [`Self::record`] for an event read back from the log.
    pub fn record_essentials(&mut self, profile: ProfileId, event: &EventEssentials, position: LogPosition) {
        self.record_parts(
            profile,
            (&event.workspace_id, &event.source_id),
            event.name.as_ref().map(|n| n.as_str()),
            event.timestamp,
            &event.properties,
            position,
        );
    }

    fn record_parts(
        &mut self,
        profile: ProfileId,
        (workspace, source): (&WorkspaceId, &SourceId),
        name: Option<&str>,
        at: jiff::Timestamp,
        properties: &Map<String, Value>,
        position: LogPosition,
    ) {
        if !self.workspaces.contains_key(workspace) {
            self.workspaces
                .insert(workspace.clone(), AudienceIndex::default());
        }
        let Some(index) = self.workspaces.get_mut(workspace) else {
            return;
        };
        index.record_event(profile, at.as_millisecond(), position.0, name, properties);
        if let Some(announcement) = announced(source, name, properties) {
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

    /// Marks the indexes as holding events up to `position` that are not durable yet:
    /// no snapshot is captured until [`AudienceIndexes::settle_commit`].
    pub fn commit_in_flight(&mut self, position: LogPosition) {
        self.in_flight = true;
        self.advance(position);
    }

    /// The commit in flight is durable: snapshots may capture the indexes again.
    pub fn settle_commit(&mut self) {
        self.in_flight = false;
    }

    /// Which build of the indexes this is: dense numbers mean nothing across builds.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Events held across every workspace.
    pub fn event_count(&self) -> usize {
        self.workspaces.values().map(AudienceIndex::event_count).sum()
    }

    /// Builds every workspace's index from the resolver's profiles and the event log.
    pub(crate) async fn load(stores: &Stores, resolver: &Resolver) -> Result<Self, StoreError> {
        let started = std::time::Instant::now();
        let mut audiences = Self::default();
        audiences.set_profiles(resolver);
        for (workspace, segment, baseline) in stores.segments.baselines().await? {
            if let Some(state) = resolver.get(&workspace) {
                audiences
                    .workspace_index(&workspace)
                    .set_stored_baseline(segment.as_str(), &baseline, |p| state.graph.canonical(p));
            }
        }
        let replayed = audiences.replay(stores, resolver, LogPosition(0)).await?;
        tracing::info!(
            events = audiences.event_count(),
            seconds = started.elapsed().as_secs_f64(),
            applying_seconds = replayed.applying.as_secs_f64(),
            "audience indexes rebuilt"
        );
        Ok(audiences)
    }

    /// Gives every live profile its stored traits, and every merged-away id its alias.
    pub(crate) fn set_profiles(&mut self, resolver: &Resolver) {
        for (workspace, state) in resolver.states() {
            let index = self.workspace_index(workspace);
            for profile in state.graph.profiles() {
                index.set_traits(profile.id, profile.traits.to_object());
                for merged in &profile.merged_ids {
                    index.alias(*merged, profile.id);
                }
            }
        }
    }

    /// Puts every event after `after` on its live profile's timeline, in log order.
    pub(crate) async fn replay(
        &mut self,
        stores: &Stores,
        resolver: &Resolver,
        after: LogPosition,
    ) -> Result<Replayed, StoreError> {
        let audiences = self;
        // Pages are read by one task while the previous ones are decoded, in parallel
        // and only as far as the index needs, then applied in log order.
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel::<Vec<EncodedEvent>>(4);
        let events = stores.events.clone();
        let reader = tokio::spawn(async move {
            let mut after = after;
            loop {
                let page = events.read_encoded_after(after, EVENTS_PER_PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.position;
                if pages_tx.send(page).await.is_err() {
                    break;
                }
            }
            Ok::<_, StoreError>(())
        });
        // Decoding runs as its own stage, so page N+1 decodes while page N is applied.
        let (decoded_tx, mut decoded_rx) = tokio::sync::mpsc::channel::<Vec<Decoded>>(2);
        let decoder = tokio::spawn(async move {
            while let Some(page) = pages_rx.recv().await {
                let decoded = tokio::task::spawn_blocking(move || {
                    page.into_par_iter()
                        .map(|encoded| {
                            let essentials = LogEntry::decode_essentials(&encoded.body)?;
                            Ok((encoded.position, encoded.profile_id, essentials))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()
                })
                .await
                .map_err(|e| StoreError::Unknown(format!("decoding events: {e}")))??;
                if decoded_tx.send(decoded).await.is_err() {
                    break;
                }
            }
            Ok::<_, StoreError>(())
        });
        let (mut pages, mut applying) = (0usize, std::time::Duration::ZERO);
        let mut replayed = 0usize;
        while let Some(decoded) = decoded_rx.recv().await {
            let began = std::time::Instant::now();
            replayed += decoded.len();
            for (position, recorded, event) in &decoded {
                let Some(recorded) = recorded else { continue };
                let live = resolver
                    .get(&event.workspace_id)
                    .and_then(|state| state.graph.canonical(*recorded));
                if let Some(profile) = live {
                    audiences.record_essentials(profile, event, *position);
                }
            }
            if let Some((last, _, _)) = decoded.last() {
                audiences.advance(*last);
            }
            // Freeing decoded pages is a good part of the work: not on this thread.
            tokio::task::spawn_blocking(move || drop(decoded));
            applying += began.elapsed();
            pages += 1;
            if pages.is_multiple_of(25) {
                tracing::info!(events = audiences.event_count(), "rebuilding audience indexes");
            }
        }
        for stage in [reader, decoder] {
            stage
                .await
                .map_err(|e| StoreError::Unknown(format!("rebuilding audience indexes: {e}")))??;
        }
        Ok(Replayed {
            events: replayed,
            applying,
        })
    }

    /// Takes what a snapshot keeps of every workspace's index, and the log position
    /// it reflects. Commits wait meanwhile, so this copies little (see
    /// [`AudienceIndex::capture`]). `None` while the indexes hold a commit that is not
    /// yet durable: no position would describe them.
    pub fn capture(&self) -> Option<(LogPosition, Vec<(WorkspaceId, Captured)>)> {
        if self.in_flight {
            return None;
        }
        let mut workspaces: Vec<(WorkspaceId, Captured)> = self
            .workspaces
            .iter()
            .filter(|(_, index)| !index.is_empty())
            .map(|(id, index)| (id.clone(), index.capture()))
            .collect();
        workspaces.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Some((self.applied, workspaces))
    }

    /// Indexes restored from a snapshot taken at `applied`.
    pub(crate) fn from_indexes(
        workspaces: HashMap<WorkspaceId, AudienceIndex>,
        applied: LogPosition,
    ) -> Self {
        Self {
            workspaces,
            applied,
            ..Self::default()
        }
    }

    /// Every workspace's index, for changes.
    pub(crate) fn indexes_mut(&mut self) -> impl Iterator<Item = (&WorkspaceId, &mut AudienceIndex)> {
        self.workspaces.iter_mut()
    }

    /// Every live profile's timeline as (time, position) pairs: what the engine's
    /// timelines hold (the same events, placed by the same rule), so a snapshot keeps
    /// them once.
    pub(crate) fn timelines(&self) -> Timelines {
        let mut timelines = Timelines::default();
        for (workspace, index) in &self.workspaces {
            for (profile, timeline) in index.timelines() {
                let entries = timeline
                    .events()
                    .iter()
                    .map(|e| TimelineCursor {
                        timestamp_ms: e.at_ms,
                        position: LogPosition(e.position()),
                    })
                    .collect();
                timelines.insert_ordered(workspace, profile, entries);
            }
        }
        timelines
    }

    /// Every workspace's index.
    pub fn indexes(&self) -> impl Iterator<Item = (&WorkspaceId, &AudienceIndex)> {
        self.workspaces.iter()
    }
}

/// What a replay of the log did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Replayed {
    /// Events read from the log.
    pub events: usize,
    /// Time spent applying them to the indexes.
    pub applying: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn a_commit_in_flight_holds_back_snapshots_until_it_settles() {
        let mut audiences = AudienceIndexes::default();
        let profile = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 1);
        let workspace = WorkspaceId::default_workspace();
        let source = orbit_core::SourceId::parse("web").expect("a source");
        let at = jiff::Timestamp::from_second(1_800_000_000).expect("a time");
        let record = |audiences: &mut AudienceIndexes, position: i64| {
            audiences.record_parts(
                profile,
                (&workspace, &source),
                Some("order_paid"),
                at,
                &Map::new(),
                LogPosition(position),
            );
        };
        record(&mut audiences, 1);
        audiences.advance(LogPosition(1));
        let (position, _) = audiences.capture().expect("nothing in flight");
        assert_eq!(position, LogPosition(1));

        record(&mut audiences, 2);
        audiences.commit_in_flight(LogPosition(2));
        assert!(audiences.capture().is_none(), "position 2 is not durable yet");

        audiences.settle_commit();
        let (position, captured) = audiences.capture().expect("settled");
        assert_eq!((position, captured.len()), (LogPosition(2), 1));
    }
}
