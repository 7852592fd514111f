//! What Orbit's test binaries share: real local servers standing in for the providers
//! Orbit talks to, and the rule for tests that need a tool from outside Rust.
//!
//! Every stand-in is a real server on a free loopback port, speaking the provider's
//! protocol over real TCP: it checks requests the way the provider does (signatures
//! recomputed here, independently of Orbit's code), records what it accepted, and
//! answers as the test asks. They are not mocks: the connector under test cannot tell
//! them from the provider except by address.
//!
//! - [`smtp`]: an SMTP server with `STARTTLS`, implicit TLS, `AUTH` and faults;
//! - [`webhook`]: a receiver of Orbit's signed webhooks;
//! - [`twilio`]: Twilio's Messages resource;
//! - [`aliyun`]: Aliyun's `dysmsapi` `SendSms`;
//! - [`require_tool`]: skip a test loudly, or fail it in CI, when a tool is missing.
//!
//! This crate is a dev-dependency only: nothing here reaches the `orbit` binary.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a stand-in that cannot do its part fails the test that uses it"
)]

pub mod aliyun;
pub mod smtp;
mod tools;
pub mod twilio;
pub mod webhook;

pub use tools::require_tool;

use std::net::SocketAddr;

/// Serves `app` on a free port of 127.0.0.1 until the test's runtime ends; answers the
/// address it listens on.
///
/// # Panics
/// When no loopback port can be bound.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}
