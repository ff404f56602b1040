//! Quick find: the search keys of cases (`case_find`, migration 0013), written with the case in
//! one transaction, and the prefix lookups over them. What a key is (reversed phone digits,
//! name suffixes) is `manyi_core::find`'s business; the store only keeps `(kind, key, case)`
//! rows and answers "which cases have a key of this kind starting with this prefix", within
//! a reader's jurisdiction, newest case first.

use crate::records::Visibility;
use crate::{Backend, CaseRecord, Store, StoreError};

/// One search key of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindKey {
    /// e.g. `phone`, `name`.
    pub kind: String,
    /// Matched by prefix. Personal data: never logged.
    pub key: String,
}

/// A prefix lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindQuery {
    pub kind: String,
    /// Not empty.
    pub prefix: String,
    /// Only cases this person may see (their unit's subtree and the cases they registered);
    /// `None`: all.
    pub visible_to: Option<Visibility>,
    /// At most this many cases, newest first.
    pub limit: u32,
}

/// How far the backfill of cases stored before migration 0013 has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindBackfill {
    /// Every case with a higher id is still to be examined.
    pub last_case_id: i64,
    /// Every case has its keys: lookups are complete.
    pub done: bool,
}

/// The exclusive upper bound of the keys starting with `prefix`: no valid character sorts
/// after U+10FFFF in UTF-8 byte order (SQLite's BINARY, PostgreSQL's "C" collation).
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn check(q: &FindQuery) -> Result<(), StoreError> {
    if q.prefix.is_empty() {
        return Err(StoreError::Invalid {
            what: "find query",
            reason: "an empty prefix would match every key".into(),
        });
    }
    Ok(())
}

impl Store {
    /// The cases with a key of `q.kind` starting with `q.prefix`, visible as `q` says, newest
    /// first, at most `q.limit`.
    pub async fn find_cases(&self, q: &FindQuery) -> Result<Vec<CaseRecord>, StoreError> {
        check(q)?;
        match &self.backend {
            Backend::Sqlite(b) => b.find_cases(q).await,
            Backend::Postgres(b) => b.find_cases(q).await,
        }
    }

    /// How far the backfill has come.
    pub async fn find_backfill(&self) -> Result<FindBackfill, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.find_backfill().await,
            Backend::Postgres(b) => b.find_backfill().await,
        }
    }

    /// Up to `limit` cases with an id above `after`, lowest id first: the backfill's next
    /// batch.
    pub async fn cases_after(&self, after: i64, limit: u32) -> Result<Vec<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.cases_after(after, limit).await,
            Backend::Postgres(b) => b.cases_after(after, limit).await,
        }
    }

    /// Writes the keys of a backfill batch — only for cases that have none yet, so that keys a
    /// concurrent create or update wrote are never overwritten with older ones — and records
    /// the progress (`done` once a batch came back short), in one transaction.
    pub async fn backfill_find_keys(
        &self,
        batch: &[(i64, Vec<FindKey>)],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.backfill_find_keys(batch, progress).await,
            Backend::Postgres(b) => b.backfill_find_keys(batch, progress).await,
        }
    }
}
