//! Connectors against real local endpoints that check each provider's request format
//! and signature the way the provider does.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test binary: its helpers fail the test with expect and panic"
)]

mod email;
mod push;
mod sms;
mod webhook;
mod wechat;
