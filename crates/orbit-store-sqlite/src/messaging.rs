//! Templates, provider accounts, campaigns and consent on SQLite.

use std::collections::BTreeMap;

use crate::rows::{RowQuery, Stored, all_rows, delete_row, get_row, list_rows, save_row};
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
    TemplateRecord, TemplateStore, Write,
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

impl Stored for TemplateRecord {
    const TABLE: &'static str = "message_templates";
    const COLUMNS: &'static [&'static str] = &["document", "created_at", "updated_at"];

    fn key(&self) -> (&WorkspaceId, &str) {
        (&self.workspace_id, self.id.as_str())
    }

    fn bind_columns(&self, query: RowQuery) -> Result<RowQuery, StoreError> {
        let doc = encode(
            "the template",
            &TemplateDocument {
                name: self.name.clone(),
                class: self.class.clone(),
                content: self.content.clone(),
                defaults: self.defaults.clone(),
            },
        )?;
        Ok(query
            .bind(doc)
            .bind(self.created_at.as_millisecond())
            .bind(self.updated_at.as_millisecond()))
    }

    fn decode(row: &SqliteRow) -> Result<Self, StoreError> {
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
}

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn save_template(&self, template: &TemplateRecord, write: Write) -> Result<(), StoreError> {
        save_row(&self.writer, template, write).await
    }

    async fn template(
        &self,
        workspace: &WorkspaceId,
        id: &TemplateId,
    ) -> Result<Option<TemplateRecord>, StoreError> {
        get_row(&self.reader, workspace, id.as_str()).await
    }

    async fn templates(&self, workspace: &WorkspaceId) -> Result<Vec<TemplateRecord>, StoreError> {
        list_rows(&self.reader, workspace).await
    }

    async fn delete_template(&self, workspace: &WorkspaceId, id: &TemplateId) -> Result<bool, StoreError> {
        delete_row::<TemplateRecord>(&self.writer, workspace, id.as_str()).await
    }
}

impl Stored for ChannelAccountRecord {
    const TABLE: &'static str = "channel_accounts";
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "channel",
        "provider",
        "sealed_config",
        "masked_config",
        "is_default",
        "rate_per_second",
        "created_at",
        "updated_at",
    ];

    fn key(&self) -> (&WorkspaceId, &str) {
        (&self.workspace_id, self.id.as_str())
    }

    fn bind_columns(&self, query: RowQuery) -> Result<RowQuery, StoreError> {
        Ok(query
            .bind(&self.name)
            .bind(self.channel.as_str())
            .bind(&self.provider)
            .bind(&self.sealed_config)
            .bind(encode("the masked configuration", &self.masked_config)?)
            .bind(i64::from(self.is_default))
            .bind(self.rate_per_second.map(i64::from))
            .bind(self.created_at.as_millisecond())
            .bind(self.updated_at.as_millisecond()))
    }

    fn decode(row: &SqliteRow) -> Result<Self, StoreError> {
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
}

#[async_trait]
impl ChannelAccountStore for SqliteStore {
    async fn save_account(&self, account: &ChannelAccountRecord, write: Write) -> Result<(), StoreError> {
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
        save_row(&mut *tx, account, write).await?;
        tx.commit().await.map_err(crate::unknown)
    }

    async fn all_accounts(&self) -> Result<Vec<ChannelAccountRecord>, StoreError> {
        all_rows(&self.reader, None).await
    }

    async fn delete_account(&self, workspace: &WorkspaceId, id: &ChannelId) -> Result<bool, StoreError> {
        delete_row::<ChannelAccountRecord>(&self.writer, workspace, id.as_str()).await
    }
}

impl Stored for CampaignRecord {
    const TABLE: &'static str = "campaigns";
    const COLUMNS: &'static [&'static str] = &[
        "definition",
        "state",
        "runs",
        "next_run_at",
        "materialized_runs",
        "created_at",
        "updated_at",
    ];

    fn key(&self) -> (&WorkspaceId, &str) {
        (&self.workspace_id, self.id.as_str())
    }

    fn bind_columns(&self, query: RowQuery) -> Result<RowQuery, StoreError> {
        Ok(query
            .bind(encode("the campaign", &self.definition)?)
            .bind(self.lifecycle.state.as_str())
            .bind(i64::from(self.lifecycle.runs))
            .bind(self.lifecycle.next_run_at.map(|t| t.as_millisecond()))
            .bind(i64::from(self.materialized_runs))
            .bind(self.created_at.as_millisecond())
            .bind(self.updated_at.as_millisecond()))
    }

    fn decode(row: &SqliteRow) -> Result<Self, StoreError> {
        let what = "campaign";
        let state =
            CampaignState::parse(&text(row, what, "state")?).ok_or_else(|| corrupt(what, "unknown state"))?;
        let runs: i64 = row.try_get("runs").map_err(|e| corrupt(what, e))?;
        let materialized: i64 = row.try_get("materialized_runs").map_err(|e| corrupt(what, e))?;
        Ok(CampaignRecord {
            workspace_id: workspace(row, what)?,
            id: CampaignId::parse(&text(row, what, "id")?).map_err(|e| corrupt(what, e))?,
            definition: serde_json::from_str(&text(row, what, "definition")?)
                .map_err(|e| corrupt(what, e))?,
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
}

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn save_campaign(&self, campaign: &CampaignRecord, write: Write) -> Result<(), StoreError> {
        save_row(&self.writer, campaign, write).await
    }

    async fn campaign(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError> {
        get_row(&self.reader, workspace, id.as_str()).await
    }

    async fn campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<CampaignRecord>, StoreError> {
        list_rows(&self.reader, workspace).await
    }

    async fn live_campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        all_rows(&self.reader, Some("state IN ('scheduled', 'running', 'paused')")).await
    }

    async fn delete_campaign(&self, workspace: &WorkspaceId, id: &CampaignId) -> Result<bool, StoreError> {
        delete_row::<CampaignRecord>(&self.writer, workspace, id.as_str()).await
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
