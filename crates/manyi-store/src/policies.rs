//! Policy versions: the SQL and the version-numbering decision both backends share.
//!
//! A version, once stored, never changes (the database refuses it, see the migration's
//! triggers): a case records the version it was opened under and must be judged by that text
//! forever. Activating a version only flips which one new cases use. The statements that test
//! or set the `active` flag differ by dialect (0/1 in SQLite, BOOLEAN in PostgreSQL, each
//! matching its partial index) and stay in the backends; the rest use `$n` placeholders, which
//! both bind by number.

use crate::rows::policy_columns;
use crate::{PolicyRecord, StoreError};

/// The newest version of a policy. Binds: name.
pub(crate) const LATEST_VERSION: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE name = $1 ORDER BY version DESC LIMIT 1"
);

/// Binds: name, version, source, source hash, created at.
pub(crate) const INSERT_VERSION: &str = concat!(
    "INSERT INTO policy_versions (name, version, source, source_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING ",
    policy_columns!()
);

/// Binds: id.
pub(crate) const BY_ID: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE id = $1"
);

/// Every version of a policy, oldest first. Binds: name.
pub(crate) const VERSIONS_OF: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE name = $1 ORDER BY version"
);

/// What storing a policy's text does, given its newest stored version.
pub(crate) enum NextVersion {
    /// The text is the newest version's: nothing to store.
    Unchanged(PolicyRecord),
    /// Store the text as this version.
    New(i64),
}

pub(crate) fn next_version(latest: Option<PolicyRecord>, source_hash: &str) -> NextVersion {
    match latest {
        // Re-uploading the same text must not mint a new version (cases would then refer to
        // identical policies under different ids).
        Some(latest) if latest.source_hash == source_hash => NextVersion::Unchanged(latest),
        Some(latest) => NextVersion::New(latest.version + 1),
        None => NextVersion::New(1),
    }
}

pub(crate) fn unknown_version(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "policy version",
        key: format!("id {id}"),
    }
}
