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

/// A message waiting to be stored, and who waits for the outcome.
type Waiting = (InboxMessage, tokio::sync::oneshot::Sender<Result<(), StoreError>>);

/// Every person's recent inbox messages.
#[derive(Debug, Default)]
pub struct Inbox {
    by_person: Shared<HashMap<(WorkspaceId, ProfileId), VecDeque<InboxMessage>>>,
    /// Messages handed to [`Inbox::deliver`] and not stored yet.
    waiting: Shared<Vec<Waiting>>,
    /// Held by the one delivery storing what waits.
    storing: tokio::sync::Mutex<()>,
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
    ///
    /// Deliveries made at once are stored together (group commit): whoever gets to
    /// store stores every message waiting, in one transaction, while the next ones
    /// gather; each returns once its own message is stored. A broadcast's round thus
    /// costs a few transactions, not one per message.
    pub async fn deliver(&self, stores: &Stores, message: InboxMessage) -> Result<(), StoreError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.waiting.write().push((message, done));
        {
            let _storing = self.storing.lock().await;
            let batch = std::mem::take(&mut *self.waiting.write());
            if !batch.is_empty() {
                let messages: Vec<InboxMessage> = batch.iter().map(|(m, _)| m.clone()).collect();
                let stored = stores.inbox.put_inbox_messages(&messages).await;
                for (message, done) in batch {
                    if stored.is_ok() {
                        self.remember(message);
                    }
                    let _ = done.send(stored.clone());
                }
            }
        }
        // Whoever took the message answers before letting go of the lock we waited on.
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError::Unknown("the inbox write was abandoned".to_owned())))
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
