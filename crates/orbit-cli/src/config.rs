//! Configuration: defaults, then `orbit.toml`, then `ORBIT_*` variables, then flags.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything `orbit serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory holding the database and the server secret.
    pub data_dir: PathBuf,
    /// `full` (default: an acknowledged event survives power loss) or `normal`
    /// (survives a crash of Orbit; a power loss may lose the last commits).
    pub durability: String,
    /// ISO 3166 region for phone numbers written without a country code.
    pub default_region: String,
    /// Events stamped more than this many hours after their receipt are refused.
    pub max_future_hours: u32,
    /// Log filter (`info`, `orbit=debug,info`…); `RUST_LOG` overrides it.
    pub log: String,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Run on a simulated clock stopped at this RFC 3339 time, moved only through
    /// `POST /v1/clock` (demos, scenario tests); unset means the wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_clock: Option<String>,
    /// Internal networks connectors may reach, comma-separated CIDRs
    /// (`10.0.0.0/8,127.0.0.1/32`); by default loopback, private, link-local and
    /// metadata addresses are refused.
    #[serde(default)]
    pub egress_allow: String,
    /// The URL people's phones and mail clients reach this server at
    /// (`https://orbit.example.cn`): tracked links, unsubscribe links and provider
    /// receipt URLs are made under it. Unset means `http://` and the listening
    /// address, which only this machine can reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Minutes between snapshots of the engine's memory, written when the log moved
    /// (one is also written at shutdown, and start-up replays only the log after the
    /// newest); 0 turns the schedule off.
    #[serde(default = "default_snapshot_every_minutes")]
    pub snapshot_every_minutes: u32,
    /// Also write a snapshot as soon as the log has grown by this many events since the
    /// last one; 0 turns this off.
    #[serde(default = "default_snapshot_every_events")]
    pub snapshot_every_events: u64,
}

fn default_snapshot_every_minutes() -> u32 {
    10
}

fn default_snapshot_every_events() -> u64 {
    1_000_000
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./orbit-data"),
            durability: "full".into(),
            default_region: "CN".into(),
            max_future_hours: 24,
            log: "info".into(),
            log_format: "text".into(),
            simulated_clock: None,
            egress_allow: String::new(),
            public_url: None,
            snapshot_every_minutes: default_snapshot_every_minutes(),
            snapshot_every_events: default_snapshot_every_events(),
        }
    }
}

impl Config {
    /// The settable keys, also as `ORBIT_<KEY>` variables.
    pub const KEYS: [&'static str; 12] = [
        "listen",
        "data_dir",
        "durability",
        "default_region",
        "max_future_hours",
        "log",
        "log_format",
        "simulated_clock",
        "egress_allow",
        "public_url",
        "snapshot_every_minutes",
        "snapshot_every_events",
    ];

    /// Layers the sources; `file` is `--config`, else `./orbit.toml` when it exists.
    pub fn load(file: Option<&Path>, overrides: &impl Serialize) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("orbit.toml")),
        }
        let config: Config = figment
            .merge(Env::prefixed("ORBIT_").only(&Self::KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("reading the configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.durability.as_str(), "full" | "normal") {
            bail!("durability must be full or normal, not {:?}", self.durability);
        }
        self.region()?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json, not {:?}", self.log_format);
        }
        self.simulated_start()?;
        self.egress()?;
        self.checked_public_url()?;
        Ok(())
    }

    fn checked_public_url(&self) -> anyhow::Result<Option<url::Url>> {
        let Some(raw) = &self.public_url else {
            return Ok(None);
        };
        let parsed =
            url::Url::parse(raw).map_err(|e| anyhow::anyhow!("public_url {raw:?} is not a URL: {e}"))?;
        let usable = matches!(parsed.scheme(), "http" | "https")
            && parsed.host().is_some()
            && parsed.query().is_none()
            && parsed.fragment().is_none();
        if !usable {
            bail!("public_url {raw:?} must be an http or https URL with a host and no query or fragment");
        }
        Ok(Some(parsed))
    }

    /// The public URL links are made under, given the address the server is bound to.
    pub fn public_url(&self, bound: SocketAddr) -> anyhow::Result<String> {
        Ok(match self.checked_public_url()? {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        })
    }

    /// The egress policy: internal addresses refused but for the allowed networks.
    pub fn egress(&self) -> anyhow::Result<orbit_channels::EgressPolicy> {
        let allowed = self
            .egress_allow
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|cidr| {
                cidr.parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("egress_allow: {cidr:?} is not a network (10.0.0.0/8) or an address")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(orbit_channels::EgressPolicy::allowing(allowed))
    }

    /// Where the simulated clock starts, when one was asked for.
    pub fn simulated_start(&self) -> anyhow::Result<Option<jiff::Timestamp>> {
        self.simulated_clock
            .as_deref()
            .map(|raw| {
                raw.parse::<jiff::Timestamp>()
                    .map_err(|e| anyhow::anyhow!("simulated_clock {raw:?} is not an RFC 3339 time: {e}"))
            })
            .transpose()
    }

    /// When snapshots of the engine's memory are written, besides at shutdown.
    pub fn snapshot_policy(&self) -> orbit_engine::snapshot::SnapshotPolicy {
        orbit_engine::snapshot::SnapshotPolicy {
            every: (self.snapshot_every_minutes > 0)
                .then(|| std::time::Duration::from_secs(u64::from(self.snapshot_every_minutes) * 60)),
            after_events: std::num::NonZeroU64::new(self.snapshot_every_events),
        }
    }

    /// The phone region, parsed.
    pub fn region(&self) -> anyhow::Result<phonenumber::country::Id> {
        self.default_region.parse().map_err(|_| {
            anyhow::anyhow!(
                "default_region {:?} is not an ISO 3166 region code",
                self.default_region
            )
        })
    }
}
