//! The profile service: one person as the API shows them — read by id or by any of
//! their identities, their timeline page by page, traits set by hand, erasure and the
//! export of everything Orbit holds on them (PIPL/GDPR).
//!
//! Profiles are read from the pipeline's memory, so every acknowledged event is
//! reflected; a merged-away id finds the profile it was merged into.

use crate::journeys::JourneyRunner;
use crate::service::{Audiences, Delivery};
use crate::{EngineError, PipelineHandle, TimelineCursor};
use jiff::Timestamp;
use orbit_core::event::{DataIssue, EventName, clean_identity};
use orbit_core::messaging::ConsentRecord;
use orbit_core::profile::Profile;
use orbit_core::resolution::Conflict;
use orbit_core::trait_rules::TraitSet;
use orbit_core::{Clock, ErrorCode, EventKind, Identity, Problem, ProfileId, SourceId, WorkspaceId};
use orbit_store::{LogPosition, StoredEvent, Stores};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Events on one timeline page when the caller names no limit.
const DEFAULT_PAGE: u32 = 50;

/// Most events one timeline page holds (and one read of the log in an export).
const MAX_PAGE: u32 = 1_000;

/// One person as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileView {
    /// The profile's id; ids of profiles merged into it find it too.
    pub id: ProfileId,
    /// Every identity linked to the person.
    pub identities: Vec<Identity>,
    /// The traits' current values. Free-form by nature: whatever the brand's events
    /// and patches set.
    pub traits: Map<String, Value>,
    /// The earliest event time seen for the person.
    pub first_seen: Timestamp,
    /// The latest event time seen for the person.
    pub last_seen: Timestamp,
    /// Ids of profiles merged into this one; they still find it.
    pub merged_ids: Vec<ProfileId>,
    /// Values received for the person that could not be used (an invalid email…).
    pub issues: Vec<DataIssue>,
}

impl From<&Profile> for ProfileView {
    fn from(profile: &Profile) -> Self {
        Self {
            id: profile.id,
            identities: profile.identities.clone(),
            traits: profile.traits.to_object(),
            first_seen: profile.first_seen,
            last_seen: profile.last_seen,
            merged_ids: profile.merged_ids.clone(),
            issues: profile.issues.clone(),
        }
    }
}

/// An event on a timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    /// Its position in the log.
    pub position: i64,
    /// The call type.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The event name (track), or the page or screen name.
    pub event: Option<EventName>,
    /// The sender's idempotency key.
    pub message_id: String,
    /// The source (write key) that sent it.
    pub source: SourceId,
    /// When it happened, after clock-skew correction.
    pub timestamp: Timestamp,
    /// When Orbit received it.
    pub received_at: Timestamp,
    /// The identities found in it, cleaned.
    pub identities: Vec<Identity>,
    /// The event's properties, as sent.
    pub properties: Map<String, Value>,
    /// The traits it set, as sent.
    pub traits: Map<String, Value>,
    /// The sender's context, as sent.
    pub context: Map<String, Value>,
}

impl From<&StoredEvent> for TimelineEvent {
    fn from(stored: &StoredEvent) -> Self {
        let e = &stored.event;
        Self {
            position: stored.position.0,
            kind: e.kind,
            event: e.name.clone(),
            message_id: e.message_id.clone(),
            source: e.source_id.clone(),
            timestamp: e.timestamp,
            received_at: e.received_at,
            identities: e.identities.clone(),
            properties: e.properties.clone(),
            traits: e.traits.clone(),
            context: e.context.clone(),
        }
    }
}

/// A page of a profile's events, newest first by event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelinePage {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// This page's events.
    pub data: Vec<TimelineEvent>,
    /// Pass back as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Traits to set on a profile as of now, by name. Free-form by nature: any trait the
/// brand keeps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct TraitPatch(pub Map<String, Value>);

/// A person erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Erased {
    /// The profile erased.
    pub id: ProfileId,
    /// Always `true`.
    pub erased: bool,
    /// The ids merged into it, erased with it.
    pub merged_ids: Vec<ProfileId>,
}

/// Two profiles that became one, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedMerge {
    /// The profile that remains.
    pub survivor: ProfileId,
    /// The profile that became an alias of the survivor.
    pub merged: ProfileId,
    /// The identity found on both sides.
    pub linked_by: Identity,
    /// The log position of the event that caused it.
    pub position: i64,
    /// When it was applied, epoch milliseconds.
    pub at_ms: i64,
}

/// A link that was refused, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedConflict {
    /// The refused link.
    pub conflict: Conflict,
    /// The log position of the event that caused it.
    pub position: i64,
    /// When it was found, epoch milliseconds.
    pub at_ms: i64,
}

/// An in-app inbox message, as a person's export holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportedInboxMessage {
    /// The message's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// When it was delivered.
    pub created_at: Timestamp,
    /// When the person read it.
    pub read_at: Option<Timestamp>,
}

/// Everything Orbit holds on a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonalExport {
    /// When the export was made.
    pub exported_at: Timestamp,
    /// The profile.
    pub profile: ProfileView,
    /// Each trait's value with the event time that set it.
    pub trait_history: TraitSet,
    /// The merges that made the profile, oldest first.
    pub merges: Vec<RecordedMerge>,
    /// Links refused for the person.
    pub identity_conflicts: Vec<RecordedConflict>,
    /// Imported and manual tag values under any of the person's ids, by tag.
    pub assigned_tags: BTreeMap<String, Vec<String>>,
    /// The person's consent changes, oldest first.
    pub consent: Vec<ConsentRecord>,
    /// The person's recent in-app inbox, newest first.
    pub inbox: Vec<ExportedInboxMessage>,
    /// Every message sent or held back to the person, newest first.
    pub messages: Vec<crate::service::delivery::ProfileMessage>,
    /// Every event of the person, newest first.
    pub events: Vec<TimelineEvent>,
}

/// Profiles as callers use them.
pub struct Profiles {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
    default_region: phonenumber::country::Id,
    audiences: Arc<Audiences>,
    delivery: Arc<Delivery>,
    runner: Arc<JourneyRunner>,
}

impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles").finish_non_exhaustive()
    }
}

impl Profiles {
    /// The service over the pipeline's profiles; erasure and export reach the
    /// audience and delivery services and the journey runner for what they keep on a
    /// person.
    pub fn new(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: Arc<dyn Clock>,
        default_region: phonenumber::country::Id,
        audiences: Arc<Audiences>,
        delivery: Arc<Delivery>,
        runner: Arc<JourneyRunner>,
    ) -> Self {
        Self {
            stores,
            pipeline,
            clock,
            default_region,
            audiences,
            delivery,
            runner,
        }
    }

    /// A profile by its id or the id of a profile merged into it.
    ///
    /// # Errors
    /// `invalid_id` (`id`), `not_found`.
    pub fn profile(&self, workspace: &WorkspaceId, id: &str) -> Result<ProfileView, EngineError> {
        Ok(ProfileView::from(&self.live(workspace, id)?))
    }

    /// The profile holding an identity, `TYPE:VALUE`, cleaned first so that
    /// `phone:138 0013 8000` finds `+8613800138000`.
    ///
    /// # Errors
    /// `missing_field` or `invalid_identity` (`identity`), `not_found`.
    pub fn find(&self, workspace: &WorkspaceId, identity: Option<&str>) -> Result<ProfileView, EngineError> {
        let raw = identity
            .ok_or_else(|| Problem::at(ErrorCode::MissingField, "identity", "give ?identity=TYPE:VALUE"))?;
        let identity = parse_identity(raw, "identity", self.default_region)?;
        let profile = self
            .pipeline
            .profile_by_identity(workspace, &identity)
            .ok_or_else(|| Problem::not_found("profile"))?;
        Ok(ProfileView::from(&profile))
    }

    /// A page of a profile's events, newest first by event time: `limit` of them
    /// (1–1,000, default 50), older than the `cursor` a previous page gave.
    ///
    /// # Errors
    /// `invalid_limit`, `invalid_cursor`, `invalid_id`, `not_found`.
    pub async fn timeline(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<TimelinePage, EngineError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::at(
                ErrorCode::InvalidLimit,
                "limit",
                format!("limit must be 1–{MAX_PAGE}"),
            )
            .into());
        }
        let cursor = cursor.map(parse_cursor).transpose()?;
        let profile = self.live(workspace, id)?;
        let page = self
            .pipeline
            .timeline_page(workspace, profile.id, cursor, limit as usize);
        let positions: Vec<LogPosition> = page.iter().map(|e| e.position).collect();
        let events = self.stores.events.events_at(&positions).await?;
        let full = page.len() == limit as usize;
        Ok(TimelinePage {
            profile_id: profile.id,
            data: events.iter().map(TimelineEvent::from).collect(),
            next_cursor: page.last().filter(|_| full).map(write_cursor),
        })
    }

    /// A page of the messages sent (or held back) to a person, under their id and
    /// every id merged into them, newest first: `limit` of them (1–500, default 50),
    /// older than the `cursor` a previous page gave.
    ///
    /// # Errors
    /// `invalid_limit`, `invalid_cursor`, `invalid_id`, `not_found`.
    pub async fn messages(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<crate::service::delivery::ProfileMessagePage, EngineError> {
        let profile = self.live(workspace, id)?;
        self.delivery
            .messages_of(workspace, &profile, limit, cursor)
            .await
    }

    /// Sets traits on a profile as of now, and recomputes the tag values and the
    /// journey dates that read them at once (no event reaches the log, so neither the
    /// tag refresher nor the journey runner would see it).
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn patch_traits(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        patch: TraitPatch,
    ) -> Result<ProfileView, EngineError> {
        let id = parse_profile_id(id, "id")?;
        let profile = self.pipeline.patch_traits(workspace.clone(), id, patch.0).await?;
        self.audiences.refresh_profiles(workspace, &[profile.id]).await?;
        self.runner.traits_changed(workspace, profile.id).await;
        Ok(ProfileView::from(&profile))
    }

    /// Erases a person: the profile, the ids merged into it, their events (those
    /// accepted before the call too), their journeys (each left as `erased`, with the
    /// effects not yet done dropped), their assigned tag values and their inbox.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn erase(&self, workspace: &WorkspaceId, id: &str) -> Result<Erased, EngineError> {
        let id = parse_profile_id(id, "id")?;
        let erased = self.pipeline.erase(workspace.clone(), id).await?;
        // After the profile is gone, so that no event of theirs enters them again.
        self.runner.erase_people(workspace, &ids_of(&erased)).await?;
        self.audiences.forget_profile(workspace, &erased).await?;
        self.delivery.forget_person(workspace, &erased);
        // The audit log keeps that a change was made, not what it held of them.
        self.stores
            .audit
            .redact_audit(workspace, &ids_of(&erased))
            .await?;
        Ok(Erased {
            id: erased.id,
            erased: true,
            merged_ids: erased.merged_ids,
        })
    }

    /// Everything Orbit holds on a person.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; fails when the stores cannot be read.
    pub async fn export(&self, workspace: &WorkspaceId, id: &str) -> Result<PersonalExport, EngineError> {
        let profile = self.live(workspace, id)?;
        let mut positions = self.pipeline.timeline_positions(workspace, profile.id);
        positions.reverse();
        let mut events = Vec::with_capacity(positions.len());
        for page in positions.chunks(MAX_PAGE as usize) {
            let stored = self.stores.events.events_at(page).await?;
            events.extend(stored.iter().map(TimelineEvent::from));
        }
        let profiles = &self.stores.profiles;
        let merges = profiles.merges(workspace, profile.id).await?;
        let conflicts = profiles.conflicts(workspace, profile.id).await?;
        let people = ids_of(&profile);
        Ok(PersonalExport {
            exported_at: self.clock.now(),
            profile: ProfileView::from(&profile),
            trait_history: profile.traits.clone(),
            merges: merges
                .into_iter()
                .map(|m| RecordedMerge {
                    survivor: m.merge.survivor,
                    merged: m.merge.merged,
                    linked_by: m.merge.linked_by,
                    position: m.position.0,
                    at_ms: m.at_ms,
                })
                .collect(),
            identity_conflicts: conflicts
                .into_iter()
                .map(|c| RecordedConflict {
                    conflict: c.conflict,
                    position: c.position.0,
                    at_ms: c.at_ms,
                })
                .collect(),
            assigned_tags: self.audiences.assigned_to(workspace, &profile),
            consent: self.delivery.consent_records(workspace, &people).await?,
            inbox: self.delivery.inbox_of(workspace, &people),
            messages: self.delivery.all_messages_of(workspace, &profile).await?,
            events,
        })
    }

    /// A live profile by the id in the path, or `not_found`.
    fn live(&self, workspace: &WorkspaceId, id: &str) -> Result<Profile, Problem> {
        live_profile(&self.pipeline, workspace, id, "id")
    }
}

/// A live profile by its id or a merged-away one, the id read from `field`.
///
/// # Errors
/// `invalid_id` naming `field`; `not_found`.
pub(crate) fn live_profile(
    pipeline: &PipelineHandle,
    workspace: &WorkspaceId,
    raw: &str,
    field: &str,
) -> Result<Profile, Problem> {
    let id = parse_profile_id(raw, field)?;
    pipeline
        .profile(workspace, id)
        .ok_or_else(|| Problem::not_found("profile"))
}

/// A profile's id and the ids merged into it: choices made and messages kept under a
/// merged-away id still belong to the person.
pub(crate) fn ids_of(profile: &Profile) -> Vec<ProfileId> {
    let mut ids = vec![profile.id];
    ids.extend(profile.merged_ids.iter().copied());
    ids
}

/// Parses a profile id, naming `field` when it is not one.
pub(crate) fn parse_profile_id(raw: &str, field: &str) -> Result<ProfileId, Problem> {
    ProfileId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, field, format!("profile id {e}")))
}

/// Parses `TYPE:VALUE` and cleans the value as an event's identities are cleaned.
pub(crate) fn parse_identity(
    raw: &str,
    field: &str,
    default_region: phonenumber::country::Id,
) -> Result<Identity, Problem> {
    let parsed = Identity::parse_typed(raw)
        .map_err(|e| Problem::at(ErrorCode::InvalidIdentity, field, e.to_string()))?;
    clean_identity(parsed.kind, &parsed.value, default_region)
        .map_err(|e| Problem::at(ErrorCode::InvalidIdentity, field, e))
}

/// A cursor as pages give it: `TIMESTAMP-MS_POSITION` of the page's last event.
fn write_cursor(last: &TimelineCursor) -> String {
    format!("{}_{}", last.timestamp_ms, last.position.0)
}

fn parse_cursor(raw: &str) -> Result<TimelineCursor, Problem> {
    let bad = || {
        Problem::at(
            ErrorCode::InvalidCursor,
            "cursor",
            "pass back next_cursor from the previous page",
        )
    };
    let (ts, pos) = raw.split_once('_').ok_or_else(bad)?;
    Ok(TimelineCursor {
        timestamp_ms: ts.parse().map_err(|_| bad())?,
        position: LogPosition(pos.parse().map_err(|_| bad())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_pages_write_and_refuse_the_rest() {
        let last = TimelineCursor {
            timestamp_ms: 1_795_402_200_000,
            position: LogPosition(42),
        };
        assert_eq!(parse_cursor(&write_cursor(&last)), Ok(last));
        for bad in ["garbage", "1_x", "_42", "1795402200000-42"] {
            assert_eq!(
                parse_cursor(bad).map_err(|p| (p.code, p.field)),
                Err((ErrorCode::InvalidCursor, Some("cursor".to_owned()))),
                "{bad}"
            );
        }
    }

    #[test]
    fn identities_are_cleaned_before_a_look_up() {
        let cn = phonenumber::country::Id::CN;
        let phone = parse_identity("phone:138 0013 8000", "identity", cn).expect("a phone");
        assert_eq!(phone.to_string(), "phone:+8613800138000");
        for bad in ["nonsense", "email:not-an-email"] {
            assert_eq!(
                parse_identity(bad, "identity", cn).map_err(|p| (p.code, p.field)),
                Err((ErrorCode::InvalidIdentity, Some("identity".to_owned()))),
                "{bad}"
            );
        }
    }
}
