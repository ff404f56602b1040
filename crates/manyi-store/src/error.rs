//! [`StoreError`]: the one error type of the store, the same for every backend.
//!
//! Callers match on the variant (a duplicate login is a form error, a conflict means "reload",
//! a database error is a 500), so backends translate their constraint failures into these
//! variants instead of leaking driver-specific codes.
//!
//! The `Display` text of every variant is safe to log: it may name a unit code, a case number,
//! a policy name or a numeric id, but never personal data (names, logins, case contents) and
//! never a secret (password or token hashes).

use sqlx::error::ErrorKind;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL has a scheme the store does not know. Never silently treated as a path.
    #[error(
        "unknown database URL scheme `{scheme}`: expected `sqlite:PATH`, `sqlite://PATH`, a \
         file path, or `postgres://`"
    )]
    BadUrl {
        /// The scheme as written, without `://`.
        scheme: String,
    },

    /// The database could not be opened or its connection settings could not be applied: a
    /// malformed URL, a server that does not answer, a database that does not exist, refused
    /// credentials. The source says which.
    #[error("cannot open database {url_redacted}")]
    Connect {
        /// The URL with any password removed.
        url_redacted: String,
        #[source]
        source: sqlx::Error,
    },

    /// A record that the operation needs does not exist.
    #[error("{what} not found: {key}")]
    NotFound {
        what: &'static str,
        /// A non-personal key: a unit code, a numeric id, a policy name. Logins are redacted.
        key: String,
    },

    /// A record with the same unique key already exists.
    #[error("{what} already exists: {key}")]
    Duplicate {
        what: &'static str,
        /// A non-personal key, as for [`StoreError::NotFound`].
        key: String,
    },

    /// Optimistic concurrency: the record changed since the caller read it.
    #[error("the record was changed by someone else since it was read; reload and try again")]
    Conflict,

    /// The request is well-formed but cannot be applied: an unknown parent unit, a cycle in
    /// the tree, a malformed path prefix, an option out of range.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },

    /// Any other database failure. The source is the driver's error.
    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// A write that joined a group commit whose transaction failed as a whole: nothing of it
    /// was written. The driver's error cannot be given to every write of the batch (it cannot
    /// be cloned), so each gets its text and its class.
    #[error("the write transaction this write joined failed: {cause}")]
    BatchFailed {
        /// The driver's own message (a database's text and code; no personal data).
        cause: String,
        /// Whether the failure passes by itself ([`is_transient`]): a lost connection, a full
        /// disk. If not, it is a bug or bad data, and a retry would fail the same way.
        transient: bool,
    },

    /// Applying the embedded migrations failed.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

impl StoreError {
    /// The error each write of a group commit's batch gets when the batch's transaction failed
    /// as a whole with `e`.
    pub(crate) fn batch_failed(e: &StoreError) -> StoreError {
        match e {
            StoreError::BatchFailed { cause, transient } => StoreError::BatchFailed {
                cause: cause.clone(),
                transient: *transient,
            },
            // The driver's own message (SQLite's error text and code, PostgreSQL's) says what
            // failed; our wrapper's Display alone ("database error") does not.
            StoreError::Database(inner) => StoreError::BatchFailed {
                cause: inner.to_string(),
                transient: is_transient(inner),
            },
            other => StoreError::BatchFailed {
                cause: other.to_string(),
                transient: false,
            },
        }
    }
}

/// Whether a driver error means "the database cannot take this right now" — a restart, a
/// failover, a network cut, a full pool, a full disk — rather than a bug or bad data. The
/// server answers these with 503 and `Retry-After`; the pool opens fresh connections by itself
/// once the server is back (each idle connection is tested before it is handed out).
///
/// - the connection itself: `Io` (reset, refused, EOF), `Protocol` (the stream broke off
///   mid-message), `PoolTimedOut` (no connection within the acquire time-out: the server is
///   down or every connection is busy), `PoolClosed` (shutting down), `WorkerCrashed`;
/// - PostgreSQL's SQLSTATEs of class 08 (connection exception), 57P01 `admin_shutdown` (the
///   server is stopping or restarting: what a connection in use sees), 57P02
///   `crash_shutdown`, 57P03 `cannot_connect_now` (still starting up), and class 53
///   (insufficient resources: 53100 `disk_full`, 53200 `out_of_memory`, 53300
///   `too_many_connections` — several instances above the server's `max_connections`);
/// - SQLite's `SQLITE_BUSY` and `SQLITE_FULL` ([`is_transient_sqlite_code`]).
///
/// A transient error does not prove that nothing was written: a connection lost during
/// `COMMIT` leaves the outcome unknown. A retry with the same `Idempotency-Key` is safe either
/// way.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // SQLSTATEs are PostgreSQL's; SQLite's codes are numbers with other meanings.
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                return is_transient_sqlstate(pg.code());
            }
            db.try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .and_then(|e| sqlx::error::DatabaseError::code(e)?.parse::<i32>().ok())
                .is_some_and(is_transient_sqlite_code)
        }
        _ => false,
    }
}

/// SQLSTATEs that say the connection or the server went away, or the server is out of a
/// resource, not that the request was wrong.
pub(crate) fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// SQLite result codes (extended; the primary code is the low byte) that say the database
/// cannot take the write right now, not that the request was wrong: `SQLITE_BUSY` (5: another
/// process, a CLI import say, held the lock past the busy time-out) and `SQLITE_FULL` (13: the
/// disk is full). Both pass once the operator (or the other process) is done; until then a
/// 503 with `Retry-After` says so, where a 500 would say manyi is broken.
pub(crate) fn is_transient_sqlite_code(extended: i32) -> bool {
    matches!(extended & 0xff, 5 | 13)
}

/// The key shown in errors about a user identified by login: logins can be phone numbers or
/// names in pinyin, so they count as personal data and stay out of error text.
pub(crate) const REDACTED_LOGIN: &str = "login <redacted>";

/// Whether `e` is a unique or primary-key violation, on any backend.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    kind_of(e) == Some(ErrorKind::UniqueViolation)
}

/// Whether `e` is a foreign-key violation, on any backend.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    kind_of(e) == Some(ErrorKind::ForeignKeyViolation)
}

fn kind_of(e: &sqlx::Error) -> Option<ErrorKind> {
    match e {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

/// A value read from the database is not what the schema promises (e.g. an instant outside
/// jiff's range). Reported as a decode error, like any other unreadable column.
pub(crate) fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} is out of range").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_transient_and_other_errors_are_not() {
        let io = |kind| sqlx::Error::Io(std::io::Error::from(kind));
        for e in [
            io(std::io::ErrorKind::ConnectionRefused),
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::UnexpectedEof),
            sqlx::Error::Protocol("unexpected end of stream".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(is_transient(&e), "{e}");
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Decode("bad".into()),
        ] {
            assert!(!is_transient(&e), "{e}");
        }
    }

    #[test]
    fn connection_and_resource_sqlstates_are_transient() {
        for code in [
            "08000", "08003", "08006", "08P01", "57P01", "57P02", "57P03", "53000", "53100",
            "53200", "53300", "53400",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "40P01", "57014", "42P01", "22P02"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_busy_or_full_sqlite_database_is_transient_and_other_sqlite_errors_are_not() {
        // Extended codes: SQLITE_BUSY_SNAPSHOT (517) and SQLITE_BUSY_TIMEOUT (773) are BUSY.
        for code in [5, 517, 773, 13] {
            assert!(is_transient_sqlite_code(code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE, _FOREIGNKEY, SQLITE_ERROR, SQLITE_READONLY, SQLITE_CORRUPT,
        // SQLITE_IOERR (a failing disk is not "try again in a second").
        for code in [2067, 787, 1, 8, 11, 10, 266] {
            assert!(!is_transient_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn a_batch_failure_keeps_the_class_of_its_cause() {
        let lost = StoreError::batch_failed(&StoreError::Database(sqlx::Error::PoolTimedOut));
        assert!(
            matches!(
                lost,
                StoreError::BatchFailed {
                    transient: true,
                    ..
                }
            ),
            "{lost:?}"
        );
        let bug =
            StoreError::batch_failed(&StoreError::Database(sqlx::Error::Decode("bad".into())));
        assert!(
            matches!(bug, StoreError::BatchFailed { transient: false, ref cause } if cause.contains("bad")),
            "{bug:?}"
        );
        // Passed on again (a drainer failing the jobs still queued), it keeps its class.
        assert!(matches!(
            StoreError::batch_failed(&lost),
            StoreError::BatchFailed {
                transient: true,
                ..
            }
        ));
        assert!(matches!(
            StoreError::batch_failed(&StoreError::Conflict),
            StoreError::BatchFailed {
                transient: false,
                ..
            }
        ));
    }
}
