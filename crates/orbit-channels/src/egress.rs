//! Guarded egress: every outgoing HTTP request of every connector goes through here.
//!
//! Workspace users choose webhook URLs and provider endpoints, so without a guard
//! Orbit would fetch whatever they point it at — the cloud metadata service, an admin
//! port on loopback, a database on the private network. The guard refuses loopback,
//! private, link-local, shared, multicast and reserved addresses unless the operator
//! allow-lists them. It is checked at configuration time (to give the user a clear
//! error), and again at send time on every address a name resolves to and on every
//! redirect hop, because DNS answers change.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Which otherwise-refused networks the operator allows connectors to reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allowed: Vec<IpNet>,
}

impl EgressPolicy {
    /// A policy that refuses every internal address.
    pub fn strict() -> Self {
        Self::default()
    }

    /// A policy that also allows the given networks (`127.0.0.1/32`, `10.0.0.0/8`).
    pub fn allowing(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// The networks allowed besides public addresses.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether a connection to `ip` may be made.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|net| net.contains(&ip)) || is_public(ip)
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), EgressRefused> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(EgressRefused {
                host: host.to_owned(),
                address: ip,
            })
        }
    }

    /// Checks a URL before it is stored: scheme, and every address its host
    /// resolves to now.
    pub async fn check_destination(&self, url: &Url) -> Result<(), DestinationError> {
        let host = self.check_scheme_and_literal(url)?;
        if let Some(host) = host {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| DestinationError::Unresolvable(format!("{host}: {e}")))?;
            for addr in addrs {
                self.check_ip(&host, addr.ip())?;
            }
        }
        Ok(())
    }

    /// Checks what can be checked without resolving: the scheme, and the host when it
    /// is an IP literal (reqwest does not consult the resolver for those). Returns the
    /// host name when it still has to be resolved.
    pub fn check_scheme_and_literal(&self, url: &Url) -> Result<Option<String>, DestinationError> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(DestinationError::Scheme(url.scheme().to_owned()));
        }
        match url.host() {
            None => Err(DestinationError::NoHost),
            Some(url::Host::Ipv4(ip)) => {
                self.check_ip(&ip.to_string(), IpAddr::V4(ip))?;
                Ok(None)
            }
            Some(url::Host::Ipv6(ip)) => {
                self.check_ip(&ip.to_string(), IpAddr::V6(ip))?;
                Ok(None)
            }
            Some(url::Host::Domain(name)) => {
                // "localhost" never needs DNS to be loopback; refuse it by name too.
                if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") {
                    self.check_ip(name, IpAddr::V4(Ipv4Addr::LOCALHOST))?;
                }
                Ok(Some(name.to_owned()))
            }
        }
    }

    /// An HTTP client whose every connection and redirect passes this policy.
    pub fn client(&self, timeout: Duration) -> Result<HttpClient, reqwest::Error> {
        let resolver = Arc::new(GuardedResolver { policy: self.clone() });
        let redirect_policy = self.clone();
        let inner = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .dns_resolver(resolver)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    return attempt.error("more than 5 redirects");
                }
                match redirect_policy.check_scheme_and_literal(attempt.url()) {
                    Ok(_) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .user_agent(concat!("orbit/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpClient {
            inner,
            policy: self.clone(),
        })
    }
}

/// A reqwest client bound to an egress policy.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    policy: EgressPolicy,
}

impl HttpClient {
    /// Starts a request after checking the URL's scheme and literal host; names are
    /// checked by the resolver when the connection is made.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, crate::SendError> {
        let parsed =
            Url::parse(url).map_err(|e| crate::SendError::permanent("url", format!("{url}: {e}")))?;
        self.policy
            .check_scheme_and_literal(&parsed)
            .map_err(|e| crate::SendError::permanent("egress_refused", e.to_string()))?;
        Ok(self.inner.request(method, parsed))
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }
}

/// A destination refused by the egress policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRefused {
    /// The host as written.
    pub host: String,
    /// The internal address it is or resolved to.
    pub address: IpAddr,
}

impl fmt::Display for EgressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {}, an internal address; an operator can allow it with --egress-allow",
            self.host, self.address
        )
    }
}

impl StdError for EgressRefused {}

/// Why a destination URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Only http and https are spoken.
    #[error("scheme {0} is not allowed; use http or https")]
    Scheme(String),
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The host did not resolve.
    #[error("could not resolve {0}")]
    Unresolvable(String),
    /// The host is internal.
    #[error(transparent)]
    Refused(#[from] EgressRefused),
}

/// Finds an egress refusal anywhere in a reqwest error's chain of causes.
pub fn refusal(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<EgressRefused>() {
            return Some(refused.to_string());
        }
        if let Some(refused) = e.downcast_ref::<DestinationError>() {
            return Some(refused.to_string());
        }
        source = e.source();
    }
    None
}

struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // Every address must pass: connecting to "the first public one" would let
            // a name with one public and one internal address through on a retry.
            for addr in &addrs {
                policy
                    .check_ip(&host, addr.ip())
                    .map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet (not loopback, private, shared,
/// link-local, multicast, documentation or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space; Alibaba metadata
        || (a == 169 && b == 254) // link-local; cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[0] == 0x64 && segments[1] == 0xff9b && segments[2..6] == [0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, incl. AWS fd00:ec2::254
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        let strict = EgressPolicy::strict();
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!strict.permits(ip(internal)), "{internal} should be refused");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2400:3200::1",
            "64:ff9b::808:808",
        ] {
            assert!(strict.permits(ip(public)), "{public} should pass");
        }
    }

    #[test]
    fn an_allow_list_opens_only_its_networks() {
        let policy = EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")]);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
        assert!(!policy.permits(ip("169.254.169.254")));
    }

    #[test]
    fn literals_and_schemes_are_checked_without_resolving() {
        let strict = EgressPolicy::strict();
        let check = |u: &str| strict.check_scheme_and_literal(&Url::parse(u).expect("url"));
        assert!(matches!(
            check("http://169.254.169.254/latest"),
            Err(DestinationError::Refused(_))
        ));
        assert!(matches!(
            check("http://[::1]:8080/"),
            Err(DestinationError::Refused(_))
        ));
        assert!(matches!(
            check("http://localhost:8080/"),
            Err(DestinationError::Refused(_))
        ));
        assert!(matches!(
            check("file:///etc/passwd"),
            Err(DestinationError::Scheme(_))
        ));
        assert_eq!(
            check("https://api.example.com/x"),
            Ok(Some("api.example.com".to_owned()))
        );
    }

    #[tokio::test]
    async fn the_client_refuses_a_name_that_resolves_to_loopback_and_a_redirect_into_it() {
        use axum::response::Redirect;
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new()
            .route(
                "/hop",
                get(|| async { Redirect::temporary("http://169.254.169.254/") }),
            )
            .route("/ok", get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });

        // By name: the resolver refuses every address of a name that is internal.
        let resolver = GuardedResolver {
            policy: EgressPolicy::strict(),
        };
        let name: Name = "localhost".parse().expect("name");
        let refused = resolver.resolve(name).await.err().expect("refused");
        assert!(refused.downcast_ref::<EgressRefused>().is_some(), "{refused:?}");

        // Allowed to reach the test server, but not to follow its redirect inward.
        let loopback = EgressPolicy::allowing(vec!["127.0.0.1/32".parse().expect("net")])
            .client(Duration::from_secs(5))
            .expect("client");
        let ok = loopback
            .request(reqwest::Method::GET, &format!("http://127.0.0.1:{port}/ok"))
            .expect("builder")
            .send()
            .await
            .expect("allowed");
        assert_eq!(ok.text().await.expect("body"), "ok");
        let hop = loopback
            .request(reqwest::Method::GET, &format!("http://127.0.0.1:{port}/hop"))
            .expect("builder")
            .send()
            .await
            .expect_err("redirect refused");
        assert!(refusal(&hop).is_some(), "{hop:?}");
    }
}
