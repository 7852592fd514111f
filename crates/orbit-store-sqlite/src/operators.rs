//! Operators and their sessions on SQLite.

use crate::messaging::{text, workspace};
use crate::{SqliteStore, corrupt, not_written, unknown};
use async_trait::async_trait;
use orbit_core::WorkspaceId;
use orbit_store::{OperatorRecord, OperatorStore, Role, SessionRecord, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const OPERATOR_COLUMNS: &str =
    "id, workspace_id, login, name, role, password_hash, created_at, updated_at, disabled_at";

const SESSION_COLUMNS: &str = "digest, operator_id, workspace_id, created_at, last_seen, expires_at, address";

fn decode_operator(row: &SqliteRow) -> Result<OperatorRecord, StoreError> {
    let what = "operator";
    let role = text(row, what, "role")?;
    Ok(OperatorRecord {
        id: text(row, what, "id")?,
        workspace_id: workspace(row, what)?,
        login: text(row, what, "login")?,
        name: text(row, what, "name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("operator role", role))?,
        password_hash: text(row, what, "password_hash")?,
        created_at_ms: row.try_get("created_at").map_err(|e| corrupt(what, e))?,
        updated_at_ms: row.try_get("updated_at").map_err(|e| corrupt(what, e))?,
        disabled_at_ms: row.try_get("disabled_at").map_err(|e| corrupt(what, e))?,
    })
}

fn decode_session(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    let what = "session";
    Ok(SessionRecord {
        digest: text(row, what, "digest")?,
        operator_id: text(row, what, "operator_id")?,
        workspace_id: workspace(row, what)?,
        created_at_ms: row.try_get("created_at").map_err(|e| corrupt(what, e))?,
        last_seen_ms: row.try_get("last_seen").map_err(|e| corrupt(what, e))?,
        expires_at_ms: row.try_get("expires_at").map_err(|e| corrupt(what, e))?,
        address: row.try_get("address").map_err(|e| corrupt(what, e))?,
    })
}

#[async_trait]
impl OperatorStore for SqliteStore {
    async fn create_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError> {
        // A taken id or login is a unique violation, which `not_written` reports as
        // `AlreadyExists`.
        sqlx::query(
            "INSERT INTO operators (id, workspace_id, login, name, role, password_hash, created_at, \
             updated_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&operator.id)
        .bind(operator.workspace_id.as_str())
        .bind(&operator.login)
        .bind(&operator.name)
        .bind(operator.role.as_str())
        .bind(&operator.password_hash)
        .bind(operator.created_at_ms)
        .bind(operator.updated_at_ms)
        .bind(operator.disabled_at_ms)
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }

    async fn operator_by_login(&self, login: &str) -> Result<Option<OperatorRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE login = ?"
        ));
        sqlx::query(sql)
            .bind(login)
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_operator)
            .transpose()
    }

    async fn operator(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<Option<OperatorRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE workspace_id = ? AND id = ?"
        ));
        sqlx::query(sql)
            .bind(workspace.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_operator)
            .transpose()
    }

    async fn list_operators(&self, workspace: &WorkspaceId) -> Result<Vec<OperatorRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE workspace_id = ? ORDER BY created_at, id"
        ));
        sqlx::query(sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_operator)
            .collect()
    }

    async fn update_operator(&self, operator: &OperatorRecord) -> Result<bool, StoreError> {
        // The creation time stays as stored: it records when the operator was made,
        // which no later change can alter. A taken login is a unique violation, which
        // `not_written` reports as `AlreadyExists`; nothing is written then.
        let done = sqlx::query(
            "UPDATE operators SET login = ?, name = ?, role = ?, password_hash = ?, updated_at = ?, \
             disabled_at = ? WHERE workspace_id = ? AND id = ?",
        )
        .bind(&operator.login)
        .bind(&operator.name)
        .bind(operator.role.as_str())
        .bind(&operator.password_hash)
        .bind(operator.updated_at_ms)
        .bind(operator.disabled_at_ms)
        .bind(operator.workspace_id.as_str())
        .bind(&operator.id)
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_operators(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
            .fetch_one(&self.reader)
            .await
            .map_err(not_written)?;
        u64::try_from(count).map_err(|e| corrupt("operator count", e))
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_sessions (digest, operator_id, workspace_id, created_at, last_seen, \
             expires_at, address) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.digest)
        .bind(&session.operator_id)
        .bind(session.workspace_id.as_str())
        .bind(session.created_at_ms)
        .bind(session.last_seen_ms)
        .bind(session.expires_at_ms)
        .bind(session.address.as_deref())
        .execute(&self.writer)
        .await
        .map_err(not_written)?;
        Ok(())
    }

    async fn session(&self, digest: &str) -> Result<Option<SessionRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM operator_sessions WHERE digest = ?"
        ));
        sqlx::query(sql)
            .bind(digest)
            .fetch_optional(&self.reader)
            .await
            .map_err(not_written)?
            .as_ref()
            .map(decode_session)
            .transpose()
    }

    async fn touch_session(&self, digest: &str, last_seen_ms: i64) -> Result<(), StoreError> {
        // A session ended meanwhile is not brought back: touching it changes nothing.
        sqlx::query("UPDATE operator_sessions SET last_seen = ? WHERE digest = ?")
            .bind(last_seen_ms)
            .bind(digest)
            .execute(&self.writer)
            .await
            .map_err(unknown)?;
        Ok(())
    }

    async fn end_session(&self, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM operator_sessions WHERE digest = ?")
            .bind(digest)
            .execute(&self.writer)
            .await
            .map_err(unknown)?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_sessions_of(&self, workspace: &WorkspaceId, operator_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM operator_sessions WHERE workspace_id = ? AND operator_id = ?")
            .bind(workspace.as_str())
            .bind(operator_id)
            .execute(&self.writer)
            .await
            .map_err(unknown)?;
        Ok(done.rows_affected())
    }

    async fn prune_sessions(&self, now_ms: i64, idle_before_ms: i64) -> Result<u64, StoreError> {
        // A session expiring at `now_ms` is over, as one seen at `idle_before_ms` is not
        // yet idle.
        let done = sqlx::query("DELETE FROM operator_sessions WHERE expires_at <= ? OR last_seen < ?")
            .bind(now_ms)
            .bind(idle_before_ms)
            .execute(&self.writer)
            .await
            .map_err(unknown)?;
        Ok(done.rows_affected())
    }
}
