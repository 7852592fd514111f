//! A delivery round's outcomes, written many rows per statement.
//!
//! Each statement is a round trip to SQLite's worker thread; one per row made
//! recording a round of 512 messages cost more than sending them. Outcomes are
//! grouped by kind and written as `UPDATE … FROM (VALUES …)`, in the few statement
//! shapes [`chunk_sizes`] allows, so prepared statements are reused.

use orbit_core::messaging::Channel;
use orbit_store::{SendUpdate, StoreError};
use sqlx::{AssertSqlSafe, Sqlite, Transaction};

use crate::{chunk_sizes, not_written, placeholders};

/// One bound value of an outcome row.
enum Bound<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

/// An outcome kind: what its statement sets, and how many values each row carries
/// (the row's id first, as `column1`).
struct Kind {
    set: &'static str,
    columns: usize,
}

static ACCEPTED: Kind = Kind {
    set: "state = 'accepted', channel = v.column2, account = v.column3, address = v.column4, \
          provider_message_id = v.column5, accepted_at = v.column6, attempts = sends.attempts + 1, \
          last_error = NULL, updated_at = v.column6",
    columns: 6,
};
static RETRY: Kind = Kind {
    set: "state = 'scheduled', next_attempt_at = v.column2, last_error = v.column3, \
          attempts = sends.attempts + v.column4, updated_at = v.column2",
    columns: 4,
};
static FAILED: Kind = Kind {
    set: "state = 'failed', channel = COALESCE(v.column2, sends.channel), last_error = v.column3, \
          attempts = sends.attempts + 1, updated_at = v.column4",
    columns: 4,
};
static AMBIGUOUS: Kind = Kind {
    set: "state = 'ambiguous', channel = v.column2, last_error = v.column3, \
          attempts = sends.attempts + 1, updated_at = v.column4",
    columns: 4,
};
static SUPPRESSED: Kind = Kind {
    set: "state = 'suppressed', suppression = v.column2, updated_at = v.column3",
    columns: 3,
};

fn row_of(update: &SendUpdate) -> (&'static Kind, Vec<Bound<'_>>) {
    use Bound::{Int, Text};
    match update {
        SendUpdate::Accepted {
            id,
            channel,
            account,
            address,
            provider_message_id,
            at,
        } => (
            &ACCEPTED,
            vec![
                Text(Some(id)),
                Text(Some(channel.as_str())),
                Text(Some(account.as_str())),
                Text(Some(address)),
                Text(provider_message_id.as_deref()),
                Int(at.as_millisecond()),
            ],
        ),
        SendUpdate::Retry {
            id,
            next_attempt_at,
            error,
            counts_as_attempt,
        } => (
            &RETRY,
            vec![
                Text(Some(id)),
                Int(next_attempt_at.as_millisecond()),
                Text(Some(error)),
                Int(i64::from(*counts_as_attempt)),
            ],
        ),
        SendUpdate::Failed {
            id,
            channel,
            error,
            at,
        } => (
            &FAILED,
            vec![
                Text(Some(id)),
                Text(channel.map(Channel::as_str)),
                Text(Some(error)),
                Int(at.as_millisecond()),
            ],
        ),
        SendUpdate::Ambiguous {
            id,
            channel,
            error,
            at,
        } => (
            &AMBIGUOUS,
            vec![
                Text(Some(id)),
                Text(Some(channel.as_str())),
                Text(Some(error)),
                Int(at.as_millisecond()),
            ],
        ),
        SendUpdate::Suppressed { id, reason, at } => (
            &SUPPRESSED,
            vec![
                Text(Some(id)),
                Text(Some(reason.as_str())),
                Int(at.as_millisecond()),
            ],
        ),
    }
}

/// Writes every outcome inside `tx`.
pub(crate) async fn write_outcomes(
    tx: &mut Transaction<'static, Sqlite>,
    updates: &[SendUpdate],
) -> Result<(), StoreError> {
    for kind in [&ACCEPTED, &RETRY, &FAILED, &AMBIGUOUS, &SUPPRESSED] {
        let rows: Vec<Vec<Bound<'_>>> = updates
            .iter()
            .map(row_of)
            .filter(|(k, _)| std::ptr::eq(*k, kind))
            .map(|(_, row)| row)
            .collect();
        let mut rest = rows.as_slice();
        for size in chunk_sizes(rows.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let sql = format!(
                "UPDATE sends SET {} FROM (VALUES {}) AS v WHERE sends.id = v.column1",
                kind.set,
                placeholders(size, kind.columns)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for bound in chunk.iter().flatten() {
                query = match bound {
                    Bound::Text(value) => query.bind(*value),
                    Bound::Int(value) => query.bind(*value),
                };
            }
            query.execute(&mut **tx).await.map_err(not_written)?;
        }
    }
    Ok(())
}
