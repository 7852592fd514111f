//! Provider configurations as one tagged type: validated, masked for display, sealed
//! at rest, and turned into connectors.
//!
//! Every secret field is a [`Secret`](crate::Secret), so what is masked, sealed and
//! kept follows from the types (see [`crate::secret`]): serializing a configuration
//! masks it, and only [`ProviderConfig::to_sealed_json`] and
//! [`ProviderConfig::from_sealed_json`] see the plaintext.

use std::sync::Arc;

use orbit_core::Clock;
use orbit_core::messaging::Channel;
use serde::{Deserialize, Serialize};

use crate::email::{SmtpConfig, SmtpConnector};
use crate::push::fcm::{FcmConfig, FcmConnector};
use crate::push::jpush::{JpushConfig, JpushConnector};
use crate::sms::aliyun::{AliyunSmsConfig, AliyunSmsConnector};
use crate::sms::tencent::{TencentSmsConfig, TencentSmsConnector};
use crate::sms::twilio::{TwilioConfig, TwilioConnector};
use crate::webhook::{WebhookConfig, WebhookConnector};
use crate::wechat::mini_program::{MiniProgramConfig, MiniProgramConnector};
use crate::wechat::official_account::{OfficialAccountConfig, OfficialAccountConnector};
use crate::{ConfigError, Connector, HttpClient, secret};

pub use crate::secret::MASK;

/// A provider account's configuration, tagged by `provider`. Its OpenAPI schema is
/// written out by hand, the tag among each provider's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum ProviderConfig {
    /// Email over SMTP.
    Smtp(SmtpConfig),
    /// Aliyun SMS.
    AliyunSms(AliyunSmsConfig),
    /// Tencent Cloud SMS.
    TencentSms(TencentSmsConfig),
    /// Twilio Programmable Messaging.
    Twilio(TwilioConfig),
    /// A signed JSON POST.
    Webhook(WebhookConfig),
    /// Firebase Cloud Messaging HTTP v1.
    Fcm(FcmConfig),
    /// JPush REST API v3.
    Jpush(JpushConfig),
    /// WeChat official account template messages.
    WechatOfficialAccount(OfficialAccountConfig),
    /// WeChat mini-program subscription messages.
    WechatMiniProgram(MiniProgramConfig),
}

impl ProviderConfig {
    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        match self {
            ProviderConfig::Smtp(_) => "smtp",
            ProviderConfig::AliyunSms(_) => "aliyun_sms",
            ProviderConfig::TencentSms(_) => "tencent_sms",
            ProviderConfig::Twilio(_) => "twilio",
            ProviderConfig::Webhook(_) => "webhook",
            ProviderConfig::Fcm(_) => "fcm",
            ProviderConfig::Jpush(_) => "jpush",
            ProviderConfig::WechatOfficialAccount(_) => "wechat_official_account",
            ProviderConfig::WechatMiniProgram(_) => "wechat_mini_program",
        }
    }

    /// The channel the provider serves.
    pub fn channel(&self) -> Channel {
        match self {
            ProviderConfig::Smtp(_) => Channel::Email,
            ProviderConfig::AliyunSms(_) | ProviderConfig::TencentSms(_) | ProviderConfig::Twilio(_) => {
                Channel::Sms
            }
            ProviderConfig::Webhook(_) => Channel::Webhook,
            ProviderConfig::Fcm(_) | ProviderConfig::Jpush(_) => Channel::Push,
            ProviderConfig::WechatOfficialAccount(_) => Channel::WechatTemplate,
            ProviderConfig::WechatMiniProgram(_) => Channel::MiniProgram,
        }
    }

    /// Checks every field, naming the bad one; a secret sent as [`MASK`] with no
    /// stored value to keep is refused by its path (`password`, `headers.X-Token`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ProviderConfig::Smtp(c) => c.validate(),
            ProviderConfig::AliyunSms(c) => c.validate(),
            ProviderConfig::TencentSms(c) => c.validate(),
            ProviderConfig::Twilio(c) => c.validate(),
            ProviderConfig::Webhook(c) => c.validate(),
            ProviderConfig::Fcm(c) => c.validate(),
            ProviderConfig::Jpush(c) => c.validate(),
            ProviderConfig::WechatOfficialAccount(c) => c.validate(),
            ProviderConfig::WechatMiniProgram(c) => c.validate(),
        }
    }

    /// The configuration as JSON with every secret that is set replaced by [`MASK`]
    /// (each value, for a secret map such as a webhook's headers).
    pub fn masked(&self) -> serde_json::Value {
        // Serializing is masking: secrets render as MASK unless sealing asks otherwise.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads a configuration, taking each secret still written as [`MASK`] from
    /// `previous` (key by key, for a secret map), so a console can save a form it was
    /// shown masked without retyping secrets. Nothing is taken from a configuration
    /// of another provider. A [`MASK`] with nothing stored behind it is read as a kept
    /// secret, which [`ProviderConfig::validate`] refuses.
    pub fn parse_keeping_secrets(
        mut json: serde_json::Value,
        previous: Option<&ProviderConfig>,
    ) -> Result<ProviderConfig, serde_json::Error> {
        if let Some(previous) = previous
            && json.get("provider").and_then(serde_json::Value::as_str) == Some(previous.provider())
        {
            secret::keep_stored(&mut json, previous)?;
        }
        serde_json::from_value(json)
    }

    /// The configuration with each secret that was sent as [`MASK`] given its value in
    /// `previous`, as [`ProviderConfig::parse_keeping_secrets`] does for JSON: for a
    /// configuration already read into its type (whose masked secrets are kept ones).
    ///
    /// # Errors
    /// When `previous` itself holds a kept secret.
    pub fn keeping_secrets(
        self,
        previous: Option<&ProviderConfig>,
    ) -> Result<ProviderConfig, serde_json::Error> {
        match previous {
            Some(previous) if previous.provider() == self.provider() => {
                Self::parse_keeping_secrets(secret::as_sent(&self)?, Some(previous))
            }
            _ => Ok(self),
        }
    }

    /// The configuration as sealed at rest: JSON with every secret in plaintext.
    ///
    /// # Contract
    /// The format is that of the configuration's fields with plain strings for
    /// secrets, tagged by `provider`; data directories written before secrets had a
    /// type of their own hold it, so it must not change.
    ///
    /// # Errors
    /// When a secret sent as [`MASK`] was never given its stored value: sealing it
    /// would store the mask.
    pub fn to_sealed_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        secret::with_plaintext(|| serde_json::to_vec(self))
    }

    /// Reads a configuration sealed by [`ProviderConfig::to_sealed_json`], secrets in
    /// plaintext (a stored secret that happens to read [`MASK`] is taken as it is).
    pub fn from_sealed_json(json: &[u8]) -> Result<ProviderConfig, serde_json::Error> {
        secret::with_plaintext(|| serde_json::from_slice(json))
    }

    /// Builds the connector; signatures and token expiry read `clock`.
    pub fn connect(self, http: HttpClient, clock: Arc<dyn Clock>) -> Result<Arc<dyn Connector>, ConfigError> {
        Ok(match self {
            ProviderConfig::Smtp(c) => Arc::new(SmtpConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::AliyunSms(c) => Arc::new(AliyunSmsConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::TencentSms(c) => Arc::new(TencentSmsConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::Twilio(c) => Arc::new(TwilioConnector::new(c, http)?),
            ProviderConfig::Webhook(c) => Arc::new(WebhookConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::Fcm(c) => Arc::new(FcmConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::Jpush(c) => Arc::new(JpushConnector::new(c, http)?.with_clock(clock)),
            ProviderConfig::WechatOfficialAccount(c) => {
                Arc::new(OfficialAccountConnector::new(c, http)?.with_clock(clock))
            }
            ProviderConfig::WechatMiniProgram(c) => {
                Arc::new(MiniProgramConnector::new(c, http)?.with_clock(clock))
            }
        })
    }
}

mod schema;
#[cfg(test)]
mod tests;
