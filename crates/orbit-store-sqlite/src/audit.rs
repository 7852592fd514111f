//! The audit log on SQLite.

use crate::messaging::{millis, text, workspace};
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, unknown};
use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::{ActorKind, AuditEntry, AuditQuery, AuditStore, NewAuditEntry, StoreError};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

/// The people come along as one JSON array, so that an entry and its links are read in
/// one statement.
const ENTRY_COLUMNS: &str = "id, workspace_id, at, actor_kind, actor_id, actor_name, action, path, status, \
     before, after, address, redacted, \
     (SELECT json_group_array(profile_id) FROM audit_profiles p \
      WHERE p.workspace_id = audit_log.workspace_id AND p.entry_id = audit_log.id) AS profiles";

/// A filter's value: which filters appear is known only at run time, so their values
/// are gathered beside the clauses and bound in the same order.
enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// The statement reading `query`'s entries of `workspace`, and what to bind to it.
///
/// Only the filters given appear in the statement, so that SQLite can pick its way in
/// for each (down the workspace's log from the cursor, or through a person's links);
/// there are few enough combinations for each to be prepared once. Prefixes are
/// compared with `substr`, not `LIKE`, so that `%` and `_` in them match only
/// themselves.
fn entries_statement<'a>(
    workspace: &'a WorkspaceId,
    query: &'a AuditQuery,
    profile: Option<&'a str>,
) -> (String, Vec<Arg<'a>>) {
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE workspace_id = ?");
    let mut args = vec![Arg::Text(workspace.as_str())];
    if let Some(before) = query.before_id {
        sql.push_str(" AND id < ?");
        args.push(Arg::Int(before));
    }
    if let Some(since) = query.since {
        sql.push_str(" AND at >= ?");
        args.push(Arg::Int(ceil_millis(since)));
    }
    if let Some(until) = query.until {
        sql.push_str(" AND at < ?");
        args.push(Arg::Int(ceil_millis(until)));
    }
    if let Some(actor) = &query.actor_id {
        sql.push_str(" AND actor_id = ?");
        args.push(Arg::Text(actor));
    }
    for (column, prefix) in [("action", &query.action_prefix), ("path", &query.path_prefix)] {
        if let Some(prefix) = prefix {
            sql.push_str(&format!(" AND substr({column}, 1, length(?)) = ?"));
            args.extend([Arg::Text(prefix), Arg::Text(prefix)]);
        }
    }
    if let Some(profile) = profile {
        sql.push_str(
            " AND id IN (SELECT entry_id FROM audit_profiles WHERE workspace_id = ? AND profile_id = ?)",
        );
        args.extend([Arg::Text(workspace.as_str()), Arg::Text(profile)]);
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Arg::Int(i64::from(query.limit)));
    (sql, args)
}

fn encode_json(what: &str, value: Option<&Value>) -> Result<Option<String>, StoreError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

fn decode_json(row: &SqliteRow, col: &str) -> Result<Option<Value>, StoreError> {
    let raw: Option<String> = row.try_get(col).map_err(|e| corrupt("audit entry", e))?;
    raw.map(|raw| serde_json::from_str(&raw).map_err(|e| corrupt("audit entry document", e)))
        .transpose()
}

fn decode(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let what = "audit entry";
    let kind = text(row, what, "actor_kind")?;
    let status: i64 = row.try_get("status").map_err(|e| corrupt(what, e))?;
    let profiles: Vec<String> =
        serde_json::from_str(&text(row, what, "profiles")?).map_err(|e| corrupt("audit entry people", e))?;
    let mut profiles = profiles
        .iter()
        .map(|p| ProfileId::parse(p).map_err(|e| corrupt("audit entry person", e)))
        .collect::<Result<Vec<_>, _>>()?;
    // The links carry no order of their own; sorted, an entry reads back the same
    // however SQLite walked them.
    profiles.sort_unstable();
    Ok(AuditEntry {
        id: row.try_get("id").map_err(|e| corrupt(what, e))?,
        entry: NewAuditEntry {
            workspace_id: workspace(row, what)?,
            at: millis(row, what, "at")?,
            actor_kind: ActorKind::parse(&kind).ok_or_else(|| corrupt("audit actor kind", kind))?,
            actor_id: text(row, what, "actor_id")?,
            actor_name: text(row, what, "actor_name")?,
            action: text(row, what, "action")?,
            path: text(row, what, "path")?,
            status: u16::try_from(status).map_err(|e| corrupt("audit status", e))?,
            before: decode_json(row, "before")?,
            after: decode_json(row, "after")?,
            address: row.try_get("address").map_err(|e| corrupt(what, e))?,
            profiles,
        },
        redacted: row.try_get("redacted").map_err(|e| corrupt(what, e))?,
    })
}

/// The first whole millisecond at or after `at`.
///
/// Times are stored in whole milliseconds, so comparing them with the bound rounded up
/// keeps `since` inclusive and `until` exclusive for a bound between two milliseconds.
fn ceil_millis(at: Timestamp) -> i64 {
    let ms = at.as_millisecond();
    match Timestamp::from_millisecond(ms) {
        Ok(whole) if whole < at => ms.saturating_add(1),
        _ => ms,
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let before = encode_json("the state before", entry.before.as_ref())?;
        let after = encode_json("the state after", entry.after.as_ref())?;
        let mut profiles: Vec<String> = entry.profiles.iter().map(ProfileId::to_string).collect();
        // A person named twice is linked once; the primary key would refuse the second.
        profiles.sort_unstable();
        profiles.dedup();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (workspace_id, at, actor_kind, actor_id, actor_name, action, path, \
             status, before, after, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(entry.workspace_id.as_str())
        .bind(entry.at.as_millisecond())
        .bind(entry.actor_kind.as_str())
        .bind(&entry.actor_id)
        .bind(&entry.actor_name)
        .bind(&entry.action)
        .bind(&entry.path)
        .bind(i64::from(entry.status))
        .bind(before)
        .bind(after)
        .bind(entry.address.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(not_written)?;
        let mut rest = profiles.as_slice();
        for size in chunk_sizes(profiles.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let sql = format!(
                "INSERT INTO audit_profiles (entry_id, workspace_id, profile_id) VALUES {}",
                crate::placeholders(size, 3)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for profile in chunk {
                query = query
                    .bind(id)
                    .bind(entry.workspace_id.as_str())
                    .bind(profile.as_str());
            }
            query.execute(&mut *tx).await.map_err(not_written)?;
        }
        tx.commit().await.map_err(unknown)?;
        Ok(id)
    }

    async fn audit_entries(
        &self,
        workspace: &WorkspaceId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let profile = query.profile.as_ref().map(ProfileId::to_string);
        let (sql, args) = entries_statement(workspace, query, profile.as_deref());
        let mut statement = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            statement = match arg {
                Arg::Text(text) => statement.bind(text),
                Arg::Int(int) => statement.bind(int),
            };
        }
        statement
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode)
            .collect()
    }

    async fn redact_audit(&self, workspace: &WorkspaceId, profiles: &[ProfileId]) -> Result<u64, StoreError> {
        if profiles.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = profiles.iter().map(ProfileId::to_string).collect();
        let mut redacted = 0;
        let mut tx = self.begin_write().await?;
        let mut rest = ids.as_slice();
        for size in chunk_sizes(ids.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            // Entries already redacted are left alone, so that each is counted once
            // however many of its people are erased, in one call or in several.
            let sql = format!(
                "UPDATE audit_log SET before = NULL, after = NULL, redacted = 1 \
                 WHERE workspace_id = ? AND redacted = 0 AND id IN (SELECT entry_id FROM audit_profiles \
                 WHERE workspace_id = ? AND profile_id IN ({}))",
                vec!["?"; size].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(workspace.as_str())
                .bind(workspace.as_str());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            redacted += query
                .execute(&mut *tx)
                .await
                .map_err(not_written)?
                .rows_affected();
        }
        tx.commit().await.map_err(unknown)?;
        Ok(redacted)
    }
}
