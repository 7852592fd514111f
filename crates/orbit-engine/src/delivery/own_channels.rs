//! Channels Orbit serves itself: the in-app inbox and call-centre tasks.

use jiff::Timestamp;
use orbit_channels::{OutboundMessage, Recipient, SendError};
use orbit_core::ProfileId;
use orbit_core::messaging::Channel;
use orbit_store::{CallTask, InboxMessage, SendRecord, SendUpdate};

use super::accounts::Account;
use super::backoff::retry;
use super::worker::DeliveryWorker;

/// The account name deliveries Orbit keeps itself are recorded under.
fn own_account() -> orbit_core::ChannelId {
    orbit_core::ChannelId::parse("orbit").unwrap_or_else(|_| unreachable!("a valid id"))
}

impl DeliveryWorker {
    /// Keeps an inbox message for the person's app.
    pub(super) async fn deliver_to_inbox(
        &self,
        row: &SendRecord,
        profile: ProfileId,
        (title, body, popup, link): (String, String, bool, Option<String>),
        now: Timestamp,
    ) -> SendUpdate {
        let message = InboxMessage {
            id: row.send.id.clone(),
            workspace_id: row.send.workspace_id.clone(),
            profile_id: profile,
            campaign_id: row.send.campaign_id.clone(),
            title,
            body,
            popup,
            link,
            created_at: now,
            read_at: None,
        };
        match self.inbox.deliver(&self.stores, message).await {
            Ok(()) => SendUpdate::Accepted {
                id: row.send.id.clone(),
                channel: Channel::Inbox,
                account: own_account(),
                address: profile.to_string(),
                provider_message_id: None,
                at: now,
            },
            Err(e) => retry(row, now, format!("storing the inbox message: {e}"), None, true),
        }
    }

    /// Files a task for the call centre, and posts it to the named webhook account.
    pub(super) async fn deliver_call_task(
        &self,
        row: &SendRecord,
        task: CallTask,
        notify: Option<Account>,
    ) -> SendUpdate {
        let now = task.created_at;
        if let Err(e) = self.stores.call_tasks.put_call_task(&task).await {
            return retry(row, now, format!("storing the call task: {e}"), None, true);
        }
        let mut account = own_account();
        if let Some(hook) = notify {
            let message = OutboundMessage {
                send_id: task.id.clone(),
                recipient: Recipient {
                    profile_id: task.profile_id.to_string(),
                    address: task.phone.clone(),
                },
                content: orbit_channels::Content::Webhook(orbit_channels::WebhookContent {
                    body: serde_json::json!({
                        "type": "call_task",
                        "id": task.id,
                        "profile_id": task.profile_id.to_string(),
                        "phone": task.phone,
                        "script": task.script,
                        "campaign": task.campaign_id,
                        "created_at": task.created_at,
                    }),
                }),
            };
            hook.ready().await;
            match hook.connector.send(&message).await {
                Ok(_) => account = hook.id.clone(),
                Err(SendError::Retryable {
                    code,
                    message,
                    retry_after_ms,
                }) => return retry(row, now, format!("{code}: {message}"), retry_after_ms, true),
                Err(e) => {
                    return SendUpdate::Failed {
                        id: task.id,
                        channel: Some(Channel::CallTask),
                        error: format!("the task is filed, but its webhook failed: {e}"),
                        at: now,
                    };
                }
            }
        }
        SendUpdate::Accepted {
            id: task.id,
            channel: Channel::CallTask,
            account,
            address: task.phone,
            provider_message_id: None,
            at: now,
        }
    }
}
