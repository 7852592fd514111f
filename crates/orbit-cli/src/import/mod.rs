//! `orbit import events|profiles FILE`: bulk loading from JSONL or CSV.
//!
//! The file is streamed (one line or row in memory at a time, a bounded number of
//! batches in flight), each record goes through the same parsing and cleaning as the
//! HTTP API, and valid events are appended through the ingest pipeline, so identity
//! resolution and de-duplication are exactly those of live traffic. A record without
//! a `message_id` is named by a digest of its line: importing a file twice stores each
//! event once.

mod records;

use crate::config::Config;
use crate::data_dir;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use orbit_core::{Clock, NewEvent, SourceId, SystemClock, WorkspaceId};
use orbit_engine::{IngestPipeline, PipelineHandle};
use orbit_ingest::IngestContext;
use orbit_store::AppendOutcome;
use orbit_store_sqlite::Durability;
use records::RecordKind;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinHandle;

/// Events per append; a few are in flight at once.
const BATCH: usize = 1_000;
const IN_FLIGHT: usize = 4;
/// Rejected lines listed in the summary; the rest are counted (and all go to `--rejects`).
const LISTED_REJECTIONS: usize = 20;

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Events: one native-format event per JSONL line or CSV row (see docs/import.md).
    Events(ImportArgs),
    /// Profiles: identities and traits per JSONL line or CSV row, stored as identify events.
    Profiles(ImportArgs),
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated, with a header row naming the fields.
    Csv,
}

/// Options of `orbit import events|profiles`.
#[derive(Debug, Args, Serialize)]
pub struct ImportArgs {
    /// The file to import.
    #[serde(skip)]
    file: PathBuf,
    /// `jsonl` or `csv` [default: from the file name: .csv is CSV, anything else JSONL].
    #[arg(long, value_enum)]
    #[serde(skip)]
    format: Option<Format>,
    /// Data directory of a stopped server [default: ./orbit-data; env ORBIT_DATA_DIR].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Workspace to import into.
    #[arg(long, default_value = "default")]
    #[serde(skip)]
    workspace: String,
    /// Source the events are recorded as coming from.
    #[arg(long, default_value = "import")]
    #[serde(skip)]
    source: String,
    /// Write every rejected line here, as JSONL with its line number and reason.
    #[arg(long)]
    #[serde(skip)]
    rejects: Option<PathBuf>,
    /// Region for phone numbers without a country code [default: CN; env ORBIT_DEFAULT_REGION].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    default_region: Option<String>,
    /// A TOML configuration file [default: ./orbit.toml when present].
    #[arg(long)]
    #[serde(skip)]
    config: Option<PathBuf>,
}

/// A line that could not be imported.
#[derive(Debug, Serialize)]
struct Rejected {
    line: u64,
    field: String,
    code: &'static str,
    message: String,
}

/// Counts as the import goes.
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    stored: u64,
    duplicates: u64,
    rejected: u64,
    listed: Vec<Rejected>,
}

/// Runs an import and prints its summary.
pub async fn run(command: ImportCommand) -> anyhow::Result<()> {
    let (kind, args) = match command {
        ImportCommand::Events(args) => (RecordKind::Events, args),
        ImportCommand::Profiles(args) => (RecordKind::Profiles, args),
    };
    let config = Config::load(args.config.as_deref(), &args)?;
    if SourceId::parse(&args.source).is_ok_and(|s| s.is_system()) {
        anyhow::bail!("--source orbit is reserved for the events Orbit appends itself");
    }
    let ctx = IngestContext {
        workspace_id: WorkspaceId::parse(&args.workspace).map_err(|e| anyhow::anyhow!("--workspace: {e}"))?,
        source_id: SourceId::parse(&args.source).map_err(|e| anyhow::anyhow!("--source: {e}"))?,
        received_at: SystemClock.now(),
        default_region: config.default_region,
        max_future: orbit_ingest::DEFAULT_MAX_FUTURE,
        body_bytes: None,
    };
    let format = args.format.unwrap_or_else(|| format_of(&args.file));
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);

    let _lock = data_dir::lock(&config.data_dir)?;
    let (store, _) = data_dir::open(&config.data_dir, Durability::Full).await?;
    let stores = store.into_stores();
    let pipeline = IngestPipeline::start(stores, Arc::new(SystemClock))
        .await
        .context("starting the ingest pipeline")?;

    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )?
        .progress_chars("=> "),
    );
    let mut rejects = args
        .rejects
        .as_deref()
        .map(|path| std::fs::File::create(path).with_context(|| format!("creating {}", path.display())))
        .transpose()?
        .map(std::io::BufWriter::new);
    let started = Instant::now();
    let mut importer = Importer {
        kind,
        ctx,
        pipeline,
        batch: Vec::with_capacity(BATCH),
        in_flight: VecDeque::new(),
        tally: Tally::default(),
        rejects: rejects.as_mut(),
        bar: &bar,
    };
    let reader = BufReader::with_capacity(1 << 16, bar.wrap_read(file));
    match format {
        Format::Jsonl => importer.read_jsonl(reader).await?,
        Format::Csv => importer.read_csv(reader).await?,
    }
    importer.flush().await?;
    while let Some(batch) = importer.in_flight.pop_front() {
        importer.settle(batch).await?;
    }
    let tally = std::mem::take(&mut importer.tally);
    drop(importer);
    if let Some(mut writer) = rejects {
        writer.flush()?;
    }
    bar.finish_and_clear();
    print_summary(&args.file, kind, &tally, started.elapsed());
    Ok(())
}

fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
        _ => Format::Jsonl,
    }
}

type Appending = JoinHandle<Result<Vec<AppendOutcome>, orbit_engine::EngineError>>;

struct Importer<'a> {
    kind: RecordKind,
    ctx: IngestContext,
    pipeline: PipelineHandle,
    batch: Vec<NewEvent>,
    in_flight: VecDeque<Appending>,
    tally: Tally,
    rejects: Option<&'a mut std::io::BufWriter<std::fs::File>>,
    bar: &'a ProgressBar,
}

impl Importer<'_> {
    async fn read_jsonl(&mut self, mut reader: impl BufRead) -> anyhow::Result<()> {
        let mut line = String::new();
        let mut number = 0u64;
        loop {
            line.clear();
            if reader.read_line(&mut line).context("reading the file")? == 0 {
                return Ok(());
            }
            number += 1;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let record =
                serde_json::from_str::<Value>(text).map_err(|e| problem("invalid_json", e.to_string()));
            self.take(number, text.as_bytes(), record).await?;
        }
    }

    async fn read_csv(&mut self, reader: impl std::io::Read) -> anyhow::Result<()> {
        let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
        let headers: Vec<String> = csv
            .headers()
            .context("reading the CSV header")?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let mut row = csv::StringRecord::new();
        loop {
            // Where the next record starts, for errors that come before it is read.
            let line = csv.position().line();
            match csv.read_record(&mut row) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    // A quoted field may span lines: a record is named by its first line.
                    let line = row.position().map_or(line, csv::Position::line);
                    let digest_input = row.as_slice().as_bytes().to_vec();
                    let record =
                        records::csv_row(self.kind, &headers, &row).map_err(|e| problem("invalid_column", e));
                    self.take(line, &digest_input, record).await?;
                }
                // A malformed row (wrong number of fields, bad UTF-8) is one rejected line.
                Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    let line = e.position().map_or(line, csv::Position::line);
                    self.tally.read += 1;
                    self.reject(line, problem("invalid_csv", e.to_string()))?;
                }
                Err(e) => return Err(e).context("reading the file"),
            }
        }
    }

    /// One record: parsed, cleaned, batched; or rejected with its line number.
    async fn take(&mut self, line: u64, raw: &[u8], record: Result<Value, Problem>) -> anyhow::Result<()> {
        self.tally.read += 1;
        let digest = blake3::hash(raw).to_hex();
        let event = record
            .and_then(|r| {
                records::to_event(self.kind, r, &digest[..32]).map_err(|e| problem("invalid_record", e))
            })
            .and_then(|value| {
                orbit_ingest::native::parse_event(value, &self.ctx).map_err(|e| Problem {
                    field: e.field,
                    code: e.code.as_str(),
                    message: e.message,
                })
            });
        match event {
            Ok(event) => {
                self.batch.push(event);
                if self.batch.len() >= BATCH {
                    self.flush().await?;
                }
            }
            Err(p) => self.reject(line, p)?,
        }
        if self.tally.read.is_multiple_of(1_000) {
            self.bar.set_message(format!(
                "{} stored, {} duplicate, {} rejected",
                self.tally.stored, self.tally.duplicates, self.tally.rejected
            ));
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, problem: Problem) -> anyhow::Result<()> {
        self.tally.rejected += 1;
        let rejected = Rejected {
            line,
            field: problem.field,
            code: problem.code,
            message: problem.message,
        };
        if let Some(writer) = self.rejects.as_mut() {
            serde_json::to_writer(&mut **writer, &rejected)?;
            writer.write_all(b"\n")?;
        }
        if self.tally.listed.len() < LISTED_REJECTIONS {
            self.tally.listed.push(rejected);
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if self.in_flight.len() >= IN_FLIGHT
            && let Some(oldest) = self.in_flight.pop_front()
        {
            self.settle(oldest).await?;
        }
        let events = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let pipeline = self.pipeline.clone();
        self.in_flight
            .push_back(tokio::spawn(async move { pipeline.append(events).await }));
        Ok(())
    }

    async fn settle(&mut self, appending: Appending) -> anyhow::Result<()> {
        let outcomes = appending
            .await
            .context("an append task failed")?
            .context("storing events")?;
        for outcome in outcomes {
            match outcome {
                AppendOutcome::Appended(_) => self.tally.stored += 1,
                AppendOutcome::Duplicate => self.tally.duplicates += 1,
            }
        }
        Ok(())
    }
}

/// Why a record was refused, before its line number is attached.
struct Problem {
    field: String,
    code: &'static str,
    message: String,
}

/// A problem with the record as a whole.
fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        field: String::new(),
        code,
        message: message.into(),
    }
}

fn print_summary(file: &Path, kind: RecordKind, tally: &Tally, elapsed: std::time::Duration) {
    let what = match kind {
        RecordKind::Events => "events",
        RecordKind::Profiles => "profiles",
    };
    let rate = tally.read as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "imported {} {what} from {} in {:.1}s ({rate:.0} lines/s): {} stored, {} duplicates, {} rejected",
        tally.read,
        file.display(),
        elapsed.as_secs_f64(),
        tally.stored,
        tally.duplicates,
        tally.rejected
    );
    if !tally.listed.is_empty() {
        println!("rejected lines:");
        for r in &tally.listed {
            let field = if r.field.is_empty() {
                String::new()
            } else {
                format!("{}: ", r.field)
            };
            println!("  line {}: {field}{} ({})", r.line, r.message, r.code);
        }
        let more = tally.rejected - tally.listed.len() as u64;
        if more > 0 {
            println!("  … and {more} more");
        }
    }
}
