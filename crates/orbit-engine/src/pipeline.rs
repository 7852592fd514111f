//! The ingest pipeline: one task owns the event log and the profiles.
//!
//! Requests queue in a channel. Each round takes everything queued so far: appends are
//! grouped into one transaction (group commit, without any added delay: while one
//! commit runs, the next one's requests accumulate), commands run in their place in the
//! queue. A commit claims message ids (duplicates are acknowledged, not applied),
//! resolves the new events' identities in order, appends them with their profiles,
//! stores what changed, and only then answers. An answered request is durable and its
//! profiles are up to date: reads after an acknowledgement see the events.

use crate::EngineError;
use crate::audience::AudienceIndexes;
use crate::audience::index::AudienceIndex;
use crate::resolver::{Pending, Resolver};
use crate::snapshot::SnapshotFile;
use crate::startup::{self, Loaded, StartupReport};
use crate::sync::Shared;
use crate::timeline::{TimelineCursor, Timelines};
use orbit_core::event::JsonObject;
use orbit_core::profile::Profile;
use orbit_core::{Clock, Identity, NewEvent, ProfileId, WorkspaceId};
use orbit_store::{
    AppendOutcome, LogEntry, LogPosition, ProfileRecord, StoreError, Stores, WorkspaceChanges,
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Times the phases of one ingest commit into `orbit_ingest_commit_phase_seconds`.
struct CommitPhases {
    since: std::time::Instant,
}

impl CommitPhases {
    fn start() -> Self {
        Self {
            since: std::time::Instant::now(),
        }
    }

    /// Records the time since the previous mark as `phase`.
    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        metrics::histogram!("orbit_ingest_commit_phase_seconds", "phase" => phase)
            .record((now - self.since).as_secs_f64());
        self.since = now;
    }
}

/// Most events one commit takes.
const MAX_EVENTS_PER_COMMIT: usize = 20_000;

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

enum Request {
    Append {
        entries: Vec<LogEntry>,
        reply: Reply<Vec<AppendOutcome>>,
    },
    PatchTraits {
        workspace: WorkspaceId,
        profile: ProfileId,
        traits: JsonObject,
        reply: Reply<Profile>,
    },
    Erase {
        workspace: WorkspaceId,
        profile: ProfileId,
        reply: Reply<Profile>,
    },
    ReloadSettings {
        reply: Reply<()>,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Append { entries, .. } => write!(f, "Append({} events)", entries.len()),
            Self::PatchTraits { .. } => f.write_str("PatchTraits"),
            Self::Erase { .. } => f.write_str("Erase"),
            Self::ReloadSettings { .. } => f.write_str("ReloadSettings"),
        }
    }
}

/// A handle to the running pipeline; cheap to clone.
#[derive(Clone, Debug)]
pub struct PipelineHandle {
    requests: mpsc::Sender<Request>,
    head: watch::Receiver<LogPosition>,
    resolver: Arc<Shared<Resolver>>,
    timelines: Arc<Shared<Timelines>>,
    audiences: Arc<Shared<AudienceIndexes>>,
    startup: Arc<StartupReport>,
}

impl PipelineHandle {
    /// Appends events; returns once they are durable and applied, one outcome per event.
    ///
    /// Events are encoded here, in the caller's task, so that the pipeline's single
    /// writer spends its time on storage only.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<AppendOutcome>, EngineError> {
        let entries = events
            .into_iter()
            .map(LogEntry::encode)
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append { entries, reply }).await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Sets traits on a profile as of now (latest-wins against older values).
    pub async fn patch_traits(
        &self,
        workspace: WorkspaceId,
        profile: ProfileId,
        traits: JsonObject,
    ) -> Result<Profile, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::PatchTraits {
            workspace,
            profile,
            traits,
            reply,
        })
        .await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Erases a profile. Appends queued before this call are applied first, so events
    /// already accepted for the person go with them and cannot bring them back.
    pub async fn erase(&self, workspace: WorkspaceId, profile: ProfileId) -> Result<Profile, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Erase {
            workspace,
            profile,
            reply,
        })
        .await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Re-reads workspace settings (identity policy, trait rules) from storage.
    pub async fn reload_settings(&self) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::ReloadSettings { reply }).await?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// How the pipeline's memory was loaded at start-up.
    pub fn startup(&self) -> &StartupReport {
        &self.startup
    }

    /// The position of the newest durable event; changes as commits land.
    pub fn head(&self) -> watch::Receiver<LogPosition> {
        self.head.clone()
    }

    /// A profile by its id or the id of a profile merged into it, from memory.
    ///
    /// Profiles are read as the pipeline holds them: an acknowledged event is always
    /// reflected, and one whose commit is under way may already be.
    pub fn profile(&self, workspace: &WorkspaceId, id: ProfileId) -> Option<Profile> {
        self.resolver
            .read()
            .get(workspace)
            .and_then(|state| state.graph.profile(id).cloned())
    }

    /// The profile a possibly merged id now belongs to, if it exists: cheaper than
    /// [`PipelineHandle::profile`] when only the id is wanted.
    pub fn survivor(&self, workspace: &WorkspaceId, id: ProfileId) -> Option<ProfileId> {
        self.resolver
            .read()
            .get(workspace)
            .and_then(|state| state.graph.canonical(id))
    }

    /// The ids merged into a live profile (none for an unknown one), without copying
    /// the rest of it.
    pub fn merged_ids(&self, workspace: &WorkspaceId, id: ProfileId) -> Vec<ProfileId> {
        self.resolver
            .read()
            .get(workspace)
            .and_then(|state| Some(state.graph.profile(id)?.merged_ids.clone()))
            .unwrap_or_default()
    }

    /// One trait of a profile, without copying the rest of it.
    pub fn profile_trait(
        &self,
        workspace: &WorkspaceId,
        id: ProfileId,
        name: &str,
    ) -> Option<serde_json::Value> {
        self.resolver
            .read()
            .get(workspace)
            .and_then(|state| state.graph.profile(id)?.traits.get(name).cloned())
    }

    /// Every live profile of a workspace holding a trait: its id, the value, and its
    /// own `time_zone` trait when it has one. Copies the values out under the lock.
    pub fn profiles_with_trait(
        &self,
        workspace: &WorkspaceId,
        name: &str,
    ) -> Vec<(ProfileId, serde_json::Value, Option<serde_json::Value>)> {
        let resolver = self.resolver.read();
        let Some(state) = resolver.get(workspace) else {
            return Vec::new();
        };
        state
            .graph
            .profiles()
            .filter_map(|p| {
                let value = p.traits.get(name)?.clone();
                Some((p.id, value, p.traits.get("time_zone").cloned()))
            })
            .collect()
    }

    /// A workspace's time zone, from the settings in effect (UTC for an unknown one):
    /// read from memory, since evaluations ask for it after every commit.
    pub fn time_zone(&self, workspace: &WorkspaceId) -> jiff::tz::TimeZone {
        self.resolver
            .read()
            .get(workspace)
            .map_or(jiff::tz::TimeZone::UTC, |state| state.settings.time_zone.zone())
    }

    /// A workspace's contact policy, from the settings in effect.
    pub fn contact_policy(&self, workspace: &WorkspaceId) -> orbit_core::messaging::ContactPolicy {
        self.resolver
            .read()
            .get(workspace)
            .map(|state| state.settings.contact_policy.clone())
            .unwrap_or_default()
    }

    /// The profile holding an identity, from memory.
    pub fn profile_by_identity(&self, workspace: &WorkspaceId, identity: &Identity) -> Option<Profile> {
        let resolver = self.resolver.read();
        let graph = &resolver.get(workspace)?.graph;
        graph.profile(graph.profile_of(identity)?).cloned()
    }

    /// A page of a live profile's committed events, newest first, strictly older than
    /// `after` when given.
    pub fn timeline_page(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
        after: Option<TimelineCursor>,
        limit: usize,
    ) -> Vec<TimelineCursor> {
        self.timelines.read().page(workspace, profile, after, limit)
    }

    /// The positions of all of a live profile's committed events, oldest first.
    pub fn timeline_positions(&self, workspace: &WorkspaceId, profile: ProfileId) -> Vec<LogPosition> {
        self.timelines.read().positions(workspace, profile)
    }

    /// Runs `f` over a workspace's audience index as of the last commit (`None` while
    /// the workspace holds no profile). Evaluation is CPU work: call it off the async
    /// runtime's threads.
    pub fn with_audience<R>(
        &self,
        workspace: &WorkspaceId,
        f: impl FnOnce(Option<&AudienceIndex>) -> R,
    ) -> R {
        f(self.audiences.read().index(workspace))
    }

    /// Runs `f` over every workspace's audience index as of the last commit.
    pub fn with_audiences<R>(&self, f: impl FnOnce(&AudienceIndexes) -> R) -> R {
        f(&self.audiences.read())
    }

    /// Runs `f` over every workspace's audience index, exclusively: commits wait.
    /// Keep `f` short.
    pub fn with_audiences_mut<R>(&self, f: impl FnOnce(&mut AudienceIndexes) -> R) -> R {
        f(&mut self.audiences.write())
    }

    /// Runs `f` over a workspace's audience index for writing (created empty if the
    /// workspace has none yet), holding commits back meanwhile: keep `f` short, and
    /// call it off the async runtime's threads.
    pub fn with_audience_mut<R>(
        &self,
        workspace: &WorkspaceId,
        f: impl FnOnce(&mut AudienceIndex) -> R,
    ) -> R {
        f(self.audiences.write().workspace_index(workspace))
    }

    async fn send(&self, request: Request) -> Result<(), EngineError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| EngineError::Stopped)
    }
}

#[cfg(test)]
impl PipelineHandle {
    /// The pipeline's memory, for tests that compare how it was loaded.
    pub(crate) fn memory(
        &self,
    ) -> (
        std::sync::RwLockReadGuard<'_, Resolver>,
        std::sync::RwLockReadGuard<'_, Timelines>,
        std::sync::RwLockReadGuard<'_, AudienceIndexes>,
    ) {
        (self.resolver.read(), self.timelines.read(), self.audiences.read())
    }
}

/// The pipeline's state and loop.
pub struct IngestPipeline {
    stores: Stores,
    clock: Arc<dyn Clock>,
    resolver: Arc<Shared<Resolver>>,
    timelines: Arc<Shared<Timelines>>,
    audiences: Arc<Shared<AudienceIndexes>>,
    head: watch::Sender<LogPosition>,
}

impl IngestPipeline {
    /// Loads every profile and timeline into memory from the whole log and starts the
    /// pipeline task.
    pub async fn start(stores: Stores, clock: Arc<dyn Clock>) -> Result<PipelineHandle, EngineError> {
        Self::start_from(stores, clock, None).await
    }

    /// Loads every profile and timeline into memory, from `snapshot` and the log after
    /// it when the snapshot is usable (ADR 0010), and starts the pipeline task.
    pub async fn start_from(
        stores: Stores,
        clock: Arc<dyn Clock>,
        snapshot: Option<&SnapshotFile>,
    ) -> Result<PipelineHandle, EngineError> {
        let Loaded {
            resolver,
            timelines,
            audiences,
            report,
        } = startup::load(&stores, snapshot).await?;
        let (resolver, timelines) = (Arc::new(Shared::new(resolver)), Arc::new(Shared::new(timelines)));
        let audiences = Arc::new(Shared::new(audiences));
        let (head, head_rx) = watch::channel(stores.events.head().await?);
        let (requests, inbox) = mpsc::channel(4_096);
        let pipeline = Self {
            stores,
            clock,
            resolver: resolver.clone(),
            timelines: timelines.clone(),
            audiences: audiences.clone(),
            head,
        };
        // The single writer gets a thread and a runtime of its own: on the shared
        // runtime it waited in the run queue behind request handlers after every
        // statement it handed to SQLite's thread, and ingestion is as fast as it is.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| EngineError::Start(format!("the pipeline's runtime: {e}")))?;
        std::thread::Builder::new()
            .name("orbit-pipeline".into())
            .spawn(move || runtime.block_on(pipeline.run(inbox)))
            .map_err(|e| EngineError::Start(format!("the pipeline's thread: {e}")))?;
        Ok(PipelineHandle {
            requests,
            head: head_rx,
            resolver,
            timelines,
            audiences,
            startup: Arc::new(report),
        })
    }

    async fn run(mut self, mut inbox: mpsc::Receiver<Request>) {
        let mut round = Vec::new();
        while let Some(first) = inbox.recv().await {
            round.push(first);
            let mut events = count_events(&round);
            while events < MAX_EVENTS_PER_COMMIT {
                let Ok(next) = inbox.try_recv() else { break };
                events += count_events(std::slice::from_ref(&next));
                round.push(next);
            }
            let mut appends = Vec::new();
            for request in round.drain(..) {
                match request {
                    Request::Append { entries, reply } => appends.push((entries, reply)),
                    command => {
                        // Commands see every append queued before them.
                        self.commit_appends(std::mem::take(&mut appends)).await;
                        self.handle(command).await;
                    }
                }
            }
            self.commit_appends(appends).await;
        }
    }

    async fn commit_appends(&mut self, appends: Vec<(Vec<LogEntry>, Reply<Vec<AppendOutcome>>)>) {
        if appends.is_empty() {
            return;
        }
        let (batches, replies): (Vec<Vec<LogEntry>>, Vec<_>) = appends.into_iter().unzip();
        let events: Vec<&LogEntry> = batches.iter().flatten().collect();
        let started = std::time::Instant::now();
        let result = self.commit_events(&events).await;
        let count = events.len();
        drop(events);
        metrics::histogram!("orbit_ingest_commit_duration_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("orbit_ingest_commit_events").record(count as f64);
        match result {
            Ok(outcomes) => {
                let mut rest = outcomes.as_slice();
                for (batch, reply) in batches.iter().zip(replies) {
                    let (mine, others) = rest.split_at(batch.len().min(rest.len()));
                    rest = others;
                    let _ = reply.send(Ok(mine.to_vec()));
                }
                // Freeing a round's events takes a few percent of the ingest path's
                // time: not on the single writer's.
                tokio::task::spawn_blocking(move || drop(batches));
            }
            Err(error) => {
                metrics::counter!("orbit_ingest_commit_failures_total").increment(1);
                tracing::error!(error = %error, events = count, "committing events failed");
                let certain = error.certainly_not_written();
                let message = error.to_string();
                for reply in replies {
                    let e = if certain {
                        StoreError::NotWritten(message.clone())
                    } else {
                        StoreError::Unknown(message.clone())
                    };
                    let _ = reply.send(Err(EngineError::Store(e)));
                }
                self.reload().await;
            }
        }
    }

    async fn commit_events(&mut self, entries: &[&LogEntry]) -> Result<Vec<AppendOutcome>, StoreError> {
        let mut phases = CommitPhases::start();
        let mut tx = self.stores.events.begin().await?;
        phases.mark("begin");
        let events: Vec<&NewEvent> = entries.iter().map(|e| &e.event).collect();
        let fresh = tx.claim_message_ids(&events).await?;
        phases.mark("claim");
        let now_ms = self.clock.now().as_millisecond();
        let mut pending = Pending::default();
        let mut to_store = Vec::with_capacity(entries.len());
        {
            let mut resolver = self.resolver.write();
            for (entry, _) in entries.iter().zip(&fresh).filter(|(_, f)| **f) {
                let profile = resolver.apply_event(&entry.event, to_store.len(), &mut pending, now_ms);
                to_store.push((*entry, profile));
            }
        }
        phases.mark("resolve");
        let positions = tx.append(&to_store).await?;
        phases.mark("append");
        let changes = self.resolver.read().changes(pending, |index| positions[index]);
        for workspace in &changes {
            tx.apply(workspace).await?;
        }
        phases.mark("profiles");
        // The audience indexes take in the round while SQLite syncs it: they do not
        // count it as applied, nor can a snapshot capture them, until it is durable.
        let index_round = async {
            self.update_audiences(&to_store, &positions, &changes);
            phases.mark("audiences");
        };
        let (committed, ()) = futures::future::join(tx.commit(), index_round).await;
        committed?;
        self.audiences.write().settle_commit();
        phases.mark("sync");
        {
            let mut timelines = self.timelines.write();
            for ((entry, profile), position) in to_store.iter().zip(&positions) {
                if let Some(profile) = profile {
                    let at = TimelineCursor {
                        timestamp_ms: entry.event.timestamp.as_millisecond(),
                        position: *position,
                    };
                    timelines.record(&entry.event.workspace_id, *profile, at);
                }
            }
            for workspace in &changes {
                for record in &workspace.merges {
                    timelines.merge(
                        &workspace.workspace_id,
                        record.merge.survivor,
                        record.merge.merged,
                    );
                }
            }
            metrics::gauge!("orbit_timeline_events").set(timelines.event_count() as f64);
        }
        phases.mark("timelines");
        if let Some(newest) = positions.last() {
            self.head.send_replace(*newest);
            metrics::gauge!("orbit_log_head_position").set(newest.0 as f64);
        }
        metrics::gauge!("orbit_profiles").set(self.resolver.read().profile_count() as f64);
        Ok(AppendOutcome::from_claims(&fresh, positions))
    }

    /// Brings the audience indexes up to a commit in flight: events first (on the
    /// profiles they were resolved to), then merges (which carry those events over),
    /// then traits. The commit's positions count as applied once it settles.
    fn update_audiences(
        &self,
        stored: &[(&LogEntry, Option<ProfileId>)],
        positions: &[LogPosition],
        changes: &[WorkspaceChanges],
    ) {
        let mut audiences = self.audiences.write();
        for ((entry, profile), position) in stored.iter().zip(positions) {
            if let Some(profile) = profile {
                audiences.record(*profile, &entry.event, *position);
            }
        }
        if let Some(newest) = positions.last() {
            audiences.commit_in_flight(*newest);
        }
        for workspace in changes {
            let index = audiences.workspace_index(&workspace.workspace_id);
            for record in &workspace.merges {
                index.merge(record.merge.survivor, record.merge.merged);
            }
            for record in &workspace.profiles {
                index.set_traits(record.profile.id, record.profile.traits.to_object());
            }
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Append { .. } => unreachable!("appends are grouped, not handled one by one"),
            Request::PatchTraits {
                workspace,
                profile,
                traits,
                reply,
            } => {
                let result = self.patch_traits(workspace, profile, traits).await;
                let failed = matches!(result, Err(EngineError::Store(_)));
                let _ = reply.send(result);
                if failed {
                    self.reload().await;
                }
            }
            Request::Erase {
                workspace,
                profile,
                reply,
            } => {
                let result = self.erase(workspace, profile).await;
                let failed = matches!(result, Err(EngineError::Store(_)));
                let _ = reply.send(result);
                if failed {
                    self.reload().await;
                }
            }
            Request::ReloadSettings { reply } => {
                let result = self.stores.workspaces.list_workspaces().await;
                let _ = reply.send(match result {
                    Ok(workspaces) => {
                        self.resolver.write().use_settings(workspaces);
                        Ok(())
                    }
                    Err(error) => Err(error.into()),
                });
            }
        }
    }

    async fn patch_traits(
        &mut self,
        workspace: WorkspaceId,
        profile: ProfileId,
        traits: JsonObject,
    ) -> Result<Profile, EngineError> {
        let now = self.clock.now();
        let record = {
            let mut resolver = self.resolver.write();
            let state = resolver.workspace(&workspace);
            let id = state
                .graph
                .canonical(profile)
                .ok_or(EngineError::ProfileNotFound)?;
            state
                .graph
                .observe_traits(id, &traits, now, &state.settings.trait_rules);
            let updated = state.graph.profile(id).ok_or(EngineError::ProfileNotFound)?;
            ProfileRecord {
                profile: updated.clone(),
                linking: state.graph.linking(updated),
            }
        };
        let updated = record.profile.clone();
        let mut changes = WorkspaceChanges::new(workspace.clone());
        changes.profiles.push(record);
        self.stores.profiles.commit(&[changes]).await?;
        self.audiences
            .write()
            .workspace_index(&workspace)
            .set_traits(updated.id, updated.traits.to_object());
        Ok(updated)
    }

    async fn erase(&mut self, workspace: WorkspaceId, profile: ProfileId) -> Result<Profile, EngineError> {
        let erased = self
            .resolver
            .write()
            .workspace(&workspace)
            .graph
            .erase(profile)
            .ok_or(EngineError::ProfileNotFound)?;
        let mut changes = WorkspaceChanges::new(workspace.clone());
        changes.erased.push(erased.clone());
        changes.erased_events = self.timelines.read().positions(&workspace, erased.id);
        self.stores.profiles.commit(&[changes]).await?;
        {
            let mut timelines = self.timelines.write();
            timelines.remove(&workspace, erased.id);
            metrics::gauge!("orbit_timeline_events").set(timelines.event_count() as f64);
        }
        self.audiences
            .write()
            .workspace_index(&workspace)
            .erase(erased.id);
        metrics::gauge!("orbit_profiles").set(self.resolver.read().profile_count() as f64);
        tracing::info!(profile.id = %erased.id, "profile erased");
        Ok(erased)
    }

    /// After a failed write the in-memory graphs may be ahead of storage, and a commit
    /// of unknown outcome may have landed unseen by the timelines: reload both.
    async fn reload(&mut self) {
        for attempt in 1..=10u64 {
            let loaded = match Resolver::load(&self.stores).await {
                Ok((resolver, timelines)) => AudienceIndexes::load(&self.stores, &resolver)
                    .await
                    .map(|audiences| (resolver, timelines, audiences)),
                Err(error) => Err(error),
            };
            match loaded {
                Ok((resolver, timelines, audiences)) => {
                    *self.resolver.write() = resolver;
                    *self.timelines.write() = timelines;
                    *self.audiences.write() = audiences;
                    return;
                }
                Err(error) => {
                    tracing::error!(error = %error, attempt, "reloading profiles failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
            }
        }
        tracing::error!("profiles could not be reloaded; the pipeline keeps its in-memory state");
    }
}

fn count_events(requests: &[Request]) -> usize {
    requests
        .iter()
        .map(|r| match r {
            Request::Append { entries, .. } => entries.len(),
            _ => 0,
        })
        .sum()
}
