//! Segment membership changes as events: `segment_entered` and `segment_exited`, which
//! Orbit appends to the log itself (source `orbit`) for triggers and journeys to use.
//!
//! The log is the record of what was emitted: replaying a segment's transition events
//! over its baseline (the members when its definition was saved) gives the membership
//! last announced, which is how emission resumes after a restart without repeating or
//! skipping a change.

use crate::event::{EventKind, EventName, NewEvent};
use crate::identity::{Identity, IdentityKind};
use crate::ids::{ProfileId, SegmentId, SourceId, WorkspaceId};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// The event announcing that a profile entered a dynamic segment.
pub const SEGMENT_ENTERED: &str = "segment_entered";
/// The event announcing that a profile left a dynamic segment.
pub const SEGMENT_EXITED: &str = "segment_exited";

/// A change of one profile's membership of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It now meets the segment's condition.
    Entered,
    /// It no longer does.
    Exited,
}

impl Transition {
    /// The event name announcing it.
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Entered => SEGMENT_ENTERED,
            Self::Exited => SEGMENT_EXITED,
        }
    }
}

/// What a transition event says: which segment, which way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedTransition {
    /// The segment's id.
    pub segment: String,
    /// Entered or exited.
    pub transition: Transition,
}

/// The identity a system event is addressed by: one that already belongs to the profile,
/// preferring the kinds that are never shared between people.
pub fn addressing_identity(identities: &[Identity]) -> Option<&Identity> {
    let rank = |kind: &IdentityKind| match kind {
        IdentityKind::UserId => 0,
        IdentityKind::Email | IdentityKind::Phone => 1,
        IdentityKind::WechatUnionid | IdentityKind::WechatOpenid => 2,
        IdentityKind::AnonymousId => 3,
        IdentityKind::Custom(_) => 4,
        IdentityKind::DeviceId => 5,
    };
    identities.iter().min_by_key(|i| rank(&i.kind))
}

/// A segment transition as the event Orbit appends for it.
///
/// `evaluated_at` is the log position the change was seen at: with the segment, profile
/// and direction it makes the message id, so a retried append is stored once.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one field of the event the transition becomes"
)]
pub fn transition_event(
    workspace: &WorkspaceId,
    segment: &SegmentId,
    segment_name: &str,
    profile: ProfileId,
    address: Identity,
    transition: Transition,
    at: Timestamp,
    evaluated_at: u64,
) -> NewEvent {
    let name = transition.event_name();
    let mut properties = Map::new();
    properties.insert("segment_id".into(), json!(segment.as_str()));
    properties.insert("segment_name".into(), json!(segment_name));
    let mut context = Map::new();
    context.insert("library".into(), json!({"name": "orbit-segments"}));
    NewEvent {
        workspace_id: workspace.clone(),
        source_id: SourceId::system(),
        message_id: format!("{name}:{segment}:{profile}:{evaluated_at}"),
        kind: EventKind::Track,
        name: EventName::parse(name).ok(),
        timestamp: at,
        received_at: at,
        identities: vec![address],
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        traits: Map::new(),
        properties,
        context,
        issues: Vec::new(),
    }
}

/// The transition an event announces, if Orbit itself appended it as one.
pub fn announced(
    source: &SourceId,
    name: Option<&str>,
    properties: &Map<String, Value>,
) -> Option<AnnouncedTransition> {
    if !source.is_system() {
        return None;
    }
    let transition = match name? {
        SEGMENT_ENTERED => Transition::Entered,
        SEGMENT_EXITED => Transition::Exited,
        _ => return None,
    };
    let segment = properties.get("segment_id")?.as_str()?.to_owned();
    Some(AnnouncedTransition { segment, transition })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kind: IdentityKind, value: &str) -> Identity {
        Identity::new(kind, value).expect("valid identity")
    }

    #[test]
    fn a_transition_event_reads_back_as_the_same_transition() {
        let segment = SegmentId::parse("vip").expect("valid id");
        let profile = ProfileId::mint(Timestamp::UNIX_EPOCH, 7);
        let event = transition_event(
            &WorkspaceId::default_workspace(),
            &segment,
            "VIP 会员",
            profile,
            identity(IdentityKind::UserId, "u1"),
            Transition::Exited,
            Timestamp::UNIX_EPOCH,
            42,
        );
        let read = announced(
            &event.source_id,
            event.name.as_ref().map(EventName::as_str),
            &event.properties,
        );
        assert_eq!(
            read,
            Some(AnnouncedTransition {
                segment: "vip".into(),
                transition: Transition::Exited
            })
        );
        assert_eq!(event.message_id, format!("segment_exited:vip:{profile}:42"));
    }

    #[test]
    fn the_same_event_from_a_client_source_announces_nothing() {
        let mut properties = Map::new();
        properties.insert("segment_id".into(), json!("vip"));
        let client = SourceId::parse("web").expect("valid id");
        assert_eq!(announced(&client, Some(SEGMENT_ENTERED), &properties), None);
        assert!(announced(&SourceId::system(), Some(SEGMENT_ENTERED), &properties).is_some());
        assert_eq!(
            announced(&SourceId::system(), Some("order_paid"), &properties),
            None
        );
    }

    #[test]
    fn events_are_addressed_by_an_unshared_identity() {
        let identities = vec![
            identity(IdentityKind::DeviceId, "d1"),
            identity(IdentityKind::AnonymousId, "a1"),
            identity(IdentityKind::Phone, "+8613800138000"),
        ];
        assert_eq!(
            addressing_identity(&identities).map(|i| &i.kind),
            Some(&IdentityKind::Phone)
        );
        assert_eq!(addressing_identity(&[]), None);
    }
}
