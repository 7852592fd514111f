//! The channels Orbit reaches people on, and the two classes of message.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::IdentityKind;

/// A way of reaching a person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// Text message.
    Sms,
    /// App push notification.
    Push,
    /// WeChat official account template message.
    WechatTemplate,
    /// WeChat mini-program subscription message.
    MiniProgram,
    /// A JSON POST to the brand's own endpoint.
    Webhook,
    /// A message kept for the app to fetch (in-app inbox and popups).
    Inbox,
    /// A task for the call centre.
    CallTask,
}

impl Channel {
    /// Every channel, in a stable order.
    pub const ALL: [Channel; 8] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::WechatTemplate,
        Channel::MiniProgram,
        Channel::Webhook,
        Channel::Inbox,
        Channel::CallTask,
    ];

    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::WechatTemplate => "wechat_template",
            Channel::MiniProgram => "mini_program",
            Channel::Webhook => "webhook",
            Channel::Inbox => "inbox",
            Channel::CallTask => "call_task",
        }
    }

    /// The identity a message on this channel is addressed to; `None` when the
    /// channel reaches the profile itself (webhook, inbox).
    pub fn address_kind(self) -> Option<IdentityKind> {
        match self {
            Channel::Email => Some(IdentityKind::Email),
            Channel::Sms | Channel::CallTask => Some(IdentityKind::Phone),
            Channel::Push => Some(IdentityKind::Custom("push_token".to_owned())),
            Channel::WechatTemplate => Some(IdentityKind::WechatOpenid),
            Channel::MiniProgram => Some(IdentityKind::Custom("miniprogram_openid".to_owned())),
            Channel::Webhook | Channel::Inbox => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name that is not one of Orbit's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown channel {0:?}; expected one of email, sms, push, wechat_template, mini_program, webhook, inbox, call_task"
)]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, UnknownChannel> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownChannel(s.to_owned()))
    }
}

/// Whether a message sells (and so obeys every rule) or serves (an order
/// confirmation, a password reset), which bypasses caps and quiet hours.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum MessageClass {
    /// Promotional: consent, unsubscribe, caps and quiet hours all apply.
    Marketing {
        /// The subscription topic ("promotions", "newsletter"); people can leave one
        /// topic and stay on others.
        topic: String,
    },
    /// Service messages the person expects; only a channel block stops them.
    Transactional,
}

impl MessageClass {
    /// Whether this is marketing.
    pub fn is_marketing(&self) -> bool {
        matches!(self, MessageClass::Marketing { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
            let json = serde_json::to_string(&channel).expect("json");
            assert_eq!(json, format!("\"{}\"", channel.as_str()));
        }
        assert!("fax".parse::<Channel>().is_err());
    }
}
