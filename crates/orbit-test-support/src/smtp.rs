//! A small, real SMTP server for tests (RFC 5321 with RFC 3207 `STARTTLS`, RFC 4954
//! `AUTH PLAIN`/`LOGIN`, RFC 6152 `8BITMIME`): it records what it accepted and can be
//! told to answer a given code at a given step, or to never answer the final `.`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A CA made for one test and a server certificate it signed for `localhost` and
/// `127.0.0.1`.
pub struct TestCa {
    /// The CA certificate, to be trusted by the client.
    pub ca_pem: String,
    acceptor: TlsAcceptor,
}

impl TestCa {
    /// Generates a CA and a server certificate.
    pub fn generate() -> Arc<Self> {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Orbit test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

        let leaf_key = KeyPair::generate().expect("server key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&leaf_key, &ca)
            .expect("server certificate");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server TLS config");
        Arc::new(Self {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// How the server protects its connections.
#[derive(Clone)]
pub enum Security {
    /// Plain text only.
    Plain,
    /// Plain text, upgraded on `STARTTLS`; `AUTH` is offered only after it.
    StartTls(Arc<TestCa>),
    /// TLS from the first byte.
    Implicit(Arc<TestCa>),
}

/// Where a fault is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In reply to `MAIL FROM`.
    Mail,
    /// In reply to `RCPT TO`.
    Rcpt,
    /// In reply to the final `.` of `DATA`.
    EndOfData,
}

/// A misbehaviour to play.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this whole reply line (`"451 4.7.1 try later"`) at a stage.
    Reply(Stage, &'static str),
    /// Close the connection instead of answering at a stage.
    Drop(Stage),
    /// Read the whole message, then never answer.
    HangAfterData,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub mail_from: String,
    /// The `MAIL FROM` parameters (`BODY=8BITMIME`, …).
    pub mail_parameters: String,
    /// The `RCPT TO` addresses.
    pub rcpt_to: Vec<String>,
    /// The message as transferred, dot-unstuffed.
    pub data: Vec<u8>,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The user authenticated, if any.
    pub user: Option<String>,
}

#[derive(Default)]
struct Recorded {
    connections: usize,
    messages: Vec<Received>,
    unanswered: Vec<Received>,
    mechanisms_used: Vec<String>,
}

struct Settings {
    security: Security,
    account: Option<(String, String)>,
    mechanisms: &'static str,
    fault: Option<Fault>,
}

/// Configures a server before it starts.
pub struct Builder {
    settings: Settings,
}

impl Builder {
    /// Protects the server as told.
    pub fn security(mut self, security: Security) -> Self {
        self.settings.security = security;
        self
    }

    /// Requires `AUTH` with this account before `MAIL`.
    pub fn account(mut self, user: &str, password: &str) -> Self {
        self.settings.account = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Offers these `AUTH` mechanisms (`"PLAIN LOGIN"` by default).
    pub fn mechanisms(mut self, mechanisms: &'static str) -> Self {
        self.settings.mechanisms = mechanisms;
        self
    }

    /// Plays a fault on every transaction.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.settings.fault = Some(fault);
        self
    }

    /// Binds 127.0.0.1 on a free port and serves until the test's runtime ends.
    pub async fn start(self) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let settings = Arc::new(self.settings);
        let accepted = Arc::clone(&recorded);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                lock(&accepted).connections += 1;
                let session = Session::new(Arc::clone(&settings), Arc::clone(&accepted));
                tokio::spawn(session.run(stream));
            }
        });
        SmtpServer { addr, recorded }
    }
}

/// A running server.
pub struct SmtpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Recorded>>,
}

impl SmtpServer {
    /// A plain-text server with no authentication and no fault.
    pub fn builder() -> Builder {
        Builder {
            settings: Settings {
                security: Security::Plain,
                account: None,
                mechanisms: "PLAIN LOGIN",
                fault: None,
            },
        }
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.recorded).messages.clone()
    }

    /// The messages read in full but never answered.
    pub fn unanswered(&self) -> Vec<Received> {
        lock(&self.recorded).unanswered.clone()
    }

    /// The `AUTH` mechanisms clients used, in order.
    pub fn auth_mechanisms_used(&self) -> Vec<String> {
        lock(&self.recorded).mechanisms_used.clone()
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        lock(&self.recorded).connections
    }
}

fn lock(recorded: &Mutex<Recorded>) -> std::sync::MutexGuard<'_, Recorded> {
    recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Messages are bounded so a runaway client cannot fill the test's memory.
const MAX_DATA: usize = 10 * 1024 * 1024;

struct Session {
    settings: Arc<Settings>,
    recorded: Arc<Mutex<Recorded>>,
    tls: bool,
    user: Option<String>,
    mail: Option<(String, String)>,
    rcpt: Vec<String>,
}

type Io = BufReader<Box<dyn Stream>>;

impl Session {
    fn new(settings: Arc<Settings>, recorded: Arc<Mutex<Recorded>>) -> Self {
        Self {
            settings,
            recorded,
            tls: false,
            user: None,
            mail: None,
            rcpt: Vec::new(),
        }
    }

    async fn run(mut self, stream: TcpStream) -> std::io::Result<()> {
        let stream: Box<dyn Stream> = match &self.settings.security {
            Security::Implicit(ca) => {
                self.tls = true;
                Box::new(ca.acceptor.accept(stream).await?)
            }
            Security::Plain | Security::StartTls(_) => Box::new(stream),
        };
        let mut io = BufReader::new(stream);
        reply(&mut io, "220 orbit-test ESMTP ready").await?;
        while let Some(line) = read_line(&mut io).await? {
            let line = String::from_utf8_lossy(&line).into_owned();
            let (verb, argument) = match line.split_once(' ') {
                Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.to_owned()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" => reply(&mut io, &self.capabilities()).await?,
                "HELO" => reply(&mut io, "250 orbit-test").await?,
                "STARTTLS" => match (&self.settings.security, self.tls) {
                    (Security::StartTls(ca), false) => {
                        let ca = Arc::clone(ca);
                        reply(&mut io, "220 2.0.0 Ready to start TLS").await?;
                        let tls = ca.acceptor.accept(io.into_inner()).await?;
                        io = BufReader::new(Box::new(tls));
                        // RFC 3207 §4.2: forget everything said before the upgrade.
                        self.tls = true;
                        self.user = None;
                        self.reset();
                    }
                    _ => reply(&mut io, "502 5.5.1 STARTTLS not available").await?,
                },
                "AUTH" => self.auth(&mut io, &argument).await?,
                "MAIL" => self.mail(&mut io, &argument).await?,
                "RCPT" => self.rcpt(&mut io, &argument).await?,
                "DATA" => {
                    if !self.data(&mut io).await? {
                        // Hanging: keep the connection open and silent for good.
                        std::future::pending::<()>().await;
                    }
                }
                "RSET" => {
                    self.reset();
                    reply(&mut io, "250 2.0.0 Ok").await?;
                }
                "NOOP" => reply(&mut io, "250 2.0.0 Ok").await?,
                "QUIT" => {
                    reply(&mut io, "221 2.0.0 Bye").await?;
                    break;
                }
                _ => reply(&mut io, "500 5.5.2 command not recognized").await?,
            }
        }
        Ok(())
    }

    fn auth_offered(&self) -> bool {
        let encrypted_if_needed = self.tls || matches!(self.settings.security, Security::Plain);
        self.settings.account.is_some() && encrypted_if_needed
    }

    fn capabilities(&self) -> String {
        let mut lines = vec!["orbit-test".to_owned(), "8BITMIME".to_owned()];
        if matches!(self.settings.security, Security::StartTls(_)) && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        if self.auth_offered() {
            lines.push(format!("AUTH {}", self.settings.mechanisms));
        }
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    async fn auth(&mut self, io: &mut Io, argument: &str) -> std::io::Result<()> {
        if !self.auth_offered() {
            return reply(io, "503 5.5.1 AUTH not available").await;
        }
        let (mechanism, initial) = match argument.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_owned())),
            None => (argument.to_ascii_uppercase(), None),
        };
        let offered = self.settings.mechanisms.split(' ').any(|m| m == mechanism);
        if !offered {
            return reply(io, "504 5.5.4 mechanism not supported").await;
        }
        lock(&self.recorded).mechanisms_used.push(mechanism.clone());
        let (user, password) = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => challenge(io, "334 ").await?,
                };
                let decoded = BASE64.decode(response.trim()).unwrap_or_default();
                // authzid NUL authcid NUL passwd (RFC 4616)
                let mut parts = decoded.split(|b| *b == 0).skip(1);
                let user = parts.next().unwrap_or_default().to_vec();
                let password = parts.next().unwrap_or_default().to_vec();
                (user, password)
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => u,
                    None => challenge(io, "334 VXNlcm5hbWU6").await?,
                };
                let password = challenge(io, "334 UGFzc3dvcmQ6").await?;
                (
                    BASE64.decode(user.trim()).unwrap_or_default(),
                    BASE64.decode(password.trim()).unwrap_or_default(),
                )
            }
            _ => return reply(io, "504 5.5.4 mechanism not supported").await,
        };
        let user = String::from_utf8_lossy(&user).into_owned();
        let password = String::from_utf8_lossy(&password).into_owned();
        if self.settings.account.as_ref() == Some(&(user.clone(), password)) {
            self.user = Some(user);
            reply(io, "235 2.7.0 Authentication successful").await
        } else {
            reply(io, "535 5.7.8 Authentication credentials invalid").await
        }
    }

    /// The reply to give at `stage` instead of the normal one; an error closes the
    /// connection.
    fn fault_at(&self, stage: Stage) -> std::io::Result<Option<&'static str>> {
        match &self.settings.fault {
            Some(Fault::Reply(at, line)) if *at == stage => Ok(Some(line)),
            Some(Fault::Drop(at)) if *at == stage => Err(std::io::ErrorKind::ConnectionAborted.into()),
            _ => Ok(None),
        }
    }

    async fn mail(&mut self, io: &mut Io, argument: &str) -> std::io::Result<()> {
        if self.settings.account.is_some() && self.user.is_none() {
            return reply(io, "530 5.7.0 Authentication required").await;
        }
        let Some((address, parameters)) = path(argument, "FROM:") else {
            return reply(io, "501 5.5.4 syntax: MAIL FROM:<address>").await;
        };
        if let Some(line) = self.fault_at(Stage::Mail)? {
            return reply(io, line).await;
        }
        self.mail = Some((address, parameters));
        self.rcpt.clear();
        reply(io, "250 2.1.0 Ok").await
    }

    async fn rcpt(&mut self, io: &mut Io, argument: &str) -> std::io::Result<()> {
        if self.mail.is_none() {
            return reply(io, "503 5.5.1 need MAIL first").await;
        }
        let Some((address, _)) = path(argument, "TO:") else {
            return reply(io, "501 5.5.4 syntax: RCPT TO:<address>").await;
        };
        if let Some(line) = self.fault_at(Stage::Rcpt)? {
            return reply(io, line).await;
        }
        self.rcpt.push(address);
        reply(io, "250 2.1.5 Ok").await
    }

    /// Reads a message; returns false when the server is to hang instead of answering.
    async fn data(&mut self, io: &mut Io) -> std::io::Result<bool> {
        if self.rcpt.is_empty() {
            reply(io, "503 5.5.1 need RCPT first").await?;
            return Ok(true);
        }
        reply(io, "354 End data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        loop {
            let mut line = Vec::new();
            if io.read_until(b'\n', &mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == b".\r\n" {
                break;
            }
            // RFC 5321 §4.5.2: a leading dot was doubled by the client.
            let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
            data.extend_from_slice(unstuffed);
            if data.len() > MAX_DATA {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
        }
        let (mail_from, mail_parameters) = self.mail.take().unwrap_or_default();
        let received = Received {
            mail_from,
            mail_parameters,
            rcpt_to: std::mem::take(&mut self.rcpt),
            data,
            tls: self.tls,
            user: self.user.clone(),
        };
        match &self.settings.fault {
            Some(Fault::HangAfterData) => {
                lock(&self.recorded).unanswered.push(received);
                return Ok(false);
            }
            Some(Fault::Drop(Stage::EndOfData)) => {
                lock(&self.recorded).unanswered.push(received);
                return Err(std::io::ErrorKind::ConnectionAborted.into());
            }
            Some(Fault::Reply(Stage::EndOfData, line)) => {
                reply(io, line).await?;
                return Ok(true);
            }
            _ => {}
        }
        let queued = {
            let mut recorded = lock(&self.recorded);
            recorded.messages.push(received);
            recorded.messages.len()
        };
        reply(io, &format!("250 2.0.0 Ok: queued as Q{queued}")).await?;
        Ok(true)
    }

    fn reset(&mut self) {
        self.mail = None;
        self.rcpt.clear();
    }
}

/// Splits `FROM:<a@b> BODY=8BITMIME` into the address and the parameters.
fn path(argument: &str, keyword: &str) -> Option<(String, String)> {
    let prefix = argument.get(..keyword.len())?;
    if !prefix.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let (address, parameters) = rest.split_once('>')?;
    Some((address.to_owned(), parameters.trim().to_owned()))
}

async fn read_line(io: &mut Io) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if io.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

async fn challenge(io: &mut Io, prompt: &str) -> std::io::Result<String> {
    reply(io, prompt).await?;
    let line = read_line(io).await?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    Ok(String::from_utf8_lossy(&line).into_owned())
}

async fn reply(io: &mut Io, line: &str) -> std::io::Result<()> {
    let stream = io.get_mut();
    stream.write_all(line.as_bytes()).await?;
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}
