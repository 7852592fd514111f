//! The delivery worker: claims due ledger rows, decides each by the contact policy,
//! renders it, sends it through its account's connector and records the outcome.

use crate::sync::Exclusive;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use orbit_core::messaging::Channel;
use orbit_core::messaging::policy::{SentToday, start_of_local_day};
use orbit_core::messaging::{
    ChannelCandidate, CompiledTemplate, ConsentRecord, Consents, ContactPolicy, Decision, Lane, MessageClass,
    SuppressionReason,
};
use orbit_core::profile::Profile;
use orbit_core::{Clock, ProfileId, WorkspaceId};
use orbit_store::{SendRecord, SendUpdate, Stores};
use serde_json::Value;

use super::accounts::Accounts;
use super::backoff::retry;
use super::inbox::Inbox;
use super::plans::{MessagePlan, PlanSource, read_plan};
use super::tracking::TrackingLinks;
use crate::{EngineError, PipelineHandle};

/// What one dispatch round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Accepted by providers.
    pub accepted: usize,
    /// Scheduled again (retry or quiet hours).
    pub deferred: usize,
    /// Suppressed by policy.
    pub suppressed: usize,
    /// Failed for good.
    pub failed: usize,
    /// Outcome unknown.
    pub ambiguous: usize,
}

/// A row's plan as a round read it: none for a campaign or journey node that is
/// gone, or why it could not be read.
type PlanRead = Result<Option<Arc<MessagePlan>>, String>;

/// Rounds a worker runs at once.
const ROUNDS_IN_FLIGHT: usize = 2;

/// Marketing messages accepted per person, for caps.
type SentLog = HashMap<(WorkspaceId, ProfileId), Vec<(Channel, Timestamp)>>;

/// Drains the send ledger.
pub struct DeliveryWorker {
    pub(super) stores: Stores,
    pub(super) pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
    pub(super) accounts: Accounts,
    pub(super) inbox: Arc<Inbox>,
    pub(super) links: Arc<TrackingLinks>,
    sent: Exclusive<SentLog>,
    batch: u32,
    concurrency: usize,
    /// Rung when rows due now were added, so they do not wait for the idle poll.
    due: tokio::sync::Notify,
}

/// A variant's message resolved for one person: the template and its channel.
pub(super) struct VariantMessage {
    pub(super) channel: Channel,
    pub(super) template: Arc<CompiledTemplate>,
    pub(super) account: Option<orbit_core::ChannelId>,
}

impl DeliveryWorker {
    /// A worker over the stores, reading profiles from the pipeline and making
    /// messages' tracked links with `links`.
    pub fn new(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: Arc<dyn Clock>,
        accounts: Accounts,
        inbox: Arc<Inbox>,
        links: Arc<TrackingLinks>,
    ) -> Self {
        Self {
            stores,
            pipeline,
            clock,
            accounts,
            inbox,
            links,
            sent: Exclusive::new(HashMap::new()),
            batch: 512,
            concurrency: 64,
            due: tokio::sync::Notify::new(),
        }
    }

    /// Wakes an idle worker: rows due now were just added.
    pub fn wake(&self) {
        // One stored permit: a worker between rounds takes it on its next wait.
        self.due.notify_one();
    }

    /// Loads what was sent in the last two days (caps count per local day) and
    /// settles rows a stopped process left dispatching: sent again with the same id
    /// where the provider deduplicates, recorded as ambiguous elsewhere.
    pub async fn start(&self) -> Result<(), EngineError> {
        let now = self.clock.now();
        let recent = self
            .stores
            .ledger
            .marketing_accepted_since(now - 48.hours())
            .await?;
        {
            let mut sent = self.sent.lock();
            for (ws, profile, channel, at) in recent {
                sent.entry((ws, profile)).or_default().push((channel, at));
            }
        }
        let in_flight = self.stores.ledger.in_flight().await?;
        let mut requeue = Vec::new();
        let mut ambiguous = Vec::new();
        for row in in_flight {
            let dedupes = self.connector_deduplicates(&row).await;
            if dedupes {
                requeue.push(row.send.id);
            } else {
                ambiguous.push(SendUpdate::Ambiguous {
                    id: row.send.id,
                    channel: row.channel.unwrap_or(Channel::Webhook),
                    error: "the process stopped while the provider had it; it takes no idempotency key, so it is not sent again".to_owned(),
                    at: now,
                });
            }
        }
        if !requeue.is_empty() {
            tracing::info!(
                count = requeue.len(),
                "sending again messages interrupted mid-send"
            );
            self.stores.ledger.requeue(&requeue, now).await?;
        }
        if !ambiguous.is_empty() {
            tracing::warn!(
                count = ambiguous.len(),
                "messages interrupted mid-send recorded as ambiguous"
            );
            self.stores.ledger.apply_updates(&ambiguous).await?;
        }
        Ok(())
    }

    async fn connector_deduplicates(&self, row: &SendRecord) -> bool {
        // The channel was not recorded before sending, so look at every account the
        // variant could have used: resend only if all of them deduplicate (a channel
        // with no account could not have been used).
        let Ok(Some(plan)) = read_plan(&self.stores, &row.send.workspace_id, &PlanSource::of(row)).await
        else {
            return false;
        };
        let Some(options) = self.options(&row.send.workspace_id, &plan, row) else {
            return false;
        };
        let accounts = self.accounts.table();
        options
            .iter()
            .filter_map(|o| accounts.resolve(&row.send.workspace_id, o.channel, o.account.as_ref()))
            .all(|a| a.connector.deduplicates())
    }

    /// Runs rounds until cancelled, pausing briefly when nothing was due.
    ///
    /// [`ROUNDS_IN_FLIGHT`] rounds run at once, so one round's commits overlap
    /// another's sends; a row is claimed by one round only.
    pub async fn run(self: Arc<Self>) {
        let lanes = (0..ROUNDS_IN_FLIGHT).map(|_| {
            let worker = self.clone();
            async move {
                loop {
                    match worker.dispatch_once().await {
                        Ok(report) if report.claimed > 0 => continue,
                        // An idle poll, cut short when rows are added for now.
                        Ok(_) => {
                            tokio::select! {
                                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                                () = worker.due.notified() => {}
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "delivery round failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        });
        futures::future::join_all(lanes).await;
    }

    /// Claims the rows due now and settles each.
    ///
    /// What every row needs from storage — its campaign's plan and its recipient's
    /// consent — is read once for the round; when a read fails, the rows it was for
    /// are scheduled again rather than left claimed.
    pub async fn dispatch_once(&self) -> Result<DispatchReport, EngineError> {
        let now = self.clock.now();
        // Durations of storage and sending, for operators: not domain time.
        let started = std::time::Instant::now();
        let claimed = self.stores.ledger.claim_due(now, self.batch).await?;
        let mut report = DispatchReport {
            claimed: claimed.len(),
            ..DispatchReport::default()
        };
        if claimed.is_empty() {
            return Ok(report);
        }
        let claimed_at = std::time::Instant::now();
        let mut plans: HashMap<(WorkspaceId, PlanSource), PlanRead> = HashMap::new();
        for row in &claimed {
            let key = (row.send.workspace_id.clone(), PlanSource::of(row));
            if let std::collections::hash_map::Entry::Vacant(slot) = plans.entry(key) {
                let (ws, source) = slot.key();
                let plan = read_plan(&self.stores, ws, source)
                    .await
                    .map(|plan| plan.map(Arc::new))
                    .map_err(|e| format!("reading the campaign: {e}"));
                slot.insert(plan);
            }
        }
        let profiles: Vec<Option<Profile>> = claimed
            .iter()
            .map(|row| self.pipeline.profile(&row.send.workspace_id, row.send.profile_id))
            .collect();
        let consents = self.round_consents(&claimed, &profiles).await;
        let updates: Vec<SendUpdate> =
            futures::stream::iter(claimed.into_iter().zip(profiles).map(|(row, profile)| {
                let ws = row.send.workspace_id.clone();
                let plan = plans
                    .get(&(ws.clone(), PlanSource::of(&row)))
                    .cloned()
                    .unwrap_or(Ok(None));
                let consent = match (&profile, consents.get(&ws)) {
                    (Some(profile), Some(Ok(by_person))) => Ok(std::iter::once(&profile.id)
                        .chain(&profile.merged_ids)
                        .filter_map(|person| by_person.get(person))
                        .flatten()
                        .cloned()
                        .collect()),
                    (_, Some(Err(e))) => Err(e.clone()),
                    _ => Ok(Vec::new()),
                };
                async move {
                    match (plan, consent) {
                        (Err(e), _) | (_, Err(e)) => retry(&row, now, e, None, false),
                        (Ok(plan), Ok(consent)) => {
                            self.settle(row, profile, plan, Consents::new(consent), now).await
                        }
                    }
                }
            }))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let settled_at = std::time::Instant::now();
        for update in &updates {
            match update {
                SendUpdate::Accepted { .. } => report.accepted += 1,
                SendUpdate::Retry {
                    id,
                    next_attempt_at,
                    error,
                    ..
                } => {
                    report.deferred += 1;
                    tracing::debug!(%id, %next_attempt_at, %error, "message deferred");
                }
                SendUpdate::Suppressed { .. } => report.suppressed += 1,
                SendUpdate::Failed { id, error, .. } => {
                    report.failed += 1;
                    tracing::debug!(%id, %error, "message failed");
                }
                SendUpdate::Ambiguous { id, error, .. } => {
                    report.ambiguous += 1;
                    tracing::debug!(%id, %error, "message outcome unknown");
                }
            }
        }
        self.stores.ledger.apply_updates(&updates).await?;
        let phases = [
            ("claim", claimed_at - started),
            ("settle", settled_at - claimed_at),
            ("record", settled_at.elapsed()),
        ];
        for (phase, took) in phases {
            metrics::histogram!("orbit_delivery_round_seconds", "phase" => phase).record(took.as_secs_f64());
        }
        metrics::counter!("orbit_delivery_messages_total").increment(report.claimed as u64);
        tracing::debug!(
            claimed = report.claimed,
            claim_ms = phases[0].1.as_millis(),
            settle_ms = phases[1].1.as_millis(),
            record_ms = phases[2].1.as_millis(),
            "delivery round"
        );
        Ok(report)
    }

    /// The consent records of a round's recipients and of the ids merged into them
    /// (choices made under those still stand), by workspace and person: one read per
    /// workspace instead of one per message.
    async fn round_consents(
        &self,
        claimed: &[SendRecord],
        profiles: &[Option<Profile>],
    ) -> HashMap<WorkspaceId, Result<HashMap<ProfileId, Vec<ConsentRecord>>, String>> {
        let mut people: HashMap<WorkspaceId, BTreeSet<ProfileId>> = HashMap::new();
        for (row, profile) in claimed.iter().zip(profiles) {
            if let Some(profile) = profile {
                let ids = people.entry(row.send.workspace_id.clone()).or_default();
                ids.insert(profile.id);
                ids.extend(profile.merged_ids.iter().copied());
            }
        }
        let mut found = HashMap::new();
        for (ws, ids) in people {
            let ids: Vec<ProfileId> = ids.into_iter().collect();
            let by_person = self
                .stores
                .consents
                .consents_of(&ws, &ids)
                .await
                .map(|records| {
                    let mut by_person: HashMap<ProfileId, Vec<ConsentRecord>> = HashMap::new();
                    for (person, record) in records {
                        by_person.entry(person).or_default().push(record);
                    }
                    by_person
                })
                .map_err(|e| format!("reading consent: {e}"));
            found.insert(ws, by_person);
        }
        found
    }

    /// The variant's messages for this row's lane, in priority order.
    fn options(
        &self,
        _workspace: &WorkspaceId,
        plan: &MessagePlan,
        row: &SendRecord,
    ) -> Option<Vec<VariantMessage>> {
        let messages = plan.messages(row.send.variant.as_deref())?;
        Some(
            messages
                .iter()
                .filter_map(|m| {
                    let template = plan.templates.get(&m.template)?.clone();
                    let channel = template.content().channel();
                    Some(VariantMessage {
                        channel,
                        template,
                        account: m.account.clone(),
                    })
                })
                .filter(|o| match row.send.lane {
                    Lane::Priority => true,
                    Lane::Channel(c) => o.channel == c,
                })
                .collect(),
        )
    }

    async fn settle(
        &self,
        row: SendRecord,
        profile: Option<Profile>,
        plan: Option<Arc<MessagePlan>>,
        consents: Consents,
        now: Timestamp,
    ) -> SendUpdate {
        let id = row.send.id.clone();
        let ws = row.send.workspace_id.clone();
        let suppressed = |reason| SendUpdate::Suppressed {
            id: id.clone(),
            reason,
            at: now,
        };
        let Some(plan) = plan else {
            return suppressed(SuppressionReason::Cancelled);
        };
        // Cancelling suppresses the scheduled rows; one that was with a provider at
        // the time comes back here, for a retry or after a restart.
        if plan.cancelled {
            return suppressed(SuppressionReason::Cancelled);
        }
        let Some(profile) = profile else {
            return suppressed(SuppressionReason::ProfileErased);
        };
        let Some(options) = self.options(&ws, &plan, &row) else {
            return SendUpdate::Failed {
                id,
                channel: None,
                error: format!("variant {:?} is no longer in the campaign", row.send.variant),
                at: now,
            };
        };
        let candidates: Vec<ChannelCandidate> = {
            let accounts = self.accounts.table();
            options
                .iter()
                .map(|o| ChannelCandidate {
                    channel: o.channel,
                    // The inbox and call tasks are Orbit's own: they need no provider
                    // account (a call task may also name a webhook to notify).
                    address: if matches!(o.channel, Channel::Inbox | Channel::CallTask) {
                        address_of(&profile, o.channel)
                    } else {
                        accounts
                            .resolve(&ws, o.channel, o.account.as_ref())
                            .and_then(|_| address_of(&profile, o.channel))
                    },
                })
                .collect()
        };
        let tz = profile
            .traits
            .get("time_zone")
            .and_then(Value::as_str)
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or_else(|| self.pipeline.time_zone(&ws));
        let policy = self.pipeline.contact_policy(&ws);
        let inputs = PolicyInputs {
            policy: &policy,
            class: &plan.class,
            candidates: &candidates,
            consents: &consents,
            tz: &tz,
        };
        let (channel, address) = match self.decide_and_count(&ws, profile.id, inputs, now) {
            Decision::Send { channel, address } => (channel, address),
            Decision::Defer { until } => {
                return SendUpdate::Retry {
                    id,
                    next_attempt_at: until,
                    error: "quiet hours".to_owned(),
                    counts_as_attempt: false,
                };
            }
            Decision::Suppress { reason } => return suppressed(reason),
        };
        let update = self
            .send_on(&row, &profile, &options, (channel, address), now)
            .await;
        // Only what a provider took counts towards caps.
        if plan.class.is_marketing() && !matches!(update, SendUpdate::Accepted { .. }) {
            self.uncount_sent(&ws, profile.id, channel, now);
        }
        update
    }

    /// Decides by the contact policy and counts a marketing message it lets through
    /// at once, under one lock.
    ///
    /// # Contract
    /// A person's rows from several campaigns settle concurrently within a round; a
    /// count read before a sibling's send was recorded would let both past a cap. So
    /// the message is counted before it is sent, and uncounted
    /// ([`DeliveryWorker::uncount_sent`]) if the provider does not take it.
    fn decide_and_count(
        &self,
        ws: &WorkspaceId,
        profile: ProfileId,
        inputs: PolicyInputs<'_>,
        now: Timestamp,
    ) -> Decision {
        let mut sent = self.sent.lock();
        let today = sent_today(&mut sent, ws, profile, start_of_local_day(now, inputs.tz));
        let decision = inputs.policy.decide(
            inputs.class,
            inputs.candidates,
            inputs.consents,
            &today,
            now,
            inputs.tz,
        );
        if let Decision::Send { channel, .. } = &decision
            && inputs.class.is_marketing()
        {
            sent.entry((ws.clone(), profile))
                .or_default()
                .push((*channel, now));
        }
        decision
    }

    /// Takes back the count of a marketing message that was not sent after all.
    fn uncount_sent(&self, ws: &WorkspaceId, profile: ProfileId, channel: Channel, at: Timestamp) {
        let mut sent = self.sent.lock();
        if let Some(log) = sent.get_mut(&(ws.clone(), profile))
            && let Some(i) = log.iter().rposition(|entry| *entry == (channel, at))
        {
            log.swap_remove(i);
        }
    }
}

/// What the contact policy decides a message by.
#[derive(Clone, Copy)]
struct PolicyInputs<'a> {
    policy: &'a ContactPolicy,
    class: &'a MessageClass,
    candidates: &'a [ChannelCandidate],
    consents: &'a Consents,
    tz: &'a TimeZone,
}

/// Marketing messages counted for a person since `since`, the start of their day.
fn sent_today(sent: &mut SentLog, ws: &WorkspaceId, profile: ProfileId, since: Timestamp) -> SentToday {
    let mut today = SentToday::default();
    if let Some(log) = sent.get_mut(&(ws.clone(), profile)) {
        // Nothing older than two days can count towards any local day.
        log.retain(|(_, at)| *at >= since - 24.hours());
        for (channel, at) in log.iter() {
            if *at >= since {
                today.total += 1;
                *today.by_channel.entry(*channel).or_default() += 1;
            }
        }
    }
    today
}

/// The address a channel reaches a person at.
pub(crate) fn address_of(profile: &Profile, channel: Channel) -> Option<String> {
    match channel.address_kind() {
        None => Some(profile.id.to_string()),
        Some(kind) => profile
            .identities
            .iter()
            .find(|i| i.kind == kind)
            .map(|i| i.value.clone()),
    }
}
