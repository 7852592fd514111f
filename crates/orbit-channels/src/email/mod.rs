//! Email over SMTP (RFC 5321), submitted to the operator's relay or provider.
//!
//! The message is built by [`message`] (multipart/alternative text and HTML, RFC 2047
//! encoded Chinese subjects and display names, RFC 8058 one-click unsubscribe, a
//! `Message-ID` derived from the send id), and handed over by [`relay`], which keeps a
//! small pool of authenticated connections and knows at which step of the conversation
//! a failure happened: that step decides whether a retry could deliver twice.

mod message;
mod relay;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use orbit_core::{Clock, SystemClock};
use serde::{Deserialize, Serialize};

use crate::connector::{Accepted, ConfigError, Connector, Content, OutboundMessage, SendError};
use crate::egress::{EgressPolicy, HttpClient};
use crate::secret::{self, Secret};

pub use message::message_id;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with `STARTTLS` before anything else is said (RFC
    /// 3207); refused when the server does not offer it. Port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", RFC 8314). Port 465 by default.
    Tls,
    /// No encryption at all, for a relay on the same host or private network only
    /// (a local Postfix, a test catcher): mail and envelope travel in clear, so no
    /// credentials are accepted with it. Port 25 by default.
    None,
}

impl SmtpSecurity {
    /// The port conventionally used with this protection.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// An SMTP relay or provider (Aliyun DirectMail, Tencent SES, SendGrid, Postfix, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name, or IP address.
    pub host: String,
    /// The server's port; by default the one of [`SmtpConfig::security`].
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The user for `AUTH PLAIN` / `AUTH LOGIN`; no authentication when absent.
    #[serde(default)]
    pub username: Option<String>,
    /// The password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender address, in `From` and as the envelope sender.
    pub from_address: String,
    /// The sender's display name (Chinese names are RFC 2047 encoded).
    #[serde(default)]
    pub from_name: Option<String>,
    /// Where replies go, as `addr@example.com` or `Name <addr@example.com>`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// How long each step of the conversation (connecting, each reply) may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// A PEM root certificate trusted besides the public ones, for a relay with a
    /// private CA (and for tests with their own CA).
    #[serde(default)]
    pub extra_root_certificate: Option<String>,
    /// The name announced in `EHLO`; the machine's host name when absent.
    #[serde(default)]
    pub hello_name: Option<String>,
}

fn default_timeout_ms() -> u64 {
    30_000
}

impl SmtpConfig {
    /// The port connected to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed().map(|_| ())
    }

    /// Checks the host against the egress policy now, resolving it: a relay on an
    /// internal address needs the operator's allow-list.
    pub async fn check_destination(&self, policy: &EgressPolicy) -> Result<(), ConfigError> {
        relay::resolve_permitted(&self.host, self.effective_port(), policy, self.timeout())
            .await
            .map(|_| ())
            .map_err(|e| ConfigError::new("host", e.to_string()))
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn parsed(&self) -> Result<Parsed, ConfigError> {
        secret::refuse_kept(self)?;
        check_host(&self.host).map_err(|m| ConfigError::new("host", m))?;
        if self.port == Some(0) {
            return Err(ConfigError::new("port", "must be between 1 and 65535"));
        }
        let from_address = self
            .from_address
            .parse()
            .map_err(|e| ConfigError::new("from_address", format!("not an address: {e}")))?;
        if let Some(name) = &self.from_name
            && name.chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                "from_name",
                "control characters are not allowed",
            ));
        }
        let from = Mailbox::new(self.from_name.clone(), from_address);
        let reply_to = match &self.reply_to {
            Some(r) => Some(
                r.parse::<Mailbox>()
                    .map_err(|e| ConfigError::new("reply_to", format!("not an address: {e}")))?,
            ),
            None => None,
        };
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Err(ConfigError::new("timeout_ms", "must be between 1 and 600000"));
        }
        let credentials = match (&self.username, &self.password) {
            (Some(user), Some(password)) => {
                Some(Credentials::new(user.clone(), password.expose().to_owned()))
            }
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::new("password", "required with a username")),
            (None, Some(_)) => return Err(ConfigError::new("username", "required with a password")),
        };
        if credentials.is_some() && self.security == SmtpSecurity::None {
            return Err(ConfigError::new(
                "security",
                "credentials are never sent unencrypted; use starttls or tls",
            ));
        }
        let hello = match &self.hello_name {
            Some(name) => {
                check_host(name).map_err(|m| ConfigError::new("hello_name", m))?;
                ClientId::Domain(name.clone())
            }
            None => ClientId::default(),
        };
        let tls = match self.security {
            SmtpSecurity::None => None,
            SmtpSecurity::Starttls | SmtpSecurity::Tls => Some(self.tls_parameters()?),
        };
        Ok(Parsed {
            from,
            reply_to,
            credentials,
            hello,
            tls,
        })
    }

    fn tls_parameters(&self) -> Result<TlsParameters, ConfigError> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.extra_root_certificate {
            let bad = |m: String| ConfigError::new("extra_root_certificate", m);
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(bad("expected a PEM certificate".to_owned()));
            }
            let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build()
            .map_err(|e| ConfigError::new("extra_root_certificate", e.to_string()))
    }
}

/// A host name or an IP address, nothing else (no port, no scheme, no path).
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let is_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() <= 253 && host.split('.').all(is_label) {
        Ok(())
    } else {
        Err(format!("{host} is not a host name or IP address"))
    }
}

/// The configuration, parsed once.
struct Parsed {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    credentials: Option<Credentials>,
    hello: ClientId,
    tls: Option<TlsParameters>,
}

/// Sends email through one SMTP server.
pub struct SmtpConnector {
    sender: message::Sender,
    relay: relay::Relay,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SmtpConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConnector")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl SmtpConnector {
    /// A connector for `config`, connecting only where `http`'s egress policy allows.
    pub fn new(config: SmtpConfig, http: HttpClient) -> Result<Self, ConfigError> {
        let parsed = config.parsed()?;
        let relay = relay::Relay::new(relay::RelaySettings {
            host: config.host.clone(),
            port: config.effective_port(),
            security: config.security,
            tls: parsed.tls,
            credentials: parsed.credentials,
            hello: parsed.hello,
            step_timeout: config.timeout(),
            policy: http.policy().clone(),
        });
        Ok(Self {
            sender: message::Sender {
                from: parsed.from,
                reply_to: parsed.reply_to,
            },
            relay,
            clock: Arc::new(SystemClock),
        })
    }

    /// Dates messages with `clock` instead of the wall clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl Connector for SmtpConnector {
    fn provider(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::Email(content) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the smtp connector sends email content only",
            ));
        };
        let built = message::build(
            &self.sender,
            &message.recipient.address,
            &message.send_id,
            content,
            self.clock.now().into(),
        )?;
        self.relay.deliver(&built.envelope, &built.formatted).await?;
        Ok(Accepted {
            provider_message_id: Some(built.message_id),
            parts: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SmtpConfig {
        serde_json::from_value(serde_json::json!({
            "host": "smtpdm.aliyun.com",
            "username": "news@mail.example.cn",
            "password": "s3cret",
            "from_address": "news@mail.example.cn",
            "from_name": "橙子商城",
        }))
        .expect("config")
    }

    #[test]
    fn defaults_are_starttls_on_587_and_the_password_never_shows_in_debug() {
        let config = config();
        assert_eq!(config.security, SmtpSecurity::Starttls);
        assert_eq!(config.effective_port(), 587);
        assert_eq!(config.timeout_ms, 30_000);
        assert!(config.validate().is_ok());
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn implicit_tls_defaults_to_465() {
        let config = SmtpConfig {
            security: SmtpSecurity::Tls,
            ..config()
        };
        assert_eq!(config.effective_port(), 465);
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |c: SmtpConfig| c.validate().expect_err("invalid").field;
        assert_eq!(
            field(SmtpConfig {
                host: "smtp://x".into(),
                ..config()
            }),
            "host"
        );
        assert_eq!(
            field(SmtpConfig {
                from_address: "not an address".into(),
                ..config()
            }),
            "from_address"
        );
        assert_eq!(
            field(SmtpConfig {
                reply_to: Some("@@".into()),
                ..config()
            }),
            "reply_to"
        );
        assert_eq!(
            field(SmtpConfig {
                password: None,
                ..config()
            }),
            "password"
        );
        assert_eq!(
            field(SmtpConfig {
                security: SmtpSecurity::None,
                ..config()
            }),
            "security"
        );
        assert_eq!(
            field(SmtpConfig {
                timeout_ms: 0,
                ..config()
            }),
            "timeout_ms"
        );
        assert_eq!(
            field(SmtpConfig {
                extra_root_certificate: Some("hello".into()),
                ..config()
            }),
            "extra_root_certificate"
        );
        assert_eq!(
            field(SmtpConfig {
                port: Some(0),
                ..config()
            }),
            "port"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<SmtpConfig, _> = serde_json::from_value(serde_json::json!({
            "host": "smtp.example.com",
            "from_address": "a@example.com",
            "accept_invalid_certs": true,
        }));
        assert!(parsed.is_err());
    }
}
