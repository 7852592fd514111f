//! The last step every format shares: timestamps, identities and checks → [`NewEvent`].

use crate::{FieldError, IngestContext};
use jiff::Timestamp;
use orbit_core::ErrorCode;
use orbit_core::event::{DataIssue, IdentitySources, JsonObject, extract_identities};
use orbit_core::{EventKind, EventName, Identity, NewEvent};

/// An event read from some wire format, before normalisation.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub kind: Option<EventKind>,
    pub name: Option<String>,
    pub message_id: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub previous_id: Option<String>,
    pub group_id: Option<String>,
    pub traits: JsonObject,
    pub properties: JsonObject,
    pub context: JsonObject,
    /// The event time by the sender's clock.
    pub device_time: Option<Timestamp>,
    /// When the sender sent it, by the same clock.
    pub sent_at: Option<Timestamp>,
    /// Identities given explicitly (native format).
    pub identities: Vec<Identity>,
    /// Values refused while reading explicit identities.
    pub issues: Vec<DataIssue>,
}

/// Normalises a draft: corrects clock skew, cleans identities, checks what each call needs.
pub(crate) fn finish(draft: Draft, ctx: &IngestContext) -> Result<NewEvent, FieldError> {
    let kind = draft.kind.unwrap_or(EventKind::Track);
    let name = match (kind, draft.name.as_deref()) {
        (EventKind::Track, None) => {
            return Err(FieldError::new(
                "event",
                ErrorCode::MissingField,
                "a track call needs an event name",
            ));
        }
        (_, None) => None,
        (EventKind::Track, Some(raw)) => Some(
            EventName::parse(raw)
                .map_err(|e| FieldError::new("event", ErrorCode::InvalidEventName, e.to_string()))?,
        ),
        (_, Some(raw)) => EventName::parse(raw).ok(),
    };
    if kind == EventKind::Alias && draft.previous_id.is_none() {
        return Err(FieldError::new(
            "previousId",
            ErrorCode::MissingField,
            "an alias call needs previousId",
        ));
    }
    if kind == EventKind::Group && draft.group_id.is_none() {
        return Err(FieldError::new(
            "groupId",
            ErrorCode::MissingField,
            "a group call needs groupId",
        ));
    }

    // The sender's clock may be wrong; the gap between its event time and its send
    // time is not: apply that gap to our receive time.
    let timestamp = match (draft.device_time, draft.sent_at) {
        (Some(device), Some(sent)) => ctx
            .received_at
            .checked_sub(sent.duration_since(device))
            .unwrap_or(ctx.received_at),
        (Some(device), None) => device,
        (None, _) => ctx.received_at,
    };
    if timestamp.duration_since(ctx.received_at) > ctx.max_future {
        return Err(FieldError::new(
            "timestamp",
            ErrorCode::TimestampInFuture,
            format!(
                "the event time {timestamp} is more than {} hours after its receipt",
                ctx.max_future.as_hours()
            ),
        ));
    }

    // Group traits describe the group (a company's email is not the person's).
    let person_traits = (kind != EventKind::Group).then_some(&draft.traits);
    let extracted = extract_identities(
        &IdentitySources {
            user_id: draft.user_id.as_deref(),
            anonymous_id: draft.anonymous_id.as_deref(),
            traits: person_traits,
            context: Some(&draft.context),
        },
        ctx.default_region,
    );
    let mut identities = extracted.identities;
    let mut issues = extracted.issues;
    issues.extend(draft.issues);
    for identity in draft.identities {
        if !identities.contains(&identity) {
            identities.push(identity);
        }
    }
    if identities.is_empty() && draft.previous_id.is_none() {
        return Err(FieldError::new(
            "userId",
            ErrorCode::MissingIdentity,
            "the event needs userId or anonymousId (or another valid identity)",
        ));
    }

    Ok(NewEvent {
        workspace_id: ctx.workspace_id.clone(),
        source_id: ctx.source_id.clone(),
        message_id: draft
            .message_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        kind,
        name,
        timestamp,
        received_at: ctx.received_at,
        identities,
        user_id: draft.user_id,
        anonymous_id: draft.anonymous_id,
        previous_id: draft.previous_id,
        group_id: draft.group_id,
        traits: draft.traits,
        properties: draft.properties,
        context: draft.context,
        issues,
    })
}
