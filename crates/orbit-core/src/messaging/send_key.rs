//! The send ledger's keys: one deterministic id per message, recipient and lane.
//!
//! The id is derived from what caused the message (a campaign run, a journey step),
//! the person and the lane, never from a clock or a counter, so materialising the
//! same run twice after a crash finds the same rows, and providers that take an
//! idempotency key see the same key on every retry.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::channel::Channel;
use crate::{ProfileId, WorkspaceId};

/// Which slot of a message a ledger row fills for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "lane", content = "channel")]
pub enum Lane {
    /// One message on the best channel the person can receive (priority with
    /// fallback): the channel is chosen at dispatch, the row is one either way.
    Priority,
    /// A copy on this channel, for messages sent on several channels on purpose.
    Channel(Channel),
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lane::Priority => f.write_str("priority"),
            Lane::Channel(c) => write!(f, "channel:{c}"),
        }
    }
}

/// What identifies one message to one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendKey<'a> {
    /// The workspace.
    pub workspace: &'a WorkspaceId,
    /// What caused it: `campaign:{id}:run:{n}`, `journey:{id}:{node}:{entry}`.
    pub origin: &'a str,
    /// The person.
    pub profile: &'a ProfileId,
    /// The lane.
    pub lane: Lane,
}

impl SendKey<'_> {
    /// The message's id: 32 hex characters, the same for the same key forever.
    pub fn id(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        for part in [
            self.workspace.as_str().as_bytes(),
            self.origin.as_bytes(),
            self.profile.as_bytes(),
            self.lane.to_string().as_bytes(),
        ] {
            // Length-prefixed so that no two different keys concatenate alike.
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hex_prefix(hasher.finalize().as_bytes())
    }
}

fn hex_prefix(bytes: &[u8; 32]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(32);
    for b in &bytes[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The origin of a campaign run's messages.
pub fn campaign_origin(campaign: &str, run: u32) -> String {
    format!("campaign:{campaign}:run:{run}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_differ_by_every_part() {
        let ws = WorkspaceId::parse("default").expect("ws");
        let other_ws = WorkspaceId::parse("acme").expect("ws");
        let p = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 1);
        let q = ProfileId::mint(jiff::Timestamp::UNIX_EPOCH, 2);
        let key = |ws, origin, profile, lane| {
            SendKey {
                workspace: ws,
                origin,
                profile,
                lane,
            }
            .id()
        };
        let base = key(&ws, "campaign:x:run:1", &p, Lane::Priority);
        assert_eq!(base.len(), 32);
        assert_eq!(base, key(&ws, "campaign:x:run:1", &p, Lane::Priority));
        for different in [
            key(&other_ws, "campaign:x:run:1", &p, Lane::Priority),
            key(&ws, "campaign:x:run:2", &p, Lane::Priority),
            key(&ws, "campaign:x:run:1", &q, Lane::Priority),
            key(&ws, "campaign:x:run:1", &p, Lane::Channel(Channel::Sms)),
        ] {
            assert_ne!(base, different);
        }
    }
}
