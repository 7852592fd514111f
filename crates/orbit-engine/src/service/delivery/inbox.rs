//! The in-app inbox as apps read it: for the person an identity names, gathered over
//! every id merged into them, answered from memory.

use super::Delivery;
use crate::EngineError;
use jiff::Timestamp;
use orbit_core::event::clean_identity;
use orbit_core::messaging::MessageOutcome;
use orbit_core::{CampaignId, ErrorCode, Identity, Problem, ProfileId, WorkspaceId};
use orbit_store::InboxMessage;
use serde::Serialize;
use utoipa::ToSchema;

/// Most messages one answer holds.
const MAX_PAGE: usize = 100;

/// Messages an answer holds when the app names no limit.
const DEFAULT_PAGE: usize = 50;

/// One inbox message as the app shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxMessageView {
    /// Its id (the send ledger id it was delivered under).
    pub id: String,
    /// Its title.
    #[schema(example = "红包雨来啦")]
    pub title: String,
    /// Its text.
    pub body: String,
    /// Whether to show it as a popup rather than list it quietly.
    pub popup: bool,
    /// What a tap opens.
    #[schema(example = "app://red-packets")]
    pub link: Option<String>,
    /// The campaign that sent it.
    pub campaign: Option<CampaignId>,
    /// When it was delivered.
    pub created_at: Timestamp,
    /// When the person read it; null while unread.
    pub read_at: Option<Timestamp>,
}

impl From<InboxMessage> for InboxMessageView {
    fn from(m: InboxMessage) -> Self {
        Self {
            id: m.id,
            title: m.title,
            body: m.body,
            popup: m.popup,
            link: m.link,
            campaign: m.campaign_id,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

/// A person's inbox, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxPage {
    /// The newest messages, up to the limit.
    pub messages: Vec<InboxMessageView>,
    /// How many of all the person's messages are unread.
    pub unread: usize,
}

/// A message just marked read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxRead {
    /// The message.
    pub id: String,
    /// When the person read it (the first time, if they had before).
    pub read_at: Option<Timestamp>,
}

impl Delivery {
    /// The inbox of the person `identity` (`TYPE:VALUE`) names, newest first, up to
    /// `limit` (1–100, default 50). A person Orbit does not know yet has an empty
    /// inbox: apps ask before they identify.
    ///
    /// # Errors
    /// `invalid_limit`; `missing_field` or `invalid_identity` (`identity`).
    pub fn inbox(
        &self,
        workspace: &WorkspaceId,
        identity: Option<&str>,
        limit: Option<usize>,
    ) -> Result<InboxPage, EngineError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::at(ErrorCode::InvalidLimit, "limit", "must be between 1 and 100").into());
        }
        let Some(people) = self.person(workspace, identity)? else {
            return Ok(InboxPage {
                messages: Vec::new(),
                unread: 0,
            });
        };
        let messages = self.inbox.messages(workspace, &people);
        let unread = messages.iter().filter(|m| m.read_at.is_none()).count();
        Ok(InboxPage {
            messages: messages
                .into_iter()
                .take(limit)
                .map(InboxMessageView::from)
                .collect(),
            unread,
        })
    }

    /// Marks one of the person's messages read; reading it counts as opening it.
    ///
    /// # Errors
    /// `missing_field` or `invalid_identity` (`identity`); `not_found` when it is not
    /// this person's message.
    pub async fn mark_inbox_read(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        identity: Option<&str>,
    ) -> Result<InboxRead, EngineError> {
        let not_found = || Problem::not_found("message");
        let people = self.person(workspace, identity)?.ok_or_else(not_found)?;
        let now = self.clock.now();
        if !self.inbox.mark_read(workspace, &people, id, now) {
            return Err(not_found().into());
        }
        self.stores.inbox.mark_inbox_read(workspace, id, now).await?;
        self.engagements
            .record_interaction(workspace, id, MessageOutcome::Opened)
            .await?;
        let read_at = self
            .inbox
            .messages(workspace, &people)
            .into_iter()
            .find(|m| m.id == id)
            .and_then(|m| m.read_at);
        Ok(InboxRead {
            id: id.to_owned(),
            read_at,
        })
    }

    /// The person `identity` names, as their id and every id merged into them; `None`
    /// when nobody holds it yet.
    fn person(
        &self,
        workspace: &WorkspaceId,
        identity: Option<&str>,
    ) -> Result<Option<Vec<ProfileId>>, Problem> {
        let raw = identity
            .ok_or_else(|| Problem::at(ErrorCode::MissingField, "identity", "give ?identity=TYPE:VALUE"))?;
        let invalid = |message: String| Problem::at(ErrorCode::InvalidIdentity, "identity", message);
        let parsed = Identity::parse_typed(raw).map_err(|e| invalid(e.to_string()))?;
        let identity = clean_identity(parsed.kind, &parsed.value, self.default_region).map_err(invalid)?;
        Ok(self
            .pipeline
            .profile_by_identity(workspace, &identity)
            .map(|profile| {
                let mut ids = vec![profile.id];
                ids.extend(profile.merged_ids.iter().copied());
                ids
            }))
    }
}
