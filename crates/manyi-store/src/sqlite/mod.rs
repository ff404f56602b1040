//! The SQLite backend: connection pools, pragmas, write transactions and migrations.
//!
//! SQLite allows one writer at a time. Rather than let several connections race for the write
//! lock (and fail with `SQLITE_BUSY` mid-transaction, which no busy timeout can fix once a
//! transaction has read and then tries to write), all writes go through a pool of exactly one
//! connection, queueing in the pool, and every write transaction starts with `BEGIN IMMEDIATE`
//! so it holds the write lock from its first statement. Reads use a separate pool of
//! `query_only` connections; in WAL mode they never block the writer nor wait for it.
//!
//! The SQL for each concern lives beside this file: `org.rs`, `auth.rs`, `policies.rs`,
//! `cases.rs`, `timers.rs`.

mod auth;
mod bulk;
mod calendar;
mod cases;
mod conduct;
mod dashboard;
mod deferred_indexes;
mod find;
mod group;
mod intake;
mod ledger;
mod org;
mod policies;
mod reads;
mod repeat;
mod rewards;
mod rollups;
mod stats;
mod survey_parties;
mod survey_rounds;
mod surveys;
mod timers;
mod web;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{Row, Sqlite, Transaction};

use crate::migrate;
use crate::rows::RowExt;
use crate::{StoreError, StoreOptions, Synchronous};

/// How long a statement waits for a lock held by another process (e.g. a CLI import running
/// beside the server) before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The shortest wait for a pooled SQLite connection. The database is a local file: it cannot
/// be unreachable, so a wait for a connection only means a burst is queueing (1,000
/// registrations at once on 2 cores wait several seconds). A short `--db-acquire-timeout`,
/// meant to surface a PostgreSQL outage quickly, would turn such a burst into 503s.
const SQLITE_MIN_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

fn sqlite_acquire_timeout(configured: Duration) -> Duration {
    configured.max(SQLITE_MIN_ACQUIRE_TIMEOUT)
}

/// The SQLite implementation of the store.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    /// Exactly one connection: SQLite's single writer, made explicit.
    write: SqlitePool,
    /// `query_only` connections for everything that does not write.
    read: SqlitePool,
    /// The queue of case writes waiting for the next group commit (`group.rs`).
    group: group::GroupCommit,
    /// What the group commit did (`crate::intake`), shared by the store's clones.
    pub(crate) intake: std::sync::Arc<crate::intake::IntakeCounters>,
}

impl SqliteStore {
    /// A trivial read on the read pool: the database file is there and answers.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub(crate) async fn connect(
        path: &Path,
        opts: &StoreOptions,
        url_redacted: &str,
    ) -> Result<Self, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url_redacted: url_redacted.to_owned(),
            source,
        };
        let synchronous = match opts.sqlite_synchronous {
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Normal => SqliteSynchronous::Normal,
        };
        let base = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(synchronous);

        // The writer opens first: it creates the file and switches it to WAL, which is
        // persistent in the file, so readers opened afterwards find it in place.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(sqlite_acquire_timeout(opts.acquire_timeout))
            // Keep the writer open for the life of the store: closing the last connection
            // checkpoints and removes the WAL, and reopening costs a round of pragmas.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // Refresh the planner's statistics (bounded work) when the store closes,
                    // as SQLite recommends for long-lived connections.
                    .optimize_on_close(true, 400),
            )
            .await
            .map_err(connect_error)?;

        // SQLite answers `PRAGMA journal_mode = WAL` with the mode it actually chose and keeps
        // the old one where WAL is impossible (some network file systems). Without WAL readers
        // would block the writer: refuse rather than run degraded.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&write)
            .await
            .map_err(connect_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            write.close().await;
            return Err(StoreError::Invalid {
                what: "SQLite database",
                reason: format!("cannot use WAL journaling here (journal mode is `{mode}`)"),
            });
        }

        let read = SqlitePoolOptions::new()
            .max_connections(opts.read_connections)
            .acquire_timeout(sqlite_acquire_timeout(opts.acquire_timeout))
            .connect_with(base.pragma("query_only", "ON"))
            .await
            .map_err(connect_error)?;

        tracing::info!(
            backend = "sqlite",
            url = url_redacted,
            read_connections = opts.read_connections,
            synchronous = ?opts.sqlite_synchronous,
            "store opened"
        );
        Ok(SqliteStore {
            write,
            read,
            group: group::GroupCommit::default(),
            intake: Default::default(),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        migrate::migrator(migrate::SQLITE).run(&self.write).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.group.close().await;
        self.read.close().await;
        self.write.close().await;
    }

    /// Starts a write transaction on the write connection with `BEGIN IMMEDIATE`.
    ///
    /// sqlx's [`Transaction`] is the rollback guard: committing consumes it; dropping it
    /// uncommitted — an early `?` return, a panic, or the caller's future being dropped
    /// mid-await — queues a `ROLLBACK` that the connection's worker runs before the connection
    /// serves anyone else. If the future is dropped during `BEGIN` itself, the worker rolls
    /// back as soon as `BEGIN` completes. So no path returns the write connection to the pool
    /// with a transaction open.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(crate) async fn raw_execute(&self, sql: &'static str) -> Result<u64, StoreError> {
        let done = sqlx::query(sql).execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}

impl RowExt for SqliteRow {
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }

    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }

    /// Flags are `INTEGER` 0/1 in SQLite (it has no boolean type).
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
        self.try_get(col)
    }

    /// JSON is `TEXT` in SQLite.
    fn json(&self, col: &str) -> Result<Value, sqlx::Error> {
        let Json(value) = self.try_get::<Json<Value>, _>(col)?;
        Ok(value)
    }
}

/// Decodes every row with `f`.
fn decode_all<T>(
    rows: &[SqliteRow],
    f: impl Fn(&SqliteRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewUnit, Store};

    async fn fresh() -> (tempfile::TempDir, Store, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("manyi.db");
        let store = Store::connect(path.to_str().expect("utf-8 path"), StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let crate::Backend::Sqlite(inner) = &store.backend else {
            unreachable!("a file path opens SQLite")
        };
        let inner = inner.clone();
        (dir, store, inner)
    }

    fn unit(code: &str) -> NewUnit {
        NewUnit {
            code: code.into(),
            name: code.into(),
            level: "HQ".into(),
            parent_code: None,
        }
    }

    #[tokio::test]
    async fn the_database_runs_in_wal_mode_with_foreign_keys_and_read_only_readers() {
        let (_dir, _store, sqlite) = fresh().await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&sqlite.read)
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&sqlite.read)
            .await
            .expect("pragma");
        assert_eq!(fk, 1);
        let write_through_reader = sqlx::query("DELETE FROM units").execute(&sqlite.read).await;
        assert!(write_through_reader.is_err(), "readers must be query_only");
    }

    #[tokio::test]
    async fn a_dropped_write_transaction_is_rolled_back_and_frees_the_writer() {
        let (_dir, store, sqlite) = fresh().await;
        {
            let mut tx = sqlite.write_tx().await.expect("begin");
            sqlx::query(
                "INSERT INTO units (code, name, level, path) VALUES ('ghost', 'g', 'L', '/9/')",
            )
            .execute(&mut *tx)
            .await
            .expect("insert");
            // dropped here without commit, as when a request future is cancelled
        }
        // The single write connection is usable at once and the ghost row never landed.
        let kept = tokio::time::timeout(Duration::from_secs(2), store.insert_unit(unit("hq")))
            .await
            .expect("the writer is free")
            .expect("insert after a dropped transaction");
        assert_eq!(kept.code, "hq");
        assert_eq!(store.unit_by_code("ghost").await.expect("read"), None);
    }

    #[tokio::test]
    async fn the_scheduler_reads_only_the_index_of_pending_timers() {
        let (_dir, _store, sqlite) = fresh().await;
        let plan = |sql: &'static str| {
            let read = sqlite.read.clone();
            async move {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                        .fetch_all(&read)
                        .await
                        .expect("explain");
                rows.into_iter()
                    .map(|(_, _, _, detail)| detail)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        // Placeholders left unbound are NULL, which changes nothing in the plan.
        for sql in [timers::DUE_TIMERS, timers::NEXT_DUE] {
            let plan = plan(sql).await;
            assert!(
                plan.contains("INDEX timers_pending_by_due"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "no sort step: {plan}");
        }
    }

    #[tokio::test]
    async fn a_users_open_cases_walk_the_index_of_open_cases_without_sorting() {
        let (_dir, _store, sqlite) = fresh().await;
        let filter = crate::CaseFilter {
            visible_to: Some(crate::Visibility {
                unit_path: "/1/2/".into(),
                user_id: 7,
            }),
            closed: Some(false),
            limit: 50,
            ..crate::CaseFilter::default()
        };
        let mut q = cases::list_query("EXPLAIN QUERY PLAN ", &filter, 50).expect("query");
        let rows: Vec<(i64, i64, i64, String)> = q
            .build_query_as()
            .fetch_all(&sqlite.read)
            .await
            .expect("explain");
        let plan = rows
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect::<Vec<_>>()
            .join("; ");
        assert!(plan.contains("cases_open_by_id"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort step: {plan}");
    }

    #[tokio::test]
    async fn a_users_open_cases_by_due_time_read_the_subtrees_range_of_the_due_index() {
        let (_dir, _store, sqlite) = fresh().await;
        let filter = crate::CaseFilter {
            visible_to: Some(crate::Visibility {
                unit_path: "/1/2/".into(),
                user_id: 7,
            }),
            closed: Some(false),
            order: crate::CaseOrder::Due,
            limit: 50,
            ..crate::CaseFilter::default()
        };
        let mut q = cases::list_query("EXPLAIN QUERY PLAN ", &filter, 50).expect("query");
        let rows: Vec<(i64, i64, i64, String)> = q
            .build_query_as()
            .fetch_all(&sqlite.read)
            .await
            .expect("explain");
        let plan = rows
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect::<Vec<_>>()
            .join("; ");
        // The subtree arm: a range of the covering due index, never the table.
        assert!(
            plan.contains(
                "USING COVERING INDEX cases_open_by_due (owner_unit_path>? AND owner_unit_path<?)"
            ),
            "{plan}"
        );
        // The first-contact arm: the person's own cases, by their index.
        assert!(plan.contains("cases_by_first_contact"), "{plan}");
    }

    #[tokio::test]
    async fn migrating_twice_changes_nothing() {
        let (_dir, store, _sqlite) = fresh().await;
        store.migrate().await.expect("second migrate is a no-op");
    }
}
