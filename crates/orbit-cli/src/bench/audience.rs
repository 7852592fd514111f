//! `orbit bench audience`: a segment evaluated by the audience index, beside the same
//! segment as SQL over SQLite on the same data.

use super::rate;
use clap::Args;
use orbit_core::audience::{
    Compare, Condition, Evaluation, EventCondition, EventMatch, Measure, TimeUnit, ValueTest, ValueType,
    Window,
};
use orbit_core::{EventKind, ProfileId};
use orbit_engine::audience::index::AudienceIndex;
use orbit_synthetic::Population;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::time::{Duration, Instant};

/// Options of `orbit bench audience`.
#[derive(Debug, Args)]
pub struct AudienceArgs {
    /// People to generate.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    profiles: u64,
    /// Days of history (about 1.1 events per person per day).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The benchmark's segment: two trait conditions, one tag, two behaviour conditions.
fn segment() -> Condition {
    let did = |event: &str, days: u32| {
        Condition::Event(EventCondition {
            matching: EventMatch {
                event: Some(event.to_owned()),
                filters: Vec::new(),
            },
            measure: Measure::Count {
                compare: Compare::Gte,
                value: 1.0,
            },
            window: Window::Last {
                amount: days,
                unit: TimeUnit::Days,
            },
        })
    };
    Condition::And {
        conditions: vec![
            Condition::Trait {
                name: "city".into(),
                value_type: ValueType::String,
                test: ValueTest::In {
                    values: vec![json!("重庆"), json!("成都"), json!("上海")],
                },
            },
            Condition::Trait {
                name: "age".into(),
                value_type: ValueType::Number,
                test: ValueTest::Between {
                    min: json!(22),
                    max: json!(45),
                },
            },
            Condition::Tag {
                tag: "channel".into(),
                values: vec![
                    "douyin".into(),
                    "xiaohongshu".into(),
                    "wechat_mini_program".into(),
                ],
            },
            did("order_paid", 14),
            did("product_viewed", 3),
        ],
    }
}

const SEGMENT_SQL: &str = "SELECT count(*) FROM profiles p \
    WHERE p.city IN ('重庆', '成都', '上海') AND p.age BETWEEN 22 AND 45 \
      AND p.channel IN ('douyin', 'xiaohongshu', 'wechat_mini_program') \
      AND EXISTS (SELECT 1 FROM events e WHERE e.profile = p.id AND e.name = 'order_paid' AND e.at > ?1 AND e.at <= ?3) \
      AND EXISTS (SELECT 1 FROM events e WHERE e.profile = p.id AND e.name = 'product_viewed' AND e.at > ?2 AND e.at <= ?3)";

/// A profile row of the SQL baseline: id, city, age, channel.
type SqlProfile = (i64, Option<String>, Option<i64>, Option<String>);

/// Rows per `INSERT` when loading SQLite: four columns each, under SQLite's limit of
/// 32,766 bound values.
const SQL_ROWS_PER_INSERT: usize = 4_000;

/// The process's resident memory, from /proc (0 where there is none).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4_096)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub async fn run(args: AudienceArgs) -> anyhow::Result<()> {
    let end: jiff::Timestamp = "2026-11-23T00:00:00Z".parse()?;
    let population = Population {
        profiles: usize::try_from(args.profiles)?,
        days: args.days,
        seed: args.seed,
        end,
    };
    // The index, loaded as the engine would from the log. People are generated one at a
    // time (twice: here and for SQLite) so that only the index is held in memory.
    let person = |i: usize| (ProfileId::mint(end, i as u128 + 1), population.events(i));
    let resident_before = resident_bytes();
    let mut loaded = Duration::ZERO;
    let mut events = 0usize;
    let mut position = 0i64;
    let mut index = AudienceIndex::default();
    for i in 0..population.profiles {
        let (id, history) = person(i);
        events += history.len();
        let started = Instant::now();
        for event in history {
            if event.kind == EventKind::Identify {
                let channel = event
                    .traits
                    .get("channel")
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_owned();
                index.set_traits(id, event.traits);
                index.set_tag(id, "channel", vec![channel]);
            }
            position += 1;
            index.record_event(
                id,
                event.at.as_millisecond(),
                position,
                event.name,
                &event.properties,
            );
        }
        loaded += started.elapsed();
    }
    println!(
        "audience: {} profiles, {events} events over {} days",
        args.profiles, args.days
    );
    let held = resident_bytes().saturating_sub(resident_before);
    println!(
        "  index     built event by event:  {:>12.0} events/s (the incremental update path)",
        rate(events, loaded),
    );
    println!(
        "  index     memory: {:.0} MiB resident = {:.0} bytes/event or {:.0} bytes/profile (timelines {:.0} bytes/event)",
        held as f64 / 1_048_576.0,
        held as f64 / events as f64,
        held as f64 / args.profiles as f64,
        index.timeline_bytes() as f64 / events as f64
    );

    // The same data in SQLite, indexed for the query.
    let dir = tempfile::tempdir()?;
    let mut db = SqliteConnectOptions::new()
        .filename(dir.path().join("bench.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .connect()
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE profiles (id INTEGER PRIMARY KEY, city TEXT, age INTEGER, channel TEXT);
         CREATE TABLE events (profile INTEGER NOT NULL, name TEXT, at INTEGER NOT NULL);",
    )
    .execute(&mut db)
    .await?;
    let mut tx = db.begin().await?;
    // Many rows per statement: one statement per row spends the load's time crossing
    // to SQLite's thread, not in SQLite.
    let mut profiles: Vec<SqlProfile> = Vec::new();
    let mut rows: Vec<(i64, Option<&'static str>, i64)> = Vec::new();
    for n in 0..population.profiles {
        let (_, history) = person(n);
        for event in &history {
            if event.kind == EventKind::Identify {
                let text = |key: &str| event.traits.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                let age = event.traits.get("age").and_then(serde_json::Value::as_i64);
                profiles.push((n as i64, text("city"), age, text("channel")));
            }
            rows.push((n as i64, event.name, event.at.as_millisecond()));
        }
        if rows.len() >= SQL_ROWS_PER_INSERT || n + 1 == population.profiles {
            for chunk in profiles.chunks(SQL_ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO profiles (id, city, age, channel) ");
                insert.push_values(chunk, |mut row, (id, city, age, channel)| {
                    row.push_bind(*id)
                        .push_bind(city.clone())
                        .push_bind(*age)
                        .push_bind(channel.clone());
                });
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in rows.chunks(SQL_ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO events (profile, name, at) ");
                insert.push_values(chunk, |mut row, (profile, name, at)| {
                    row.push_bind(*profile).push_bind(*name).push_bind(*at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            profiles.clear();
            rows.clear();
        }
    }
    tx.commit().await?;
    sqlx::raw_sql(
        "CREATE INDEX events_by_profile ON events (profile, name, at);
         CREATE INDEX profiles_by_city ON profiles (city, age); ANALYZE;",
    )
    .execute(&mut db)
    .await?;

    let at = Evaluation::new(end, jiff::tz::TimeZone::get("Asia/Shanghai")?);
    let condition = segment();
    let mut index_times = Vec::new();
    let mut members = 0;
    for _ in 0..7 {
        let started = Instant::now();
        members = index.members(&condition, &at).len();
        index_times.push(started.elapsed());
    }
    let day_ms = 86_400_000i64;
    let now_ms = end.as_millisecond();
    let mut sql_times = Vec::new();
    let mut sql_members = 0i64;
    for _ in 0..7 {
        let started = Instant::now();
        sql_members = sqlx::query_scalar(SEGMENT_SQL)
            .bind(now_ms - 14 * day_ms)
            .bind(now_ms - 3 * day_ms)
            .bind(now_ms)
            .fetch_one(&mut db)
            .await?;
        sql_times.push(started.elapsed());
    }
    anyhow::ensure!(
        sql_members == members as i64,
        "the index found {members} members, SQL {sql_members}"
    );
    let (index_time, sql_time) = (median(index_times), median(sql_times));
    println!("  segment   2 trait + 1 tag + 2 behaviour conditions, {members} members");
    println!(
        "  baseline  SQL over SQLite, indexed:  {:>10.2} ms",
        sql_time.as_secs_f64() * 1e3
    );
    println!(
        "  orbit     audience index:          {:>10.2} ms  ({:.2}x baseline time)",
        index_time.as_secs_f64() * 1e3,
        index_time.as_secs_f64() / sql_time.as_secs_f64()
    );
    Ok(())
}
