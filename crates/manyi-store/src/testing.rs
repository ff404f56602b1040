//! Throw-away databases for tests, on either backend (cargo feature `testing`).
//!
//! ```ignore
//! for backend in manyi_store::testing::backends() {
//!     let Some(db) = TestDb::create(backend).await else { continue }; // switched off: said why
//!     let store = db.store().await;
//!     // ... the same test body on each backend ...
//!     store.close().await;
//! } // `db` dropped: the database is gone
//! ```
//!
//! - **SQLite**: a new file in a new temporary directory, removed on drop.
//! - **PostgreSQL**: a new database `manyi_test_<unix seconds>_<random>` created from the
//!   `postgres` maintenance database of the server named by `MANYI_TEST_PG` (default
//!   [`DEFAULT_PG`]) and dropped on drop — also when the test panics, since unwinding runs
//!   `Drop`. The drop runs on a thread of its own with its own runtime (it can be called from
//!   inside, or after, the test's runtime) and uses `DROP DATABASE … WITH (FORCE)`, which
//!   ends any connection the test left open. A process that is killed cannot run `Drop`: the
//!   next test process drops `manyi_test_*` databases older than [`STALE_AFTER`] that nobody
//!   is connected to.
//!
//!   Test databases use the ICU collation `zh-Hans-CN`, as a bank in China would, rather than
//!   the byte order of the `C` locale: a query whose meaning depends on the collation (a path
//!   range, a sorted list) then behaves differently here than on SQLite, and the contract
//!   tests notice.
//!
//! Environment:
//! - `MANYI_TEST_PG`: the PostgreSQL server, as a URL without a database name. `skip` switches
//!   the PostgreSQL tests off (each prints that it was skipped). If the server cannot be
//!   reached, [`TestDb::create`] panics, naming the server and the way out: a test that was
//!   meant to run on PostgreSQL fails rather than passes without running.
//! - `MANYI_TEST_BACKEND`: `sqlite`, `postgres` or `both` (the default): the backends
//!   [`backends`] lists and [`TestDb::create`] agrees to create.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::str::FromStr;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection};

use crate::{Store, StoreOptions};

/// The server used when `MANYI_TEST_PG` is not set.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

/// Test databases older than this, with nobody connected, are taken for leftovers of a killed
/// test run and dropped.
pub const STALE_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// The prefix of every test database's name; nothing else is ever dropped.
const PREFIX: &str = "manyi_test_";

/// The backends this test run covers, from `MANYI_TEST_BACKEND` (default: both).
///
/// # Panics
///
/// On a value other than `sqlite`, `postgres` or `both`: a typo must not quietly test less.
pub fn backends() -> Vec<&'static str> {
    match std::env::var("MANYI_TEST_BACKEND").as_deref() {
        Err(_) | Ok("both") | Ok("") => vec!["sqlite", "postgres"],
        Ok("sqlite") => vec!["sqlite"],
        Ok("postgres") => vec!["postgres"],
        Ok(other) => panic!("MANYI_TEST_BACKEND=`{other}`: expected sqlite, postgres or both"),
    }
}

/// A fresh, empty database of one backend, deleted when dropped.
pub struct TestDb {
    backend: &'static str,
    url: String,
    cleanup: Cleanup,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one per test database, never in a collection"
)]
enum Cleanup {
    /// Removing the directory removes the database file and its WAL.
    Sqlite(#[expect(dead_code, reason = "held only to be dropped")] tempfile::TempDir),
    Postgres {
        admin: PgConnectOptions,
        name: String,
    },
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("url", &crate::url::redact(&self.url))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// Creates a fresh database of `backend` (`"sqlite"` or `"postgres"`), or returns `None`
    /// after printing why when this run leaves that backend out (`MANYI_TEST_BACKEND`, or
    /// `MANYI_TEST_PG=skip`).
    ///
    /// # Panics
    ///
    /// On an unknown backend name, or when the PostgreSQL server cannot be reached or refuses
    /// to create the database: the message names the server and how to start it or skip.
    pub async fn create(backend: &str) -> Option<TestDb> {
        let backend = match backend {
            "sqlite" => "sqlite",
            "postgres" => "postgres",
            other => panic!("unknown test backend `{other}`: expected sqlite or postgres"),
        };
        if !backends().contains(&backend) {
            skipped(backend, "MANYI_TEST_BACKEND leaves it out");
            return None;
        }
        match backend {
            "sqlite" => Some(Self::sqlite()),
            _ => {
                let server = std::env::var("MANYI_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
                if server == "skip" {
                    skipped(backend, "MANYI_TEST_PG=skip");
                    return None;
                }
                Some(Self::postgres(&server).await)
            }
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The database URL, for [`Store::connect`] or a server under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new store on this database, migrated. Each call opens an independent handle (its
    /// own pools), as a second server instance would. PostgreSQL handles keep to 8
    /// connections: the server is shared by every test running on the machine.
    ///
    /// # Panics
    ///
    /// If the database cannot be opened or migrated.
    pub async fn store(&self) -> Store {
        self.store_with(StoreOptions {
            pg_max_connections: 8,
            ..StoreOptions::default()
        })
        .await
    }

    /// As [`TestDb::store`], with options.
    ///
    /// # Panics
    ///
    /// If the database cannot be opened or migrated.
    pub async fn store_with(&self, opts: StoreOptions) -> Store {
        let store = Store::connect(&self.url, opts)
            .await
            .unwrap_or_else(|e| panic!("opening the test database {self:?}: {e:#?}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrating the test database {self:?}: {e:#?}"));
        store
    }

    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory for a SQLite test database");
        let url = format!("sqlite:{}", dir.path().join("manyi.db").display());
        TestDb {
            backend: "sqlite",
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres(server: &str) -> TestDb {
        let unreachable = |what: &str, e: &dyn std::fmt::Display| -> ! {
            panic!(
                "PostgreSQL tests need the server at {} (MANYI_TEST_PG), but {what}: {e}\n\
                 Start it (`pg_ctlcluster --skip-systemctl-redirect 15 main start`), point \
                 MANYI_TEST_PG at another server, or set MANYI_TEST_PG=skip to skip the \
                 PostgreSQL tests.",
                crate::url::redact(server)
            )
        };
        let admin_url = with_database(server, "postgres");
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|e| unreachable("its URL does not parse", &e))
            .application_name("manyi-tests");
        let mut conn =
            tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&admin))
                .await
                .unwrap_or_else(|e| unreachable("it did not answer", &e))
                .unwrap_or_else(|e| unreachable("it cannot be reached", &e));

        static SWEEP: Once = Once::new();
        let mut sweep = false;
        SWEEP.call_once(|| sweep = true);
        if sweep {
            drop_stale(&mut conn).await;
        }

        let name = fresh_name();
        // The ICU collation is the demanding case (see the module docs). A server built
        // without ICU gets the template's collation, and says so.
        let icu = format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans-CN' LOCALE 'C.UTF-8'"
        );
        if let Err(icu_error) = sqlx::raw_sql(AssertSqlSafe(icu)).execute(&mut conn).await {
            note(&format!(
                "cannot create a test database with the ICU zh-Hans-CN collation ({icu_error}); \
                 using the server's default collation"
            ));
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| unreachable("it refused to create a test database", &e));
        }
        let _ = conn.close().await;
        TestDb {
            backend: "postgres",
            url: with_database(server, &name),
            cleanup: Cleanup::Postgres { admin, name },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin, name } = &self.cleanup else {
            return; // the TempDir field removes the SQLite file
        };
        let (admin, name) = (admin.clone(), name.clone());
        // A thread of its own: `drop` may run inside the test's runtime (which must not be
        // blocked on itself) or after it is gone. Never panics: this may run while a failed
        // test unwinds, where a second panic would abort the whole test binary.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect_with(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let done = sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let _ = conn.close().await;
                done
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => note(&format!("could not drop test database {}: {e}", self.url)),
            Err(_) => note(&format!("dropping test database {} panicked", self.url)),
        }
    }
}

/// `server` (a URL with or without a database) naming database `db` instead; any query string
/// (e.g. `?host=/var/run/postgresql`) is kept.
fn with_database(server: &str, db: &str) -> String {
    let (head, query) = match server.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (server, None),
    };
    let (scheme, rest) = head.split_once("://").unwrap_or(("postgres", head));
    let authority = rest.split('/').next().unwrap_or_default();
    match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    }
}

/// `manyi_test_<unix seconds>_<16 random hex digits>`: unique across processes and machines
/// sharing a server, and datable by [`drop_stale`].
fn fresh_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = since_epoch();
    // `RandomState` is seeded from the operating system's randomness.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(now.as_nanos());
    format!("{PREFIX}{}_{:016x}", now.as_secs(), h.finish())
}

/// Drops the test databases that a killed test process left behind: older than
/// [`STALE_AFTER`] by the time in their name, and with nobody connected (a plain `DROP
/// DATABASE` refuses a database in use, so a long test of someone else's is safe).
async fn drop_stale(conn: &mut PgConnection) {
    let names: Vec<String> =
        match sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{}%", PREFIX.replace('_', "\\_")))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(names) => names,
            Err(_) => return,
        };
    let now = since_epoch().as_secs();
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        let safe = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if let Some(created) = created
            && safe
            && now.saturating_sub(created) > STALE_AFTER.as_secs()
        {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\"");
            if sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await
                .is_ok()
            {
                note(&format!("dropped stale test database {name}"));
            }
        }
    }
}

/// The wall-clock time, to date test databases by when they were created on the server.
/// Not the time of anything manyi decides, which always comes from the injected clock.
#[expect(
    clippy::disallowed_methods,
    reason = "dates throw-away test databases for the stale sweep; no domain time"
)]
fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Says that a test did not run on `backend`, naming the test. Written to the process's
/// stderr directly, past the test harness's capture, so that a skip is seen even when the
/// test passes.
fn skipped(backend: &str, why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    note(&format!("{test}: {backend} skipped ({why})"));
}

fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "manyi-store testing: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_names_the_requested_database_and_keeps_its_query() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            with_database("postgresql://u:p@db:5432/other/", "manyi_test_1"),
            "postgresql://u:p@db:5432/manyi_test_1"
        );
        assert_eq!(
            with_database("postgres:///x?host=/var/run/postgresql", "t"),
            "postgres:///t?host=/var/run/postgresql"
        );
    }

    #[test]
    fn fresh_names_are_distinct_and_dated() {
        let (a, b) = (fresh_name(), fresh_name());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        let secs = a[PREFIX.len()..].split('_').next().expect("a date");
        assert!(secs.parse::<u64>().is_ok(), "{a}");
    }
}
