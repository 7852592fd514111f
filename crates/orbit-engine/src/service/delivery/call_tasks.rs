//! Outbound-call tasks for the call centre: listed a page at a time or exported whole
//! as CSV for the dialler, and closed with the call's outcome.

use super::Delivery;
use crate::EngineError;
use jiff::Timestamp;
use orbit_core::{CampaignId, ErrorCode, Problem, ProfileId, WorkspaceId};
use orbit_store::{CallTask, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most tasks one page holds.
const MAX_PAGE: u32 = 1_000;

/// Tasks a page holds when the caller names no limit.
const DEFAULT_PAGE: u32 = 100;

/// Tasks read from storage at a time for an export.
const EXPORT_CHUNK: u32 = 10_000;

/// Where a call task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallTaskStatus {
    /// Waiting for an agent to call.
    Open,
    /// Called; the outcome says what came of it.
    Done,
    /// Not to be called.
    Cancelled,
}

impl CallTaskStatus {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a status a caller gave in `field`.
    ///
    /// # Errors
    /// `invalid_value` naming `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Problem> {
        [Self::Open, Self::Done, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| Problem::at(ErrorCode::InvalidValue, field, "must be open, done or cancelled"))
    }
}

/// A call task as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallTaskView {
    /// Its id: the send ledger id of the campaign message, or the id of the journey
    /// effect, it was filed under.
    pub id: String,
    /// The person to call.
    pub profile_id: ProfileId,
    /// Their number, E.164.
    #[schema(example = "+8613800138000")]
    pub phone: String,
    /// What the agent should say or do, rendered for the person.
    pub script: String,
    /// The campaign that filed it; null for a journey's.
    pub campaign: Option<CampaignId>,
    /// `open` until an agent closes it as `done` or `cancelled`.
    pub status: CallTaskStatus,
    /// What came of the call, as the agent wrote it.
    pub outcome: Option<String>,
    /// When it was filed.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl TryFrom<CallTask> for CallTaskView {
    type Error = StoreError;

    fn try_from(task: CallTask) -> Result<Self, StoreError> {
        let status = CallTaskStatus::parse(&task.status, "status").map_err(|_| {
            StoreError::Corrupt(format!("call task {} has status {:?}", task.id, task.status))
        })?;
        Ok(Self {
            id: task.id,
            profile_id: task.profile_id,
            phone: task.phone,
            script: task.script,
            campaign: task.campaign_id,
            status,
            outcome: task.outcome,
            created_at: task.created_at,
            updated_at: task.updated_at,
        })
    }
}

/// A page of call tasks, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallTaskPage {
    /// This page's tasks.
    pub tasks: Vec<CallTaskView>,
    /// Pass back as `after` for the next page; null on the last.
    pub next: Option<String>,
}

/// An agent's update of a task (`PATCH /v1/call-tasks/{id}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallTaskUpdate {
    /// `open`, `done` or `cancelled`.
    #[schema(value_type = CallTaskStatus)]
    pub status: String,
    /// What came of the call.
    #[serde(default)]
    #[schema(example = "已预约周六试驾")]
    pub outcome: Option<String>,
}

impl Delivery {
    /// A page of the workspace's call tasks, oldest first: up to `limit` (1–1,000,
    /// default 100) after the task `after`, of one status if given.
    ///
    /// # Errors
    /// `invalid_value` (`status`), `invalid_limit`.
    pub async fn call_task_page(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<CallTaskPage, EngineError> {
        let status = status.map(|s| CallTaskStatus::parse(s, "status")).transpose()?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::at(ErrorCode::InvalidLimit, "limit", "must be between 1 and 1000").into());
        }
        let tasks = self
            .stores
            .call_tasks
            .call_tasks(workspace, status.map(CallTaskStatus::as_str), after, limit)
            .await?;
        let full = tasks.len() == limit as usize;
        let next = tasks.last().filter(|_| full).map(|t| t.id.clone());
        let tasks = tasks
            .into_iter()
            .map(CallTaskView::try_from)
            .collect::<Result<_, _>>()?;
        Ok(CallTaskPage { tasks, next })
    }

    /// Every call task of the workspace (of one status, if given) as CSV for the
    /// dialler: `id,phone,script,campaign,status,outcome,profile_id,created_at`.
    ///
    /// # Errors
    /// `invalid_value` (`status`).
    pub async fn call_task_export(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
    ) -> Result<String, EngineError> {
        let status = status.map(|s| CallTaskStatus::parse(s, "status")).transpose()?;
        let mut all = Vec::new();
        loop {
            let after = all.last().map(|t: &CallTask| t.id.clone());
            let chunk = self
                .stores
                .call_tasks
                .call_tasks(
                    workspace,
                    status.map(CallTaskStatus::as_str),
                    after.as_deref(),
                    EXPORT_CHUNK,
                )
                .await?;
            let last_chunk = chunk.len() < EXPORT_CHUNK as usize;
            all.extend(chunk);
            if last_chunk {
                return Ok(csv_of(&all));
            }
        }
    }

    /// Closes or reopens a task with what came of the call.
    ///
    /// # Errors
    /// `invalid_value` (`status`), `not_found`.
    pub async fn update_call_task(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        update: CallTaskUpdate,
    ) -> Result<CallTaskView, EngineError> {
        let status = CallTaskStatus::parse(&update.status, "status")?;
        let task = self
            .stores
            .call_tasks
            .update_call_task(
                workspace,
                id,
                status.as_str(),
                update.outcome.as_deref(),
                self.clock.now(),
            )
            .await?
            .ok_or_else(|| Problem::not_found("call task"))?;
        Ok(task.try_into()?)
    }
}

/// The tasks as CSV, a header line first.
#[expect(
    clippy::expect_used,
    reason = "records of one width written into memory: the writer cannot fail"
)]
fn csv_of(tasks: &[CallTask]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |record: [&str; 8]| {
        writer
            .write_record(record)
            .expect("a record of the header's width written into memory");
    };
    write([
        "id",
        "phone",
        "script",
        "campaign",
        "status",
        "outcome",
        "profile_id",
        "created_at",
    ]);
    for t in tasks {
        write([
            t.id.as_str(),
            t.phone.as_str(),
            t.script.as_str(),
            t.campaign_id.as_ref().map_or("", |c| c.as_str()),
            t.status.as_str(),
            t.outcome.as_deref().unwrap_or(""),
            &t.profile_id.to_string(),
            &t.created_at.to_string(),
        ]);
    }
    let bytes = writer.into_inner().expect("flushing into memory cannot fail");
    // Every field was a `str`, so the bytes are UTF-8.
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_quotes_what_needs_quoting_under_its_header() {
        let at: Timestamp = "2026-11-23T02:00:00Z".parse().expect("time");
        let task = CallTask {
            id: "t1".to_owned(),
            workspace_id: WorkspaceId::default_workspace(),
            profile_id: ProfileId::mint(at, 7),
            phone: "+8613800138000".to_owned(),
            script: "您好, \"张先生\"".to_owned(),
            campaign_id: None,
            status: "open".to_owned(),
            outcome: None,
            created_at: at,
            updated_at: at,
        };
        let csv = csv_of(&[task]);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("id,phone,script,campaign,status,outcome,profile_id,created_at")
        );
        let row = lines.next().expect("a row");
        assert!(
            row.starts_with("t1,+8613800138000,\"您好, \"\"张先生\"\"\",,open,,"),
            "{row}"
        );
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn statuses_read_only_the_three_names() {
        assert_eq!(CallTaskStatus::parse("done", "status"), Ok(CallTaskStatus::Done));
        let refused = CallTaskStatus::parse("maybe", "status").expect_err("refused");
        assert_eq!(
            (refused.code, refused.field.as_deref()),
            (ErrorCode::InvalidValue, Some("status"))
        );
    }
}
