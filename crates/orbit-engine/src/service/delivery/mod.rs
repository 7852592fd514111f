//! The delivery service: provider accounts as live connectors, campaigns and their
//! runs, the delivery worker draining the send ledger, the in-app inbox, tracked links
//! and the engagements they record (ADR 0009, ADR 0011).
//!
//! Each resource the API serves has its module: an `impl Delivery` block with the
//! typed requests and answers it takes and gives.

mod account_test;
mod accounts;
mod call_tasks;
mod campaigns;
mod consent;
mod dead_letters;
mod inbox;
mod personal;
mod templates;
mod tracking;

pub use account_test::{AccountTest, AccountTestOutcome, AccountTestResult};
pub use accounts::{AccountDraft, ChannelList, ChannelView};
pub use call_tasks::{CallTaskPage, CallTaskStatus, CallTaskUpdate, CallTaskView};
pub use campaigns::{CampaignAction, CampaignDraft, CampaignList, CampaignReport, CampaignView};
pub use consent::{ChannelConsent, ConsentChange, ConsentVerdict, ConsentView, RecordedConsent};
pub use dead_letters::{DeadLetter, DeadLetterPage};
pub use inbox::{InboxMessageView, InboxPage, InboxRead};
pub use personal::{ProfileMessage, ProfileMessagePage};
pub use templates::{
    CarrierParts, Contacts, PreviewCampaign, ProviderParts, SmsCost, TemplateDraft, TemplateList,
    TemplatePreview, TemplatePreviewRequest, TemplateView,
};
pub use tracking::{PushedReceipts, RECEIPT_SIGNATURE_HEADER, ReceiptReply};

use crate::delivery::{Accounts, CampaignRunner, DeliveryWorker, Engagements, Inbox, Sealer, TrackingLinks};
use crate::service::Audiences;
use crate::service::keys::KeyHasher;
use crate::{EngineError, PipelineHandle};
use orbit_channels::registry::ProviderConfig;
use orbit_channels::webhook::{WebhookConfig, WebhookConnector};
use orbit_channels::{ConfigError, EgressPolicy, HttpClient};
use orbit_core::Clock;
use orbit_store::Stores;
use std::sync::Arc;
use std::time::Duration;

/// How long one provider request may take before it counts as timed out.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// How often campaigns are checked for runs to open or close.
const CAMPAIGN_TICK_EVERY: Duration = Duration::from_millis(500);

/// Provider accounts, campaigns, the delivery worker, the inbox and tracked links.
pub struct Delivery {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
    default_region: phonenumber::country::Id,
    audiences: Arc<Audiences>,
    accounts: Accounts,
    sealer: Sealer,
    egress: EgressPolicy,
    http: HttpClient,
    runner: Arc<CampaignRunner>,
    worker: Arc<DeliveryWorker>,
    inbox: Arc<Inbox>,
    links: Arc<TrackingLinks>,
    engagements: Arc<Engagements>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").finish_non_exhaustive()
    }
}

/// What the delivery service is built with.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Region for phone numbers without a country code.
    pub default_region: phonenumber::country::Id,
    /// Which internal networks connectors may reach.
    pub egress: EgressPolicy,
    /// The address people's devices reach this server at: tracked links,
    /// unsubscribe links and provider receipt URLs are made under it.
    pub public_url: String,
}

impl Delivery {
    /// Loads the recent inbox and connects every stored account; accounts that do not
    /// open are logged and left out (a server secret that changed, a provider
    /// configuration no longer valid). Nothing is sent until [`Delivery::start`].
    ///
    /// # Errors
    /// Fails when the HTTP client cannot be built or the stores cannot be read.
    pub async fn load(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: Arc<dyn Clock>,
        hasher: &KeyHasher,
        audiences: Arc<Audiences>,
        settings: DeliverySettings,
    ) -> Result<Self, EngineError> {
        let links = Arc::new(TrackingLinks::new(
            hasher.derive_key("orbit tracked links v1"),
            &settings.public_url,
        ));
        let sealer = Sealer::new(hasher.derive_key("orbit provider configuration sealing v1"));
        let http = settings
            .egress
            .client(PROVIDER_TIMEOUT)
            .map_err(|e| EngineError::Start(format!("the HTTP client for connectors: {e}")))?;
        let records = stores.accounts.all_accounts().await?;
        let (accounts, broken) = Accounts::connect(&records, |sealed| sealer.open(sealed), &http, &clock);
        for (workspace, id, reason) in broken {
            tracing::error!(workspace.id = %workspace, account = %id, %reason, "a provider account could not be connected");
        }

        let inbox = Arc::new(Inbox::default());
        inbox.load_recent(&stores, clock.now()).await?;
        Ok(Self {
            runner: Arc::new(CampaignRunner::new(
                stores.clone(),
                clock.clone(),
                audiences.clone(),
            )),
            worker: Arc::new(DeliveryWorker::new(
                stores.clone(),
                pipeline.clone(),
                clock.clone(),
                accounts.clone(),
                inbox.clone(),
                links.clone(),
            )),
            engagements: Arc::new(Engagements::new(stores.clone(), pipeline.clone(), clock.clone())),
            default_region: settings.default_region,
            audiences,
            egress: settings.egress,
            stores,
            pipeline,
            clock,
            accounts,
            sealer,
            http,
            inbox,
            links,
        })
    }

    /// Writes messages decided elsewhere (a journey's send nodes) to the send ledger
    /// and wakes the worker for them; rows already there stay as they are.
    ///
    /// # Errors
    /// Fails when the ledger cannot be written.
    pub async fn enqueue(&self, sends: &[orbit_store::NewSend]) -> Result<u64, EngineError> {
        let added = self.stores.ledger.insert_sends(sends).await?;
        if added > 0 {
            self.worker.wake();
        }
        Ok(added)
    }

    /// The account a `channel` message goes through: the one named, else the
    /// channel's default, else its only one.
    pub(crate) fn resolve_account(
        &self,
        workspace: &orbit_core::WorkspaceId,
        channel: orbit_core::messaging::Channel,
        named: Option<&orbit_core::ChannelId>,
    ) -> Option<crate::delivery::Account> {
        self.accounts.resolve(workspace, channel, named)
    }

    /// A connector posting to `url` with the secret, headers and timeout of the
    /// workspace's webhook account (its default, else its only one), and that account
    /// for its rate limit: how journeys sign what they post, so receivers verify it
    /// as they verify any of the workspace's webhooks. `None` without such an account.
    ///
    /// # Errors
    /// When `url` is not one the connector can post to.
    pub(crate) fn webhook_to(
        &self,
        workspace: &orbit_core::WorkspaceId,
        url: &str,
    ) -> Result<Option<(crate::delivery::Account, WebhookConnector)>, ConfigError> {
        let Some(account) = self
            .accounts
            .resolve(workspace, orbit_core::messaging::Channel::Webhook, None)
        else {
            return Ok(None);
        };
        let Some(ProviderConfig::Webhook(config)) = account.config.as_deref() else {
            return Ok(None);
        };
        let config = WebhookConfig {
            url: url.to_owned(),
            ..config.clone()
        };
        let connector = WebhookConnector::new(config, self.http.clone())?.with_clock(self.clock.clone());
        Ok(Some((account, connector)))
    }

    /// Settles what a previous process left mid-send, then runs the delivery worker
    /// and the campaign runner in the background.
    ///
    /// # Errors
    /// Fails when the send ledger cannot be read.
    pub async fn start(&self) -> Result<(), EngineError> {
        self.worker.start().await?;
        tokio::spawn(self.worker.clone().run());
        tokio::spawn(self.runner.clone().run(CAMPAIGN_TICK_EVERY));
        Ok(())
    }
}
