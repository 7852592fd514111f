//! Provider configurations as one tagged type: validated, masked for display, and
//! turned into connectors.

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
use crate::{ConfigError, Connector, HttpClient};

/// What is shown instead of a secret.
pub const MASK: &str = "••••••";

/// A provider account's configuration, tagged by `provider`.
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

    /// Fields that are secret.
    pub fn secret_fields(&self) -> &'static [&'static str] {
        match self {
            ProviderConfig::Smtp(_) => SmtpConfig::SECRET_FIELDS,
            ProviderConfig::AliyunSms(_) => AliyunSmsConfig::SECRET_FIELDS,
            ProviderConfig::TencentSms(_) => TencentSmsConfig::SECRET_FIELDS,
            ProviderConfig::Twilio(_) => TwilioConfig::SECRET_FIELDS,
            ProviderConfig::Webhook(_) => WebhookConfig::SECRET_FIELDS,
            ProviderConfig::Fcm(_) => FcmConfig::SECRET_FIELDS,
            ProviderConfig::Jpush(_) => JpushConfig::SECRET_FIELDS,
            ProviderConfig::WechatOfficialAccount(_) => OfficialAccountConfig::SECRET_FIELDS,
            ProviderConfig::WechatMiniProgram(_) => MiniProgramConfig::SECRET_FIELDS,
        }
    }

    /// Checks every field, naming the bad one.
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
        let mut json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(fields) = json.as_object_mut() {
            for name in self.secret_fields() {
                match fields.get_mut(*name) {
                    Some(serde_json::Value::Object(map)) => {
                        for value in map.values_mut() {
                            *value = serde_json::Value::String(MASK.to_owned());
                        }
                    }
                    Some(value) if !value.is_null() => *value = serde_json::Value::String(MASK.to_owned()),
                    _ => {}
                }
            }
        }
        json
    }

    /// Reads a configuration, taking each secret still written as [`MASK`] from
    /// `previous`, so a console can save a form it was shown masked without retyping
    /// secrets.
    pub fn parse_keeping_secrets(
        mut json: serde_json::Value,
        previous: Option<&ProviderConfig>,
    ) -> Result<ProviderConfig, serde_json::Error> {
        if let (Some(previous), Some(fields)) = (previous, json.as_object_mut())
            && fields.get("provider").and_then(|p| p.as_str()) == Some(previous.provider())
        {
            let old = serde_json::to_value(previous)?;
            for name in previous.secret_fields() {
                let is_mask = |v: &serde_json::Value| v.as_str() == Some(MASK);
                match fields.get_mut(*name) {
                    Some(value) if is_mask(value) => {
                        *value = old.get(*name).cloned().unwrap_or(serde_json::Value::Null);
                    }
                    Some(serde_json::Value::Object(map)) => {
                        for (key, value) in map.iter_mut() {
                            if is_mask(value)
                                && let Some(kept) = old.get(*name).and_then(|o| o.get(key))
                            {
                                *value = kept.clone();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        serde_json::from_value(json)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configurations_read_tagged_and_mask_their_secrets() {
        let config: ProviderConfig = serde_json::from_value(json!({
            "provider": "webhook",
            "url": "https://hooks.example.com/orbit",
            "secret": "0123456789abcdef0123"
        }))
        .expect("parses");
        assert_eq!(config.channel(), Channel::Webhook);
        assert_eq!(config.validate(), Ok(()));
        let masked = config.masked();
        assert_eq!(masked["provider"], "webhook");
        assert_eq!(masked["secret"], MASK);
        assert_eq!(masked["url"], "https://hooks.example.com/orbit");

        let kept = ProviderConfig::parse_keeping_secrets(masked.clone(), Some(&config)).expect("kept");
        assert_eq!(kept, config);
        let mut changed = masked;
        changed["secret"] = json!("a-brand-new-secret-value");
        let replaced = ProviderConfig::parse_keeping_secrets(changed, Some(&config)).expect("parses");
        assert_ne!(replaced, config);

        let unknown = serde_json::from_value::<ProviderConfig>(json!({
            "provider": "webhook", "url": "https://x.example.com", "secret": "0123456789abcdef0123", "colour": 1
        }));
        assert!(unknown.is_err(), "unknown fields are refused");
        assert!(serde_json::from_value::<ProviderConfig>(json!({"provider": "fax"})).is_err());
    }
}
