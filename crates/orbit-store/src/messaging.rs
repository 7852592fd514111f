//! Ports for reaching people: templates, provider accounts, campaigns and consent.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{CampaignDefinition, Channel, ConsentRecord, MessageClass, TemplateContent};
use orbit_core::{CampaignId, ChannelId, ProfileId, TemplateId, WorkspaceId};

use crate::StoreError;

/// A stored message template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRecord {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The template's id.
    pub id: TemplateId,
    /// A name people recognise.
    pub name: String,
    /// Marketing (with topic) or transactional.
    pub class: MessageClass,
    /// The content, which says its channel.
    pub content: TemplateContent,
    /// Values used for variables a person lacks, by dotted path.
    pub defaults: BTreeMap<String, serde_json::Value>,
    /// When created.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// Storage of templates.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Creates (`create`: [`StoreError::AlreadyExists`] if the id is taken) or replaces.
    async fn save_template(&self, template: &TemplateRecord, write: crate::Write) -> Result<(), StoreError>;
    /// One template.
    async fn template(
        &self,
        workspace: &WorkspaceId,
        id: &TemplateId,
    ) -> Result<Option<TemplateRecord>, StoreError>;
    /// Every template of a workspace, by id.
    async fn templates(&self, workspace: &WorkspaceId) -> Result<Vec<TemplateRecord>, StoreError>;
    /// Deletes one; false if there was none.
    async fn delete_template(&self, workspace: &WorkspaceId, id: &TemplateId) -> Result<bool, StoreError>;
}

/// A configured provider account: SMTP relay, SMS account, push app, webhook…
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAccountRecord {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The account's id.
    pub id: ChannelId,
    /// A name people recognise.
    pub name: String,
    /// The channel it serves.
    pub channel: Channel,
    /// The provider (`smtp`, `aliyun_sms`, `webhook`…).
    pub provider: String,
    /// The provider configuration, encrypted as a whole (secrets never rest in clear).
    pub sealed_config: Vec<u8>,
    /// The configuration with secret fields masked, for display.
    pub masked_config: serde_json::Value,
    /// The account used when a message names none for its channel.
    pub is_default: bool,
    /// At most this many sends per second through this account.
    pub rate_per_second: Option<u32>,
    /// When created.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// Storage of provider accounts.
#[async_trait]
pub trait ChannelAccountStore: Send + Sync {
    /// Creates (`create`: [`StoreError::AlreadyExists`] if the id is taken) or replaces.
    async fn save_account(
        &self,
        account: &ChannelAccountRecord,
        write: crate::Write,
    ) -> Result<(), StoreError>;
    /// Every account of every workspace (the delivery worker builds connectors from them).
    async fn all_accounts(&self) -> Result<Vec<ChannelAccountRecord>, StoreError>;
    /// Deletes one; false if there was none.
    async fn delete_account(&self, workspace: &WorkspaceId, id: &ChannelId) -> Result<bool, StoreError>;
}

/// A stored campaign: its definition and where it is in its life.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRecord {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The campaign's id.
    pub id: CampaignId,
    /// What the marketer wrote.
    pub definition: CampaignDefinition,
    /// Its state, run count and next run.
    pub lifecycle: Lifecycle,
    /// Runs whose ledger rows are all written.
    pub materialized_runs: u32,
    /// When created.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// Storage of campaigns.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Creates (`create`: [`StoreError::AlreadyExists`] if the id is taken) or replaces.
    async fn save_campaign(&self, campaign: &CampaignRecord, write: crate::Write) -> Result<(), StoreError>;
    /// One campaign.
    async fn campaign(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError>;
    /// Every campaign of a workspace, by id.
    async fn campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<CampaignRecord>, StoreError>;
    /// Every campaign that is scheduled, running or paused, in every workspace.
    async fn live_campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError>;
    /// Deletes one; false if there was none.
    async fn delete_campaign(&self, workspace: &WorkspaceId, id: &CampaignId) -> Result<bool, StoreError>;
}

/// Storage of consent.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Records one consent change of a person.
    async fn record_consent(
        &self,
        workspace: &WorkspaceId,
        profile: &ProfileId,
        record: &ConsentRecord,
    ) -> Result<(), StoreError>;
    /// Every consent record of every person (the delivery worker keeps them in memory).
    async fn all_consents(&self) -> Result<Vec<(WorkspaceId, ProfileId, ConsentRecord)>, StoreError>;
    /// The consent records of several people (a person and the ids merged into them,
    /// or a delivery round's recipients), each with whose it is, oldest first.
    async fn consents_of(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Result<Vec<(ProfileId, ConsentRecord)>, StoreError>;
}
