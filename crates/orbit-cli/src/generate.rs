//! `orbit generate`: synthetic customers as event lines that `orbit import events` and
//! `POST /v1/events` take.

use anyhow::Context;
use clap::Args;
use orbit_core::EventKind;
use orbit_core::clock::{Clock, SystemClock};
use orbit_synthetic::{Population, SyntheticEvent};
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Options of `orbit generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many people.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    profiles: u64,
    /// Days of history.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// The seed: the same seed writes the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// When the history ends (RFC 3339); default: now.
    #[arg(long)]
    end: Option<jiff::Timestamp>,
    /// Where to write the lines; default: standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// One event in the native format.
pub fn native_line(event: &SyntheticEvent) -> Value {
    let mut line = json!({
        "type": match event.kind {
            EventKind::Identify => "identify",
            _ => "track",
        },
        "message_id": event.message_id,
        "timestamp": event.at.to_string(),
        "anonymous_id": event.anonymous_id,
        "identities": {"device_id": event.device_id},
    });
    if let Some(name) = event.name {
        line["event"] = json!(name);
    }
    if let Some(user) = &event.user_id {
        line["user_id"] = json!(user);
    }
    if !event.properties.is_empty() {
        line["properties"] = Value::Object(event.properties.clone());
    }
    if !event.traits.is_empty() {
        line["traits"] = Value::Object(event.traits.clone());
    }
    line
}

/// Writes the population's events, person by person, each person's in time order.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let population = Population {
        profiles: usize::try_from(args.profiles)?,
        days: args.days,
        seed: args.seed,
        end: args.end.unwrap_or_else(|| SystemClock.now()),
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let mut events = 0usize;
    for person in 0..population.profiles {
        for event in population.events(person) {
            serde_json::to_writer(&mut out, &native_line(&event))?;
            out.write_all(b"\n")?;
            events += 1;
        }
    }
    out.flush()?;
    eprintln!(
        "generated {events} events for {} people over {} days (seed {})",
        population.profiles, population.days, population.seed
    );
    Ok(())
}
