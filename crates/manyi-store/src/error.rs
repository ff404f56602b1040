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
