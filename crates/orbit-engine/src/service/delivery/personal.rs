//! What the delivery service keeps on one person beyond their consent: the in-app
//! messages held in memory, for the person's export and their erasure.

use super::Delivery;
use crate::service::profiles::{ExportedInboxMessage, ids_of};
use orbit_core::profile::Profile;
use orbit_core::{ProfileId, WorkspaceId};

impl Delivery {
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
