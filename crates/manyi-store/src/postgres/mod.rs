//! The PostgreSQL backend: one connection pool, transactions, cross-instance locks, migrations.
//!
//! Unlike SQLite, PostgreSQL runs many writers at once, and several manyi instances may share
//! one database. Every guarantee the store gives is therefore kept by the database, never by
//! this process's memory:
//!
//! - transactions run at PostgreSQL's default `READ COMMITTED` level; each write either locks
//!   the rows it depends on or is a single conditional statement (`UPDATE … WHERE version = $n`,
//!   `INSERT … ON CONFLICT`), which PostgreSQL re-checks against the latest committed row;
//! - the few read-then-write sequences with nothing to lock yet (a new policy version, the
//!   org tree) take a transaction-scoped advisory lock, [`lock`], released by commit or
//!   rollback, so they run one at a time across instances as they do on SQLite;
//! - rows are locked in one order everywhere — units, then cases, then timers — so that two
//!   transactions never wait for each other in a cycle.
//!
//! The SQL for each concern lives beside this file: `org.rs`, `auth.rs`, `policies.rs`,
//! `cases.rs` (with `group.rs`, the group commit of creates), `timers.rs`.

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

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, Postgres, Row, Transaction};

use crate::migrate;
use crate::rows::RowExt;
use crate::{StoreError, StoreOptions};

/// How long opening the store waits for the server's first answer. An unreachable host fails
/// after this rather than after the TCP time-out of the operating system.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of the store.
#[derive(Clone)]
pub(crate) struct PgStore {
    /// Reads and writes alike: PostgreSQL has no single-writer constraint.
    pool: PgPool,
    /// The creates waiting for the next group commit (`group.rs`).
    group: group::GroupCommit,
    /// What the group commit did (`crate::intake`), shared by the store's clones.
    pub(crate) intake: std::sync::Arc<crate::intake::IntakeCounters>,
}

impl PgStore {
    pub(crate) async fn connect(
        url: &str,
        opts: &StoreOptions,
        url_redacted: &str,
    ) -> Result<Self, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url_redacted: url_redacted.to_owned(),
            source,
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(connect_error)?
            .application_name("manyi");

        // One connection now, once, so that a wrong URL is an error at start-up that says what
        // failed. (The pool's own first connection would retry a refused connection until its
        // acquire time-out and then report only "pool timed out".)
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                connect_error(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer from the server within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                )))
            })?
            .map_err(connect_error)?;
        // Closing is a courtesy to the server; the probe has done its job either way.
        let _ = probe.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(opts.pg_max_connections)
            .acquire_timeout(opts.acquire_timeout)
            // After the server restarts or fails over, every pooled connection is dead. Each
            // idle connection is tested (one round trip) before it is handed out, so the dead
            // ones are dropped and fresh ones opened — the pool recovers by itself, and only
            // the requests whose connection died while in use fail (with 503, in the server).
            // sqlx's default, kept explicit: it is what makes the recovery work.
            .test_before_acquire(true)
            .connect_lazy_with(options);

        tracing::info!(
            backend = "postgres",
            url = url_redacted,
            max_connections = opts.pg_max_connections,
            acquire_timeout_ms = opts.acquire_timeout.as_millis(),
            "store opened"
        );
        Ok(PgStore {
            pool,
            group: group::GroupCommit::default(),
            intake: Default::default(),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        migrate::migrator(migrate::POSTGRES).run(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.group.close().await;
        self.pool.close().await;
    }

    /// Starts a transaction (`READ COMMITTED`).
    ///
    /// As on SQLite, sqlx's [`Transaction`] is the rollback guard: dropping it uncommitted —
    /// an early `?`, a panic, a cancelled request future — rolls back before the connection
    /// serves anyone else.
    async fn tx(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub(crate) async fn raw_execute(&self, sql: &'static str) -> Result<u64, StoreError> {
        let done = sqlx::query(sql).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

/// What an advisory lock serialises. Each is one lock across every instance on the database.
pub(super) enum LockKey<'a> {
    /// Every write to the unit tree (inserts, moves, imports). Two crossing moves could each
    /// pass the cycle check and together make a cycle; a unit inserted under a parent that is
    /// being moved would keep the parent's old path.
    Org,
    /// The versions of one policy: the next version number is read, then written.
    Policy(&'a str),
}

/// Takes a transaction-scoped advisory lock, waiting for whoever holds it; commit or rollback
/// releases it. Keys are hashed to 64 bits: an unlikely collision only serialises more.
pub(super) async fn lock(conn: &mut PgConnection, key: LockKey<'_>) -> Result<(), StoreError> {
    let key = match key {
        LockKey::Org => "manyi:org".to_owned(),
        LockKey::Policy(name) => format!("manyi:policy:{name}"),
    };
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl RowExt for PgRow {
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

    /// Flags are `BOOLEAN` in PostgreSQL.
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
        self.try_get(col)
    }

    /// JSON is `JSONB` in PostgreSQL.
    fn json(&self, col: &str) -> Result<Value, sqlx::Error> {
        let Json(value) = self.try_get::<Json<Value>, _>(col)?;
        Ok(value)
    }
}

/// Decodes every row with `f`.
fn decode_all<T>(
    rows: &[PgRow],
    f: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::Store;
    use crate::testing::TestDb;

    async fn fresh() -> Option<(TestDb, Store, PgStore)> {
        let db = TestDb::create("postgres").await?;
        let store = db.store().await;
        let crate::Backend::Postgres(inner) = &store.backend else {
            unreachable!("a postgres:// URL opens PostgreSQL")
        };
        let inner = inner.clone();
        Some((db, store, inner))
    }

    async fn plan(pg: &PgStore, sql: &'static str, binds: &[i64]) -> String {
        let explain = format!("EXPLAIN {sql}");
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(explain));
        for &b in binds {
            q = q.bind(b);
        }
        q.fetch_all(&pg.pool).await.expect("explain").join("\n")
    }

    /// 100,000 timers of which 1,000 are pending: the due query must walk the pending index
    /// (already in due order, so no sort), not the table.
    #[tokio::test]
    async fn the_scheduler_reads_only_the_index_of_pending_timers() {
        let Some((_db, store, pg)) = fresh().await else {
            return;
        };
        sqlx::raw_sql(
            "INSERT INTO units (id, code, name, level, path) VALUES (1, 'HQ', 'HQ', 'L', '/1/');
             INSERT INTO users (id, login, name, unit_id) VALUES (1, 'u', 'u', 1);
             INSERT INTO policy_versions (id, name, version, source, source_hash, created_at)
                 VALUES (1, 'p', 1, '', 'h', 0);
             INSERT INTO cases (id, number, number_scope, number_period, serial, kind,
                 policy_id, state, owner_unit_id, owner_unit_path, first_contact_id, channel,
                 created_at, updated_at, version, snapshot)
                 VALUES (1, 'N-1', 's', '', 1, 'k', 1, 's', 1, '/1/', 1, 'c', 0, 0, 1, '{}');
             INSERT INTO timers (case_id, clock, kind, generation, due_at, fired_at)
                 SELECT 1, 'response', 'breach', g, g,
                        CASE WHEN g % 100 = 0 THEN NULL ELSE g END
                 FROM generate_series(1, 100000) AS g;
             ANALYZE timers;",
        )
        .execute(&pg.pool)
        .await
        .expect("fixture");

        let due = plan(&pg, timers::DUE_TIMERS, &[50_000, 100]).await;
        assert!(due.contains("timers_pending_by_due"), "{due}");
        assert!(!due.contains("Seq Scan") && !due.contains("Sort"), "{due}");
        let next = plan(&pg, timers::NEXT_DUE, &[]).await;
        assert!(next.contains("timers_pending_by_due"), "{next}");
        assert!(!next.contains("Seq Scan"), "{next}");

        let due = store
            .due_timers(
                jiff::Timestamp::from_millisecond(50_000).expect("in range"),
                1_000,
            )
            .await
            .expect("due timers");
        assert_eq!(due.len(), 500);
        assert!(due.windows(2).all(|w| w[0].due_at <= w[1].due_at));
        store.close().await;
    }

    #[tokio::test]
    async fn a_dropped_transaction_is_rolled_back_and_frees_its_connection() {
        let Some((_db, store, pg)) = fresh().await else {
            return;
        };
        {
            let mut tx = pg.tx().await.expect("begin");
            sqlx::query(
                "INSERT INTO units (code, name, level, path) VALUES ('ghost', 'g', 'L', '/9/')",
            )
            .execute(&mut *tx)
            .await
            .expect("insert");
            // dropped here without commit, as when a request future is cancelled
        }
        assert_eq!(store.unit_by_code("ghost").await.expect("read"), None);
        store.close().await;
    }

    #[tokio::test]
    async fn migrating_twice_changes_nothing() {
        let Some((_db, store, _pg)) = fresh().await else {
            return;
        };
        store.migrate().await.expect("second migrate is a no-op");
        store.close().await;
    }
}
