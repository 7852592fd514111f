//! The delivery side of the server: provider accounts as live connectors, the
//! campaign runner and the delivery worker, and the audience campaigns read.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use orbit_channels::{EgressPolicy, HttpClient};
use orbit_core::audience::Evaluation;
use orbit_core::{Clock, ProfileId, SegmentId, WorkspaceId};
use orbit_engine::PipelineHandle;
use orbit_engine::audience::SegmentCatalog;
use orbit_engine::delivery::{
    Accounts, CampaignAudience, CampaignRunner, DeliveryWorker, Engagements, Inbox, Sealer, TrackingLinks,
};
use orbit_store::Stores;

use crate::auth::KeyHasher;

/// How long one provider request may take before it counts as timed out.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// What the delivery routes and loops share.
pub struct Messaging {
    /// Every workspace's provider accounts, connected.
    pub accounts: Arc<RwLock<Accounts>>,
    /// Seals provider configurations at rest.
    pub sealer: Sealer,
    /// Which internal networks connectors may reach.
    pub egress: EgressPolicy,
    /// The HTTP client every connector sends through.
    pub http: HttpClient,
    /// Opens, pauses, resumes and closes campaign runs.
    pub runner: Arc<CampaignRunner>,
    /// Drains the send ledger.
    pub worker: Arc<DeliveryWorker>,
    /// Every person's in-app inbox, in memory.
    pub inbox: Arc<Inbox>,
    /// Makes and reads tracked links, unsubscribe links and receipt URLs.
    pub links: Arc<TrackingLinks>,
    /// Records receipts, opens, clicks and unsubscribes.
    pub engagements: Arc<Engagements>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging").finish_non_exhaustive()
    }
}

impl Messaging {
    /// The services over the stores and the running engine.
    pub fn new(
        stores: &Stores,
        pipeline: &PipelineHandle,
        segments: Arc<RwLock<SegmentCatalog>>,
        hasher: &KeyHasher,
        clock: Arc<dyn Clock>,
        egress: EgressPolicy,
        public_url: &str,
    ) -> Result<Self, String> {
        let accounts = Arc::new(RwLock::new(Accounts::default()));
        let links = Arc::new(TrackingLinks::new(
            hasher.derive_key("orbit tracked links v1"),
            public_url,
        ));
        let inbox = Arc::new(Inbox::default());
        let audience = Arc::new(SegmentAudience {
            pipeline: pipeline.clone(),
            segments,
            clock: clock.clone(),
        });
        Ok(Self {
            sealer: Sealer::new(hasher.derive_key("orbit provider configuration sealing v1")),
            http: egress.client(PROVIDER_TIMEOUT).map_err(|e| e.to_string())?,
            egress,
            runner: Arc::new(CampaignRunner::new(stores.clone(), clock.clone(), audience)),
            worker: Arc::new(DeliveryWorker::new(
                stores.clone(),
                pipeline.clone(),
                clock.clone(),
                accounts.clone(),
                inbox.clone(),
                links.clone(),
            )),
            engagements: Arc::new(Engagements::new(stores.clone(), pipeline.clone(), clock.clone())),
            links,
            inbox,
            accounts,
            clock,
        })
    }

    /// Loads the recent inbox and connects every stored account; accounts that do not open are logged and left
    /// out (a server secret that changed, a provider configuration no longer valid).
    pub async fn load(&self, stores: &Stores) -> Result<(), orbit_store::StoreError> {
        let records = stores.accounts.all_accounts().await?;
        let sealer = self.sealer.clone();
        let (accounts, broken) =
            Accounts::connect(&records, |sealed| sealer.open(sealed), &self.http, &self.clock);
        for (workspace, id, reason) in broken {
            tracing::error!(%workspace, account = %id, %reason, "a provider account could not be connected");
        }
        *self.accounts.write().unwrap_or_else(PoisonError::into_inner) = accounts;
        self.inbox.load_recent(stores, self.clock.now()).await
    }

    /// The clock connectors sign with.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

/// A campaign's audience: its segment's members, evaluated now.
struct SegmentAudience {
    pipeline: PipelineHandle,
    segments: Arc<RwLock<SegmentCatalog>>,
    clock: Arc<dyn Clock>,
}

impl CampaignAudience for SegmentAudience {
    fn members(&self, workspace: &WorkspaceId, segment: &SegmentId) -> Result<Vec<ProfileId>, String> {
        let at = Evaluation::new(self.clock.now(), self.pipeline.time_zone(workspace));
        let catalog = self.segments.read().unwrap_or_else(PoisonError::into_inner);
        self.pipeline.with_audience(workspace, |index| {
            let Some(index) = index else { return Ok(Vec::new()) };
            let members = catalog
                .segment_members(workspace, index, segment, &at)
                .map_err(|e| e.to_string())?;
            Ok(members.iter().filter_map(|n| index.profile(n)).collect())
        })
    }
}
