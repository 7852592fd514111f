//! The audit log as the API reads it: who changed what, when, from where, with the
//! resource before and after; contacts masked for those who may not see them.

use std::sync::Arc;

use jiff::Timestamp;
use orbit_core::{ErrorCode, Problem, ProfileId, WorkspaceId};
pub use orbit_store::{ActorKind, NewAuditEntry};
use orbit_store::{AuditEntry, AuditQuery, AuditStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::EngineError;

/// Entries per page unless asked otherwise.
const DEFAULT_LIMIT: u32 = 50;
/// Most entries per page.
const MAX_LIMIT: u32 = 500;

/// Filters of `GET /v1/audit`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only this operator's or key's changes (their id).
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `DELETE` or `PUT /v1/segments`.
    pub action: Option<String>,
    /// Only paths starting with this, e.g. `/v1/segments/vip`.
    pub path: Option<String>,
    /// Only changes touching this person (a profile id).
    pub profile: Option<String>,
    /// Only changes at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only changes before this time (RFC 3339).
    pub until: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Entries per page, 1–500 (default 50).
    pub limit: Option<u32>,
}

/// Who made a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditActor {
    /// `operator`, `key` or `anonymous` (a failed login).
    pub kind: ActorKind,
    /// The operator's or key's id; the login tried, for a failed login.
    pub id: String,
    /// Their name.
    pub name: String,
}

/// One change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Its place in the log.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: AuditActor,
    /// The method and route, e.g. `PUT /v1/segments/{id}`.
    pub action: String,
    /// The path called.
    pub path: String,
    /// The answer's HTTP status: refusals are recorded too.
    pub status: u16,
    /// The resource before, as its read endpoint showed it.
    pub before: Option<Value>,
    /// The resource after.
    pub after: Option<Value>,
    /// The address the request came from.
    pub address: Option<String>,
    /// Whether a person's erasure removed what the entry held of them.
    pub redacted: bool,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub data: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next, older page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The audit log.
pub struct Audit {
    store: Arc<dyn AuditStore>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

impl Audit {
    /// The log over its store.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }

    /// Appends an entry.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn record(&self, entry: &NewAuditEntry) -> Result<(), EngineError> {
        self.store.append_audit(entry).await?;
        Ok(())
    }

    /// A page of a workspace's log; contacts masked unless `sees_contacts`.
    ///
    /// # Errors
    /// `invalid_query` naming the filter that cannot be read.
    pub async fn list(
        &self,
        workspace: &WorkspaceId,
        filter: AuditFilter,
        sees_contacts: bool,
    ) -> Result<AuditPage, EngineError> {
        let time = |raw: Option<&str>, field: &str| -> Result<Option<Timestamp>, Problem> {
            raw.map(|r| {
                r.trim().parse::<Timestamp>().map_err(|_| {
                    Problem::at(
                        ErrorCode::InvalidQuery,
                        field,
                        format!("{r:?} is not an RFC 3339 time"),
                    )
                })
            })
            .transpose()
        };
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::at(
                ErrorCode::InvalidLimit,
                "limit",
                format!("between 1 and {MAX_LIMIT}"),
            )
            .into());
        }
        let before_id = filter
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>().map_err(|_| {
                    Problem::at(ErrorCode::InvalidCursor, "cursor", "not a cursor this log gave")
                })
            })
            .transpose()?;
        let profile = filter
            .profile
            .as_deref()
            .map(|p| super::profiles::parse_profile_id(p, "profile"))
            .transpose()?;
        let query = AuditQuery {
            actor_id: filter.actor.filter(|a| !a.is_empty()),
            action_prefix: filter.action.filter(|a| !a.is_empty()),
            path_prefix: filter.path.filter(|p| !p.is_empty()),
            profile,
            since: time(filter.since.as_deref(), "since")?,
            until: time(filter.until.as_deref(), "until")?,
            before_id,
            limit: limit + 1,
        };
        let mut entries = self.store.audit_entries(workspace, &query).await?;
        let next_cursor = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(AuditPage {
            data: entries.into_iter().map(|e| view(e, sees_contacts)).collect(),
            next_cursor,
        })
    }

    /// Redacts what the log holds of erased people.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn redact(&self, workspace: &WorkspaceId, people: &[ProfileId]) -> Result<u64, EngineError> {
        Ok(self.store.redact_audit(workspace, people).await?)
    }
}

fn view(stored: AuditEntry, sees_contacts: bool) -> AuditEntryView {
    let AuditEntry { id, entry, redacted } = stored;
    let mut shown = AuditEntryView {
        id,
        at: entry.at,
        actor: AuditActor {
            kind: entry.actor_kind,
            id: entry.actor_id,
            name: entry.actor_name,
        },
        action: entry.action,
        path: entry.path,
        status: entry.status,
        before: entry.before,
        after: entry.after,
        address: entry.address,
        redacted,
    };
    if !sees_contacts {
        for value in [&mut shown.before, &mut shown.after].into_iter().flatten() {
            orbit_core::privacy::mask_contacts(value);
        }
        if let Some(masked) = orbit_core::privacy::mask_text(&shown.path) {
            shown.path = masked;
        }
        // A failed login's actor is the login typed, often an email address.
        if let Some(masked) = orbit_core::privacy::mask_text(&shown.actor.id) {
            shown.actor.id = masked;
        }
        if let Some(masked) = orbit_core::privacy::mask_text(&shown.actor.name) {
            shown.actor.name = masked;
        }
    }
    shown
}
