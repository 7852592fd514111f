//! Records stored one per row under `(workspace_id, id)`: get, list, save, delete.
//!
//! Templates, channel accounts and campaigns are read and written alike; each states
//! only its table, its other columns and how a record becomes a row and back
//! ([`Stored`]), and the statements are made here from that.

use crate::not_written;
use orbit_core::WorkspaceId;
use orbit_store::{StoreError, Write};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Executor, Sqlite, SqlitePool};

/// A statement being bound.
pub(crate) type RowQuery = Query<'static, Sqlite, SqliteArguments>;

/// A record stored as one row of a table whose primary key is `(workspace_id, id)`.
pub(crate) trait Stored: Sized {
    /// The table.
    const TABLE: &'static str;
    /// The columns after `workspace_id` and `id`, in the order [`Stored::bind_columns`] binds
    /// them. Replacing a row rewrites all of them but `created_at`.
    const COLUMNS: &'static [&'static str];

    /// The workspace and the id the row is stored under.
    fn key(&self) -> (&WorkspaceId, &str);

    /// Binds the values of [`Stored::COLUMNS`], in order.
    ///
    /// # Errors
    /// `NotWritten` when a value does not encode.
    fn bind_columns(&self, query: RowQuery) -> Result<RowQuery, StoreError>;

    /// Reads a record back from a row of every column (`SELECT *`).
    ///
    /// # Errors
    /// `Corrupt` when a column does not decode.
    fn decode(row: &SqliteRow) -> Result<Self, StoreError>;
}

/// The record stored under `workspace` and `id`, if any.
pub(crate) async fn get_row<T: Stored>(
    pool: &SqlitePool,
    workspace: &WorkspaceId,
    id: &str,
) -> Result<Option<T>, StoreError> {
    let query = select::<T>("WHERE workspace_id = ? AND id = ?")
        .bind(workspace.as_str())
        .bind(id);
    // The key is the primary key: one row at most.
    Ok(decoded(pool, query).await?.pop())
}

/// The records of `workspace`, by id.
pub(crate) async fn list_rows<T: Stored>(
    pool: &SqlitePool,
    workspace: &WorkspaceId,
) -> Result<Vec<T>, StoreError> {
    let query = select::<T>("WHERE workspace_id = ? ORDER BY id").bind(workspace.as_str());
    decoded(pool, query).await
}

/// The records of every workspace for which `filter` (an SQL condition on the
/// table's columns, with no values to bind) holds, or all of them; by workspace, then id.
pub(crate) async fn all_rows<T: Stored>(
    pool: &SqlitePool,
    filter: Option<&'static str>,
) -> Result<Vec<T>, StoreError> {
    let condition = filter
        .map(|filter| format!("WHERE {filter} "))
        .unwrap_or_default();
    decoded(
        pool,
        select::<T>(&format!("{condition}ORDER BY workspace_id, id")),
    )
    .await
}

/// `SELECT *` from the table of `T`, then `rest` (conditions, order).
fn select<T: Stored>(rest: &str) -> RowQuery {
    sqlx::query(AssertSqlSafe(format!("SELECT * FROM {} {rest}", T::TABLE)))
}

/// Runs `query` and decodes every row it returns.
async fn decoded<T: Stored>(pool: &SqlitePool, query: RowQuery) -> Result<Vec<T>, StoreError> {
    query
        .fetch_all(pool)
        .await
        .map_err(not_written)?
        .iter()
        .map(T::decode)
        .collect()
}

/// Stores `record` as its row, a new one or, as `write` allows, over the existing one.
///
/// # Errors
/// `AlreadyExists` when `write` is `Create` and a row has the key; `NotWritten` for any
/// other failure, nothing written.
pub(crate) async fn save_row<'c, T: Stored>(
    executor: impl Executor<'c, Database = Sqlite>,
    record: &T,
    write: Write,
) -> Result<(), StoreError> {
    let (workspace, id) = record.key();
    let query = sqlx::query(AssertSqlSafe(insert_statement::<T>(write)))
        .bind(workspace.as_str())
        .bind(id);
    record
        .bind_columns(query)?
        .execute(executor)
        .await
        .map_err(not_written)?;
    Ok(())
}

/// `INSERT` of every column; with `Replace`, an upsert that keeps `created_at`.
fn insert_statement<T: Stored>(write: Write) -> String {
    let columns = T::COLUMNS.join(", ");
    let values = vec!["?"; T::COLUMNS.len() + 2].join(", ");
    let mut sql = format!(
        "INSERT INTO {} (workspace_id, id, {columns}) VALUES ({values})",
        T::TABLE
    );
    if write == Write::Replace {
        let updates: Vec<String> = T::COLUMNS
            .iter()
            .filter(|column| **column != "created_at")
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        sql.push_str(" ON CONFLICT (workspace_id, id) DO UPDATE SET ");
        sql.push_str(&updates.join(", "));
    }
    sql
}

/// Deletes the row stored under `workspace` and `id`; whether there was one.
pub(crate) async fn delete_row<T: Stored>(
    pool: &SqlitePool,
    workspace: &WorkspaceId,
    id: &str,
) -> Result<bool, StoreError> {
    let sql = format!("DELETE FROM {} WHERE workspace_id = ? AND id = ?", T::TABLE);
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(workspace.as_str())
        .bind(id)
        .execute(pool)
        .await
        .map_err(not_written)?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_store::CampaignRecord;

    #[test]
    fn a_replace_rewrites_every_column_but_the_key_and_created_at() {
        assert_eq!(
            insert_statement::<CampaignRecord>(Write::Create),
            "INSERT INTO campaigns (workspace_id, id, definition, state, runs, next_run_at, \
             materialized_runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        assert_eq!(
            insert_statement::<CampaignRecord>(Write::Replace),
            "INSERT INTO campaigns (workspace_id, id, definition, state, runs, next_run_at, \
             materialized_runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (workspace_id, id) DO UPDATE SET definition = excluded.definition, \
             state = excluded.state, runs = excluded.runs, next_run_at = excluded.next_run_at, \
             materialized_runs = excluded.materialized_runs, updated_at = excluded.updated_at"
        );
    }
}
