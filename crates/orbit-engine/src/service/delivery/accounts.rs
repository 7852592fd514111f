//! Provider accounts (`/v1/channels`): an SMTP relay, an SMS account, a push app, a
//! WeChat account, a webhook. Configurations are validated, checked against the
//! egress policy, sealed at rest, shown masked, and connected as soon as they are
//! saved.

use super::Delivery;
use crate::EngineError;
use crate::delivery::{Account, Tracked};
use jiff::Timestamp;
use orbit_channels::ConfigError;
use orbit_channels::egress::DestinationError;
use orbit_channels::registry::ProviderConfig;
use orbit_core::messaging::Channel;
use orbit_core::{ChannelId, ErrorCode, Problem, WorkspaceId};
use orbit_store::{ChannelAccountRecord, StoreError, Write};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A provider account as it is written (`POST /v1/channels`, `PUT /v1/channels/{id}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDraft {
    /// `[a-z0-9_-]`, 1–64; one is made up (`channel-…`) on create when left out. On
    /// `PUT` it must match the path.
    #[serde(default)]
    #[schema(example = "aliyun-sms")]
    pub id: Option<String>,
    /// A name people recognise, not blank.
    #[schema(example = "阿里云短信")]
    pub name: String,
    /// The provider configuration, tagged by `provider` (docs/api.md#channels). On
    /// `PUT`, a secret sent back as `••••••` keeps its stored value.
    pub config: ProviderConfig,
    /// Whether messages on its channel that name no account go through it.
    #[serde(default)]
    pub default: bool,
    /// At most this many sends a second through the account, at least 1; no limit
    /// when left out.
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

/// A provider account as the API shows it, secrets masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelView {
    /// Its id.
    pub id: ChannelId,
    /// Its name.
    pub name: String,
    /// The channel it serves.
    pub channel: Channel,
    /// The provider (`smtp`, `aliyun_sms`, `webhook`…).
    #[schema(example = "aliyun_sms")]
    pub provider: String,
    /// The configuration, every secret shown as `••••••`.
    pub config: ProviderConfig,
    /// Whether messages on its channel that name no account go through it.
    pub default: bool,
    /// At most this many sends a second through it; no limit when null.
    pub rate_per_second: Option<u32>,
    /// For providers that push delivery receipts: the URL to give them (in their
    /// console, as Twilio's `status_callback`, as WeChat's server URL); null for the
    /// others.
    pub receipt_url: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl ChannelView {
    /// The account as shown to a caller who may read accounts but not manage them:
    /// without the receipt URL, since whoever holds it can push receipts (Aliyun's
    /// and Tencent's are not signed, so their URL is the only guard).
    #[must_use]
    pub fn for_reader(self) -> Self {
        Self {
            receipt_url: None,
            ..self
        }
    }
}

/// The workspace's provider accounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelList {
    /// Every account, secrets masked.
    pub channels: Vec<ChannelView>,
}

impl ChannelList {
    /// Every account as [`ChannelView::for_reader`] shows it.
    #[must_use]
    pub fn for_reader(self) -> Self {
        Self {
            channels: self.channels.into_iter().map(ChannelView::for_reader).collect(),
        }
    }
}

impl Delivery {
    /// Configures a provider account: validated, its destinations checked, sealed,
    /// stored and connected.
    ///
    /// # Errors
    /// `invalid_id`, `invalid_request` or `invalid_config` naming the field;
    /// `egress_refused` for an internal destination; `already_exists` when the id is
    /// taken.
    pub async fn create_account(
        &self,
        workspace: &WorkspaceId,
        draft: AccountDraft,
    ) -> Result<ChannelView, EngineError> {
        let id = match &draft.id {
            Some(raw) => parse_channel_id(raw)?,
            None => ChannelId::mint(),
        };
        check_draft(&draft)?;
        let config = self.checked_config(draft.config.clone(), None).await?;
        let now = self.clock.now();
        self.save_account(workspace, id, draft, config, Write::Create, now)
            .await
    }

    /// Replaces an account; secrets sent back masked keep their stored values.
    ///
    /// # Errors
    /// As for [`Delivery::create_account`]; `not_found` when there is none.
    pub async fn replace_account(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        draft: AccountDraft,
    ) -> Result<ChannelView, EngineError> {
        let id = parse_channel_id(id)?;
        let previous = self.stored_account(workspace, &id).await?;
        if draft.id.as_deref().is_some_and(|given| given != id.as_str()) {
            return Err(Problem::invalid("id", "the id in the body differs from the path").into());
        }
        check_draft(&draft)?;
        // A configuration that no longer opens keeps nothing: its secrets must be sent.
        let stored_config = self.sealer.open_config(&previous.sealed_config).ok();
        let config = self
            .checked_config(draft.config.clone(), stored_config.as_ref())
            .await?;
        self.save_account(workspace, id, draft, config, Write::Replace, previous.created_at)
            .await
    }

    /// The workspace's accounts, secrets masked.
    ///
    /// # Errors
    /// Fails when the accounts cannot be read.
    pub async fn accounts(&self, workspace: &WorkspaceId) -> Result<ChannelList, EngineError> {
        let channels = self
            .stores
            .accounts
            .all_accounts()
            .await?
            .iter()
            .filter(|record| &record.workspace_id == workspace)
            .map(|record| self.channel_view(record))
            .collect::<Result<_, _>>()?;
        Ok(ChannelList { channels })
    }

    /// One account, secrets masked.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn account(&self, workspace: &WorkspaceId, id: &str) -> Result<ChannelView, EngineError> {
        let record = self.stored_account(workspace, &parse_channel_id(id)?).await?;
        self.channel_view(&record)
    }

    /// Removes an account; messages that name it fail from now on.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn delete_account(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_channel_id(id)?;
        if !self.stores.accounts.delete_account(workspace, &id).await? {
            return Err(Problem::not_found("channel").into());
        }
        self.accounts.remove(workspace, &id);
        Ok(())
    }

    pub(super) async fn stored_account(
        &self,
        workspace: &WorkspaceId,
        id: &ChannelId,
    ) -> Result<ChannelAccountRecord, EngineError> {
        self.stores
            .accounts
            .all_accounts()
            .await?
            .into_iter()
            .find(|a| &a.workspace_id == workspace && &a.id == id)
            .ok_or_else(|| Problem::not_found("channel").into())
    }

    /// Fills in the secrets sent back masked, validates the configuration and checks
    /// its destinations against the egress policy.
    async fn checked_config(
        &self,
        config: ProviderConfig,
        stored: Option<&ProviderConfig>,
    ) -> Result<ProviderConfig, EngineError> {
        let config = config
            .keeping_secrets(stored)
            .map_err(|e| Problem::at(ErrorCode::InvalidConfig, "config", e.to_string()))?;
        config
            .validate()
            .map_err(|e| config_problem(ErrorCode::InvalidConfig, e))?;
        let refused = match &config {
            ProviderConfig::Webhook(c) => self
                .egress_refusal(&c.url)
                .await
                .map(|message| ConfigError::new("url", message)),
            ProviderConfig::Smtp(c) => c.check_destination(&self.egress).await.err(),
            _ => None,
        };
        match refused {
            Some(e) => Err(config_problem(ErrorCode::EgressRefused, e).into()),
            None => Ok(config),
        }
    }

    /// Why `url` cannot be posted to under the egress policy, if it cannot: a
    /// provider webhook's URL, a journey's webhook. A name that does not resolve yet
    /// (internal DNS, a record not yet published) passes; the guard checks it again
    /// at every send.
    pub(crate) async fn egress_refusal(&self, url: &str) -> Option<String> {
        match url::Url::parse(url) {
            Ok(url) => match self.egress.check_destination(&url).await {
                Err(DestinationError::Unresolvable(_)) | Ok(()) => None,
                Err(e) => Some(e.to_string()),
            },
            Err(e) => Some(e.to_string()),
        }
    }

    /// Seals, stores and connects an account.
    async fn save_account(
        &self,
        workspace: &WorkspaceId,
        id: ChannelId,
        draft: AccountDraft,
        config: ProviderConfig,
        write: Write,
        created_at: Timestamp,
    ) -> Result<ChannelView, EngineError> {
        // Only a kept secret with no stored value fails to seal, and validation
        // refuses those first.
        let sealed_config = self
            .sealer
            .seal_config(&config)
            .map_err(|e| StoreError::NotWritten(format!("the configuration could not be sealed: {e}")))?;
        let record = ChannelAccountRecord {
            workspace_id: workspace.clone(),
            id: id.clone(),
            name: draft.name,
            channel: config.channel(),
            provider: config.provider().to_owned(),
            sealed_config,
            masked_config: config.masked(),
            is_default: draft.default,
            rate_per_second: draft.rate_per_second,
            created_at,
            updated_at: self.clock.now(),
        };
        let connector = config
            .clone()
            .connect(self.http.clone(), self.clock.clone())
            .map_err(|e| config_problem(ErrorCode::InvalidConfig, e))?;
        self.stores.accounts.save_account(&record, write).await?;
        self.accounts.insert(
            workspace.clone(),
            Account::new(id, record.channel, record.rate_per_second, connector).with_config(config),
            record.is_default,
        );
        self.channel_view(&record)
    }

    /// An account as the API shows it; providers that push delivery receipts get the
    /// URL to give them.
    fn channel_view(&self, record: &ChannelAccountRecord) -> Result<ChannelView, EngineError> {
        // The stored masked form reads back with every secret a kept one, which is
        // shown masked again.
        let config: ProviderConfig = serde_json::from_value(record.masked_config.clone()).map_err(|e| {
            StoreError::Corrupt(format!(
                "the configuration of account {} does not read: {e}",
                record.id
            ))
        })?;
        let receipt_url = ProviderConfig::provider_sends_receipts(&record.provider).then(|| {
            self.links.url(&Tracked::Receipts {
                workspace: record.workspace_id.clone(),
                account: record.id.clone(),
            })
        });
        Ok(ChannelView {
            id: record.id.clone(),
            name: record.name.clone(),
            channel: record.channel,
            provider: record.provider.clone(),
            config,
            default: record.is_default,
            rate_per_second: record.rate_per_second,
            receipt_url,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }
}

/// Checks the fields around the configuration.
fn check_draft(draft: &AccountDraft) -> Result<(), Problem> {
    if draft.name.trim().is_empty() {
        return Err(Problem::invalid("name", "must not be empty"));
    }
    if draft.rate_per_second == Some(0) {
        return Err(Problem::invalid("rate_per_second", "must be at least 1"));
    }
    Ok(())
}

fn parse_channel_id(raw: &str) -> Result<ChannelId, Problem> {
    ChannelId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("channel id {e}")))
}

/// A configuration's problem, its field written from the request's `config`.
fn config_problem(code: ErrorCode, e: ConfigError) -> Problem {
    Problem::at(code, format!("config.{}", e.field), e.message)
}
