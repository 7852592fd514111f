//! The SMTP conversation, step by step, on pooled connections.
//!
//! lettre's client speaks the protocol (commands, `STARTTLS`, `AUTH`, dot-stuffing);
//! this module drives it one step at a time because the step a failure happens at is
//! what tells the worker whether to retry: a server accepts a message only with its
//! reply to the final `.` (RFC 5321 §4.1.1.4), so anything that breaks before that is
//! safe to retry, and a connection lost while waiting for that reply may have
//! delivered — SMTP takes no idempotency key, so that is ambiguous. lettre's pooled
//! transport hides the step (and sets no read timeout on async connections), hence
//! the small pool here.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::SmtpSecurity;
use crate::connector::SendError;
use crate::egress::{EgressPolicy, EgressRefused};

/// Idle connections kept per connector.
const MAX_IDLE: usize = 4;
/// Idle connections older than this are closed rather than reused: servers drop
/// idle sessions after a few minutes (RFC 5321 §4.5.3.2 suggests 5), and a NAT may
/// drop them silently, which would cost a full timeout to notice.
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);

/// What a relay needs to know, parsed from the configuration.
pub(super) struct RelaySettings {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) security: SmtpSecurity,
    pub(super) tls: Option<TlsParameters>,
    pub(super) credentials: Option<Credentials>,
    pub(super) hello: ClientId,
    pub(super) step_timeout: Duration,
    pub(super) policy: EgressPolicy,
}

/// One SMTP server and the connections kept open to it.
pub(super) struct Relay {
    settings: RelaySettings,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.settings.host)
            .field("port", &self.settings.port)
            .field("security", &self.settings.security)
            .finish_non_exhaustive()
    }
}

/// Where in the conversation a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Connecting, greeting, `EHLO`, `STARTTLS`, `AUTH`: no message yet.
    Session,
    /// `MAIL`, `RCPT`, `DATA`: the message is not sent yet.
    Envelope,
    /// The content and the final `.`: the server may have taken it.
    Content,
}

impl Relay {
    /// A relay with no connection open yet; connections open on the first send.
    pub(super) fn new(settings: RelaySettings) -> Self {
        Self {
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Hands one message to the server.
    ///
    /// # Errors
    /// Classified by the server's reply code (4xx retryable, 5xx permanent) and, when
    /// there is no reply, by the step the conversation broke at.
    pub(super) async fn deliver(&self, envelope: &Envelope, data: &[u8]) -> Result<(), SendError> {
        let mut conn = self.checkout().await?;
        self.transfer(&mut conn, envelope, data).await?;
        self.check_in(conn).await;
        Ok(())
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let parked = self.idle.lock().await.pop();
            let Some((mut conn, since)) = parked else {
                break;
            };
            let fresh = since.elapsed() < MAX_IDLE_AGE;
            if fresh
                && tokio::time::timeout(self.settings.step_timeout, conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(conn);
            }
            self.close(conn).await;
        }
        self.connect().await
    }

    async fn check_in(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().await;
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        } else {
            drop(idle);
            self.close(conn).await;
        }
    }

    async fn close(&self, mut conn: AsyncSmtpConnection) {
        // QUIT is a courtesy; a server that does not answer it is dropped anyway.
        let _ = tokio::time::timeout(self.settings.step_timeout, conn.quit()).await;
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let s = &self.settings;
        let addrs = resolve_permitted(&s.host, s.port, &s.policy, s.step_timeout)
            .await
            .map_err(Refusal::into_send_error)?;
        let implicit_tls = match s.security {
            SmtpSecurity::Tls => s.tls.clone(),
            SmtpSecurity::Starttls | SmtpSecurity::None => None,
        };
        // Connect to the addresses just checked, never to the name: a second lookup
        // could answer differently.
        let mut conn = self
            .step(
                Step::Session,
                AsyncSmtpConnection::connect_tokio1(
                    &addrs[..],
                    Some(s.step_timeout),
                    &s.hello,
                    implicit_tls,
                    None,
                ),
            )
            .await?;
        if s.security == SmtpSecurity::Starttls {
            let Some(tls) = s.tls.clone() else {
                return Err(SendError::permanent("tls", "no TLS parameters for starttls"));
            };
            if !conn.can_starttls() {
                return Err(SendError::permanent(
                    "starttls_unsupported",
                    format!("{} does not offer STARTTLS", s.host),
                ));
            }
            self.step(Step::Session, conn.starttls(tls, &s.hello)).await?;
        }
        if let Some(credentials) = &s.credentials {
            self.step(
                Step::Session,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await?;
        }
        Ok(conn)
    }

    async fn transfer(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        data: &[u8],
    ) -> Result<(), SendError> {
        let mut parameters = Vec::new();
        let non_ascii_address = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii_address {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::permanent(
                    "smtputf8_unsupported",
                    "the address is not ASCII and the server does not offer SMTPUTF8",
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !data.is_ascii() {
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        self.step(
            Step::Envelope,
            conn.command(Mail::new(envelope.from().cloned(), parameters)),
        )
        .await?;
        for to in envelope.to() {
            self.step(Step::Envelope, conn.command(Rcpt::new(to.clone(), Vec::new())))
                .await?;
        }
        self.step(Step::Envelope, conn.command(Data)).await?;
        self.step(Step::Content, conn.message(data)).await?;
        Ok(())
    }

    /// Runs one step of the conversation within the step timeout.
    async fn step<T>(
        &self,
        step: Step,
        future: impl Future<Output = Result<T, SmtpError>>,
    ) -> Result<T, SendError> {
        let timeout = self.settings.step_timeout;
        match tokio::time::timeout(timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(step, &error)),
            Err(_) if step == Step::Content => Err(SendError::Ambiguous {
                message: format!(
                    "no answer within {timeout:?} after the message was sent; it may have been delivered"
                ),
            }),
            Err(_) => Err(SendError::retryable(
                "timeout",
                format!("no answer within {timeout:?}"),
            )),
        }
    }
}

/// Sorts an SMTP failure at `step` into the worker's outcomes.
fn classify(step: Step, error: &SmtpError) -> SendError {
    let message = error.to_string();
    if let Some(code) = error.status() {
        let code = u16::from(code).to_string();
        // RFC 5321 §4.2.1: 4yz is a transient, 5yz a permanent negative completion,
        // whatever the step (a 552 after the final dot is as final as at RCPT).
        return if error.is_transient() {
            SendError::retryable(code, message)
        } else {
            SendError::permanent(code, message)
        };
    }
    match step {
        Step::Content => SendError::Ambiguous {
            message: format!("connection lost after the message was sent: {message}"),
        },
        // The client refused on its own (no common AUTH mechanism, no SMTPUTF8):
        // nothing about the server will change on a retry.
        Step::Session | Step::Envelope if error.is_client() => SendError::permanent("smtp_client", message),
        Step::Session | Step::Envelope => {
            let code = if error.is_timeout() {
                "timeout"
            } else if error.is_tls() {
                "tls"
            } else {
                "connection"
            };
            SendError::retryable(code, message)
        }
    }
}

/// Why a host cannot be connected to.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The name did not resolve (now).
    Unresolvable(String),
    /// An address is internal and not allowed.
    Egress(EgressRefused),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unresolvable(m) => f.write_str(m),
            Self::Egress(e) => e.fmt(f),
        }
    }
}

impl Refusal {
    fn into_send_error(self) -> SendError {
        match self {
            // DNS failures are usually passing; a name that never resolves fails
            // every attempt and runs out of retries.
            Self::Unresolvable(m) => SendError::retryable("dns", m),
            Self::Egress(e) => SendError::permanent("egress_refused", e.to_string()),
        }
    }
}

/// Resolves `host` and checks every address against the policy.
///
/// Every address must pass, as for HTTP: connecting to "the first allowed one" would
/// let a name with one public and one internal address through.
pub(super) async fn resolve_permitted(
    host: &str,
    port: u16,
    policy: &EgressPolicy,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, Refusal> {
    let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| Refusal::Unresolvable(format!("{host}: no DNS answer within {timeout:?}")))?
        .map_err(|e| Refusal::Unresolvable(format!("{host}: {e}")))?;
    let addrs: Vec<SocketAddr> = lookup.collect();
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable(format!("{host}: no address")));
    }
    if let Some(internal) = addrs.iter().find(|a| !policy.permits(a.ip())) {
        return Err(Refusal::Egress(EgressRefused {
            host: host.to_owned(),
            address: internal.ip(),
        }));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_for_loopback_is_refused_unless_allowed() {
        let strict = resolve_permitted("127.0.0.1", 25, &EgressPolicy::strict(), Duration::from_secs(5))
            .await
            .expect_err("refused");
        assert!(
            matches!(strict.into_send_error(), SendError::Permanent { ref code, .. } if code == "egress_refused")
        );
        let allowing = EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")]);
        let addrs = resolve_permitted("127.0.0.1", 2525, &allowing, Duration::from_secs(5))
            .await
            .expect("allowed");
        assert_eq!(addrs, ["127.0.0.1:2525".parse::<SocketAddr>().expect("addr")]);
    }
}
