//! Doing what journeys decided: messages go to the send ledger (and from there
//! through the contact policy), traits and tags change on the profile, people join
//! static segments, call tasks are filed, webhooks and staff notices go out
//! (`own_effects`, `outbound`). Each effect is stored before it is done and marked
//! done after, and each is idempotent by its origin or its id: a message's ledger id
//! is derived from it, setting a trait or a tag value or joining a segment twice leaves
//! the same state, a call task is filed under the effect's id, and posts and emails
//! carry that id for their receivers to deduplicate on.

use orbit_core::journey::Action;
use orbit_core::messaging::{ChannelPolicy, ClassName, Lane, SendKey};
use orbit_store::{EffectLane, JourneyEffectRecord, NewSend, SendState};
use serde_json::Map;

use super::JourneyRunner;
use crate::EngineError;
use crate::service::audiences::AssignValues;

/// Effects done per round.
const EFFECTS_PER_ROUND: u32 = 512;

/// Outbound effects taken per round: posts and emails go out concurrently.
const OUTBOUND_PER_ROUND: u32 = 64;

/// How far the effects of a step reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Everything, webhooks and staff notices included, before the step answers (a
    /// move of a simulated clock: what it makes due is done when it returns).
    Everywhere,
    /// What stays within Orbit; webhooks and staff notices are left to the outbound
    /// worker, which this wakes.
    WithinOrbit,
}

impl JourneyRunner {
    /// Does every pending effect within `reach`, a round at a time.
    pub(super) async fn do_effects(&self, reach: Reach) -> Result<(), EngineError> {
        // An erasure waits for effects under way, then drops the person's pending ones.
        // Posts and emails need not hold it: each checks the person is still here
        // before it starts.
        let doing = self.doing.lock().await;
        loop {
            let pending = self
                .stores
                .journey_runs
                .pending_effects_in(EffectLane::WithinOrbit, EFFECTS_PER_ROUND)
                .await?;
            if pending.is_empty() {
                break;
            }
            let mut sends = Vec::new();
            let mut joining = Vec::new();
            let mut done = Vec::with_capacity(pending.len());
            for record in &pending {
                match &record.effect.action {
                    Action::Send {
                        messages,
                        channel_policy,
                        class,
                        ..
                    } => {
                        let lanes = self.lanes(record, messages, *channel_policy).await?;
                        for lane in lanes {
                            sends.push(self.ledger_row(record, lane, *class));
                        }
                    }
                    Action::SetTrait { .. } | Action::AddTag { .. } | Action::RemoveTag { .. } => {
                        self.change_profile(record).await;
                    }
                    Action::AddToSegment { .. } => joining.push(record),
                    Action::CallTask { purpose } => self.file_call_task(record, purpose).await?,
                    Action::Webhook { .. } | Action::NotifyStaff { .. } => {
                        tracing::error!(origin = %record.effect.origin, "an outbound effect in the wrong lane");
                    }
                }
                done.push(record.id.clone());
            }
            self.add_to_segments(&joining).await?;
            // Rows first: an effect marked done has its messages in the ledger.
            self.delivery.enqueue(&sends).await?;
            self.stores
                .journey_runs
                .complete_effects(&done, self.clock.now())
                .await?;
        }
        drop(doing);
        match reach {
            Reach::Everywhere => self.do_outbound_lane().await,
            Reach::WithinOrbit => {
                self.outbound_wake.notify_one();
                Ok(())
            }
        }
    }

    /// Does the pending webhooks and staff notices, a round at a time; one caller at
    /// a time, so a notice is never sent by two at once.
    pub(super) async fn do_outbound_lane(&self) -> Result<(), EngineError> {
        let _one_at_a_time = self.outbound_lock.lock().await;
        loop {
            let pending = self
                .stores
                .journey_runs
                .pending_effects_in(EffectLane::Outbound, OUTBOUND_PER_ROUND)
                .await?;
            if pending.is_empty() {
                return Ok(());
            }
            let records: Vec<&JourneyEffectRecord> = pending.iter().collect();
            self.do_outbound(&records).await?;
            let done: Vec<String> = pending.iter().map(|r| r.id.clone()).collect();
            self.stores
                .journey_runs
                .complete_effects(&done, self.clock.now())
                .await?;
        }
    }

    /// One row on the best channel, or one per channel the node names.
    async fn lanes(
        &self,
        record: &JourneyEffectRecord,
        messages: &[orbit_core::journey::JourneyMessage],
        policy: ChannelPolicy,
    ) -> Result<Vec<Lane>, EngineError> {
        if policy == ChannelPolicy::Priority {
            return Ok(vec![Lane::Priority]);
        }
        let mut lanes = Vec::new();
        for message in messages {
            let template = self
                .stores
                .templates
                .template(&record.workspace_id, &message.template)
                .await?;
            if let Some(template) = template {
                let lane = Lane::Channel(template.content.channel());
                if !lanes.contains(&lane) {
                    lanes.push(lane);
                }
            }
        }
        Ok(lanes)
    }

    fn ledger_row(&self, record: &JourneyEffectRecord, lane: Lane, class: ClassName) -> NewSend {
        let id = SendKey {
            workspace: &record.workspace_id,
            origin: &record.effect.origin,
            profile: &record.profile_id,
            lane,
        }
        .id();
        NewSend {
            id,
            workspace_id: record.workspace_id.clone(),
            origin: record.effect.origin.clone(),
            campaign_id: None,
            profile_id: record.profile_id,
            lane,
            variant: None,
            marketing: class == ClassName::Marketing,
            state: SendState::Scheduled,
            suppression: None,
            not_before: record.created_at,
            // When the row is written, which after a crash is later than the decision.
            created_at: self.clock.now(),
        }
    }

    /// A change to the person's profile. One that cannot be made (the person was
    /// erased, the tag was deleted) is logged and not retried: retrying would not help.
    async fn change_profile(&self, record: &JourneyEffectRecord) {
        let workspace = &record.workspace_id;
        let profile = record.profile_id;
        let outcome = match &record.effect.action {
            Action::SetTrait { name, value } => {
                let mut traits = Map::new();
                traits.insert(name.clone(), value.clone());
                self.pipeline
                    .patch_traits(workspace.clone(), profile, traits)
                    .await
                    .map(|_| ())
            }
            Action::AddTag { tag, value } => {
                let mut values = self.held_values(record, tag);
                if !values.contains(value) {
                    values.push(value.clone());
                }
                self.audiences
                    .assign_tag(workspace, &profile.to_string(), tag, AssignValues { values })
                    .await
                    .map(|_| ())
            }
            Action::RemoveTag { tag, value } => {
                let values: Vec<String> = match value {
                    Some(value) => self
                        .held_values(record, tag)
                        .into_iter()
                        .filter(|v| v != value)
                        .collect(),
                    None => Vec::new(),
                };
                if values.is_empty() {
                    self.audiences
                        .unassign_tag(workspace, &profile.to_string(), tag)
                        .await
                } else {
                    self.audiences
                        .assign_tag(workspace, &profile.to_string(), tag, AssignValues { values })
                        .await
                        .map(|_| ())
                }
            }
            other => {
                tracing::error!(action = ?other, origin = %record.effect.origin, "not a change to a profile");
                return;
            }
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, origin = %record.effect.origin, "a journey's change to a profile was not made");
        }
    }

    /// The values a person holds of a tag now.
    fn held_values(&self, record: &JourneyEffectRecord, tag: &str) -> Vec<String> {
        let Some(profile) = self.pipeline.profile(&record.workspace_id, record.profile_id) else {
            return Vec::new();
        };
        self.audiences
            .assigned_to(&record.workspace_id, &profile)
            .remove(tag)
            .unwrap_or_default()
    }
}
