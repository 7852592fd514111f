//! The one contract every provider connector keeps.
//!
//! A connector turns one rendered message for one recipient into one provider request.
//! It decides nothing about whether the message should go (the contact policy did that)
//! and keeps no ledger (the delivery worker does); it only speaks the provider's
//! protocol and reports, precisely, what the provider said.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One message, rendered, for one recipient on one connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// The send ledger's deterministic id: passed as idempotency key where the
    /// provider takes one, and echoed back in receipts where it allows.
    pub send_id: String,
    /// Who receives it.
    pub recipient: Recipient,
    /// What they receive.
    pub content: Content,
}

/// The address a connector sends to, already chosen from the profile's identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The profile the message is for (webhooks and call tasks carry it as is).
    pub profile_id: String,
    /// The channel address: an email, an E.164 phone number, a push token, an openid.
    pub address: String,
}

/// The rendered content, shaped per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Content {
    /// An email with an HTML and a text part.
    Email(EmailContent),
    /// A text message.
    Sms(SmsContent),
    /// An app push notification.
    Push(PushContent),
    /// A WeChat official account template message.
    WechatTemplate(WechatTemplateContent),
    /// A WeChat mini-program subscription message.
    MiniProgram(MiniProgramContent),
    /// A JSON document posted to an HTTP endpoint.
    Webhook(WebhookContent),
}

/// An email, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailContent {
    /// The subject line.
    pub subject: String,
    /// The HTML part, when the template has one.
    pub html: Option<String>,
    /// The plain-text part (always present: some clients show only it).
    pub text: String,
    /// The one-click unsubscribe link for the `List-Unsubscribe` header, when the
    /// message is marketing.
    pub unsubscribe_url: Option<String>,
}

/// A text message, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsContent {
    /// The full text as the recipient reads it (Twilio sends it as is; the preview and
    /// the part count use it).
    pub text: String,
    /// The provider's approved template, for providers that send only templates
    /// (Aliyun `TemplateCode`, Tencent `TemplateId`).
    pub template_code: Option<String>,
    /// The template's parameters, in order of declaration for providers that take a
    /// list (Tencent), by name for those that take an object (Aliyun).
    pub params: Vec<(String, String)>,
}

/// An app push notification, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushContent {
    /// The notification title.
    pub title: String,
    /// The notification body.
    pub body: String,
    /// Key-value data handed to the app (deep links, campaign ids).
    pub data: BTreeMap<String, String>,
}

/// A WeChat official account template message, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WechatTemplateContent {
    /// The template id approved in the official account's back office.
    pub template_id: String,
    /// The template's keywords and their values.
    pub data: BTreeMap<String, String>,
    /// The page opened when the message is tapped.
    pub url: Option<String>,
    /// A mini-program page opened instead of `url`, as `(appid, pagepath)`.
    pub mini_program: Option<(String, String)>,
}

/// A WeChat mini-program subscription message, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniProgramContent {
    /// The subscription template id.
    pub template_id: String,
    /// The page opened when the message is tapped.
    pub page: Option<String>,
    /// The template's keywords and their values.
    pub data: BTreeMap<String, String>,
}

/// A webhook body, rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookContent {
    /// The JSON document posted.
    pub body: serde_json::Value,
}

/// What the provider said when it took the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Accepted {
    /// The provider's own id for the message, used to match receipts.
    pub provider_message_id: Option<String>,
    /// Billable parts, for SMS providers that report them.
    pub parts: Option<u32>,
}

/// Why a send did not succeed, classified so the worker knows whether to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SendError {
    /// Worth trying again later: provider overloaded or throttling, a 5xx, a
    /// connection that failed before the request left.
    #[error("retryable ({code}): {message}")]
    Retryable {
        /// The provider's error code, or the HTTP status, or a transport reason.
        code: String,
        /// The provider's own words.
        message: String,
        /// How long the provider asked us to wait, when it said.
        retry_after_ms: Option<u64>,
    },
    /// Will never succeed as is: invalid address, rejected template, user blocked.
    #[error("permanent ({code}): {message}")]
    Permanent {
        /// The provider's error code, or the HTTP status.
        code: String,
        /// The provider's own words.
        message: String,
    },
    /// The request may or may not have been taken: the provider did not answer in
    /// time and takes no idempotency key, so a retry could send twice.
    #[error("ambiguous: {message}")]
    Ambiguous {
        /// What happened.
        message: String,
    },
}

impl SendError {
    /// A retryable error with the provider's code and words.
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Retryable {
            code: code.into(),
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A throttling answer, with the wait the provider asked for.
    pub fn throttled(
        code: impl Into<String>,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::Retryable {
            code: code.into(),
            message: message.into(),
            retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// A permanent error with the provider's code and words.
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A delivery receipt a provider pushed back: the fate of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's id for the message, as returned in [`Accepted`].
    pub provider_message_id: String,
    /// What became of it.
    pub status: ReceiptStatus,
    /// The provider's error code or words, when it failed.
    pub detail: Option<String>,
}

/// The fate of a message according to its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// It reached the handset, inbox or device.
    Delivered,
    /// It did not, and will not.
    Failed,
}

/// A configured provider, ready to send.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The provider's name as written in configuration (`aliyun_sms`, `smtp`, …).
    fn provider(&self) -> &'static str;

    /// Sends one message; returns once the provider has answered.
    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError>;

    /// Whether the provider recognises a resend by the idempotency key, so that a
    /// message whose outcome was lost (a crash mid-send) may be sent again safely.
    fn deduplicates(&self) -> bool {
        false
    }
}

/// A configuration value that is wrong, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field, as named in the configuration JSON.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Sorts an HTTP answer into the worker's three outcomes by status alone, for
/// providers whose error bodies add nothing the status does not say.
pub fn classify_status(status: reqwest::StatusCode, body: &str) -> SendError {
    let code = status.as_u16().to_string();
    let message: String = body.chars().take(500).collect();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        SendError::retryable(code, message)
    } else {
        SendError::permanent(code, message)
    }
}

/// Reads a `Retry-After` header given in seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Turns a transport failure into an outcome: a destination the egress guard
/// refused or a malformed request is permanent; a request that never left is
/// retryable; one that timed out after leaving is ambiguous unless the provider
/// deduplicates on our idempotency key.
pub fn transport_error(error: &reqwest::Error, provider_deduplicates: bool) -> SendError {
    if let Some(refused) = crate::egress::refusal(error) {
        return SendError::permanent("egress_refused", refused.to_string());
    }
    if error.is_builder() || error.is_redirect() {
        return SendError::permanent("request", error.to_string());
    }
    if error.is_connect() {
        return SendError::retryable("connect", error.to_string());
    }
    if provider_deduplicates {
        SendError::retryable("transport", error.to_string())
    } else {
        SendError::Ambiguous {
            message: error.to_string(),
        }
    }
}
