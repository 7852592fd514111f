//! Keys on SQLite.

use crate::{SqliteStore, corrupt, not_written, unknown};
use async_trait::async_trait;
use orbit_core::{SourceId, WorkspaceId};
use orbit_store::{ApiKeyRecord, KeyKind, KeyStore, Scope, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const KEY_COLUMNS: &str = "id, workspace_id, kind, name, digest, scopes, source_id, created_at, revoked_at";

fn decode_key(row: &SqliteRow) -> Result<ApiKeyRecord, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(|e| corrupt("key", e));
    let scopes: Vec<String> = serde_json::from_str(&text("scopes")?).map_err(|e| corrupt("key scopes", e))?;
    let source: Option<String> = row.try_get("source_id").map_err(|e| corrupt("key", e))?;
    Ok(ApiKeyRecord {
        id: text("id")?,
        workspace_id: WorkspaceId::parse(&text("workspace_id")?).map_err(|e| corrupt("key workspace", e))?,
        kind: KeyKind::parse(&text("kind")?).ok_or_else(|| corrupt("key kind", "unknown"))?,
        name: text("name")?,
        digest: text("digest")?,
        scopes: scopes
            .iter()
            .map(|s| Scope::parse(s).ok_or_else(|| corrupt("key scope", s)))
            .collect::<Result<_, _>>()?,
        source_id: source
            .map(|s| SourceId::parse(&s))
            .transpose()
            .map_err(|e| corrupt("key source", e))?,
        created_at_ms: row.try_get("created_at").map_err(|e| corrupt("key", e))?,
        revoked_at_ms: row.try_get("revoked_at").map_err(|e| corrupt("key", e))?,
    })
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(
            "INSERT INTO api_keys (id, workspace_id, kind, name, digest, scopes, source_id, created_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.id)
        .bind(key.workspace_id.as_str())
        .bind(key.kind.as_str())
        .bind(&key.name)
        .bind(&key.digest)
        .bind(serde_json::json!(scopes).to_string())
        .bind(key.source_id.as_ref().map(|s| s.as_str()))
        .bind(key.created_at_ms)
        .bind(key.revoked_at_ms)
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }

    async fn key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE digest = ? AND revoked_at IS NULL"
        ));
        let row = sqlx::query(sql)
            .bind(digest)
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?;
        row.as_ref().map(decode_key).transpose()
    }

    async fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace_id = ? ORDER BY created_at, id"
        ));
        let rows = sqlx::query(sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?;
        rows.iter().map(decode_key).collect()
    }

    async fn revoke_key(&self, workspace: &WorkspaceId, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = ? WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL",
        )
        .bind(at_ms)
        .bind(workspace.as_str())
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(unknown)?;
        Ok(done.rows_affected() == 1)
    }
}
