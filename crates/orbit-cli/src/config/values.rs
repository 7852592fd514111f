//! The typed values of the configuration and how each is written in its sources.
//!
//! Keys and spellings are those of the flags, `ORBIT_*` variables and `orbit.toml`
//! (`max_future_hours = 24`, `snapshot_every_minutes = 0` for off, networks as one
//! comma-separated string); past this module they are durations, options and networks.
//! A value that does not parse fails with a message figment attaches to the key and
//! the source it came from.

use ipnet::IpNet;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// An acknowledged event survives power loss.
    Full,
    /// Survives a crash of Orbit; a power loss may lose the last commits.
    Normal,
}

impl From<Durability> for orbit_store_sqlite::Durability {
    fn from(durability: Durability) -> Self {
        match durability {
            Durability::Full => Self::Full,
            Durability::Normal => Self::Normal,
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Normal => "normal",
        })
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people reading a terminal.
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Deserializes a string and parses it, the error naming what was expected.
fn parse_text<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = String::deserialize(deserializer)?;
    parse(&raw).map_err(de::Error::custom)
}

/// An ISO 3166 region code (`CN`).
pub mod region {
    use super::*;
    use phonenumber::country::Id;

    pub fn serialize<S: Serializer>(region: &Id, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(region.as_ref())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        parse_text(deserializer, |raw| {
            raw.parse()
                .map_err(|_| format!("{raw:?} is not an ISO 3166 region code"))
        })
    }
}

/// A whole number of hours.
pub mod hours {
    use super::*;
    use jiff::SignedDuration;

    pub fn serialize<S: Serializer>(duration: &SignedDuration, serializer: S) -> Result<S::Ok, S::Error> {
        let hours = u32::try_from(duration.as_hours()).map_err(serde::ser::Error::custom)?;
        serializer.serialize_u32(hours)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SignedDuration, D::Error> {
        Ok(SignedDuration::from_hours(i64::from(u32::deserialize(
            deserializer,
        )?)))
    }
}

/// A whole number of minutes, at least one.
pub mod minutes {
    use super::*;
    use jiff::SignedDuration;

    pub fn serialize<S: Serializer>(duration: &SignedDuration, serializer: S) -> Result<S::Ok, S::Error> {
        let minutes = u32::try_from(duration.as_mins()).map_err(serde::ser::Error::custom)?;
        serializer.serialize_u32(minutes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SignedDuration, D::Error> {
        let minutes = u32::deserialize(deserializer)?;
        if minutes == 0 {
            return Err(serde::de::Error::custom("must be at least 1"));
        }
        Ok(SignedDuration::from_mins(i64::from(minutes)))
    }
}

/// A whole number of minutes, 0 meaning never.
pub mod minutes_or_off {
    use super::*;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(every: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        let minutes = every.map_or(0, |every| every.as_secs() / 60);
        serializer.serialize_u64(minutes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let minutes = u32::deserialize(deserializer)?;
        Ok((minutes > 0).then(|| Duration::from_secs(u64::from(minutes) * 60)))
    }
}

/// A count, 0 meaning never.
pub mod count_or_off {
    use super::*;
    use std::num::NonZeroU64;

    pub fn serialize<S: Serializer>(count: &Option<NonZeroU64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(count.map_or(0, NonZeroU64::get))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NonZeroU64>, D::Error> {
        Ok(NonZeroU64::new(u64::deserialize(deserializer)?))
    }
}

/// An RFC 3339 time, when one is set.
pub mod optional_time {
    use super::*;
    use jiff::Timestamp;

    pub fn serialize<S: Serializer>(time: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_str(&time.to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
        parse_text(deserializer, |raw| {
            raw.parse()
                .map(Some)
                .map_err(|e| format!("{raw:?} is not an RFC 3339 time: {e}"))
        })
    }
}

/// An http or https URL with a host and no query or fragment, when one is set.
pub mod optional_public_url {
    use super::*;
    use url::Url;

    pub fn serialize<S: Serializer>(url: &Option<Url>, serializer: S) -> Result<S::Ok, S::Error> {
        match url {
            Some(url) => serializer.serialize_str(url.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Url>, D::Error> {
        parse_text(deserializer, |raw| {
            let parsed = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
            let usable = matches!(parsed.scheme(), "http" | "https")
                && parsed.host().is_some()
                && parsed.query().is_none()
                && parsed.fragment().is_none();
            if !usable {
                return Err(format!(
                    "{raw:?} must be an http or https URL with a host and no query or fragment"
                ));
            }
            Ok(Some(parsed))
        })
    }
}

/// Networks, as one comma-separated string (`10.0.0.0/8,127.0.0.1`) or a list; a bare
/// address is the network of that one address.
pub mod networks {
    use super::*;

    pub fn serialize<S: Serializer>(networks: &[IpNet], serializer: S) -> Result<S::Ok, S::Error> {
        let joined: Vec<String> = networks.iter().map(IpNet::to_string).collect();
        serializer.serialize_str(&joined.join(","))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
        deserializer.deserialize_any(NetworksVisitor)
    }

    struct NetworksVisitor;

    impl<'de> Visitor<'de> for NetworksVisitor {
        type Value = Vec<IpNet>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("comma-separated networks (10.0.0.0/8) or addresses, or a list of them")
        }

        fn visit_str<E: de::Error>(self, joined: &str) -> Result<Self::Value, E> {
            joined
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(parse_network)
                .collect::<Result<_, _>>()
                .map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
            let mut networks = Vec::new();
            while let Some(entry) = entries.next_element::<String>()? {
                networks.push(parse_network(entry.trim()).map_err(de::Error::custom)?);
            }
            Ok(networks)
        }
    }

    fn parse_network(entry: &str) -> Result<IpNet, String> {
        entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{entry:?} is not a network (10.0.0.0/8) or an address"))
    }
}
