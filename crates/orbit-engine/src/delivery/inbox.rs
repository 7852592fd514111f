//! The in-app inbox in memory: what each person's app is shown, answered without
//! touching storage (SPEC §5: popups in milliseconds).

use crate::sync::Shared;
use std::collections::{HashMap, VecDeque};

use jiff::{Timestamp, ToSpan};
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::{InboxMessage, StoreError, Stores};

/// Messages kept per person; older ones drop out of memory (they stay stored).
const PER_PERSON: usize = 100;
/// How far back the inbox is loaded at start-up.
const KEPT_DAYS: i64 = 30;

/// Every person's recent inbox messages.
#[derive(Debug, Default)]
pub struct Inbox {
    by_person: Shared<HashMap<(WorkspaceId, ProfileId), VecDeque<InboxMessage>>>,
}

impl Inbox {
    /// Loads the last 30 days of stored messages.
    pub async fn load_recent(&self, stores: &Stores, now: Timestamp) -> Result<(), StoreError> {
        for message in stores
            .inbox
            .inbox_messages_since(now - (KEPT_DAYS * 24).hours())
            .await?
        {
            self.remember(message);
        }
        Ok(())
    }

    /// Stores a message, then shows it.
    pub async fn deliver(&self, stores: &Stores, message: InboxMessage) -> Result<(), StoreError> {
        stores.inbox.put_inbox_message(&message).await?;
        self.remember(message);
        Ok(())
    }

    fn remember(&self, message: InboxMessage) {
        let mut by_person = self.by_person.write();
        let list = by_person
            .entry((message.workspace_id.clone(), message.profile_id))
            .or_default();
        if list.iter().any(|m| m.id == message.id) {
            return;
        }
        list.push_back(message);
        while list.len() > PER_PERSON {
            list.pop_front();
        }
    }

    /// A person's messages, newest first, gathered over the ids merged into them.
    pub fn messages(&self, workspace: &WorkspaceId, people: &[ProfileId]) -> Vec<InboxMessage> {
        let by_person = self.by_person.read();
        let mut all: Vec<InboxMessage> = people
            .iter()
            .filter_map(|p| by_person.get(&(workspace.clone(), *p)))
            .flatten()
            .cloned()
            .collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        all
    }

    /// Marks a message read in memory (the caller stores it).
    pub fn mark_read(&self, workspace: &WorkspaceId, people: &[ProfileId], id: &str, at: Timestamp) -> bool {
        let mut by_person = self.by_person.write();
        for person in people {
            if let Some(message) = by_person
                .get_mut(&(workspace.clone(), *person))
                .and_then(|list| list.iter_mut().find(|m| m.id == id))
            {
                message.read_at.get_or_insert(at);
                return true;
            }
        }
        false
    }

    /// Forgets an erased person's messages.
    pub fn forget(&self, workspace: &WorkspaceId, people: &[ProfileId]) {
        let mut by_person = self.by_person.write();
        for person in people {
            by_person.remove(&(workspace.clone(), *person));
        }
    }
}
