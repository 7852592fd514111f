//! Segments on SQLite.

use crate::{SqliteStore, corrupt, not_written, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{ProfileId, SegmentId, WorkspaceId};
use orbit_store::{
    LogPosition, MembershipBaseline, SegmentKind, SegmentRecord, SegmentStore, SizePoint, StoreError, Write,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

macro_rules! columns {
    () => {
        "workspace_id, id, name, description, kind, condition, created_at, updated_at"
    };
}

fn decode_segment(row: &SqliteRow) -> Result<SegmentRecord, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(|e| corrupt("segment", e));
    let millis = |col: &str| {
        let ms: i64 = row.try_get(col).map_err(|e| corrupt("segment", e))?;
        Timestamp::from_millisecond(ms).map_err(|e| corrupt("segment time", e))
    };
    let condition = row
        .try_get::<Option<String>, _>("condition")
        .map_err(|e| corrupt("segment", e))?
        .map(|raw| serde_json::from_str(&raw).map_err(|e| corrupt("segment condition", e)))
        .transpose()?;
    let kind = text("kind")?;
    Ok(SegmentRecord {
        workspace_id: WorkspaceId::parse(&text("workspace_id")?).map_err(|e| corrupt("workspace id", e))?,
        id: SegmentId::parse(&text("id")?).map_err(|e| corrupt("segment id", e))?,
        name: text("name")?,
        description: text("description")?,
        kind: SegmentKind::parse(&kind).ok_or_else(|| corrupt("segment kind", kind))?,
        condition,
        created_at: millis("created_at")?,
        updated_at: millis("updated_at")?,
    })
}

const INSERT_SEGMENT: &str = concat!(
    "INSERT INTO segments (",
    columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
);

const UPSERT_SEGMENT: &str = concat!(
    "INSERT INTO segments (",
    columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, \
     description = excluded.description, kind = excluded.kind, \
     condition = excluded.condition, updated_at = excluded.updated_at"
);

async fn write_segment(
    writer: &mut sqlx::SqliteConnection,
    segment: &SegmentRecord,
    statement: &'static str,
) -> Result<(), StoreError> {
    let condition = segment
        .condition
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::NotWritten(format!("encoding the segment condition: {e}")))?;
    sqlx::query(statement)
        .bind(segment.workspace_id.as_str())
        .bind(segment.id.as_str())
        .bind(&segment.name)
        .bind(&segment.description)
        .bind(segment.kind.as_str())
        .bind(condition)
        .bind(segment.created_at.as_millisecond())
        .bind(segment.updated_at.as_millisecond())
        .execute(writer)
        .await
        .map_err(not_written)?;
    Ok(())
}

async fn replace_members(
    tx: &mut sqlx::SqliteConnection,
    workspace: &WorkspaceId,
    id: &SegmentId,
    members: &[ProfileId],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM segment_members WHERE workspace_id = ? AND segment_id = ?")
        .bind(workspace.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(not_written)?;
    for member in members {
        sqlx::query(
            "INSERT OR IGNORE INTO segment_members (workspace_id, segment_id, profile_id) \
             VALUES (?, ?, ?)",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .bind(member.to_string())
        .execute(&mut *tx)
        .await
        .map_err(not_written)?;
    }
    Ok(())
}

#[async_trait]
impl SegmentStore for SqliteStore {
    async fn insert_segment(&self, segment: &SegmentRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        write_segment(&mut tx, segment, INSERT_SEGMENT).await?;
        tx.commit().await.map_err(unknown)
    }

    async fn save_segment(&self, segment: &SegmentRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        write_segment(&mut tx, segment, UPSERT_SEGMENT).await?;
        tx.commit().await.map_err(unknown)
    }

    async fn save_static_segment(
        &self,
        segment: &SegmentRecord,
        write: Write,
        members: &[ProfileId],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let statement = match write {
            Write::Create => INSERT_SEGMENT,
            Write::Replace => UPSERT_SEGMENT,
        };
        write_segment(&mut tx, segment, statement).await?;
        replace_members(&mut tx, &segment.workspace_id, &segment.id, members).await?;
        // A segment made static has no announcements to start from any more.
        sqlx::query("DELETE FROM segment_baselines WHERE workspace_id = ? AND segment_id = ?")
            .bind(segment.workspace_id.as_str())
            .bind(segment.id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        tx.commit().await.map_err(unknown)
    }

    async fn segments(&self, workspace: &WorkspaceId) -> Result<Vec<SegmentRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM segments WHERE workspace_id = ? ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter().map(decode_segment).collect()
    }

    async fn all_segments(&self) -> Result<Vec<SegmentRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM segments ORDER BY workspace_id, id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter().map(decode_segment).collect()
    }

    async fn segment(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
    ) -> Result<Option<SegmentRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM segments WHERE workspace_id = ? AND id = ?"
        ))
        .bind(workspace.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(not_written)?;
        row.as_ref().map(decode_segment).transpose()
    }

    async fn delete_segment(&self, workspace: &WorkspaceId, id: &SegmentId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut deleted = 0;
        for (step, statement) in [
            "DELETE FROM segments WHERE workspace_id = ? AND id = ?",
            "DELETE FROM segment_members WHERE workspace_id = ? AND segment_id = ?",
            "DELETE FROM segment_sizes WHERE workspace_id = ? AND segment_id = ?",
            "DELETE FROM segment_baselines WHERE workspace_id = ? AND segment_id = ?",
        ]
        .into_iter()
        .enumerate()
        {
            let done = sqlx::query(statement)
                .bind(workspace.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(not_written)?;
            if step == 0 {
                deleted = done.rows_affected();
            }
        }
        tx.commit().await.map_err(unknown)?;
        Ok(deleted > 0)
    }

    async fn save_static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        members: &[ProfileId],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        replace_members(&mut tx, workspace, id, members).await?;
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn add_static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        members: &[ProfileId],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for member in members {
            added += sqlx::query(
                "INSERT OR IGNORE INTO segment_members (workspace_id, segment_id, profile_id) \
                 VALUES (?, ?, ?)",
            )
            .bind(workspace.as_str())
            .bind(id.as_str())
            .bind(member.to_string())
            .execute(&mut *tx)
            .await
            .map_err(not_written)?
            .rows_affected();
        }
        tx.commit().await.map_err(unknown)?;
        Ok(added)
    }

    async fn save_baseline(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        baseline: &MembershipBaseline,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        replace_members(&mut tx, workspace, id, &baseline.members).await?;
        sqlx::query(
            "INSERT OR REPLACE INTO segment_baselines (workspace_id, segment_id, position) \
             VALUES (?, ?, ?)",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .bind(baseline.position.0)
        .execute(&mut *tx)
        .await
        .map_err(not_written)?;
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn baselines(&self) -> Result<Vec<(WorkspaceId, SegmentId, MembershipBaseline)>, StoreError> {
        let heads: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT workspace_id, segment_id, position FROM segment_baselines \
             ORDER BY workspace_id, segment_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        let mut baselines = Vec::with_capacity(heads.len());
        for (workspace, segment, position) in heads {
            let workspace = WorkspaceId::parse(&workspace).map_err(|e| corrupt("workspace id", e))?;
            let segment = SegmentId::parse(&segment).map_err(|e| corrupt("segment id", e))?;
            let members = self.static_members(&workspace, &segment).await?;
            baselines.push((
                workspace,
                segment,
                MembershipBaseline {
                    position: LogPosition(position),
                    members,
                },
            ));
        }
        Ok(baselines)
    }

    async fn static_members(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
    ) -> Result<Vec<ProfileId>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT profile_id FROM segment_members WHERE workspace_id = ? AND segment_id = ? \
             ORDER BY profile_id",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|raw| ProfileId::parse(raw).map_err(|e| corrupt("segment member", e)))
            .collect()
    }

    async fn record_sizes(
        &self,
        workspace: &WorkspaceId,
        at: Timestamp,
        sizes: &[(SegmentId, u64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, size) in sizes {
            sqlx::query(
                "INSERT OR REPLACE INTO segment_sizes (workspace_id, segment_id, at, size) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(workspace.as_str())
            .bind(id.as_str())
            .bind(at.as_millisecond())
            .bind(i64::try_from(*size).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(())
    }

    async fn size_history(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        since: Timestamp,
    ) -> Result<Vec<SizePoint>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT at, size FROM segment_sizes WHERE workspace_id = ? AND segment_id = ? AND at >= ? \
             ORDER BY at",
        )
        .bind(workspace.as_str())
        .bind(id.as_str())
        .bind(since.as_millisecond())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.into_iter()
            .map(|(at, size)| {
                Ok(SizePoint {
                    at: Timestamp::from_millisecond(at).map_err(|e| corrupt("segment size time", e))?,
                    size: u64::try_from(size).unwrap_or(0),
                })
            })
            .collect()
    }
}
