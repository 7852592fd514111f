//! From a message the contact policy let through to the provider's answer: the
//! render context, tracked links, Orbit's own channels, and the connector.

use jiff::Timestamp;
use orbit_channels::{OutboundMessage, Recipient, SendError};
use orbit_core::ProfileId;
use orbit_core::WorkspaceId;
use orbit_core::messaging::{Channel, SuppressionReason, TemplateContent};
use orbit_core::profile::Profile;
use orbit_store::{CallTask, SendRecord, SendUpdate};
use serde_json::{Map, Value};

use super::backoff::{WithChannel, retry};
use super::content::{connector_content, render_context};
use super::tracking::{Tracked, track_email_html};
use super::worker::{DeliveryWorker, VariantMessage};

impl DeliveryWorker {
    /// Sends a message the policy let through on `channel`, to `address`.
    pub(super) async fn send_on(
        &self,
        row: &SendRecord,
        profile: &Profile,
        options: &[VariantMessage],
        (channel, address): (Channel, String),
        now: Timestamp,
    ) -> SendUpdate {
        let id = row.send.id.clone();
        let ws = row.send.workspace_id.clone();
        let suppressed = |reason| SendUpdate::Suppressed {
            id: id.clone(),
            reason,
            at: now,
        };
        let Some(option) = options.iter().find(|o| o.channel == channel) else {
            return suppressed(SuppressionReason::NoAddress);
        };
        let tags = self.tags_of(&ws, profile.id);
        let campaign_id = row
            .send
            .campaign_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let unsubscribe_url = self.links.url(&Tracked::Unsubscribe {
            workspace: ws.clone(),
            send_id: id.clone(),
        });
        let context = render_context(
            profile,
            tags,
            Some((&campaign_id, row.send.variant.as_deref().unwrap_or(""))),
            &id,
            &unsubscribe_url,
        );
        let tracker = self.links.for_message(&ws, &id);
        let rendered = match option.template.render_tracked(&context, tracker) {
            Ok(rendered) => rendered,
            Err(e) => {
                return SendUpdate::Failed {
                    id,
                    channel: Some(channel),
                    error: format!("template: {e}"),
                    at: now,
                };
            }
        };
        if let TemplateContent::Inbox {
            title,
            body,
            popup,
            link,
        } = rendered
        {
            return self
                .deliver_to_inbox(row, profile.id, (title, body, popup, link), now)
                .await;
        }
        if let TemplateContent::CallTask { script } = rendered {
            let notify = {
                let accounts = self.accounts.table();
                option
                    .account
                    .as_ref()
                    .and_then(|named| accounts.resolve(&ws, Channel::Webhook, Some(named)).cloned())
            };
            let task = CallTask {
                id: id.clone(),
                workspace_id: ws.clone(),
                profile_id: profile.id,
                phone: address.clone(),
                script,
                campaign_id: row.send.campaign_id.clone(),
                status: "open".to_owned(),
                outcome: None,
                created_at: now,
                updated_at: now,
            };
            return self.deliver_call_task(row, task, notify).await;
        }
        let rendered = match self.track_email(rendered, &ws, &id) {
            Ok(rendered) => rendered,
            Err(e) => {
                return SendUpdate::Failed {
                    id,
                    channel: Some(channel),
                    error: format!("html: {e}"),
                    at: now,
                };
            }
        };
        let unsubscribe = row.send.marketing.then_some(unsubscribe_url);
        let Some(content) = connector_content(rendered, unsubscribe) else {
            return SendUpdate::Failed {
                id,
                channel: Some(channel),
                error: format!("no provider connector serves {channel}"),
                at: now,
            };
        };
        let account = {
            let accounts = self.accounts.table();
            accounts.resolve(&ws, channel, option.account.as_ref()).cloned()
        };
        let Some(account) = account else {
            return suppressed(SuppressionReason::NoAddress);
        };
        let message = OutboundMessage {
            send_id: id.clone(),
            recipient: Recipient {
                profile_id: profile.id.to_string(),
                address: address.clone(),
            },
            content,
        };
        account.ready().await;
        match account.connector.send(&message).await {
            Ok(accepted) => SendUpdate::Accepted {
                id,
                channel,
                account: account.id,
                address,
                provider_message_id: accepted.provider_message_id,
                at: now,
            },
            Err(SendError::Retryable {
                code,
                message,
                retry_after_ms,
            }) => retry(row, now, format!("{code}: {message}"), retry_after_ms, true).with_channel(channel),
            Err(e @ SendError::Permanent { .. }) => SendUpdate::Failed {
                id,
                channel: Some(channel),
                error: e.to_string(),
                at: now,
            },
            Err(e @ SendError::Ambiguous { .. }) => SendUpdate::Ambiguous {
                id,
                channel,
                error: e.to_string(),
                at: now,
            },
        }
    }

    /// An email with its HTML links tracked and the open pixel added; other content
    /// as it is.
    fn track_email(
        &self,
        rendered: TemplateContent,
        ws: &WorkspaceId,
        send_id: &str,
    ) -> Result<TemplateContent, String> {
        match rendered {
            TemplateContent::Email {
                subject,
                html: Some(html),
                text,
            } => Ok(TemplateContent::Email {
                subject,
                html: Some(track_email_html(&html, &self.links, ws, send_id)?),
                text,
            }),
            other => Ok(other),
        }
    }

    fn tags_of(&self, ws: &WorkspaceId, profile: ProfileId) -> Map<String, Value> {
        self.pipeline
            .with_audience(ws, |index| index.map(|index| index.tags_document(profile)))
            .unwrap_or_default()
    }
}
