//! Journeys and their published versions on SQLite.

use crate::messaging::{millis, text, workspace};
use crate::rows::{RowQuery, Stored, all_rows, get_row, list_rows, save_row};
use crate::{SqliteStore, corrupt, not_written, unknown};
use async_trait::async_trait;
use orbit_core::journey::{JourneyDefinition, JourneyStatus};
use orbit_core::{JourneyId, WorkspaceId};
use orbit_store::{JourneyRecord, JourneyStore, JourneyVersion, StoreError, Write};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn encode(what: &str, definition: &JourneyDefinition) -> Result<String, StoreError> {
    serde_json::to_string(definition).map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

fn definition(row: &SqliteRow, what: &str, col: &str) -> Result<JourneyDefinition, StoreError> {
    serde_json::from_str(&text(row, what, col)?).map_err(|e| corrupt(what, e))
}

fn journey_id(row: &SqliteRow, what: &str, col: &str) -> Result<JourneyId, StoreError> {
    JourneyId::parse(&text(row, what, col)?).map_err(|e| corrupt(what, e))
}

impl Stored for JourneyRecord {
    const TABLE: &'static str = "journeys";
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "status",
        "draft",
        "live_version",
        "created_at",
        "updated_at",
    ];

    fn key(&self) -> (&WorkspaceId, &str) {
        (&self.workspace_id, self.id.as_str())
    }

    fn bind_columns(&self, query: RowQuery) -> Result<RowQuery, StoreError> {
        Ok(query
            .bind(self.draft.name.clone())
            .bind(self.status.as_str())
            .bind(encode("the journey's draft", &self.draft)?)
            .bind(self.live_version.map(i64::from))
            .bind(self.created_at.as_millisecond())
            .bind(self.updated_at.as_millisecond()))
    }

    fn decode(row: &SqliteRow) -> Result<Self, StoreError> {
        let what = "journey";
        let status = JourneyStatus::parse(&text(row, what, "status")?)
            .ok_or_else(|| corrupt(what, "unknown status"))?;
        let live_version: Option<i64> = row.try_get("live_version").map_err(|e| corrupt(what, e))?;
        Ok(JourneyRecord {
            workspace_id: workspace(row, what)?,
            id: journey_id(row, what, "id")?,
            draft: definition(row, what, "draft")?,
            status,
            live_version: live_version
                .map(|v| u32::try_from(v).map_err(|e| corrupt(what, e)))
                .transpose()?,
            created_at: millis(row, what, "created_at")?,
            updated_at: millis(row, what, "updated_at")?,
        })
    }
}

fn decode_version(row: &SqliteRow) -> Result<JourneyVersion, StoreError> {
    let what = "journey version";
    let version: i64 = row.try_get("version").map_err(|e| corrupt(what, e))?;
    Ok(JourneyVersion {
        workspace_id: workspace(row, what)?,
        journey_id: journey_id(row, what, "journey_id")?,
        version: u32::try_from(version).map_err(|e| corrupt(what, e))?,
        definition: definition(row, what, "definition")?,
        published_at: millis(row, what, "published_at")?,
    })
}

#[async_trait]
impl JourneyStore for SqliteStore {
    async fn save_journey(&self, journey: &JourneyRecord, write: Write) -> Result<(), StoreError> {
        save_row(&self.writer, journey, write).await
    }

    async fn journey(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
    ) -> Result<Option<JourneyRecord>, StoreError> {
        get_row(&self.reader, workspace, id.as_str()).await
    }

    async fn journeys(&self, workspace: &WorkspaceId) -> Result<Vec<JourneyRecord>, StoreError> {
        list_rows(&self.reader, workspace).await
    }

    async fn active_journeys(&self) -> Result<Vec<JourneyRecord>, StoreError> {
        all_rows(&self.reader, Some("status IN ('live', 'paused')")).await
    }

    async fn publish_version(
        &self,
        journey: &JourneyRecord,
        version: &JourneyVersion,
    ) -> Result<(), StoreError> {
        let definition = encode("the published journey", &version.definition)?;
        let mut tx = self.begin_write().await?;
        // A taken version number is a unique violation, which `not_written` reports as
        // `AlreadyExists`; returning drops the transaction, rolling it back.
        sqlx::query(
            "INSERT INTO journey_versions (workspace_id, journey_id, version, definition, published_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(version.workspace_id.as_str())
        .bind(version.journey_id.as_str())
        .bind(i64::from(version.version))
        .bind(definition)
        .bind(version.published_at.as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(not_written)?;
        save_row(&mut *tx, journey, Write::Replace).await?;
        tx.commit().await.map_err(unknown)
    }

    async fn journey_version(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
        version: u32,
    ) -> Result<Option<JourneyVersion>, StoreError> {
        sqlx::query(
            "SELECT * FROM journey_versions WHERE workspace_id = ? AND journey_id = ? AND version = ?",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .bind(i64::from(version))
        .fetch_optional(&self.reader)
        .await
        .map_err(not_written)?
        .as_ref()
        .map(decode_version)
        .transpose()
    }

    async fn journey_versions(
        &self,
        workspace: &WorkspaceId,
        id: &JourneyId,
    ) -> Result<Vec<JourneyVersion>, StoreError> {
        sqlx::query(
            "SELECT * FROM journey_versions WHERE workspace_id = ? AND journey_id = ? ORDER BY version",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?
        .iter()
        .map(decode_version)
        .collect()
    }

    async fn delete_journey(&self, workspace: &WorkspaceId, id: &JourneyId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM journey_versions WHERE workspace_id = ? AND journey_id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        let done = sqlx::query("DELETE FROM journeys WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        tx.commit().await.map_err(unknown)?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use jiff::Timestamp;

    fn draft(name: &str) -> JourneyDefinition {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "entry": {"type": "api"},
            "start": "done",
            "nodes": {"done": {"type": "exit"}}
        }))
        .expect("a valid definition")
    }

    // The port never reads the name column back, so only a look at the row shows
    // whether it follows the draft.
    #[tokio::test]
    async fn the_name_column_follows_the_draft() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(&dir.path().join("orbit.db"), Durability::Full)
            .await
            .expect("opens");
        let mut journey = JourneyRecord {
            workspace_id: WorkspaceId::default_workspace(),
            id: JourneyId::parse("welcome").expect("a valid id"),
            draft: draft("新客欢迎"),
            status: JourneyStatus::Draft,
            live_version: None,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let name = async |store: &SqliteStore| -> String {
            sqlx::query_scalar("SELECT name FROM journeys WHERE id = 'welcome'")
                .fetch_one(&store.reader)
                .await
                .expect("the row")
        };
        store.save_journey(&journey, Write::Create).await.expect("saved");
        assert_eq!(name(&store).await, "新客欢迎");
        journey.draft = draft("欢迎");
        store.save_journey(&journey, Write::Replace).await.expect("saved");
        assert_eq!(name(&store).await, "欢迎");
        store.close().await;
    }
}
