//! A test send through one provider account (`POST /v1/channels/{id}/test`): one
//! message to an address the caller gives, through the account's own connector, with
//! the provider's answer handed back as it came. Nothing is written to the send
//! ledger and no contact policy applies: it checks the account, not a person.

use super::Delivery;
use crate::EngineError;
use orbit_channels::{
    Content, EmailContent, OutboundMessage, PushContent, Recipient, SendError, SmsContent, WebhookContent,
};
use orbit_core::event::clean_identity;
use orbit_core::messaging::Channel;
use orbit_core::{ChannelId, ErrorCode, Problem, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The longest test text taken, in characters.
const MAX_TEXT: usize = 1_000;

/// What a test send carries and where it goes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountTest {
    /// The address: an email address (email), a phone number, cleaned as identities
    /// are (SMS), a push token (push). Webhook accounts post to their URL and need
    /// none.
    #[serde(default)]
    #[schema(example = "13800138000")]
    pub to: Option<String>,
    /// The text sent (the email's body, the SMS, the notification's body); a short
    /// test text naming the account when left out.
    #[serde(default)]
    #[schema(example = "Orbit 测试消息")]
    pub text: Option<String>,
}

/// How a test send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountTestOutcome {
    /// The provider took the message.
    Sent,
    /// The provider refused for now (overloaded, throttling, a 5xx, no connection).
    Retryable,
    /// The provider refused for good (a bad address, a rejected template, wrong
    /// credentials).
    Permanent,
    /// The provider did not answer in time: it may or may not have taken it.
    Ambiguous,
}

/// What the provider answered to a test send.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountTestResult {
    /// The account tried.
    pub account: ChannelId,
    /// The channel it serves.
    pub channel: Channel,
    /// The address sent to, as cleaned (`+8613800138000`); null for a webhook.
    pub address: Option<String>,
    /// How it ended.
    pub outcome: AccountTestOutcome,
    /// The provider's id for the message, when it took it and gave one.
    pub provider_message_id: Option<String>,
    /// The provider's error code (or HTTP status, or transport reason), when it did
    /// not take it.
    pub code: Option<String>,
    /// The provider's own words, when it did not take it.
    pub message: Option<String>,
}

impl Delivery {
    /// Sends one test message through an account to the address given.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `missing_field` or `invalid_identity` naming `to`;
    /// `too_long` naming `text`; `invalid_request` for a channel whose messages need
    /// a provider-approved template (WeChat); `invalid_state` for an account whose
    /// configuration no longer opens.
    pub async fn test_account(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        request: AccountTest,
    ) -> Result<AccountTestResult, EngineError> {
        let id = ChannelId::parse(id)
            .map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("channel id {e}")))?;
        let record = self.stored_account(workspace, &id).await?;
        let Some(account) = self.accounts.get(workspace, &id) else {
            return Err(Problem::new(
                ErrorCode::InvalidState,
                "the account is not connected: its configuration no longer opens; save it again",
            )
            .into());
        };
        let text = match request.text.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > MAX_TEXT => {
                let message = format!("at most {MAX_TEXT} characters");
                return Err(Problem::at(ErrorCode::TooLong, "text", message).into());
            }
            Some(text) if !text.is_empty() => text.to_owned(),
            _ => format!("Orbit test message from {}", record.name),
        };
        let address = self.test_address(account.channel, request.to.as_deref())?;
        let content = test_content(account.channel, &id, text)?;
        let message = OutboundMessage {
            send_id: format!("test-{}", uuid::Uuid::new_v4().simple()),
            recipient: Recipient {
                profile_id: String::new(),
                address: address.clone().unwrap_or_default(),
            },
            content,
        };
        account.ready().await;
        let answer = account.connector.send(&message).await;
        let mut result = AccountTestResult {
            account: id,
            channel: account.channel,
            address,
            outcome: AccountTestOutcome::Sent,
            provider_message_id: None,
            code: None,
            message: None,
        };
        match answer {
            Ok(accepted) => result.provider_message_id = accepted.provider_message_id,
            Err(SendError::Retryable { code, message, .. }) => {
                (result.outcome, result.code, result.message) =
                    (AccountTestOutcome::Retryable, Some(code), Some(message));
            }
            Err(SendError::Permanent { code, message }) => {
                (result.outcome, result.code, result.message) =
                    (AccountTestOutcome::Permanent, Some(code), Some(message));
            }
            Err(SendError::Ambiguous { message }) => {
                (result.outcome, result.message) = (AccountTestOutcome::Ambiguous, Some(message));
            }
        }
        Ok(result)
    }

    /// The address a test on `channel` goes to, cleaned as the person's identity of
    /// that kind would be; none for a webhook, which posts to its own URL.
    fn test_address(&self, channel: Channel, to: Option<&str>) -> Result<Option<String>, Problem> {
        let Some(kind) = channel.address_kind() else {
            return Ok(None);
        };
        let to = to.map(str::trim).filter(|to| !to.is_empty()).ok_or_else(|| {
            Problem::at(
                ErrorCode::MissingField,
                "to",
                format!("a test on {channel} needs the address to send to"),
            )
        })?;
        let identity = clean_identity(kind, to, self.default_region)
            .map_err(|message| Problem::at(ErrorCode::InvalidIdentity, "to", message))?;
        Ok(Some(identity.value))
    }
}

/// The message a test sends on `channel`: `text` in the channel's own shape.
fn test_content(channel: Channel, account: &ChannelId, text: String) -> Result<Content, Problem> {
    const TITLE: &str = "Orbit test message";
    Ok(match channel {
        Channel::Email => Content::Email(EmailContent {
            subject: TITLE.to_owned(),
            html: None,
            text,
            unsubscribe_url: None,
        }),
        Channel::Sms => Content::Sms(SmsContent {
            text,
            template_code: None,
            params: Vec::new(),
        }),
        Channel::Push => Content::Push(PushContent {
            title: TITLE.to_owned(),
            body: text,
            data: BTreeMap::new(),
        }),
        Channel::Webhook => Content::Webhook(WebhookContent {
            body: json!({"type": "test", "account": account.as_str(), "text": text}),
        }),
        Channel::WechatTemplate | Channel::MiniProgram | Channel::Inbox | Channel::CallTask => {
            return Err(Problem::new(
                ErrorCode::InvalidRequest,
                format!(
                    "{channel} messages need a template the provider approved; test the account with a campaign or journey instead"
                ),
            ));
        }
    })
}
