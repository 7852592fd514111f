//! Templates, provider accounts, campaigns and consent on SQLite.

use std::collections::BTreeMap;

use crate::{SqliteStore, corrupt, not_written};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{
    CampaignState, Channel, ConsentRecord, ConsentStatus, MessageClass, TemplateContent,
};
use orbit_core::{CampaignId, ChannelId, ProfileId, TemplateId, WorkspaceId};
use orbit_store::{
    CampaignRecord, CampaignStore, ChannelAccountRecord, ChannelAccountStore, ConsentStore, StoreError,
    TemplateRecord, TemplateStore,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(crate) fn text(row: &SqliteRow, what: &str, col: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(col).map_err(|e| corrupt(what, e))
}

pub(crate) fn millis(row: &SqliteRow, what: &str, col: &str) -> Result<Timestamp, StoreError> {
    let ms: i64 = row.try_get(col).map_err(|e| corrupt(what, e))?;
    Timestamp::from_millisecond(ms).map_err(|e| corrupt(what, e))
}

pub(crate) fn opt_millis(row: &SqliteRow, what: &str, col: &str) -> Result<Option<Timestamp>, StoreError> {
    let ms: Option<i64> = row.try_get(col).map_err(|e| corrupt(what, e))?;
    ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt(what, e)))
        .transpose()
}

pub(crate) fn workspace(row: &SqliteRow, what: &str) -> Result<WorkspaceId, StoreError> {
    WorkspaceId::parse(&text(row, what, "workspace_id")?).map_err(|e| corrupt(what, e))
}

fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

/// A template's stored document.
#[derive(Serialize, Deserialize)]
struct TemplateDocument {
    name: String,
    class: MessageClass,
    content: TemplateContent,
    defaults: BTreeMap<String, serde_json::Value>,
}

fn decode_template(row: &SqliteRow) -> Result<TemplateRecord, StoreError> {
    let doc: TemplateDocument =
        serde_json::from_str(&text(row, "template", "document")?).map_err(|e| corrupt("template", e))?;
    Ok(TemplateRecord {
        workspace_id: workspace(row, "template")?,
        id: TemplateId::parse(&text(row, "template", "id")?).map_err(|e| corrupt("template id", e))?,
        name: doc.name,
        class: doc.class,
        content: doc.content,
        defaults: doc.defaults,
        created_at: millis(row, "template", "created_at")?,
        updated_at: millis(row, "template", "updated_at")?,
    })
}

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn save_template(&self, template: &TemplateRecord, create: bool) -> Result<(), StoreError> {
        let doc = encode(
            "the template",
            &TemplateDocument {
                name: template.name.clone(),
                class: template.class.clone(),
                content: template.content.clone(),
                defaults: template.defaults.clone(),
            },
        )?;
        let sql = if create {
            "INSERT INTO message_templates (workspace_id, id, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)"
        } else {
            "INSERT INTO message_templates (workspace_id, id, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id, id) DO UPDATE SET \
             document = excluded.document, updated_at = excluded.updated_at"
        };
        sqlx::query(sql)
            .bind(template.workspace_id.as_str())
            .bind(template.id.as_str())
            .bind(doc)
            .bind(template.created_at.as_millisecond())
            .bind(template.updated_at.as_millisecond())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(())
    }

    async fn template(
        &self,
        workspace: &WorkspaceId,
        id: &TemplateId,
    ) -> Result<Option<TemplateRecord>, StoreError> {
        sqlx::query("SELECT * FROM message_templates WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_template)
            .transpose()
    }

    async fn templates(&self, workspace: &WorkspaceId) -> Result<Vec<TemplateRecord>, StoreError> {
        sqlx::query("SELECT * FROM message_templates WHERE workspace_id = ? ORDER BY id")
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_template)
            .collect()
    }

    async fn delete_template(&self, workspace: &WorkspaceId, id: &TemplateId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM message_templates WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(done.rows_affected() > 0)
    }
}

fn decode_account(row: &SqliteRow) -> Result<ChannelAccountRecord, StoreError> {
    let what = "channel account";
    let channel: Channel = text(row, what, "channel")?
        .parse()
        .map_err(|e| corrupt(what, e))?;
    let rate: Option<i64> = row.try_get("rate_per_second").map_err(|e| corrupt(what, e))?;
    Ok(ChannelAccountRecord {
        workspace_id: workspace(row, what)?,
        id: ChannelId::parse(&text(row, what, "id")?).map_err(|e| corrupt(what, e))?,
        name: text(row, what, "name")?,
        channel,
        provider: text(row, what, "provider")?,
        sealed_config: row.try_get("sealed_config").map_err(|e| corrupt(what, e))?,
        masked_config: serde_json::from_str(&text(row, what, "masked_config")?)
            .map_err(|e| corrupt(what, e))?,
        is_default: row
            .try_get::<i64, _>("is_default")
            .map_err(|e| corrupt(what, e))?
            != 0,
        rate_per_second: rate.and_then(|r| u32::try_from(r).ok()),
        created_at: millis(row, what, "created_at")?,
        updated_at: millis(row, what, "updated_at")?,
    })
}

#[async_trait]
impl ChannelAccountStore for SqliteStore {
    async fn save_account(&self, account: &ChannelAccountRecord, create: bool) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if account.is_default {
            // One default per channel: choosing this one unchooses the others.
            sqlx::query("UPDATE channel_accounts SET is_default = 0 WHERE workspace_id = ? AND channel = ? AND id != ?")
                .bind(account.workspace_id.as_str())
                .bind(account.channel.as_str())
                .bind(account.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(not_written)?;
        }
        let sql = if create {
            "INSERT INTO channel_accounts (workspace_id, id, name, channel, provider, sealed_config, \
             masked_config, is_default, rate_per_second, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        } else {
            "INSERT INTO channel_accounts (workspace_id, id, name, channel, provider, sealed_config, \
             masked_config, is_default, rate_per_second, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, id) DO UPDATE SET \
             name = excluded.name, channel = excluded.channel, provider = excluded.provider, \
             sealed_config = excluded.sealed_config, masked_config = excluded.masked_config, \
             is_default = excluded.is_default, rate_per_second = excluded.rate_per_second, \
             updated_at = excluded.updated_at"
        };
        sqlx::query(sql)
            .bind(account.workspace_id.as_str())
            .bind(account.id.as_str())
            .bind(&account.name)
            .bind(account.channel.as_str())
            .bind(&account.provider)
            .bind(&account.sealed_config)
            .bind(encode("the masked configuration", &account.masked_config)?)
            .bind(i64::from(account.is_default))
            .bind(account.rate_per_second.map(i64::from))
            .bind(account.created_at.as_millisecond())
            .bind(account.updated_at.as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        tx.commit().await.map_err(crate::unknown)
    }

    async fn all_accounts(&self) -> Result<Vec<ChannelAccountRecord>, StoreError> {
        sqlx::query("SELECT * FROM channel_accounts ORDER BY workspace_id, id")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_account)
            .collect()
    }

    async fn delete_account(&self, workspace: &WorkspaceId, id: &ChannelId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM channel_accounts WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(done.rows_affected() > 0)
    }
}

fn decode_campaign(row: &SqliteRow) -> Result<CampaignRecord, StoreError> {
    let what = "campaign";
    let state =
        CampaignState::parse(&text(row, what, "state")?).ok_or_else(|| corrupt(what, "unknown state"))?;
    let runs: i64 = row.try_get("runs").map_err(|e| corrupt(what, e))?;
    let materialized: i64 = row.try_get("materialized_runs").map_err(|e| corrupt(what, e))?;
    Ok(CampaignRecord {
        workspace_id: workspace(row, what)?,
        id: CampaignId::parse(&text(row, what, "id")?).map_err(|e| corrupt(what, e))?,
        definition: serde_json::from_str(&text(row, what, "definition")?).map_err(|e| corrupt(what, e))?,
        lifecycle: Lifecycle {
            state,
            runs: u32::try_from(runs).map_err(|e| corrupt(what, e))?,
            next_run_at: opt_millis(row, what, "next_run_at")?,
        },
        materialized_runs: u32::try_from(materialized).map_err(|e| corrupt(what, e))?,
        created_at: millis(row, what, "created_at")?,
        updated_at: millis(row, what, "updated_at")?,
    })
}

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn save_campaign(&self, campaign: &CampaignRecord, create: bool) -> Result<(), StoreError> {
        let sql = if create {
            "INSERT INTO campaigns (workspace_id, id, definition, state, runs, next_run_at, \
             materialized_runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        } else {
            "INSERT INTO campaigns (workspace_id, id, definition, state, runs, next_run_at, \
             materialized_runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (workspace_id, id) DO UPDATE SET definition = excluded.definition, \
             state = excluded.state, runs = excluded.runs, next_run_at = excluded.next_run_at, \
             materialized_runs = excluded.materialized_runs, updated_at = excluded.updated_at"
        };
        sqlx::query(sql)
            .bind(campaign.workspace_id.as_str())
            .bind(campaign.id.as_str())
            .bind(encode("the campaign", &campaign.definition)?)
            .bind(campaign.lifecycle.state.as_str())
            .bind(i64::from(campaign.lifecycle.runs))
            .bind(campaign.lifecycle.next_run_at.map(|t| t.as_millisecond()))
            .bind(i64::from(campaign.materialized_runs))
            .bind(campaign.created_at.as_millisecond())
            .bind(campaign.updated_at.as_millisecond())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(())
    }

    async fn campaign(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError> {
        sqlx::query("SELECT * FROM campaigns WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_campaign)
            .transpose()
    }

    async fn campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<CampaignRecord>, StoreError> {
        sqlx::query("SELECT * FROM campaigns WHERE workspace_id = ? ORDER BY id")
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_campaign)
            .collect()
    }

    async fn live_campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM campaigns WHERE state IN ('scheduled', 'running', 'paused') \
             ORDER BY workspace_id, id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_campaign)
        .collect()
    }

    async fn delete_campaign(&self, workspace: &WorkspaceId, id: &CampaignId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM campaigns WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&self.writer)
            .await
            .map_err(not_written)?;
        Ok(done.rows_affected() > 0)
    }
}

fn status_name(status: ConsentStatus) -> &'static str {
    match status {
        ConsentStatus::Subscribed => "subscribed",
        ConsentStatus::Unsubscribed => "unsubscribed",
        ConsentStatus::Blocked => "blocked",
    }
}

fn decode_consent(row: &SqliteRow) -> Result<(WorkspaceId, ProfileId, ConsentRecord), StoreError> {
    let what = "consent";
    let channel: Option<String> = row.try_get("channel").map_err(|e| corrupt(what, e))?;
    let status = match text(row, what, "status")?.as_str() {
        "subscribed" => ConsentStatus::Subscribed,
        "unsubscribed" => ConsentStatus::Unsubscribed,
        "blocked" => ConsentStatus::Blocked,
        other => return Err(corrupt(what, format!("unknown status {other}"))),
    };
    Ok((
        workspace(row, what)?,
        ProfileId::parse(&text(row, what, "profile_id")?).map_err(|e| corrupt(what, e))?,
        ConsentRecord {
            channel: channel
                .map(|c| c.parse::<Channel>().map_err(|e| corrupt(what, e)))
                .transpose()?,
            topic: row.try_get("topic").map_err(|e| corrupt(what, e))?,
            status,
            at: millis(row, what, "at")?,
        },
    ))
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn record_consent(
        &self,
        workspace: &WorkspaceId,
        profile: &ProfileId,
        record: &ConsentRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (workspace_id, profile_id, channel, topic, status, at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(workspace.as_str())
        .bind(profile.to_string())
        .bind(record.channel.map(Channel::as_str))
        .bind(record.topic.as_deref())
        .bind(status_name(record.status))
        .bind(record.at.as_millisecond())
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }

    async fn all_consents(&self) -> Result<Vec<(WorkspaceId, ProfileId, ConsentRecord)>, StoreError> {
        sqlx::query("SELECT * FROM consents ORDER BY seq")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_consent)
            .collect()
    }

    async fn consents_of(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Result<Vec<(ProfileId, ConsentRecord)>, StoreError> {
        let mut found = Vec::new();
        // Chunks keep each statement well under SQLite's bound-parameter limit.
        for chunk in people.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT * FROM consents WHERE workspace_id = ? AND profile_id IN ({placeholders}) ORDER BY seq"
            );
            // Only placeholders are formatted in; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace.as_str());
            for person in chunk {
                query = query.bind(person.to_string());
            }
            for row in query.fetch_all(&self.reader).await.map_err(not_written)? {
                let (_, person, record) = decode_consent(&row)?;
                found.push((person, record));
            }
        }
        // Across chunks, the order of making is what the latest-record rule needs.
        found.sort_by_key(|(_, record)| record.at);
        Ok(found)
    }
}
