//! The provider accounts of every workspace, as ready connectors.

use std::collections::HashMap;
use std::sync::Arc;

use orbit_channels::registry::ProviderConfig;
use orbit_channels::{Connector, HttpClient};
use orbit_core::messaging::Channel;
use orbit_core::{ChannelId, WorkspaceId};
use orbit_store::ChannelAccountRecord;

use crate::sync::Shared;

/// One account, connected.
#[derive(Clone)]
pub struct Account {
    /// The account's id.
    pub id: ChannelId,
    /// The channel it serves.
    pub channel: Channel,
    /// The provider connection.
    pub connector: Arc<dyn Connector>,
    /// The configuration it was connected from, for reading the provider's receipts.
    pub config: Option<Arc<ProviderConfig>>,
    limiter: Option<Arc<governor::DefaultDirectRateLimiter>>,
}

impl Account {
    /// An account sending at most `rate_per_second` messages a second, when given.
    pub fn new(
        id: ChannelId,
        channel: Channel,
        rate_per_second: Option<u32>,
        connector: Arc<dyn Connector>,
    ) -> Self {
        let limiter = rate_per_second
            .and_then(std::num::NonZeroU32::new)
            .map(|rate| Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(rate))));
        Self {
            id,
            channel,
            connector,
            config: None,
            limiter,
        }
    }

    /// The account with the configuration it was connected from.
    pub fn with_config(mut self, config: ProviderConfig) -> Self {
        self.config = Some(Arc::new(config));
        self
    }

    /// Waits until the provider's rate limit lets one more message go.
    pub async fn ready(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("provider", &self.connector.provider())
            .finish()
    }
}

/// Every workspace's accounts, and which is the default per channel.
#[derive(Debug, Default)]
pub(crate) struct AccountTable {
    by_id: HashMap<(WorkspaceId, ChannelId), Account>,
    defaults: HashMap<(WorkspaceId, Channel), ChannelId>,
}

/// Every workspace's accounts, shared by the delivery worker and the account routes:
/// a handle, cheap to clone, whose changes every holder sees at once.
#[derive(Debug, Default, Clone)]
pub struct Accounts(Arc<Shared<AccountTable>>);

impl Accounts {
    /// Adds or replaces an account.
    pub fn insert(&self, workspace: WorkspaceId, account: Account, is_default: bool) {
        self.0.write().insert(workspace, account, is_default);
    }

    /// Removes an account.
    pub fn remove(&self, workspace: &WorkspaceId, id: &ChannelId) {
        self.0.write().remove(workspace, id);
    }

    /// One account by id.
    pub fn get(&self, workspace: &WorkspaceId, id: &ChannelId) -> Option<Account> {
        self.0.read().get(workspace, id).cloned()
    }

    /// The account to send a `channel` message through: the one named, else the
    /// channel's default, else its only account.
    pub fn resolve(
        &self,
        workspace: &WorkspaceId,
        channel: Channel,
        named: Option<&ChannelId>,
    ) -> Option<Account> {
        self.0.read().resolve(workspace, channel, named).cloned()
    }

    /// The table, for a delivery round that resolves many messages at once.
    pub(crate) fn table(&self) -> std::sync::RwLockReadGuard<'_, AccountTable> {
        self.0.read()
    }

    /// Connects stored accounts; `open` turns a sealed configuration back into its
    /// JSON. Accounts that fail to open or connect are returned with the reason and
    /// left out.
    pub fn connect(
        records: &[ChannelAccountRecord],
        open: impl Fn(&[u8]) -> Result<Vec<u8>, String>,
        http: &HttpClient,
        clock: &Arc<dyn orbit_core::Clock>,
    ) -> (Self, Vec<(WorkspaceId, ChannelId, String)>) {
        let mut accounts = AccountTable::default();
        let mut broken = Vec::new();
        for record in records {
            let connected = open(&record.sealed_config)
                .and_then(|json| ProviderConfig::from_sealed_json(&json).map_err(|e| e.to_string()))
                .and_then(|config| {
                    let connector = config
                        .clone()
                        .connect(http.clone(), clock.clone())
                        .map_err(|e| e.to_string())?;
                    Ok((config, connector))
                });
            match connected {
                Ok((config, connector)) => accounts.insert(
                    record.workspace_id.clone(),
                    Account::new(
                        record.id.clone(),
                        record.channel,
                        record.rate_per_second,
                        connector,
                    )
                    .with_config(config),
                    record.is_default,
                ),
                Err(reason) => broken.push((record.workspace_id.clone(), record.id.clone(), reason)),
            }
        }
        (Self(Arc::new(Shared::new(accounts))), broken)
    }
}

impl AccountTable {
    /// Adds or replaces an account.
    pub(crate) fn insert(&mut self, workspace: WorkspaceId, account: Account, is_default: bool) {
        if is_default {
            self.defaults
                .insert((workspace.clone(), account.channel), account.id.clone());
        }
        self.by_id.insert((workspace, account.id.clone()), account);
    }

    /// One account by id.
    pub(crate) fn get(&self, workspace: &WorkspaceId, id: &ChannelId) -> Option<&Account> {
        self.by_id.get(&(workspace.clone(), id.clone()))
    }

    /// Removes an account.
    pub(crate) fn remove(&mut self, workspace: &WorkspaceId, id: &ChannelId) {
        if let Some(account) = self.by_id.remove(&(workspace.clone(), id.clone())) {
            let key = (workspace.clone(), account.channel);
            if self.defaults.get(&key) == Some(id) {
                self.defaults.remove(&key);
            }
        }
    }

    /// The account to send a `channel` message through: the one named, else the
    /// channel's default, else its only account.
    pub(crate) fn resolve(
        &self,
        workspace: &WorkspaceId,
        channel: Channel,
        named: Option<&ChannelId>,
    ) -> Option<&Account> {
        if let Some(id) = named {
            return self
                .by_id
                .get(&(workspace.clone(), id.clone()))
                .filter(|a| a.channel == channel);
        }
        if let Some(id) = self.defaults.get(&(workspace.clone(), channel)) {
            return self.by_id.get(&(workspace.clone(), id.clone()));
        }
        let mut of_channel = self
            .by_id
            .iter()
            .filter(|((ws, _), a)| ws == workspace && a.channel == channel)
            .map(|(_, a)| a);
        match (of_channel.next(), of_channel.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_channels::EgressPolicy;

    #[tokio::test]
    async fn a_rate_limited_account_lets_a_burst_through_then_paces_the_rest() {
        let config: ProviderConfig = serde_json::from_value(serde_json::json!({
            "provider": "webhook", "url": "https://hooks.example.com/x", "secret": "0123456789abcdef0123"
        }))
        .expect("config");
        let http = EgressPolicy::strict()
            .client(std::time::Duration::from_secs(1))
            .expect("client");
        let connector = config
            .connect(http, Arc::new(orbit_core::SystemClock))
            .expect("connector");
        let id = ChannelId::parse("hook").expect("id");
        let limited = Account::new(id.clone(), Channel::Webhook, Some(20), connector.clone());
        let started = std::time::Instant::now();
        for _ in 0..50 {
            limited.ready().await;
        }
        // 20 at once, then 30 more at 20 a second: at least 1.5 s, whatever the load.
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(1_400),
            "{:?}",
            started.elapsed()
        );

        let unlimited = Account::new(id, Channel::Webhook, None, connector);
        let started = std::time::Instant::now();
        for _ in 0..50 {
            unlimited.ready().await;
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(1_400));
    }
}
