//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
//! (<https://www.twilio.com/docs/messaging/api/message-resource>).
//!
//! A form post of `To`, `From` or `MessagingServiceSid`, `Body` and the optional
//! `StatusCallback`, with HTTP Basic authentication as `AccountSid:AuthToken`. The
//! text goes as is; Twilio answers `201 Created` with the message's `sid` and
//! `num_segments`.
//!
//! Twilio takes no idempotency key on message creation and its error 20500
//! documentation warns that retrying a failed send can deliver twice
//! (<https://www.twilio.com/docs/api/errors/20500>). So a request that times out
//! after leaving, a `500` and a `504` are [`SendError::Ambiguous`]; other 5xx answers
//! (`503`, "try again with back-off") are retryable; `429` (code 20429) is throttling
//! with the wait in `Retry-After`; every other error — an invalid number (21211), a
//! number that cannot receive SMS (21614), an unsubscribed recipient (21610), bad
//! credentials (20003) — is permanent.

mod callback;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use callback::{compute_signature, parse_receipts, verify_signature};

use crate::connector::{retry_after, transport_error};
use crate::secret::{self, Secret};
use crate::sms::{check_endpoint, e164_digits, require};
use crate::{Accepted, ConfigError, Connector, Content, HttpClient, OutboundMessage, SendError};

/// Twilio's public REST API.
pub const DEFAULT_ENDPOINT: &str = "https://api.twilio.com";

/// A Twilio account as configured in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// The account's SID (`AC` and 32 hex digits).
    pub account_sid: String,
    /// The account's primary auth token; it also signs status callbacks.
    pub auth_token: Secret,
    /// The sending number (E.164) or alphanumeric sender id.
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service (`MG…`) that picks the sender instead of `from`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Where Twilio posts status callbacks, when receipts are wanted.
    #[serde(default)]
    pub status_callback: Option<String>,
    /// The API base URL; the public API unless a test or proxy says otherwise.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

/// Whether `sid` is a Twilio SID of the given two-letter kind.
fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl TwilioConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        if !is_sid(&self.account_sid, "AC") {
            return Err(ConfigError::new(
                "account_sid",
                "must be AC followed by 32 hexadecimal digits",
            ));
        }
        require("auth_token", self.auth_token.expose())?;
        match (&self.from, &self.messaging_service_sid) {
            (None, None) => {
                return Err(ConfigError::new(
                    "from",
                    "set from or messaging_service_sid: Twilio needs a sender",
                ));
            }
            (Some(from), _) => require("from", from)?,
            (None, Some(_)) => {}
        }
        if let Some(service) = &self.messaging_service_sid
            && !is_sid(service, "MG")
        {
            return Err(ConfigError::new(
                "messaging_service_sid",
                "must be MG followed by 32 hexadecimal digits",
            ));
        }
        if let Some(callback) = &self.status_callback {
            // Unlike the endpoint, a callback may carry a query string: Twilio signs
            // it along with the rest of the URL.
            let usable = url::Url::parse(callback)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !usable {
                return Err(ConfigError::new(
                    "status_callback",
                    "must be an http or https URL",
                ));
            }
        }
        check_endpoint("endpoint", &self.endpoint)?;
        Ok(())
    }
}

/// Sends text messages through Twilio.
#[derive(Debug)]
pub struct TwilioConnector {
    config: TwilioConfig,
    http: HttpClient,
}

impl TwilioConnector {
    /// A connector for a valid configuration.
    pub fn new(config: TwilioConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config, http })
    }

    /// The form fields of the Messages create request for `message`.
    ///
    /// # Errors
    /// A permanent error when the message is not a text message or goes to an
    /// address that is not an E.164 number.
    pub fn form(&self, message: &OutboundMessage) -> Result<Vec<(&'static str, String)>, SendError> {
        let Content::Sms(sms) = &message.content else {
            return Err(SendError::permanent("content", "twilio sends text messages only"));
        };
        let to = format!("+{}", e164_digits(&message.recipient.address)?);
        let mut form = vec![("To", to)];
        // A Messaging Service picks the sender itself, so it wins over `from`.
        match (&self.config.messaging_service_sid, &self.config.from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service.clone())),
            (None, Some(from)) => form.push(("From", from.clone())),
            (None, None) => {}
        }
        form.push(("Body", sms.text.clone()));
        if let Some(callback) = &self.config.status_callback {
            form.push(("StatusCallback", callback.clone()));
        }
        Ok(form)
    }
}

#[async_trait]
impl Connector for TwilioConnector {
    fn provider(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let form = self.form(message)?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.endpoint.trim_end_matches('/'),
            self.config.account_sid
        );
        let response = self
            .http
            .request(reqwest::Method::POST, &url)?
            .basic_auth(&self.config.account_sid, Some(self.config.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(&e, false))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let text = response.text().await.map_err(|e| transport_error(&e, false))?;
        interpret_response(status, wait, &text)
    }
}

/// The fields of a created Message this module reads.
#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
    #[serde(default)]
    num_segments: Option<String>,
}

/// Twilio's error body: `{"code", "message", "more_info", "status"}`.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// Turns Twilio's answer into the outcome of the send.
fn interpret_response(status: StatusCode, wait: Option<Duration>, body: &str) -> Result<Accepted, SendError> {
    if status.is_success() {
        return match serde_json::from_str::<Created>(body) {
            Ok(created) => Ok(Accepted {
                provider_message_id: Some(created.sid),
                parts: created.num_segments.and_then(|n| n.parse().ok()),
            }),
            // Created, most likely, but without a sid to match receipts against.
            Err(e) => Err(SendError::Ambiguous {
                message: format!("twilio answered {status} with an unreadable message: {e}"),
            }),
        };
    }
    let error: ApiError = serde_json::from_str(body).unwrap_or_default();
    let message = error.message.unwrap_or_else(|| body.chars().take(500).collect());
    Err(classify_error(status, error.code, &message, wait))
}

/// Sorts a Twilio error answer into the worker's three outcomes (see the module
/// documentation for the reasons).
pub fn classify_error(
    status: StatusCode,
    code: Option<u32>,
    message: &str,
    retry_after: Option<Duration>,
) -> SendError {
    let code_text = code.map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
    let throttled = status == StatusCode::TOO_MANY_REQUESTS || code == Some(20429);
    if throttled {
        SendError::throttled(code_text, message, retry_after)
    } else if status == StatusCode::INTERNAL_SERVER_ERROR || status == StatusCode::GATEWAY_TIMEOUT {
        SendError::Ambiguous {
            message: format!("twilio answered {status} ({code_text}): {message}"),
        }
    } else if status.is_server_error() {
        SendError::throttled(code_text, message, retry_after)
    } else {
        SendError::permanent(code_text, message)
    }
}

#[cfg(test)]
mod tests;
