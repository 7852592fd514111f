//! Multi-row inserts with one statement per few thousand rows, padded to a few shapes.
//!
//! Every statement is a round trip to SQLite's connection thread, and on a busy machine
//! the round trip costs more than the rows it carries: the ingest commit used to spend
//! most of its time in fifteen-odd chunked inserts. A padded insert writes `n` rows in
//! one statement shaped for the next power of two, filling the unused rows with NULLs
//! that a `WHERE` drops, so each table needs at most one prepared statement per power
//! of two, reused from the statement cache (ADR 0012).

use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite};
use std::ops::Range;

/// SQLite's limit on bound values in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
const MOST_BOUND_VALUES: usize = 32_766;

/// An `INSERT` of many rows into fixed columns.
///
/// # Contract
/// The first column of every row is non-NULL (padding rows are told apart by it), and
/// rows are inserted in the order they are bound: the events' positions rely on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PaddedInsert {
    /// `INSERT [OR REPLACE] INTO table (a, b, …)`.
    into: &'static str,
    columns: usize,
}

impl PaddedInsert {
    /// An insert of `columns` values a row, headed by `into`.
    pub(crate) const fn new(into: &'static str, columns: usize) -> Self {
        Self { into, columns }
    }

    /// The most rows one statement takes: the largest power of two whose values fit.
    fn most_rows(&self) -> usize {
        let fit = MOST_BOUND_VALUES / self.columns.max(1);
        1 << fit.ilog2()
    }

    /// The rows of each statement for `n` rows, with the shape (rows bound) of each.
    pub(crate) fn statements(&self, n: usize) -> Vec<(Range<usize>, usize)> {
        let most = self.most_rows();
        (0..n)
            .step_by(most)
            .map(|start| {
                let end = (start + most).min(n);
                (start..end, (end - start).next_power_of_two())
            })
            .collect()
    }

    /// The statement's text for `shape` rows.
    pub(crate) fn sql(&self, shape: usize) -> String {
        let row = format!("({})", vec!["?"; self.columns].join(", "));
        let columns: Vec<String> = (1..=self.columns).map(|c| format!("column{c}")).collect();
        format!(
            "{} SELECT {} FROM (VALUES {}) WHERE column1 IS NOT NULL",
            self.into,
            columns.join(", "),
            vec![row; shape].join(", ")
        )
    }

    /// Appends the text of `statements`, each ended by `; `, to a multi-statement
    /// request.
    pub(crate) fn push_sql(&self, sql: &mut String, statements: &[(Range<usize>, usize)]) {
        for (_, shape) in statements {
            sql.push_str(&self.sql(*shape));
            sql.push_str("; ");
        }
    }

    /// The statement for `shape` rows.
    pub(crate) fn query(&self, shape: usize) -> Query<'static, Sqlite, SqliteArguments> {
        sqlx::query(AssertSqlSafe(self.sql(shape)))
    }

    /// Binds NULL rows until `bound` rows make up `shape`.
    pub(crate) fn pad(
        &self,
        mut query: Query<'static, Sqlite, SqliteArguments>,
        bound: usize,
        shape: usize,
    ) -> Query<'static, Sqlite, SqliteArguments> {
        for _ in bound * self.columns..shape * self.columns {
            query = query.bind(None::<i64>);
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Row, SqliteConnection};

    #[test]
    fn rows_are_split_into_few_shapes_that_fit_sqlite_s_limit() {
        let events = PaddedInsert::new("INSERT INTO t (a, b, c, d, e)", 5);
        assert_eq!(events.most_rows(), 4_096);
        assert_eq!(events.statements(0), vec![]);
        assert_eq!(events.statements(1), vec![(0..1, 1)]);
        assert_eq!(events.statements(800), vec![(0..800, 1_024)]);
        assert_eq!(
            events.statements(9_000),
            vec![(0..4_096, 4_096), (4_096..8_192, 4_096), (8_192..9_000, 1_024)]
        );
        let pairs = PaddedInsert::new("INSERT INTO t (a, b)", 2);
        assert_eq!(pairs.most_rows(), 8_192);
    }

    #[tokio::test]
    async fn padded_rows_are_dropped_and_the_rest_inserted_in_order() {
        let mut db = SqliteConnection::connect("sqlite::memory:").await.expect("opens");
        sqlx::raw_sql(
            "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, n INTEGER)",
        )
        .execute(&mut db)
        .await
        .expect("created");
        let insert = PaddedInsert::new("INSERT INTO t (name, n)", 2);
        let names: Vec<String> = (0..300).map(|i| format!("row-{:03}", 299 - i)).collect();
        let statements = insert.statements(names.len());
        let [(rows, shape)] = statements.as_slice() else {
            panic!("one statement")
        };
        let (rows, shape) = (rows.clone(), *shape);
        assert_eq!(shape, 512);
        let mut query = insert.query(shape);
        for (i, name) in names[rows.clone()].iter().enumerate() {
            query = query.bind(name.as_str()).bind(i as i64);
        }
        let done = insert
            .pad(query, rows.len(), shape)
            .execute(&mut db)
            .await
            .expect("inserted");
        assert_eq!(done.rows_affected(), 300);
        assert_eq!(done.last_insert_rowid(), 300);
        let stored = sqlx::query("SELECT seq, name, n FROM t ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .expect("read");
        for (i, row) in stored.iter().enumerate() {
            let (seq, name, n): (i64, String, i64) = (row.get(0), row.get(1), row.get(2));
            assert_eq!(
                (seq, name.as_str(), n),
                (i as i64 + 1, names[i].as_str(), i as i64)
            );
        }
    }
}
