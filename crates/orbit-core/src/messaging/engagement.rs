//! What happened to a message after it left, as events on the person's timeline:
//! `message_delivered` and `message_bounced` from provider receipts,
//! `message_opened` and `message_clicked` from tracked links, `message_unsubscribed`
//! from the unsubscribe link. Orbit appends them itself (source `orbit`), so
//! segments, triggers and journeys can use them like any other behaviour.

use crate::event::{EventKind, EventName, NewEvent};
use crate::identity::Identity;
use crate::ids::{SourceId, WorkspaceId};
use jiff::Timestamp;
use serde_json::{Map, json};

use super::channel::Channel;

/// The event a provider's "it arrived" receipt is recorded as.
pub const MESSAGE_DELIVERED: &str = "message_delivered";
/// The event a provider's "it did not arrive" receipt is recorded as.
pub const MESSAGE_BOUNCED: &str = "message_bounced";

/// What a receipt, a tracked link or an unsubscribe link says about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// The provider says it arrived.
    Delivered,
    /// The provider says it did not, with its words.
    Bounced {
        /// The provider's code or words.
        detail: Option<String>,
    },
    /// It was opened (the open pixel loaded, or a link in it was followed).
    Opened,
    /// A tracked link in it was followed.
    Clicked {
        /// The destination.
        url: String,
    },
    /// The person used its unsubscribe link.
    Unsubscribed {
        /// The topic they left, or every marketing topic of the channel.
        topic: Option<String>,
    },
}

impl MessageOutcome {
    /// The event name it is recorded under.
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::Delivered => MESSAGE_DELIVERED,
            Self::Bounced { .. } => MESSAGE_BOUNCED,
            Self::Opened => "message_opened",
            Self::Clicked { .. } => "message_clicked",
            Self::Unsubscribed { .. } => "message_unsubscribed",
        }
    }

    /// The part of the event's message id that tells outcomes of one message apart:
    /// one event per outcome, and per destination for clicks.
    fn discriminator(&self) -> String {
        match self {
            Self::Clicked { url } => {
                let digest = blake3::hash(url.as_bytes()).to_hex();
                format!("clicked:{}", &digest[..16])
            }
            other => other.event_name().trim_start_matches("message_").to_owned(),
        }
    }
}

/// The message an outcome is about, as the send ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// The ledger row's id.
    pub send_id: &'a str,
    /// The campaign that sent it.
    pub campaign_id: Option<&'a str>,
    /// The variant the person fell in.
    pub variant: Option<&'a str>,
    /// The channel it went on.
    pub channel: Option<Channel>,
}

/// The event recording `outcome` for the person addressed by `address`.
///
/// The message id is derived from the send and the outcome, so a provider that
/// pushes the same receipt twice, or a second open, is stored once.
pub fn outcome_event(
    workspace: &WorkspaceId,
    message: &MessageRef<'_>,
    address: Identity,
    outcome: &MessageOutcome,
    at: Timestamp,
) -> NewEvent {
    let name = outcome.event_name();
    let mut properties = Map::new();
    properties.insert("send_id".into(), json!(message.send_id));
    if let Some(campaign) = message.campaign_id {
        properties.insert("campaign_id".into(), json!(campaign));
    }
    if let Some(variant) = message.variant {
        properties.insert("variant".into(), json!(variant));
    }
    if let Some(channel) = message.channel {
        properties.insert("channel".into(), json!(channel.as_str()));
    }
    match outcome {
        MessageOutcome::Bounced { detail: Some(detail) } => {
            properties.insert("detail".into(), json!(detail));
        }
        MessageOutcome::Clicked { url } => {
            properties.insert("url".into(), json!(url));
        }
        MessageOutcome::Unsubscribed { topic } => {
            properties.insert("topic".into(), json!(topic));
        }
        _ => {}
    }
    let mut context = Map::new();
    context.insert("library".into(), json!({"name": "orbit-delivery"}));
    NewEvent {
        workspace_id: workspace.clone(),
        source_id: SourceId::system(),
        message_id: format!("{}:{}", message.send_id, outcome.discriminator()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKind;

    fn message() -> MessageRef<'static> {
        MessageRef {
            send_id: "s-1",
            campaign_id: Some("double-12"),
            variant: Some("a"),
            channel: Some(Channel::Email),
        }
    }

    fn address() -> Identity {
        Identity::new(IdentityKind::UserId, "m-1").expect("identity")
    }

    #[test]
    fn each_outcome_is_its_own_event_once_and_clicks_once_per_destination() {
        let at = Timestamp::UNIX_EPOCH;
        let ws = WorkspaceId::default_workspace();
        let event = |o: &MessageOutcome| outcome_event(&ws, &message(), address(), o, at);
        let click_a = MessageOutcome::Clicked {
            url: "https://a.example/".into(),
        };
        let click_b = MessageOutcome::Clicked {
            url: "https://b.example/".into(),
        };
        let ids: std::collections::BTreeSet<String> = [
            MessageOutcome::Delivered,
            MessageOutcome::Bounced { detail: None },
            MessageOutcome::Opened,
            click_a.clone(),
            click_b,
            MessageOutcome::Unsubscribed { topic: None },
        ]
        .iter()
        .map(|o| event(o).message_id)
        .collect();
        assert_eq!(ids.len(), 6, "{ids:?}");
        assert_eq!(event(&click_a).message_id, event(&click_a).message_id);

        let clicked = event(&click_a);
        assert_eq!(clicked.name.as_ref().map(|n| n.as_str()), Some("message_clicked"));
        assert!(clicked.source_id.is_system());
        assert_eq!(clicked.properties["url"], "https://a.example/");
        assert_eq!(clicked.properties["campaign_id"], "double-12");
        assert_eq!(clicked.properties["channel"], "email");
    }
}
