//! Tags on SQLite.

use crate::{SqliteStore, chunk_sizes, corrupt, not_written, placeholders, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::tags::{TagDefinition, TagFamily, TagSource};
use orbit_core::{ProfileId, TagId, WorkspaceId};
use orbit_store::{StoreError, TagAssignment, TagRecord, TagStore};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

macro_rules! columns {
    () => {
        "workspace_id, id, name, description, family, kind, source, created_at, updated_at"
    };
}

fn decode_tag(row: &SqliteRow) -> Result<TagRecord, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(|e| corrupt("tag", e));
    let millis = |col: &str| {
        let ms: i64 = row.try_get(col).map_err(|e| corrupt("tag", e))?;
        Timestamp::from_millisecond(ms).map_err(|e| corrupt("tag time", e))
    };
    let family: TagFamily = serde_json::from_value(serde_json::Value::String(text("family")?))
        .map_err(|e| corrupt("tag family", e))?;
    let source: TagSource = serde_json::from_str(&text("source")?).map_err(|e| corrupt("tag source", e))?;
    Ok(TagRecord {
        workspace_id: WorkspaceId::parse(&text("workspace_id")?).map_err(|e| corrupt("workspace id", e))?,
        id: TagId::parse(&text("id")?).map_err(|e| corrupt("tag id", e))?,
        definition: TagDefinition {
            name: text("name")?,
            description: text("description")?,
            family,
            source,
        },
        created_at: millis("created_at")?,
        updated_at: millis("updated_at")?,
    })
}

async fn write_tag(
    writer: &sqlx::SqlitePool,
    tag: &TagRecord,
    statement: &'static str,
) -> Result<(), StoreError> {
    let encode = |e: serde_json::Error| StoreError::NotWritten(format!("encoding the tag: {e}"));
    let family = serde_json::to_value(tag.definition.family).map_err(encode)?;
    let source = serde_json::to_string(&tag.definition.source).map_err(encode)?;
    sqlx::query(statement)
        .bind(tag.workspace_id.as_str())
        .bind(tag.id.as_str())
        .bind(&tag.definition.name)
        .bind(&tag.definition.description)
        .bind(family.as_str().unwrap_or_default())
        .bind(tag.definition.source.kind().as_str())
        .bind(source)
        .bind(tag.created_at.as_millisecond())
        .bind(tag.updated_at.as_millisecond())
        .execute(writer)
        .await
        .map_err(not_written)?;
    Ok(())
}

/// Inserts `(profile, value)` rows of one tag, several per statement.
async fn insert_values(
    tx: &mut Transaction<'static, Sqlite>,
    workspace: &WorkspaceId,
    tag: &TagId,
    assignments: &[TagAssignment],
) -> Result<(), StoreError> {
    let rows: Vec<(String, &str)> = assignments
        .iter()
        .flat_map(|a| {
            let profile = a.profile.to_string();
            a.values.iter().map(move |v| (profile.clone(), v.as_str()))
        })
        .collect();
    let mut offset = 0;
    for size in chunk_sizes(rows.len()) {
        let sql = format!(
            "INSERT OR IGNORE INTO tag_values (workspace_id, tag_id, profile_id, value) VALUES {}",
            placeholders(size, 4)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (profile, value) in &rows[offset..offset + size] {
            query = query
                .bind(workspace.as_str())
                .bind(tag.as_str())
                .bind(profile.as_str())
                .bind(*value);
        }
        query.execute(&mut **tx).await.map_err(not_written)?;
        offset += size;
    }
    Ok(())
}

#[async_trait]
impl TagStore for SqliteStore {
    async fn insert_tag(&self, tag: &TagRecord) -> Result<(), StoreError> {
        write_tag(
            &self.writer,
            tag,
            concat!(
                "INSERT INTO tags (",
                columns!(),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
        )
        .await
    }

    async fn save_tag(&self, tag: &TagRecord) -> Result<(), StoreError> {
        write_tag(
            &self.writer,
            tag,
            concat!(
                "INSERT INTO tags (",
                columns!(),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, \
                 description = excluded.description, family = excluded.family, \
                 kind = excluded.kind, source = excluded.source, updated_at = excluded.updated_at"
            ),
        )
        .await
    }

    async fn tags(&self, workspace: &WorkspaceId) -> Result<Vec<TagRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tags WHERE workspace_id = ? ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter().map(decode_tag).collect()
    }

    async fn all_tags(&self) -> Result<Vec<TagRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tags ORDER BY workspace_id, id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter().map(decode_tag).collect()
    }

    async fn tag(&self, workspace: &WorkspaceId, id: &TagId) -> Result<Option<TagRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tags WHERE workspace_id = ? AND id = ?"
        ))
        .bind(workspace.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(not_written)?;
        row.as_ref().map(decode_tag).transpose()
    }

    async fn delete_tag(&self, workspace: &WorkspaceId, id: &TagId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM tags WHERE workspace_id = ? AND id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?
            .rows_affected();
        sqlx::query("DELETE FROM tag_values WHERE workspace_id = ? AND tag_id = ?")
            .bind(workspace.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        tx.commit().await.map_err(unknown)?;
        Ok(deleted > 0)
    }

    async fn assign_tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
        assignments: &[TagAssignment],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for assignment in assignments {
            sqlx::query("DELETE FROM tag_values WHERE workspace_id = ? AND tag_id = ? AND profile_id = ?")
                .bind(workspace.as_str())
                .bind(tag.as_str())
                .bind(assignment.profile.to_string())
                .execute(&mut *tx)
                .await
                .map_err(not_written)?;
        }
        insert_values(&mut tx, workspace, tag, assignments).await?;
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn replace_tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
        assignments: &[TagAssignment],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM tag_values WHERE workspace_id = ? AND tag_id = ?")
            .bind(workspace.as_str())
            .bind(tag.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        insert_values(&mut tx, workspace, tag, assignments).await?;
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn tag_values(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
    ) -> Result<Vec<TagAssignment>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT profile_id, value FROM tag_values WHERE workspace_id = ? AND tag_id = ? \
             ORDER BY profile_id, value",
        )
        .bind(workspace.as_str())
        .bind(tag.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        let mut assignments: Vec<TagAssignment> = Vec::new();
        for (raw, value) in rows {
            let profile = ProfileId::parse(&raw).map_err(|e| corrupt("tagged profile", e))?;
            match assignments.last_mut() {
                Some(last) if last.profile == profile => last.values.push(value),
                _ => assignments.push(TagAssignment {
                    profile,
                    values: vec![value],
                }),
            }
        }
        Ok(assignments)
    }

    async fn forget_tag_values(
        &self,
        workspace: &WorkspaceId,
        profiles: &[ProfileId],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for profile in profiles {
            sqlx::query("DELETE FROM tag_values WHERE workspace_id = ? AND profile_id = ?")
                .bind(workspace.as_str())
                .bind(profile.to_string())
                .execute(&mut *tx)
                .await
                .map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }
}
