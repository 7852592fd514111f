//! Orbit's delivery: one module per provider, each speaking the provider's real
//! protocol (request format, signing, error codes, throttling answers), behind the
//! one [`Connector`] contract; and the egress guard every outgoing request passes.

pub mod connector;
pub mod egress;
pub mod email;
pub mod push;
pub mod receipts;
pub mod registry;
pub mod secret;
pub mod sms;
pub mod webhook;
pub mod wechat;

pub use connector::{
    Accepted, ConfigError, Connector, Content, EmailContent, MiniProgramContent, OutboundMessage,
    PushContent, Receipt, ReceiptStatus, Recipient, SendError, SmsContent, WebhookContent,
    WechatTemplateContent,
};
pub use egress::{EgressPolicy, HttpClient};
pub use secret::Secret;
