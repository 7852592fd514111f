//! Connectors against real local endpoints that check each provider's request format
//! and signature the way the provider does.

mod email;
mod push;
mod sms;
mod webhook;
mod wechat;
