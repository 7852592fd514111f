//! Campaign runs: launching, pausing, resuming and cancelling campaigns, opening
//! each run by writing its ledger rows, and closing it once every row is final.
//!
//! Transitions come from the pure state machine in `orbit_core::messaging::campaign`;
//! this module stores each new state first and executes its effects after, so a
//! crash in between is repaired by the next tick (a run marked open but not written
//! is written; ledger ids make writing it twice harmless).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orbit_core::messaging::campaign::{Lifecycle, apply};
use orbit_core::messaging::send_key::campaign_origin;
use orbit_core::messaging::{
    Arm, CampaignCommand, CampaignEffect, CampaignState, ChannelPolicy, DefinitionError, Lane,
    LifecycleError, SendKey, SuppressionReason,
};
use orbit_core::{CampaignId, Clock, ProfileId, SegmentId, WorkspaceId};
use orbit_store::{CampaignRecord, NewSend, SendState, StoreError, Stores};

/// Rows written per transaction when a run opens: small enough that the first
/// messages go while the rest of a large audience is still being written.
const MATERIALISE_CHUNK: usize = 2_000;

/// Where a campaign's audience comes from (the segment catalog, kept by the server).
pub trait CampaignAudience: Send + Sync {
    /// The members of a segment now, in any order.
    fn members(&self, workspace: &WorkspaceId, segment: &SegmentId) -> Result<Vec<ProfileId>, String>;
}

/// Why a campaign command was refused.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// No such campaign.
    #[error("no such campaign")]
    NotFound,
    /// The command does not apply in the campaign's state.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The definition cannot run as written.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The audience could not be evaluated.
    #[error("the audience could not be evaluated: {0}")]
    Audience(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs campaigns.
pub struct CampaignRunner {
    stores: Stores,
    clock: Arc<dyn Clock>,
    audience: Arc<dyn CampaignAudience>,
    // Serialises transitions so that a tick and an API call never race on one row.
    transitions: tokio::sync::Mutex<()>,
}

impl CampaignRunner {
    /// A runner over the stores.
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, audience: Arc<dyn CampaignAudience>) -> Self {
        Self {
            stores,
            clock,
            audience,
            transitions: tokio::sync::Mutex::new(()),
        }
    }

    /// Launches a draft: its first run opens now or at its scheduled time.
    pub async fn launch(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<CampaignRecord, CampaignError> {
        let _guard = self.transitions.lock().await;
        let record = self.load(workspace, id).await?;
        record.definition.validate()?;
        let now = self.clock.now();
        let first_run = record.definition.first_run(now)?;
        self.transition(record, CampaignCommand::Launch { now, first_run })
            .await
    }

    /// Holds a running campaign's unsent messages.
    pub async fn pause(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<CampaignRecord, CampaignError> {
        let _guard = self.transitions.lock().await;
        let record = self.load(workspace, id).await?;
        self.transition(record, CampaignCommand::Pause).await
    }

    /// Releases a paused campaign's messages.
    pub async fn resume(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<CampaignRecord, CampaignError> {
        let _guard = self.transitions.lock().await;
        let record = self.load(workspace, id).await?;
        self.transition(record, CampaignCommand::Resume).await
    }

    /// Stops a campaign for good; unsent messages are suppressed as cancelled.
    pub async fn cancel(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<CampaignRecord, CampaignError> {
        let _guard = self.transitions.lock().await;
        let record = self.load(workspace, id).await?;
        self.transition(record, CampaignCommand::Cancel).await
    }

    /// Opens runs that are due, writes runs left unwritten by a crash, and closes
    /// runs whose messages are all final.
    pub async fn tick(&self) -> Result<(), CampaignError> {
        let _guard = self.transitions.lock().await;
        let now = self.clock.now();
        for record in self.stores.campaigns.live_campaigns().await? {
            match record.lifecycle.state {
                CampaignState::Scheduled if record.lifecycle.next_run_at.is_some_and(|at| at <= now) => {
                    self.transition(record, CampaignCommand::Due { now }).await?;
                }
                CampaignState::Running | CampaignState::Paused
                    if record.materialized_runs < record.lifecycle.runs =>
                {
                    let run = record.lifecycle.runs;
                    self.materialise(record, run).await?;
                }
                CampaignState::Running => {
                    let origin = campaign_origin(record.id.as_str(), record.lifecycle.runs);
                    if self
                        .stores
                        .ledger
                        .pending_in_origin(&record.workspace_id, &origin)
                        .await?
                        == 0
                    {
                        let next = record.definition.next_run_after(now)?;
                        self.transition(record, CampaignCommand::RunDrained { next })
                            .await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Ticks every `every` until the task is dropped.
    pub async fn run(self: Arc<Self>, every: Duration) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "campaign tick failed");
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn load(&self, workspace: &WorkspaceId, id: &CampaignId) -> Result<CampaignRecord, CampaignError> {
        self.stores
            .campaigns
            .campaign(workspace, id)
            .await?
            .ok_or(CampaignError::NotFound)
    }

    /// Stores the next state, then executes its effects.
    async fn transition(
        &self,
        mut record: CampaignRecord,
        command: CampaignCommand,
    ) -> Result<CampaignRecord, CampaignError> {
        let (lifecycle, effects): (Lifecycle, Vec<CampaignEffect>) = apply(record.lifecycle, command)?;
        if lifecycle == record.lifecycle && effects.is_empty() {
            return Ok(record);
        }
        record.lifecycle = lifecycle;
        record.updated_at = self.clock.now();
        self.stores
            .campaigns
            .save_campaign(&record, orbit_store::Write::Replace)
            .await?;
        let origin = campaign_origin(record.id.as_str(), record.lifecycle.runs);
        for effect in effects {
            match effect {
                CampaignEffect::OpenRun(run) => {
                    record = self.materialise(record, run).await?;
                }
                CampaignEffect::HoldSends => {
                    self.stores
                        .ledger
                        .hold_origin(&record.workspace_id, &origin, true)
                        .await?;
                }
                CampaignEffect::ReleaseSends => {
                    self.stores
                        .ledger
                        .hold_origin(&record.workspace_id, &origin, false)
                        .await?;
                }
                CampaignEffect::CancelPending => {
                    self.stores
                        .ledger
                        .cancel_origin(&record.workspace_id, &origin, self.clock.now())
                        .await?;
                }
                // The tick opens scheduled runs when their time comes.
                CampaignEffect::WakeAt(_) => {}
            }
        }
        Ok(record)
    }

    /// Writes run `run`'s ledger rows: one per person and lane, control rows
    /// suppressed, throttled campaigns spread over time.
    async fn materialise(
        &self,
        mut record: CampaignRecord,
        run: u32,
    ) -> Result<CampaignRecord, CampaignError> {
        let started = std::time::Instant::now();
        let definition = &record.definition;
        let mut members = self
            .audience
            .members(&record.workspace_id, &definition.segment)
            .map_err(CampaignError::Audience)?;
        members.sort_unstable();
        let split = definition.split();
        let origin = campaign_origin(record.id.as_str(), run);
        let lanes = self.lanes(&record).await?;
        let now = self.clock.now();
        let spacing = definition
            .throttle_per_minute
            .map(|per_minute| Duration::from_secs_f64(60.0 / f64::from(per_minute.max(1))));
        let held = record.lifecycle.state == CampaignState::Paused;
        let mut rows = Vec::with_capacity(MATERIALISE_CHUNK);
        let mut sent_index = 0u32;
        let mut written = 0u64;
        for profile in &members {
            let arm = split.assign(record.id.as_str(), profile);
            let (variant, row_lanes, state) = match arm {
                Arm::Control => (None, vec![Lane::Priority], SendState::Suppressed),
                Arm::Variant(i) => (Some(i), lanes[i].clone(), SendState::Scheduled),
            };
            for lane in row_lanes {
                let not_before = match (state, spacing) {
                    (SendState::Scheduled, Some(gap)) => {
                        sent_index += 1;
                        now + gap * (sent_index - 1)
                    }
                    _ => now,
                };
                rows.push(NewSend {
                    id: SendKey {
                        workspace: &record.workspace_id,
                        origin: &origin,
                        profile,
                        lane,
                    }
                    .id(),
                    workspace_id: record.workspace_id.clone(),
                    origin: origin.clone(),
                    campaign_id: Some(record.id.clone()),
                    profile_id: *profile,
                    lane,
                    variant: Some(match variant {
                        Some(i) => definition.variants[i].name.clone(),
                        None => orbit_core::messaging::assignment::CONTROL_ARM.to_owned(),
                    }),
                    marketing: definition.message_class().is_marketing(),
                    state,
                    suppression: (state == SendState::Suppressed).then_some(SuppressionReason::ControlGroup),
                    not_before,
                    created_at: now,
                });
            }
            if rows.len() >= MATERIALISE_CHUNK {
                written += self.stores.ledger.insert_sends(&rows).await?;
                rows.clear();
            }
        }
        written += self.stores.ledger.insert_sends(&rows).await?;
        if held {
            self.stores
                .ledger
                .hold_origin(&record.workspace_id, &origin, true)
                .await?;
        }
        record.materialized_runs = run;
        record.updated_at = self.clock.now();
        self.stores
            .campaigns
            .save_campaign(&record, orbit_store::Write::Replace)
            .await?;
        tracing::info!(
            campaign = %record.id,
            run,
            audience = members.len(),
            written,
            seconds = started.elapsed().as_secs_f64(),
            "campaign run opened"
        );
        Ok(record)
    }

    /// Per variant, the lanes a person gets: one priority lane, or one per channel.
    async fn lanes(&self, record: &CampaignRecord) -> Result<Vec<Vec<Lane>>, CampaignError> {
        let mut lanes = Vec::new();
        for variant in &record.definition.variants {
            match record.definition.channel_policy {
                ChannelPolicy::Priority => lanes.push(vec![Lane::Priority]),
                ChannelPolicy::All => {
                    let mut channels = BTreeSet::new();
                    for message in &variant.messages {
                        if let Some(template) = self
                            .stores
                            .templates
                            .template(&record.workspace_id, &message.template)
                            .await?
                        {
                            channels.insert(template.content.channel());
                        }
                    }
                    lanes.push(channels.into_iter().map(Lane::Channel).collect());
                }
            }
        }
        Ok(lanes)
    }
}
