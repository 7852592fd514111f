//! Date and schedule entries' state on SQLite: date entries set to fire after an event,
//! and each journey's mark of how far its occurrences are done. Written inside the
//! journey runner's batch transaction.

use crate::journey_runs::{MultiRow, encode, journey_id, profile_id};
use crate::messaging::{millis, workspace};
use crate::rows::RowQuery;
use crate::{SqliteStore, corrupt, not_written};
use orbit_core::journey::JourneyEvent;
use orbit_store::{DateTimerKey, DateTimerRecord, EntryMark, JourneyBatch, LogPosition, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

/// A date entry stored already is kept as it is: a replayed page of the log sets the
/// same ones again.
static DATE_TIMERS: MultiRow = MultiRow {
    head: "INSERT INTO journey_date_timers (workspace_id, journey_id, profile_id, position, due_at, event)",
    columns: 6,
    tail: "ON CONFLICT (workspace_id, journey_id, profile_id, position) DO NOTHING",
};

/// A mark replaces the journey's stored one.
static MARKS: MultiRow = MultiRow {
    head: "INSERT INTO journey_entry_marks (workspace_id, journey_id, done_until, progress_at, \
           progress_profile_id)",
    columns: 5,
    tail: "ON CONFLICT (workspace_id, journey_id) DO UPDATE SET done_until = excluded.done_until, \
           progress_at = excluded.progress_at, progress_profile_id = excluded.progress_profile_id",
};

/// A batch's entry rows, encoded before its transaction opens.
pub(crate) struct EntryRows<'a> {
    timers: Vec<(&'a DateTimerRecord, String)>,
    done: &'a [DateTimerKey],
    marks: &'a [EntryMark],
}

impl<'a> EntryRows<'a> {
    pub(crate) fn of(batch: &'a JourneyBatch) -> Result<Self, StoreError> {
        let timers = batch
            .date_timers
            .iter()
            .map(|t| Ok((t, encode("a date entry's event", &t.event)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            timers,
            done: &batch.date_timers_done,
            marks: &batch.marks,
        })
    }

    pub(crate) async fn write(self, tx: &mut Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        DATE_TIMERS.write(tx, self.timers, bind_timer).await?;
        for key in self.done {
            sqlx::query(
                "DELETE FROM journey_date_timers WHERE workspace_id = ? AND journey_id = ? \
                 AND profile_id = ? AND position = ?",
            )
            .bind(key.workspace_id.as_str())
            .bind(key.journey_id.as_str())
            .bind(key.profile_id.to_string())
            .bind(key.position.0)
            .execute(&mut **tx)
            .await
            .map_err(not_written)?;
        }
        MARKS.write(tx, self.marks.iter().collect(), bind_mark).await
    }
}

fn bind_timer(query: RowQuery, (timer, event): (&DateTimerRecord, String)) -> RowQuery {
    query
        .bind(timer.key.workspace_id.as_str())
        .bind(timer.key.journey_id.as_str())
        .bind(timer.key.profile_id.to_string())
        .bind(timer.key.position.0)
        .bind(timer.due_at.as_millisecond())
        .bind(event)
}

fn bind_mark(query: RowQuery, mark: &EntryMark) -> RowQuery {
    let (at, profile) = match &mark.in_progress {
        Some((at, profile)) => (Some(at.as_millisecond()), Some(profile.to_string())),
        None => (None, None),
    };
    query
        .bind(mark.workspace_id.as_str())
        .bind(mark.journey_id.as_str())
        .bind(mark.done_until.as_millisecond())
        .bind(at)
        .bind(profile)
}

fn decode_timer(row: &SqliteRow) -> Result<DateTimerRecord, StoreError> {
    let what = "journey date entry";
    let event: &str = row.try_get("event").map_err(|e| corrupt(what, e))?;
    let event: JourneyEvent = serde_json::from_str(event).map_err(|e| corrupt(what, e))?;
    Ok(DateTimerRecord {
        key: DateTimerKey {
            workspace_id: workspace(row, what)?,
            journey_id: journey_id(row, what)?,
            profile_id: profile_id(row, what)?,
            position: LogPosition(row.try_get("position").map_err(|e| corrupt(what, e))?),
        },
        due_at: millis(row, what, "due_at")?,
        event,
    })
}

fn decode_mark(row: &SqliteRow) -> Result<EntryMark, StoreError> {
    let what = "journey entry mark";
    let progress_at: Option<i64> = row.try_get("progress_at").map_err(|e| corrupt(what, e))?;
    let progress_profile: Option<String> =
        row.try_get("progress_profile_id").map_err(|e| corrupt(what, e))?;
    let in_progress = match (progress_at, progress_profile) {
        (Some(at), Some(profile)) => Some((
            jiff::Timestamp::from_millisecond(at).map_err(|e| corrupt(what, e))?,
            orbit_core::ProfileId::parse(&profile).map_err(|e| corrupt(what, e))?,
        )),
        _ => None,
    };
    Ok(EntryMark {
        workspace_id: workspace(row, what)?,
        journey_id: journey_id(row, what)?,
        done_until: millis(row, what, "done_until")?,
        in_progress,
    })
}

impl SqliteStore {
    pub(crate) async fn read_date_timers(&self) -> Result<Vec<DateTimerRecord>, StoreError> {
        sqlx::query("SELECT * FROM journey_date_timers")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_timer)
            .collect()
    }

    pub(crate) async fn read_entry_marks(&self) -> Result<Vec<EntryMark>, StoreError> {
        sqlx::query("SELECT * FROM journey_entry_marks")
            .fetch_all(&self.reader)
            .await
            .map_err(not_written)?
            .iter()
            .map(decode_mark)
            .collect()
    }
}
