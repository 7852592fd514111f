//! The profile engine: applies the event log in order to the identity graphs.
//!
//! One task owns every workspace's [`IdentityGraph`]. It reads the log after its
//! checkpoint, resolves each event's identities, updates traits, and commits the
//! changes together with the new checkpoint, so a crash replays from the last commit
//! and never applies an event twice. Trait patches and erasures are commands to the
//! same task, so they are ordered with the events.

use crate::EngineError;
use orbit_core::event::JsonObject;
use orbit_core::profile::Profile;
use orbit_core::resolution::{IdentityGraph, Resolution};
use orbit_core::{Clock, EventKind, Identity, IdentityKind, NewEvent, ProfileId, WorkspaceId};
use orbit_store::{
    ConflictRecord, EngineCommit, LogPosition, MergeRecord, StoreError, StoredEvent, Stores,
    WorkspaceChanges, WorkspaceSettings,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Events read from the log per step.
const EVENTS_PER_STEP: u32 = 5_000;
/// Profiles loaded per page at start-up.
const PROFILES_PER_PAGE: u32 = 5_000;

enum Command {
    PatchTraits {
        workspace: WorkspaceId,
        profile: ProfileId,
        traits: JsonObject,
        reply: oneshot::Sender<Result<Profile, EngineError>>,
    },
    Erase {
        workspace: WorkspaceId,
        profile: ProfileId,
        upto: LogPosition,
        reply: oneshot::Sender<Result<Profile, EngineError>>,
    },
    ReloadSettings {
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
}

/// A handle to the running profile engine; cheap to clone.
#[derive(Clone, Debug)]
pub struct ProfileEngineHandle {
    commands: mpsc::Sender<Command>,
    applied: watch::Receiver<LogPosition>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PatchTraits { .. } => "PatchTraits",
            Self::Erase { .. } => "Erase",
            Self::ReloadSettings { .. } => "ReloadSettings",
        })
    }
}

impl ProfileEngineHandle {
    /// Sets traits on a profile as of now (latest-wins against older values).
    pub async fn patch_traits(
        &self,
        workspace: WorkspaceId,
        profile: ProfileId,
        traits: JsonObject,
    ) -> Result<Profile, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::PatchTraits {
            workspace,
            profile,
            traits,
            reply,
        })
        .await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Erases a profile after applying every event up to `upto` (the log head when the
    /// erasure was asked for), so events already in flight cannot bring it back.
    pub async fn erase(
        &self,
        workspace: WorkspaceId,
        profile: ProfileId,
        upto: LogPosition,
    ) -> Result<Profile, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Erase {
            workspace,
            profile,
            upto,
            reply,
        })
        .await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Re-reads workspace settings (identity policy, trait rules) from storage.
    pub async fn reload_settings(&self) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::ReloadSettings { reply }).await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// The last log position applied; changes as the engine advances.
    pub fn applied(&self) -> watch::Receiver<LogPosition> {
        self.applied.clone()
    }

    /// Waits until the engine has applied the log up to `position`.
    pub async fn wait_applied(&self, position: LogPosition) -> Result<(), EngineError> {
        let mut applied = self.applied.clone();
        applied
            .wait_for(|p| *p >= position)
            .await
            .map(|_| ())
            .map_err(|_| EngineError::Stopped)
    }

    async fn send(&self, command: Command) -> Result<(), EngineError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| EngineError::Stopped)
    }
}

struct WorkspaceState {
    settings: WorkspaceSettings,
    graph: IdentityGraph,
}

/// Changes of one step, per workspace, before they are committed.
#[derive(Default)]
struct Pending {
    dirty: HashMap<WorkspaceId, PendingWorkspace>,
}

#[derive(Default)]
struct PendingWorkspace {
    profiles: HashSet<ProfileId>,
    identities: HashSet<Identity>,
    merges: Vec<MergeRecord>,
    conflicts: Vec<ConflictRecord>,
    event_profiles: Vec<(LogPosition, ProfileId)>,
}

/// The profile engine's state and loop.
pub struct ProfileEngine {
    stores: Stores,
    clock: Arc<dyn Clock>,
    workspaces: HashMap<WorkspaceId, WorkspaceState>,
    checkpoint: LogPosition,
    applied: watch::Sender<LogPosition>,
}

impl ProfileEngine {
    /// Loads every profile into memory and starts the engine task, which follows
    /// `appended` (the writer's log head).
    pub async fn start(
        stores: Stores,
        clock: Arc<dyn Clock>,
        appended: watch::Receiver<LogPosition>,
    ) -> Result<ProfileEngineHandle, EngineError> {
        let checkpoint = stores.profiles.checkpoint().await?;
        let (applied, applied_rx) = watch::channel(checkpoint);
        let mut engine = Self {
            stores,
            clock,
            workspaces: HashMap::new(),
            checkpoint,
            applied,
        };
        engine.load().await?;
        let (commands, inbox) = mpsc::channel(256);
        tokio::spawn(engine.run(inbox, appended));
        Ok(ProfileEngineHandle {
            commands,
            applied: applied_rx,
        })
    }

    async fn load(&mut self) -> Result<(), EngineError> {
        self.load_settings().await?;
        let mut after = None;
        let mut loaded = 0usize;
        loop {
            let page = self
                .stores
                .profiles
                .load_profiles(after.clone(), PROFILES_PER_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.workspace_id.clone(), last.profile.id));
            loaded += page.len();
            for stored in page {
                self.workspace(&stored.workspace_id)
                    .graph
                    .restore_profile(stored.profile, stored.identities);
            }
            tracing::info!(profiles = loaded, "loading profiles");
        }
        tracing::info!(
            profiles = loaded,
            checkpoint = self.checkpoint.0,
            "profile engine ready"
        );
        Ok(())
    }

    async fn load_settings(&mut self) -> Result<(), EngineError> {
        for record in self.stores.workspaces.list_workspaces().await? {
            self.workspace(&record.id).settings = record.settings;
        }
        Ok(())
    }

    fn workspace(&mut self, id: &WorkspaceId) -> &mut WorkspaceState {
        self.workspaces
            .entry(id.clone())
            .or_insert_with(|| WorkspaceState {
                settings: WorkspaceSettings::default(),
                graph: IdentityGraph::default(),
            })
    }

    async fn run(mut self, mut inbox: mpsc::Receiver<Command>, mut appended: watch::Receiver<LogPosition>) {
        loop {
            if let Err(error) = self.catch_up(None).await {
                if !self.recover(error).await {
                    return;
                }
                continue;
            }
            tokio::select! {
                changed = appended.changed() => {
                    if changed.is_err() {
                        // The writer is gone: apply what is left, then stop.
                        let _ = self.catch_up(None).await;
                        return;
                    }
                }
                command = inbox.recv() => {
                    let Some(command) = command else { return };
                    if let Err(error) = self.handle(command).await
                        && !self.recover(error).await
                    {
                        return;
                    }
                }
            }
        }
    }

    /// After a failed commit the in-memory state may be ahead of storage: reload it.
    async fn recover(&mut self, error: EngineError) -> bool {
        tracing::error!(error = %error, "profile engine step failed; reloading state from storage");
        for attempt in 0..10u32 {
            tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt + 1))).await;
            self.workspaces.clear();
            match self.stores.profiles.checkpoint().await {
                Ok(checkpoint) => self.checkpoint = checkpoint,
                Err(_) => continue,
            }
            if self.load().await.is_ok() {
                return true;
            }
        }
        tracing::error!("profile engine could not reload its state; stopping");
        false
    }

    /// Applies the log until its end, or until `upto` when given.
    async fn catch_up(&mut self, upto: Option<LogPosition>) -> Result<(), EngineError> {
        loop {
            if upto.is_some_and(|u| self.checkpoint >= u) {
                return Ok(());
            }
            let events = self
                .stores
                .events
                .read_after(self.checkpoint, EVENTS_PER_STEP)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                return Ok(());
            };
            let mut pending = Pending::default();
            for stored in &events {
                self.apply_event(stored, &mut pending);
            }
            self.commit(pending, last).await?;
        }
    }

    fn apply_event(&mut self, stored: &StoredEvent, pending: &mut Pending) {
        let event = &stored.event;
        let now_ms = self.clock.now().as_millisecond();
        let state = self.workspace(&event.workspace_id);
        let mut identities = event.identities.clone();
        if let Some(previous) = alias_identity(event, &state.graph) {
            identities.push(previous);
        }
        let mut mint = || ProfileId::mint(event.received_at, uuid::Uuid::new_v4().as_u128());
        let resolution = state.graph.resolve(
            &identities,
            event.timestamp,
            &state.settings.identity_policy,
            &state.settings.trait_rules,
            &mut mint,
        );
        let Some(profile) = resolution.profile else { return };
        if event.kind == EventKind::Identify {
            let traits = person_traits(event);
            state
                .graph
                .observe_traits(profile, &traits, event.timestamp, &state.settings.trait_rules);
        }
        state.graph.flag(profile, &event.issues);
        let dirty = pending.dirty.entry(event.workspace_id.clone()).or_default();
        note_resolution(dirty, &resolution, stored.position, now_ms);
        dirty.profiles.insert(profile);
        dirty.event_profiles.push((stored.position, profile));
    }

    async fn commit(&mut self, pending: Pending, checkpoint: LogPosition) -> Result<(), EngineError> {
        let mut commit = EngineCommit {
            checkpoint,
            workspaces: Vec::new(),
        };
        for (workspace_id, dirty) in pending.dirty {
            let Some(state) = self.workspaces.get(&workspace_id) else {
                continue;
            };
            let mut changes = WorkspaceChanges::new(workspace_id);
            changes.profiles = dirty
                .profiles
                .iter()
                .filter_map(|id| state.graph.profile(*id))
                .cloned()
                .collect();
            changes.profiles.sort_by_key(|p| p.id);
            changes.profiles.dedup_by_key(|p| p.id);
            changes.identities = dirty
                .identities
                .into_iter()
                .filter_map(|i| state.graph.identity_state(&i).cloned().map(|s| (i, s)))
                .collect();
            changes.merges = dirty.merges;
            changes.conflicts = dirty.conflicts;
            changes.event_profiles = dirty.event_profiles;
            commit.workspaces.push(changes);
        }
        self.stores.profiles.commit(&commit).await?;
        self.checkpoint = checkpoint;
        self.applied.send_replace(checkpoint);
        Ok(())
    }

    async fn handle(&mut self, command: Command) -> Result<(), EngineError> {
        match command {
            Command::PatchTraits {
                workspace,
                profile,
                traits,
                reply,
            } => {
                let now = self.clock.now();
                let state = self.workspace(&workspace);
                let Some(id) = state.graph.canonical(profile) else {
                    let _ = reply.send(Err(EngineError::ProfileNotFound));
                    return Ok(());
                };
                state
                    .graph
                    .observe_traits(id, &traits, now, &state.settings.trait_rules);
                let mut pending = Pending::default();
                pending
                    .dirty
                    .entry(workspace.clone())
                    .or_default()
                    .profiles
                    .insert(id);
                let result = self.commit(pending, self.checkpoint).await;
                let answer = match &result {
                    Ok(()) => self
                        .workspace(&workspace)
                        .graph
                        .profile(id)
                        .cloned()
                        .ok_or(EngineError::ProfileNotFound),
                    Err(e) => Err(EngineError::Store(StoreError::Unknown(e.to_string()))),
                };
                let _ = reply.send(answer);
                result
            }
            Command::Erase {
                workspace,
                profile,
                upto,
                reply,
            } => {
                if let Err(e) = self.catch_up(Some(upto)).await {
                    let _ = reply.send(Err(EngineError::Store(StoreError::NotWritten(e.to_string()))));
                    return Err(e);
                }
                let Some(erased) = self.workspace(&workspace).graph.erase(profile) else {
                    let _ = reply.send(Err(EngineError::ProfileNotFound));
                    return Ok(());
                };
                let mut changes = WorkspaceChanges::new(workspace);
                changes.erased.push(erased.clone());
                let commit = EngineCommit {
                    checkpoint: self.checkpoint,
                    workspaces: vec![changes],
                };
                match self.stores.profiles.commit(&commit).await {
                    Ok(()) => {
                        tracing::info!(profile.id = %erased.id, "profile erased");
                        let _ = reply.send(Ok(erased));
                        Ok(())
                    }
                    Err(e) => {
                        let _ = reply.send(Err(EngineError::Store(StoreError::Unknown(e.to_string()))));
                        Err(e.into())
                    }
                }
            }
            Command::ReloadSettings { reply } => {
                let result = self.load_settings().await;
                let _ = reply.send(
                    result
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| EngineError::Store(StoreError::NotWritten(e.to_string()))),
                );
                Ok(())
            }
        }
    }
}

fn note_resolution(
    dirty: &mut PendingWorkspace,
    resolution: &Resolution,
    position: LogPosition,
    now_ms: i64,
) {
    dirty.identities.extend(resolution.relinked.iter().cloned());
    for merge in &resolution.merges {
        dirty.profiles.insert(merge.survivor);
        dirty.merges.push(MergeRecord {
            merge: merge.clone(),
            position,
            at_ms: now_ms,
        });
    }
    for conflict in &resolution.conflicts {
        dirty.conflicts.push(ConflictRecord {
            conflict: conflict.clone(),
            position,
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
