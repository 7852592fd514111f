//! Workspaces on SQLite.

use crate::{SqliteStore, corrupt, not_written};
use async_trait::async_trait;
use orbit_core::WorkspaceId;
use orbit_store::{StoreError, WorkspaceRecord, WorkspaceSettings, WorkspaceStore};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn decode_workspace(row: &SqliteRow) -> Result<WorkspaceRecord, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(|e| corrupt("workspace", e));
    let settings: WorkspaceSettings =
        serde_json::from_str(&text("settings")?).map_err(|e| corrupt("workspace settings", e))?;
    Ok(WorkspaceRecord {
        id: WorkspaceId::parse(&text("id")?).map_err(|e| corrupt("workspace id", e))?,
        name: text("name")?,
        settings,
    })
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn list_workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, settings FROM workspaces ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?;
        rows.iter().map(decode_workspace).collect()
    }

    async fn workspace(&self, id: &WorkspaceId) -> Result<Option<WorkspaceRecord>, StoreError> {
        let row = sqlx::query("SELECT id, name, settings FROM workspaces WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?;
        row.as_ref().map(decode_workspace).transpose()
    }

    async fn save_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), StoreError> {
        let settings = serde_json::to_string(&workspace.settings)
            .map_err(|e| StoreError::NotWritten(format!("encoding workspace settings: {e}")))?;
        sqlx::query(
            "INSERT INTO workspaces (id, name, settings, created_at) VALUES (?, ?, ?, 0) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, settings = excluded.settings",
        )
        .bind(workspace.id.as_str())
        .bind(&workspace.name)
        .bind(settings)
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }
}
