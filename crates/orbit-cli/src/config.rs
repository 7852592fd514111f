//! Configuration: defaults, then `orbit.toml`, then `ORBIT_*` variables, then flags.
//!
//! The layers are merged and parsed once, at start-up, into [`Config`]; a value that
//! does not parse stops start-up with an error naming the flag, the variable or the
//! file key it was read from.

#[cfg(test)]
mod tests;
mod values;

pub use values::{Durability, LogFormat};

use anyhow::bail;
use figment::error::{Kind, OneOf};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    pub durability: Durability,
    /// ISO 3166 region for phone numbers written without a country code.
    #[serde(with = "values::region")]
    pub default_region: phonenumber::country::Id,
    /// Events stamped further than this after their receipt are refused; written as
    /// whole hours (`max_future_hours`).
    #[serde(rename = "max_future_hours", with = "values::hours")]
    pub max_future: jiff::SignedDuration,
    /// Log filter (`info`, `orbit=debug,info`…); `RUST_LOG` overrides it.
    pub log: String,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Run on a simulated clock stopped at this RFC 3339 time, moved only through
    /// `POST /v1/clock` (demos, scenario tests); unset means the wall clock.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "values::optional_time"
    )]
    pub simulated_clock: Option<jiff::Timestamp>,
    /// Internal networks connectors may reach, as comma-separated CIDRs or addresses
    /// (`10.0.0.0/8,127.0.0.1`) or, in `orbit.toml`, a list of them; by default
    /// loopback, private, link-local and metadata addresses are refused.
    #[serde(with = "values::networks")]
    pub egress_allow: Vec<ipnet::IpNet>,
    /// The URL people's phones and mail clients reach this server at
    /// (`https://orbit.example.cn`): tracked links, unsubscribe links and provider
    /// receipt URLs are made under it. Unset means `http://` and the listening
    /// address, which only this machine can reach.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "values::optional_public_url"
    )]
    pub public_url: Option<url::Url>,
    /// Time between snapshots of the engine's memory, written when the log moved (one
    /// is also written at shutdown, and start-up replays only the log after the
    /// newest); written as whole minutes (`snapshot_every_minutes`), 0 for none.
    #[serde(rename = "snapshot_every_minutes", with = "values::minutes_or_off")]
    pub snapshot_every: Option<Duration>,
    /// Also write a snapshot as soon as the log has grown by this many events since the
    /// last one; 0 in the sources turns this off.
    #[serde(with = "values::count_or_off")]
    pub snapshot_every_events: Option<NonZeroU64>,
    /// A console session ends after this long without a request; written as whole
    /// minutes (`session_idle_minutes`).
    #[serde(rename = "session_idle_minutes", with = "values::minutes")]
    pub session_idle: jiff::SignedDuration,
    /// A console session ends this long after login however active it is; written as
    /// whole hours (`session_hours`).
    #[serde(rename = "session_hours", with = "values::hours")]
    pub session_lifetime: jiff::SignedDuration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./orbit-data"),
            durability: Durability::Full,
            default_region: phonenumber::country::Id::CN,
            max_future: jiff::SignedDuration::from_hours(24),
            log: "info".into(),
            log_format: LogFormat::Text,
            simulated_clock: None,
            egress_allow: Vec::new(),
            public_url: None,
            snapshot_every: Some(Duration::from_secs(10 * 60)),
            snapshot_every_events: NonZeroU64::new(1_000_000),
            session_idle: jiff::SignedDuration::from_hours(8),
            session_lifetime: jiff::SignedDuration::from_hours(24),
        }
    }
}

impl Config {
    /// The settable keys, also as `ORBIT_<KEY>` variables.
    pub const KEYS: [&'static str; 14] = [
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
        "session_idle_minutes",
        "session_hours",
    ];

    /// Layers the sources; `file` is `--config`, else `./orbit.toml` when it exists;
    /// `flags` are the command line's options, those not given left out.
    ///
    /// # Errors
    ///
    /// When `file` does not exist, or a value does not parse: the error names each
    /// such value as its source spells it (`--log-format`, `ORBIT_DURABILITY`, or the
    /// key and the file).
    pub fn load(file: Option<&Path>, flags: &impl Serialize) -> anyhow::Result<Self> {
        let toml = match file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                Toml::file(path)
            }
            None => Toml::file("orbit.toml"),
        };
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Spelled::file_keys(toml))
            .merge(Spelled::variables(Env::prefixed("ORBIT_").only(&Self::KEYS)))
            .merge(Spelled::flags(Serialized::defaults(flags)))
            .extract()
            .map_err(naming_each_source)
    }

    /// The public URL links are made under, given the address the server is bound to.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// The egress policy: internal addresses refused but for the allowed networks.
    pub fn egress(&self) -> orbit_channels::EgressPolicy {
        orbit_channels::EgressPolicy::allowing(self.egress_allow.clone())
    }

    /// How long console sessions last.
    pub fn session_policy(&self) -> orbit_engine::service::SessionPolicy {
        orbit_engine::service::SessionPolicy {
            idle: self.session_idle,
            lifetime: self.session_lifetime.max(jiff::SignedDuration::from_hours(1)),
        }
    }

    /// When snapshots of the engine's memory are written, besides at shutdown.
    pub fn snapshot_policy(&self) -> orbit_engine::snapshot::SnapshotPolicy {
        orbit_engine::snapshot::SnapshotPolicy {
            every: self.snapshot_every,
            after_events: self.snapshot_every_events,
        }
    }
}

/// A layer whose keys, in errors, are spelled as its source spells them.
///
/// figment finds the layer a faulty value came from; this decides how that layer
/// names the value: `--max-future-hours`, `ORBIT_MAX_FUTURE_HOURS`, or
/// `max_future_hours` and the file's path.
struct Spelled<P> {
    layer: P,
    label: fn(Metadata) -> Metadata,
}

impl<P: Provider> Spelled<P> {
    fn flags(layer: P) -> Self {
        let label: fn(Metadata) -> Metadata = |_| {
            Metadata::named("flag")
                .interpolater(|_: &Profile, keys: &[&str]| format!("--{}", keys.join("-").replace('_', "-")))
        };
        Self { layer, label }
    }

    fn variables(layer: P) -> Self {
        let label: fn(Metadata) -> Metadata = |_| {
            Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
                format!("ORBIT_{}", keys.join("__").to_ascii_uppercase())
            })
        };
        Self { layer, label }
    }

    /// Keeps the file's own name and path; only the key loses its profile prefix.
    fn file_keys(layer: P) -> Self {
        let label: fn(Metadata) -> Metadata =
            |metadata| metadata.interpolater(|_: &Profile, keys: &[&str]| keys.join("."));
        Self { layer, label }
    }
}

impl<P: Provider> Provider for Spelled<P> {
    fn metadata(&self) -> Metadata {
        (self.label)(self.layer.metadata())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.layer.data()
    }

    fn profile(&self) -> Option<Profile> {
        self.layer.profile()
    }
}

/// One line per faulty value: `flag --log-format: …`, `environment variable
/// ORBIT_DURABILITY: …`, `egress_allow in orbit.toml: …`.
fn naming_each_source(errors: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|error| {
            let Some(metadata) = &error.metadata else {
                return error.to_string();
            };
            let profile = error.profile.clone().unwrap_or_default();
            let key = metadata.interpolate(&profile, &error.path);
            let problem = describe(&error.kind);
            match (&metadata.source, error.path.is_empty()) {
                (Some(source), false) => format!("{key} in {source}: {problem}"),
                (Some(source), true) => format!("{source}: {problem}"),
                (None, false) => format!("{} {key}: {problem}", metadata.name),
                (None, true) => format!("{}: {problem}", metadata.name),
            }
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
}

/// figment's wording, without the doubled backquotes it puts around a list of names.
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::UnknownVariant(found, expected) => {
            format!("unknown value `{found}`, expected {}", OneOf(expected))
        }
        Kind::UnknownField(found, expected) => format!("unknown key `{found}`, expected {}", OneOf(expected)),
        other => other.to_string(),
    }
}
