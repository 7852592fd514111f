//! What came back about sent messages — provider receipts, opens, clicks,
//! unsubscribes — recorded twice over: as a `message_*` event on the person's
//! timeline (for segments, triggers and journeys) and on the message's ledger row
//! (for campaign reports).
//!
//! The event goes first: its message id is derived from the send and the outcome, so
//! appending it again after a crash is stored once; the ledger's engagement columns
//! are set once too. Whatever step a crash interrupts, the provider's retry (or the
//! next open) completes it without counting anything twice.

use std::sync::Arc;

use jiff::Timestamp;
use orbit_channels::{Receipt, ReceiptStatus};
use orbit_core::audience::membership::addressing_identity;
use orbit_core::messaging::{ConsentRecord, ConsentStatus, MessageOutcome, MessageRef, outcome_event};
use orbit_core::{Clock, WorkspaceId};
use orbit_store::{Engagement, SendRecord, Stores};

use crate::{EngineError, PipelineHandle};

/// What a batch of receipts came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptTally {
    /// Receipts matched to a message of this workspace and recorded.
    pub recorded: usize,
    /// Receipts for messages this workspace did not send (or has forgotten).
    pub unmatched: usize,
}

/// How far an unsubscribe link reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeScope {
    /// Every marketing message on the message's channel.
    Channel,
    /// Only the message's topic on its channel.
    Topic,
}

/// Records outcomes of sent messages.
pub struct Engagements {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
}

impl Engagements {
    /// A recorder over the stores and the running engine.
    pub fn new(stores: Stores, pipeline: PipelineHandle, clock: Arc<dyn Clock>) -> Self {
        Self {
            stores,
            pipeline,
            clock,
        }
    }

    /// Records an open or a click of a message; returns the message, or `None` when
    /// the workspace has no such message. A click counts as an open too: mail
    /// clients that block images still follow links.
    pub async fn record_interaction(
        &self,
        workspace: &WorkspaceId,
        send_id: &str,
        outcome: MessageOutcome,
    ) -> Result<Option<SendRecord>, EngineError> {
        let Some(row) = self.stores.ledger.send(workspace, send_id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if matches!(outcome, MessageOutcome::Clicked { .. }) {
            self.record(&row, MessageOutcome::Opened, now).await?;
        }
        self.record(&row, outcome, now).await?;
        Ok(Some(row))
    }

    /// Records provider receipts pushed for `workspace`'s messages.
    pub async fn record_receipts(
        &self,
        workspace: &WorkspaceId,
        receipts: &[Receipt],
    ) -> Result<ReceiptTally, EngineError> {
        let now = self.clock.now();
        let mut tally = ReceiptTally::default();
        let mut matched = Vec::new();
        for receipt in receipts {
            let row = self
                .stores
                .ledger
                .send_by_provider_id(&receipt.provider_message_id)
                .await?
                .filter(|row| &row.send.workspace_id == workspace);
            let Some(row) = row else {
                tally.unmatched += 1;
                continue;
            };
            let outcome = match receipt.status {
                ReceiptStatus::Delivered => MessageOutcome::Delivered,
                ReceiptStatus::Failed => MessageOutcome::Bounced {
                    detail: receipt.detail.clone(),
                },
            };
            matched.push((row, outcome));
        }
        tally.recorded = matched.len();
        self.record_all(
            matched
                .iter()
                .map(|(row, outcome)| (row, outcome.clone()))
                .collect(),
            now,
        )
        .await?;
        Ok(tally)
    }

    /// Unsubscribes the person a message went to from marketing on its channel (or
    /// only its topic); returns the message, or `None` when there is no such message.
    pub async fn unsubscribe(
        &self,
        workspace: &WorkspaceId,
        send_id: &str,
        scope: UnsubscribeScope,
    ) -> Result<Option<SendRecord>, EngineError> {
        let Some(row) = self.stores.ledger.send(workspace, send_id).await? else {
            return Ok(None);
        };
        let topic = match scope {
            UnsubscribeScope::Channel => None,
            UnsubscribeScope::Topic => self.topic_of(&row).await?,
        };
        let now = self.clock.now();
        let record = ConsentRecord {
            channel: row.channel,
            topic: topic.clone(),
            status: ConsentStatus::Unsubscribed,
            at: now,
        };
        // Recorded for the person the message reached now, who may have been merged
        // since; consent under merged-away ids counts for the survivor anyway.
        let person = self
            .pipeline
            .profile(workspace, row.send.profile_id)
            .map_or(row.send.profile_id, |p| p.id);
        self.stores
            .consents
            .record_consent(workspace, &person, &record)
            .await?;
        self.record(&row, MessageOutcome::Unsubscribed { topic }, now)
            .await?;
        Ok(Some(row))
    }

    async fn topic_of(&self, row: &SendRecord) -> Result<Option<String>, EngineError> {
        let Some(campaign) = &row.send.campaign_id else {
            return Ok(None);
        };
        let found = self
            .stores
            .campaigns
            .campaign(&row.send.workspace_id, campaign)
            .await?;
        Ok(found.and_then(|c| match c.definition.message_class() {
            orbit_core::messaging::MessageClass::Marketing { topic } => Some(topic),
            orbit_core::messaging::MessageClass::Transactional => None,
        }))
    }

    /// Appends the outcome's event (when the person still exists) and marks the row.
    async fn record(
        &self,
        row: &SendRecord,
        outcome: MessageOutcome,
        at: Timestamp,
    ) -> Result<(), EngineError> {
        self.record_all(vec![(row, outcome)], at).await
    }

    /// Records outcomes: their events in one append (a provider's batch of receipts
    /// shares one commit), then their rows.
    async fn record_all(
        &self,
        outcomes: Vec<(&SendRecord, MessageOutcome)>,
        at: Timestamp,
    ) -> Result<(), EngineError> {
        let mut events = Vec::new();
        let mut marks = Vec::new();
        for (row, outcome) in outcomes {
            let engagement = match &outcome {
                MessageOutcome::Delivered => Some((Engagement::Delivered, row.delivered_at)),
                MessageOutcome::Bounced { .. } => Some((Engagement::Bounced, row.bounced_at)),
                MessageOutcome::Opened => Some((Engagement::Opened, row.opened_at)),
                // Every destination clicked gets its event; the row keeps the first click.
                MessageOutcome::Clicked { .. } => Some((Engagement::Clicked, None)),
                MessageOutcome::Unsubscribed { .. } => None,
            };
            let already = engagement.is_some_and(|(_, at)| at.is_some());
            if already {
                continue;
            }
            let ws = &row.send.workspace_id;
            let profile = self.pipeline.profile(ws, row.send.profile_id);
            if let Some(address) = profile.as_ref().and_then(|p| addressing_identity(&p.identities)) {
                let message = MessageRef {
                    send_id: &row.send.id,
                    campaign_id: row.send.campaign_id.as_ref().map(|c| c.as_str()),
                    variant: row.send.variant.as_deref(),
                    channel: row.channel,
                };
                events.push(outcome_event(ws, &message, address.clone(), &outcome, at));
            }
            if let Some((engagement, _)) = engagement {
                marks.push((row, engagement));
            }
        }
        if !events.is_empty() {
            self.pipeline.append(events).await?;
        }
        for (row, engagement) in marks {
            self.stores
                .ledger
                .record_engagement(&row.send.workspace_id, &row.send.id, engagement, at)
                .await?;
        }
        Ok(())
    }
}
