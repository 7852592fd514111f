//! Call tasks on SQLite.

use crate::messaging::{millis, text, workspace};
use crate::{SqliteStore, corrupt, not_written};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{CampaignId, ProfileId, WorkspaceId};
use orbit_store::{CallTask, CallTaskStore, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn decode(row: &SqliteRow) -> Result<CallTask, StoreError> {
    let what = "call task";
    let campaign: Option<String> = row.try_get("campaign_id").map_err(|e| corrupt(what, e))?;
    Ok(CallTask {
        id: text(row, what, "id")?,
        workspace_id: workspace(row, what)?,
        profile_id: ProfileId::parse(&text(row, what, "profile_id")?).map_err(|e| corrupt(what, e))?,
        phone: text(row, what, "phone")?,
        script: text(row, what, "script")?,
        campaign_id: campaign
            .map(|c| CampaignId::parse(&c).map_err(|e| corrupt(what, e)))
            .transpose()?,
        status: text(row, what, "status")?,
        outcome: row.try_get("outcome").map_err(|e| corrupt(what, e))?,
        created_at: millis(row, what, "created_at")?,
        updated_at: millis(row, what, "updated_at")?,
    })
}

#[async_trait]
impl CallTaskStore for SqliteStore {
    async fn put_call_task(&self, task: &CallTask) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO call_tasks (id, workspace_id, profile_id, phone, script, campaign_id, \
             status, outcome, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&task.id)
        .bind(task.workspace_id.as_str())
        .bind(task.profile_id.to_string())
        .bind(&task.phone)
        .bind(&task.script)
        .bind(task.campaign_id.as_ref().map(|c| c.as_str().to_owned()))
        .bind(&task.status)
        .bind(task.outcome.as_deref())
        .bind(task.created_at.as_millisecond())
        .bind(task.updated_at.as_millisecond())
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }

    async fn call_tasks(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallTask>, StoreError> {
        sqlx::query(
            "SELECT * FROM call_tasks WHERE workspace_id = ? AND (? IS NULL OR status = ?) \
             AND seq > COALESCE((SELECT seq FROM call_tasks WHERE id = ?), 0) ORDER BY seq LIMIT ?",
        )
        .bind(workspace.as_str())
        .bind(status)
        .bind(status)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode)
        .collect()
    }

    async fn update_call_task(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        outcome: Option<&str>,
        at: Timestamp,
    ) -> Result<Option<CallTask>, StoreError> {
        sqlx::query(
            "UPDATE call_tasks SET status = ?, outcome = COALESCE(?, outcome), updated_at = ? \
             WHERE workspace_id = ? AND id = ? RETURNING *",
        )
        .bind(status)
        .bind(outcome)
        .bind(at.as_millisecond())
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(&self.writer)
        .await
        .map_err(not_written)?
        .as_ref()
        .map(decode)
        .transpose()
    }
}
