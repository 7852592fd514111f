//! What the delivery service keeps on one person beyond their consent: the messages
//! the send ledger holds for them (their 360° view), and the in-app messages held in
//! memory, for the person's export and their erasure.

use super::Delivery;
use super::dead_letters::parse_cursor;
use crate::EngineError;
use crate::service::profiles::{ExportedInboxMessage, ids_of};
use jiff::Timestamp;
use orbit_core::messaging::{Channel, SuppressionReason};
use orbit_core::profile::Profile;
use orbit_core::{CampaignId, ChannelId, ErrorCode, Problem, ProfileId, WorkspaceId};
use orbit_store::{SendRecord, SendState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Messages one page holds when the caller names no limit.
const DEFAULT_PAGE: u32 = 50;

/// Most messages one page holds.
const MAX_PAGE: u32 = 500;

/// A message Orbit sent, or decided not to send, to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileMessage {
    /// Its send ledger id.
    pub id: String,
    /// What caused it: `campaign:{id}:run:{n}` or `journey:{id}:{node}:{entry}`.
    pub origin: String,
    /// The campaign that sent it.
    pub campaign: Option<CampaignId>,
    /// The journey that sent it.
    pub journey: Option<String>,
    /// The variant the person fell in (`control` for the held-out group).
    pub variant: Option<String>,
    /// Where it is in the ledger.
    pub state: SendState,
    /// Why it was not sent, when suppressed.
    pub suppression: Option<SuppressionReason>,
    /// The channel it went (or is going) on.
    pub channel: Option<Channel>,
    /// The provider account used.
    pub account: Option<ChannelId>,
    /// The address it went to (masked for roles that may not see contacts).
    pub address: Option<String>,
    /// The provider's last answer when it failed or is being retried.
    pub last_error: Option<String>,
    /// When Orbit wrote it.
    pub created_at: Timestamp,
    /// When the provider took it.
    pub sent_at: Option<Timestamp>,
    /// When a receipt said it arrived.
    pub delivered_at: Option<Timestamp>,
    /// When a receipt said it did not.
    pub bounced_at: Option<Timestamp>,
    /// When it was first opened.
    pub opened_at: Option<Timestamp>,
    /// When a link in it was first clicked.
    pub clicked_at: Option<Timestamp>,
}

impl From<SendRecord> for ProfileMessage {
    fn from(row: SendRecord) -> Self {
        let journey = journey_of(&row.send.origin);
        Self {
            id: row.send.id,
            origin: row.send.origin,
            campaign: row.send.campaign_id,
            journey,
            variant: row.send.variant,
            state: row.state,
            suppression: row.suppression,
            channel: row.channel,
            account: row.account,
            address: row.address,
            last_error: row.last_error,
            created_at: row.send.created_at,
            sent_at: row.accepted_at,
            delivered_at: row.delivered_at,
            bounced_at: row.bounced_at,
            opened_at: row.opened_at,
            clicked_at: row.clicked_at,
        }
    }
}

/// The journey named by a journey step's origin, `journey:{id}:{node}:{entry}`.
fn journey_of(origin: &str) -> Option<String> {
    let mut parts = origin.split(':');
    (parts.next() == Some("journey"))
        .then(|| parts.next())
        .flatten()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A page of a person's messages, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileMessagePage {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// This page's messages, those sent under ids merged into the profile included.
    pub data: Vec<ProfileMessage>,
    /// Pass back as `cursor` for the next page; null on the last.
    #[schema(example = "1764806400000.0c1f2d3e4f5a6b7c8d9e0f1a2b3c4d5e")]
    pub next_cursor: Option<String>,
}

impl Delivery {
    /// A page of the messages to a person, under their id and every id merged into
    /// them, newest first: up to `limit` (1–500, default 50) after the `cursor` the
    /// previous page gave.
    ///
    /// # Errors
    /// `invalid_limit`, `invalid_cursor`.
    pub(crate) async fn messages_of(
        &self,
        workspace: &WorkspaceId,
        profile: &Profile,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ProfileMessagePage, EngineError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Problem::at(ErrorCode::InvalidLimit, "limit", "must be between 1 and 500").into());
        }
        let after = cursor.map(parse_cursor).transpose()?;
        let rows = self
            .stores
            .ledger
            .sends_of_people(workspace, &ids_of(profile), limit, after)
            .await?;
        let full = rows.len() == limit as usize;
        let next_cursor = rows
            .last()
            .filter(|_| full)
            .map(|row| format!("{}.{}", row.send.created_at.as_millisecond(), row.send.id));
        Ok(ProfileMessagePage {
            profile_id: profile.id,
            data: rows.into_iter().map(ProfileMessage::from).collect(),
            next_cursor,
        })
    }

    /// Every message to a person, newest first, read a page at a time.
    pub(crate) async fn all_messages_of(
        &self,
        workspace: &WorkspaceId,
        profile: &Profile,
    ) -> Result<Vec<ProfileMessage>, EngineError> {
        let people = ids_of(profile);
        let mut messages = Vec::new();
        let mut after = None;
        loop {
            let rows = self
                .stores
                .ledger
                .sends_of_people(workspace, &people, MAX_PAGE, after)
                .await?;
            let full = rows.len() == MAX_PAGE as usize;
            after = rows.last().map(|row| (row.send.created_at, row.send.id.clone()));
            messages.extend(rows.into_iter().map(ProfileMessage::from));
            if !full {
                return Ok(messages);
            }
        }
    }

    /// The recent in-app messages of a person and the ids merged into them, newest
    /// first.
    pub(crate) fn inbox_of(
        &self,
        workspace: &WorkspaceId,
        people: &[ProfileId],
    ) -> Vec<ExportedInboxMessage> {
        self.inbox
            .messages(workspace, people)
            .into_iter()
            .map(|m| ExportedInboxMessage {
                id: m.id,
                title: m.title,
                body: m.body,
                created_at: m.created_at,
                read_at: m.read_at,
            })
            .collect()
    }

    /// Forgets what is held in memory for an erased person, under every id they had.
    pub(crate) fn forget_person(&self, workspace: &WorkspaceId, erased: &Profile) {
        self.inbox.forget(workspace, &ids_of(erased));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journey_step_s_origin_names_its_journey_and_a_campaign_s_none() {
        assert_eq!(
            journey_of("journey:test-drive:sms-1:abc").as_deref(),
            Some("test-drive")
        );
        assert_eq!(journey_of("campaign:spring:run:1"), None);
        assert_eq!(journey_of("journey:"), None);
    }
}
