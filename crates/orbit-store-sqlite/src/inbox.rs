//! The in-app inbox on SQLite.

use crate::messaging::{millis, opt_millis, text, workspace};
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, placeholders, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{CampaignId, ProfileId, WorkspaceId};
use orbit_store::{InboxMessage, InboxStore, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

fn decode(row: &SqliteRow) -> Result<InboxMessage, StoreError> {
    let what = "inbox message";
    let campaign: Option<String> = row.try_get("campaign_id").map_err(|e| corrupt(what, e))?;
    Ok(InboxMessage {
        id: text(row, what, "id")?,
        workspace_id: workspace(row, what)?,
        profile_id: ProfileId::parse(&text(row, what, "profile_id")?).map_err(|e| corrupt(what, e))?,
        campaign_id: campaign
            .map(|c| CampaignId::parse(&c).map_err(|e| corrupt(what, e)))
            .transpose()?,
        title: text(row, what, "title")?,
        body: text(row, what, "body")?,
        popup: row.try_get::<i64, _>("popup").map_err(|e| corrupt(what, e))? != 0,
        link: row.try_get("link").map_err(|e| corrupt(what, e))?,
        created_at: millis(row, what, "created_at")?,
        read_at: opt_millis(row, what, "read_at")?,
    })
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn put_inbox_messages(&self, messages: &[InboxMessage]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let mut offset = 0;
        for size in chunk_sizes(messages.len()) {
            let sql = format!(
                "INSERT OR IGNORE INTO inbox_messages (id, workspace_id, profile_id, campaign_id, title, \
                 body, popup, link, created_at, read_at) VALUES {}",
                placeholders(size, 10)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for message in &messages[offset..offset + size] {
                query = query
                    .bind(message.id.as_str())
                    .bind(message.workspace_id.as_str())
                    .bind(message.profile_id.to_string())
                    .bind(message.campaign_id.as_ref().map(|c| c.as_str().to_owned()))
                    .bind(message.title.as_str())
                    .bind(message.body.as_str())
                    .bind(i64::from(message.popup))
                    .bind(message.link.as_deref())
                    .bind(message.created_at.as_millisecond())
                    .bind(message.read_at.map(|t| t.as_millisecond()));
            }
            query.execute(&mut *tx).await.map_err(not_written)?;
            offset += size;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn inbox_messages_since(&self, since: Timestamp) -> Result<Vec<InboxMessage>, StoreError> {
        sqlx::query("SELECT * FROM inbox_messages WHERE created_at >= ? ORDER BY created_at, id")
            .bind(since.as_millisecond())
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode)
            .collect()
    }

    async fn mark_inbox_read(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE inbox_messages SET read_at = ? WHERE id = ? AND workspace_id = ? AND read_at IS NULL",
        )
        .bind(at.as_millisecond())
        .bind(id)
        .bind(workspace.as_str())
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(done.rows_affected() > 0)
    }
}
