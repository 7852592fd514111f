//! Profiles, identities, aliases and merge history on SQLite.

use crate::{SqliteStore, chunk_sizes, corrupt, not_written, placeholders, unknown};
use async_trait::async_trait;
use orbit_core::profile::Profile;
use orbit_core::resolution::{Conflict, IdentityState, Merge};
use orbit_core::{Identity, IdentityKind, ProfileId, WorkspaceId};
use orbit_store::{
    ConflictRecord, LogPosition, MergeRecord, ProfileStore, StoreError, StoredIdentity, StoredProfile,
    WorkspaceChanges,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::NotWritten(format!("encoding {what}: {e}")))
}

fn decode_profile(row: &SqliteRow) -> Result<Profile, StoreError> {
    let body: &str = row.try_get("body").map_err(|e| corrupt("profile", e))?;
    serde_json::from_str(body).map_err(|e| corrupt("profile", e))
}

/// The part of an identity's state stored beside its profile id.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredState {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen_with: Vec<Identity>,
    #[serde(default)]
    shared: bool,
}

pub(crate) async fn apply_changes(
    tx: &mut Transaction<'static, Sqlite>,
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
                .execute(&mut **tx)
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
        .execute(&mut **tx)
        .await
        .map_err(not_written)?;
    }

    let mut offset = 0;
    for size in chunk_sizes(changes.profiles.len()) {
        let sql = format!(
            "INSERT OR REPLACE INTO profiles (workspace_id, id, body) VALUES {}",
            placeholders(size, 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for profile in &changes.profiles[offset..offset + size] {
            query = query
                .bind(ws)
                .bind(profile.id.to_string())
                .bind(encode("a profile", profile)?);
        }
        query.execute(&mut **tx).await.map_err(not_written)?;
        offset += size;
    }

    let mut offset = 0;
    for size in chunk_sizes(changes.identities.len()) {
        let sql = format!(
            "INSERT OR REPLACE INTO identities (workspace_id, kind, value, profile_id, state) VALUES {}",
            placeholders(size, 5)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (identity, state) in &changes.identities[offset..offset + size] {
            let extra = (!state.seen_with.is_empty() || state.shared)
                .then(|| {
                    encode(
                        "an identity state",
                        &StoredState {
                            seen_with: state.seen_with.clone(),
                            shared: state.shared,
                        },
                    )
                })
                .transpose()?;
            query = query
                .bind(ws)
                .bind(identity.kind.as_str())
                .bind(identity.value.as_str())
                .bind(state.profile.to_string())
                .bind(extra);
        }
        query.execute(&mut **tx).await.map_err(not_written)?;
        offset += size;
    }

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
        .execute(&mut **tx)
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
                .execute(&mut **tx)
                .await
                .map_err(not_written)?;
        }
        // The profile lists every identity linked to it.
        for identity in &profile.identities {
            sqlx::query(
                "DELETE FROM identities WHERE workspace_id = ? AND kind = ? AND value = ? AND profile_id = ?",
            )
            .bind(ws)
            .bind(identity.kind.as_str())
            .bind(identity.value.as_str())
            .bind(&id)
            .execute(&mut **tx)
            .await
            .map_err(not_written)?;
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
        query.execute(&mut **tx).await.map_err(not_written)?;
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
                    profile: decode_profile(row)?,
                })
            })
            .collect()
    }

    async fn load_identities(
        &self,
        after: Option<(WorkspaceId, Identity)>,
        limit: u32,
    ) -> Result<Vec<StoredIdentity>, StoreError> {
        let (ws, kind, value) = after.map_or((String::new(), String::new(), String::new()), |(w, i)| {
            (w.to_string(), i.kind.as_str().to_owned(), i.value)
        });
        let rows = sqlx::query(
            "SELECT workspace_id, kind, value, profile_id, state FROM identities \
             WHERE (workspace_id, kind, value) > (?, ?, ?) ORDER BY workspace_id, kind, value LIMIT ?",
        )
        .bind(&ws)
        .bind(&kind)
        .bind(&value)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(not_written)?;
        rows.iter()
            .map(|row| {
                let get = |col: &str| row.try_get::<&str, _>(col).map_err(|e| corrupt("identity", e));
                let extra: Option<&str> = row.try_get("state").map_err(|e| corrupt("identity", e))?;
                let extra: StoredState = match extra {
                    Some(json) => serde_json::from_str(json).map_err(|e| corrupt("identity state", e))?,
                    None => StoredState {
                        seen_with: Vec::new(),
                        shared: false,
                    },
                };
                Ok(StoredIdentity {
                    workspace_id: WorkspaceId::parse(get("workspace_id")?)
                        .map_err(|e| corrupt("workspace id", e))?,
                    identity: Identity {
                        kind: IdentityKind::parse(get("kind")?).map_err(|e| corrupt("identity kind", e))?,
                        value: get("value")?.to_owned(),
                    },
                    state: IdentityState {
                        profile: parse_profile_id(get("profile_id")?)?,
                        seen_with: extra.seen_with,
                        shared: extra.shared,
                    },
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
        row.as_ref().map(decode_profile).transpose()
    }

    async fn profile_by_identity(
        &self,
        workspace: &WorkspaceId,
        identity: &Identity,
    ) -> Result<Option<Profile>, StoreError> {
        let row = sqlx::query(
            "SELECT p.body FROM identities i JOIN profiles p ON p.workspace_id = i.workspace_id AND p.id = i.profile_id \
             WHERE i.workspace_id = ? AND i.kind = ? AND i.value = ?",
        )
        .bind(workspace.as_str())
        .bind(identity.kind.as_str())
        .bind(identity.value.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(not_written)?;
        row.as_ref().map(decode_profile).transpose()
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
