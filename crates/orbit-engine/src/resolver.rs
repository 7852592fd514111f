//! The in-memory side of the pipeline: every workspace's identity graph, and the
//! changes one commit must store.

use crate::timeline::{TimelineCursor, Timelines};
use foldhash::{HashMap, HashSet};
use orbit_core::event::JsonObject;
use orbit_core::resolution::{IdentityGraph, Resolution};
use orbit_core::{EventKind, Identity, IdentityKind, NewEvent, ProfileId, WorkspaceId};
use orbit_store::{
    ConflictRecord, LogPosition, MergeRecord, ProfileRecord, StoreError, StoredProfile, Stores,
    WorkspaceChanges, WorkspaceRecord, WorkspaceSettings,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// Profiles or identities loaded per page at start-up.
const PROFILES_PER_PAGE: u32 = 5_000;

/// Event placements read per page when timelines are rebuilt.
const PLACEMENTS_PER_PAGE: u32 = 50_000;

/// One workspace's settings and identity graph.
pub(crate) struct WorkspaceState {
    pub settings: WorkspaceSettings,
    pub graph: IdentityGraph,
}

/// Every workspace's state.
#[derive(Default)]
pub(crate) struct Resolver {
    workspaces: HashMap<WorkspaceId, WorkspaceState>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the profiles themselves: there may be millions.
        f.debug_struct("Resolver")
            .field("workspaces", &self.workspaces.len())
            .finish()
    }
}

/// What one commit must store for one workspace.
#[derive(Default)]
pub(crate) struct PendingWorkspace {
    pub profiles: HashSet<ProfileId>,
    pub identities: HashSet<Identity>,
    pub merges: Vec<MergeRecord>,
    pub conflicts: Vec<ConflictRecord>,
}

/// What one commit must store, per workspace.
#[derive(Default)]
pub(crate) struct Pending {
    pub workspaces: HashMap<WorkspaceId, PendingWorkspace>,
}

impl Resolver {
    /// Loads settings, every stored profile and identity, and rebuilds every profile's
    /// timeline from the log.
    pub async fn load(stores: &Stores) -> Result<(Self, Timelines), StoreError> {
        let mut resolver = Self::load_profiles(stores).await?;
        let timelines = resolver.rebuild_timelines(stores).await?;
        Ok((resolver, timelines))
    }

    /// Loads settings and every stored profile with its identities.
    pub async fn load_profiles(stores: &Stores) -> Result<Self, StoreError> {
        let mut resolver = Self::default();
        resolver.load_settings(stores).await?;
        // One task reads (and the store decodes) the next page while this one puts the
        // previous page into the graphs: the two take about as long.
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel::<Vec<StoredProfile>>(2);
        let profiles = stores.profiles.clone();
        let reader = tokio::spawn(async move {
            let mut after = None;
            loop {
                let page = profiles.load_profiles(after.clone(), PROFILES_PER_PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some((last.workspace_id.clone(), last.record.profile.id));
                if pages_tx.send(page).await.is_err() {
                    break;
                }
            }
            Ok::<_, StoreError>(())
        });
        let mut loaded = 0usize;
        while let Some(page) = pages_rx.recv().await {
            loaded += page.len();
            for stored in page {
                resolver
                    .workspace(&stored.workspace_id)
                    .graph
                    .restore_profile(stored.record.profile, stored.record.linking);
            }
            if loaded.is_multiple_of(PROFILES_PER_PAGE as usize * 20) {
                tracing::info!(profiles = loaded, "loading profiles");
            }
        }
        reader
            .await
            .map_err(|e| StoreError::Unknown(format!("loading profiles: {e}")))??;
        tracing::info!(profiles = loaded, "profiles loaded");
        Ok(resolver)
    }

    /// Reads where every event sits and puts it on its live profile's timeline; a
    /// profile's `last_seen` is its newest event (the stored one is not kept current).
    pub async fn rebuild_timelines(&mut self, stores: &Stores) -> Result<Timelines, StoreError> {
        let mut timelines = Timelines::default();
        let mut after = LogPosition(0);
        let (mut unplaced, mut pages) = (0usize, 0usize);
        loop {
            let page = stores.events.placements(after, PLACEMENTS_PER_PAGE).await?;
            pages += 1;
            let Some(last) = page.last() else { break };
            after = last.position;
            for placement in page {
                let Some(recorded) = placement.profile_id else {
                    continue;
                };
                let graph = &mut self.workspace(&placement.workspace_id).graph;
                let Some(profile) = graph.canonical(recorded) else {
                    unplaced += 1;
                    continue;
                };
                timelines.record(
                    &placement.workspace_id,
                    profile,
                    TimelineCursor {
                        timestamp_ms: placement.timestamp_ms,
                        position: placement.position,
                    },
                );
                if let (Some(p), Ok(at)) = (
                    graph.profile_mut(profile),
                    jiff::Timestamp::from_millisecond(placement.timestamp_ms),
                ) {
                    p.last_seen = p.last_seen.max(at);
                }
            }
            if pages.is_multiple_of(20) {
                tracing::info!(events = timelines.event_count(), "rebuilding timelines");
            }
        }
        if unplaced > 0 {
            tracing::warn!(events = unplaced, "events of profiles that no longer exist");
        }
        tracing::info!(events = timelines.event_count(), "timelines rebuilt");
        Ok(timelines)
    }

    /// Makes every profile's `last_seen` its newest event, as the rebuild of the
    /// timelines does (the stored one is not kept current).
    pub fn see_newest(&mut self, timelines: &Timelines) {
        for (workspace, profile, newest_ms) in timelines.newest() {
            let Ok(at) = jiff::Timestamp::from_millisecond(newest_ms) else {
                continue;
            };
            if let Some(p) = self
                .workspaces
                .get_mut(workspace)
                .and_then(|state| state.graph.profile_mut(profile))
            {
                p.last_seen = p.last_seen.max(at);
            }
        }
    }

    /// Re-reads every workspace's settings.
    pub async fn load_settings(&mut self, stores: &Stores) -> Result<(), StoreError> {
        let workspaces = stores.workspaces.list_workspaces().await?;
        self.use_settings(workspaces);
        Ok(())
    }

    /// Puts workspace settings into effect.
    pub fn use_settings(&mut self, workspaces: Vec<WorkspaceRecord>) {
        for record in workspaces {
            self.workspace(&record.id).settings = record.settings;
        }
    }

    /// How many live profiles every workspace holds together.
    pub fn profile_count(&self) -> usize {
        self.workspaces.values().map(|w| w.graph.profile_count()).sum()
    }

    /// Every workspace's state.
    pub fn states(&self) -> impl Iterator<Item = (&WorkspaceId, &WorkspaceState)> {
        self.workspaces.iter()
    }

    /// One workspace's state, if it has any.
    pub fn get(&self, id: &WorkspaceId) -> Option<&WorkspaceState> {
        self.workspaces.get(id)
    }

    pub fn workspace(&mut self, id: &WorkspaceId) -> &mut WorkspaceState {
        // Looked up per event: the id is cloned only the first time.
        if !self.workspaces.contains_key(id) {
            self.workspaces.insert(
                id.clone(),
                WorkspaceState {
                    settings: WorkspaceSettings::default(),
                    graph: IdentityGraph::default(),
                },
            );
        }
        self.workspaces
            .get_mut(id)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Resolves one new event, the `index`th of its commit, and applies its traits;
    /// returns its profile.
    pub fn apply_event(
        &mut self,
        event: &NewEvent,
        index: usize,
        pending: &mut Pending,
        now_ms: i64,
    ) -> Option<ProfileId> {
        let state = self.workspace(&event.workspace_id);
        let identities: std::borrow::Cow<'_, [Identity]> = match alias_identity(event, &state.graph) {
            Some(previous) => {
                let mut with_alias = event.identities.clone();
                with_alias.push(previous);
                with_alias.into()
            }
            None => event.identities.as_slice().into(),
        };
        let mut mint = || ProfileId::mint(event.received_at, uuid::Uuid::new_v4().as_u128());
        let resolution = state.graph.resolve(
            &identities,
            event.timestamp,
            &state.settings.identity_policy,
            &state.settings.trait_rules,
            &mut mint,
        );
        let profile = resolution.profile?;
        let mut changed = resolution.profile_changed;
        if event.kind == EventKind::Identify {
            let traits = person_traits(event);
            changed |=
                state
                    .graph
                    .observe_traits(profile, &traits, event.timestamp, &state.settings.trait_rules);
        }
        changed |= state.graph.flag(profile, &event.issues);
        if !pending.workspaces.contains_key(&event.workspace_id) {
            pending
                .workspaces
                .insert(event.workspace_id.clone(), PendingWorkspace::default());
        }
        let Some(dirty) = pending.workspaces.get_mut(&event.workspace_id) else {
            return Some(profile);
        };
        note_resolution(dirty, &resolution, index, now_ms);
        if changed {
            dirty.profiles.insert(profile);
        }
        Some(profile)
    }

    /// The changes to store for `pending`, as they stand in memory now.
    pub fn changes(
        &self,
        pending: Pending,
        position: impl Fn(usize) -> LogPosition,
    ) -> Vec<WorkspaceChanges> {
        let mut all = Vec::with_capacity(pending.workspaces.len());
        for (workspace_id, dirty) in pending.workspaces {
            let Some(state) = self.workspaces.get(&workspace_id) else {
                continue;
            };
            let mut changes = WorkspaceChanges::new(workspace_id);
            // A profile document carries its identities' states: a changed identity
            // rewrites the profile that now holds it.
            let mut ids: Vec<ProfileId> = dirty
                .identities
                .iter()
                .filter_map(|i| state.graph.profile_of(i))
                .chain(dirty.profiles.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            // Profiles merged away since they were marked are gone from the graph.
            changes.profiles = ids
                .into_iter()
                .filter_map(|id| state.graph.profile(id).filter(|p| p.id == id))
                .map(|p| ProfileRecord {
                    profile: p.clone(),
                    linking: state.graph.linking(p),
                })
                .collect();
            changes.merges = dirty.merges;
            changes.conflicts = dirty.conflicts;
            for record in &mut changes.merges {
                record.position = position(record.position.0 as usize);
            }
            for record in &mut changes.conflicts {
                record.position = position(record.position.0 as usize);
            }
            all.push(changes);
        }
        all
    }
}

/// Records what a resolution changed. Positions are not known until the events are
/// appended, so the event's index in the commit stands in for now.
fn note_resolution(dirty: &mut PendingWorkspace, resolution: &Resolution, index: usize, now_ms: i64) {
    let stand_in = LogPosition(index as i64);
    dirty.identities.extend(resolution.relinked.iter().cloned());
    for merge in &resolution.merges {
        dirty.profiles.insert(merge.survivor);
        dirty.merges.push(MergeRecord {
            merge: merge.clone(),
            position: stand_in,
            at_ms: now_ms,
        });
    }
    for conflict in &resolution.conflicts {
        dirty.conflicts.push(ConflictRecord {
            conflict: conflict.clone(),
            position: stand_in,
            at_ms: now_ms,
        });
    }
}

/// The identity an alias call's `previousId` names: a known user id, else an anonymous id.
fn alias_identity(event: &NewEvent, graph: &IdentityGraph) -> Option<Identity> {
    let previous = event.previous_id.as_deref()?;
    let as_user = Identity::new(IdentityKind::UserId, previous).ok()?;
    if graph.profile_of(&as_user).is_some() {
        return Some(as_user);
    }
    Identity::new(IdentityKind::AnonymousId, previous).ok()
}

/// Identify traits as stored: contact traits in their cleaned form, invalid ones left
/// out (they are flagged on the profile instead).
fn person_traits(event: &NewEvent) -> JsonObject {
    let mut traits = event.traits.clone();
    let cleaned: BTreeMap<&str, &str> = event
        .identities
        .iter()
        .filter_map(|i| match i.kind {
            IdentityKind::Email => Some(("email", i.value.as_str())),
            IdentityKind::Phone => Some(("phone", i.value.as_str())),
            _ => None,
        })
        .collect();
    for key in ["email", "phone"] {
        if traits.contains_key(key) {
            match cleaned.get(key) {
                Some(value) => {
                    traits.insert(key.to_owned(), Value::String((*value).to_owned()));
                }
                None => {
                    traits.remove(key);
                }
            }
        }
    }
    traits
}
