//! Profiles, identities, aliases and merge history on SQLite.

use crate::padded::PaddedInsert;
use crate::{SqliteStore, chunk_sizes, corrupt, not_written, unknown};
use async_trait::async_trait;
use orbit_core::profile::Profile;
use orbit_core::resolution::{Conflict, IdentityState, Merge};
use orbit_core::{Identity, ProfileId, WorkspaceId};
use orbit_store::{
    ConflictRecord, LogPosition, MergeRecord, ProfileRecord, ProfileStore, StoreError, StoredProfile,
    WorkspaceChanges,
};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection};

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

/// A profile document: the profile's own fields, and `linking` beside them.
#[derive(serde::Serialize)]
struct ProfileDocRef<'a> {
    #[serde(flatten)]
    profile: &'a Profile,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    linking: Vec<LinkingDoc>,
}

#[derive(serde::Deserialize)]
struct ProfileDoc {
    #[serde(flatten)]
    profile: Profile,
    #[serde(default)]
    linking: Vec<LinkingDoc>,
}

/// An identity's state beyond belonging to the profile.
#[derive(serde::Serialize, serde::Deserialize)]
struct LinkingDoc {
    identity: Identity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen_with: Vec<Identity>,
    #[serde(default)]
    shared: bool,
}

fn encode_record(record: &ProfileRecord) -> Result<String, StoreError> {
    let doc = ProfileDocRef {
        profile: &record.profile,
        linking: record
            .linking
            .iter()
            .map(|(identity, state)| LinkingDoc {
                identity: identity.clone(),
                seen_with: state.seen_with.clone(),
                shared: state.shared,
            })
            .collect(),
    };
    encode("a profile", &doc)
}

fn decode_record(row: &SqliteRow) -> Result<ProfileRecord, StoreError> {
    let body: &str = row.try_get("body").map_err(|e| corrupt("profile", e))?;
    let doc: ProfileDoc = serde_json::from_str(body).map_err(|e| corrupt("profile", e))?;
    let id = doc.profile.id;
    Ok(ProfileRecord {
        profile: doc.profile,
        linking: doc
            .linking
            .into_iter()
            .map(|l| {
                (
                    l.identity,
                    IdentityState {
                        profile: id,
                        seen_with: l.seen_with,
                        shared: l.shared,
                    },
                )
            })
            .collect(),
    })
}

/// The rows of `profiles`: workspace, id, document.
pub(crate) const PROFILES: PaddedInsert =
    PaddedInsert::new("INSERT OR REPLACE INTO profiles (workspace_id, id, body)", 3);

pub(crate) async fn apply_changes(
    conn: &mut SqliteConnection,
    changes: &WorkspaceChanges,
) -> Result<(), StoreError> {
    apply_merges(conn, changes).await?;
    upsert_profiles(conn, &profile_rows(changes)?).await?;
    apply_conflicts_and_erasures(conn, changes).await
}

/// One row of `profiles`: workspace, id, document.
pub(crate) type ProfileRow = (String, String, String);

/// The rows of the profiles `changes` stores.
pub(crate) fn profile_rows(changes: &WorkspaceChanges) -> Result<Vec<ProfileRow>, StoreError> {
    let ws = changes.workspace_id.as_str();
    changes
        .profiles
        .iter()
        .map(|record| {
            Ok((
                ws.to_owned(),
                record.profile.id.to_string(),
                encode_record(record)?,
            ))
        })
        .collect()
}

/// Inserts or replaces profile rows.
pub(crate) async fn upsert_profiles(
    conn: &mut SqliteConnection,
    rows: &[ProfileRow],
) -> Result<(), StoreError> {
    for (range, shape) in PROFILES.statements(rows.len()) {
        let query = bind_profiles(PROFILES.query(shape), &rows[range.clone()]);
        PROFILES
            .pad(query, range.len(), shape)
            .execute(&mut *conn)
            .await
            .map_err(not_written)?;
    }
    Ok(())
}

/// Binds profile rows, in order, to a statement that takes them.
pub(crate) fn bind_profiles(
    mut query: Query<'static, Sqlite, SqliteArguments>,
    rows: &[ProfileRow],
) -> Query<'static, Sqlite, SqliteArguments> {
    for (ws, id, body) in rows {
        query = query.bind(ws.as_str()).bind(id.as_str()).bind(body.as_str());
    }
    query
}

/// Records merges: the merged profile's row goes, its aliases and history follow the
/// survivor. Runs before the survivors' rows are stored.
pub(crate) async fn apply_merges(
    conn: &mut SqliteConnection,
    changes: &WorkspaceChanges,
) -> Result<(), StoreError> {
    let ws = changes.workspace_id.as_str();
    for record in &changes.merges {
        let Merge {
            survivor,
            merged,
            linked_by,
        } = &record.merge;
        let (survivor, merged) = (survivor.to_string(), merged.to_string());
        // ?1 workspace, ?2 survivor, ?3 merged.
        for sql in [
            "DELETE FROM profiles WHERE workspace_id = ?1 AND id = ?3",
            "UPDATE profile_aliases SET survivor_id = ?2 WHERE workspace_id = ?1 AND survivor_id = ?3",
            "INSERT OR REPLACE INTO profile_aliases (workspace_id, survivor_id, merged_id) VALUES (?1, ?2, ?3)",
            "UPDATE profile_merges SET root_id = ?2 WHERE workspace_id = ?1 AND root_id = ?3",
        ] {
            sqlx::query(sql)
                .bind(ws)
                .bind(&survivor)
                .bind(&merged)
                .execute(&mut *conn)
                .await
                .map_err(not_written)?;
        }
        sqlx::query(
            "INSERT INTO profile_merges (workspace_id, root_id, survivor_id, merged_id, linked_by, position, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ws)
        .bind(&survivor)
        .bind(&survivor)
        .bind(&merged)
        .bind(linked_by.to_string())
        .bind(record.position.0)
        .bind(record.at_ms)
        .execute(&mut *conn)
        .await
        .map_err(not_written)?;
    }

    Ok(())
}

/// Records identity conflicts and erasures. Runs after the profiles' rows are stored.
pub(crate) async fn apply_conflicts_and_erasures(
    conn: &mut SqliteConnection,
    changes: &WorkspaceChanges,
) -> Result<(), StoreError> {
    let ws = changes.workspace_id.as_str();
    for record in &changes.conflicts {
        let Conflict {
            profile,
            other_profile,
            ..
        } = &record.conflict;
        sqlx::query(
            "INSERT INTO identity_conflicts (workspace_id, profile_id, other_profile_id, body, position, at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ws)
        .bind(profile.to_string())
        .bind(other_profile.map(|p| p.to_string()))
        .bind(encode("a conflict", &record.conflict)?)
        .bind(record.position.0)
        .bind(record.at_ms)
        .execute(&mut *conn)
        .await
        .map_err(not_written)?;
    }

    for profile in &changes.erased {
        let id = profile.id.to_string();
        for sql in [
            "DELETE FROM profiles WHERE workspace_id = ?1 AND id = ?2",
            "DELETE FROM profile_aliases WHERE workspace_id = ?1 AND survivor_id = ?2",
            "DELETE FROM profile_merges WHERE workspace_id = ?1 AND root_id = ?2",
            "DELETE FROM identity_conflicts WHERE workspace_id = ?1 AND (profile_id = ?2 OR other_profile_id = ?2)",
        ] {
            sqlx::query(sql)
                .bind(ws)
                .bind(&id)
                .execute(&mut *conn)
                .await
                .map_err(not_written)?;
        }
        // Consent goes with the person; ledger rows stay for the campaign's counts but
        // lose the address, and what had not gone yet never will.
        for person in std::iter::once(&profile.id).chain(&profile.merged_ids) {
            for sql in [
                "DELETE FROM consents WHERE workspace_id = ?1 AND profile_id = ?2",
                "DELETE FROM inbox_messages WHERE workspace_id = ?1 AND profile_id = ?2",
                "DELETE FROM call_tasks WHERE workspace_id = ?1 AND profile_id = ?2",
                "UPDATE sends SET address = NULL, last_error = NULL, \
                 suppression = CASE WHEN state = 'scheduled' THEN 'profile_erased' ELSE suppression END, \
                 state = CASE WHEN state = 'scheduled' THEN 'suppressed' ELSE state END \
                 WHERE workspace_id = ?1 AND profile_id = ?2",
            ] {
                sqlx::query(sql)
                    .bind(ws)
                    .bind(person.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(not_written)?;
            }
        }
    }
    let mut offset = 0;
    for size in chunk_sizes(changes.erased_events.len()) {
        let sql = format!(
            "DELETE FROM events WHERE workspace_id = ? AND seq IN ({})",
            vec!["?"; size].join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(ws);
        for position in &changes.erased_events[offset..offset + size] {
            query = query.bind(position.0);
        }
        query.execute(&mut *conn).await.map_err(not_written)?;
        offset += size;
    }
    Ok(())
}

fn parse_profile_id(raw: &str) -> Result<ProfileId, StoreError> {
    ProfileId::parse(raw).map_err(|e| corrupt("profile id", e))
}

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn commit(&self, changes: &[WorkspaceChanges]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for workspace in changes {
            apply_changes(&mut tx, workspace).await?;
        }
        tx.commit().await.map_err(unknown)
    }

    async fn load_profiles(
        &self,
        after: Option<(WorkspaceId, ProfileId)>,
        limit: u32,
    ) -> Result<Vec<StoredProfile>, StoreError> {
        let (ws, id) = after.map_or((String::new(), String::new()), |(w, p)| {
            (w.to_string(), p.to_string())
        });
        let rows = sqlx::query(
            "SELECT workspace_id, id, body FROM profiles WHERE (workspace_id, id) > (?, ?) \
             ORDER BY workspace_id, id LIMIT ?",
        )
        .bind(&ws)
        .bind(&id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let workspace: &str = row.try_get("workspace_id").map_err(|e| corrupt("profile", e))?;
                Ok(StoredProfile {
                    workspace_id: WorkspaceId::parse(workspace).map_err(|e| corrupt("workspace id", e))?,
                    record: decode_record(row)?,
                })
            })
            .collect()
    }

    async fn profile(&self, workspace: &WorkspaceId, id: ProfileId) -> Result<Option<Profile>, StoreError> {
        let row = sqlx::query(
            "SELECT body FROM profiles WHERE workspace_id = ?1 AND id = COALESCE( \
               (SELECT survivor_id FROM profile_aliases WHERE workspace_id = ?1 AND merged_id = ?2), ?2)",
        )
        .bind(workspace.as_str())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(not_written)?;
        Ok(row.as_ref().map(decode_record).transpose()?.map(|r| r.profile))
    }

    async fn merges(&self, workspace: &WorkspaceId, id: ProfileId) -> Result<Vec<MergeRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT survivor_id, merged_id, linked_by, position, at FROM profile_merges \
             WHERE workspace_id = ? AND root_id = ? ORDER BY id",
        )
        .bind(workspace.as_str())
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let get = |col: &str| row.try_get::<String, _>(col).map_err(|e| corrupt("merge", e));
                Ok(MergeRecord {
                    merge: Merge {
                        survivor: parse_profile_id(&get("survivor_id")?)?,
                        merged: parse_profile_id(&get("merged_id")?)?,
                        linked_by: Identity::parse_typed(&get("linked_by")?)
                            .map_err(|e| corrupt("merge", e))?,
                    },
                    position: LogPosition(row.try_get("position").map_err(|e| corrupt("merge", e))?),
                    at_ms: row.try_get("at").map_err(|e| corrupt("merge", e))?,
                })
            })
            .collect()
    }

    async fn conflicts(
        &self,
        workspace: &WorkspaceId,
        id: ProfileId,
    ) -> Result<Vec<ConflictRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT body, position, at FROM identity_conflicts \
             WHERE workspace_id = ?1 AND (profile_id = ?2 OR other_profile_id = ?2) ORDER BY id",
        )
        .bind(workspace.as_str())
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let body: &str = row.try_get("body").map_err(|e| corrupt("conflict", e))?;
                Ok(ConflictRecord {
                    conflict: serde_json::from_str(body).map_err(|e| corrupt("conflict", e))?,
                    position: LogPosition(row.try_get("position").map_err(|e| corrupt("conflict", e))?),
                    at_ms: row.try_get("at").map_err(|e| corrupt("conflict", e))?,
                })
            })
            .collect()
    }
}
