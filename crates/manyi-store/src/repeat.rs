//! Repeat complaints (jinbi-property 第七条附则) through the quick-find table: the exact
//! lookup of the case a new one repeats, the markers of new cases whose repeat has not been
//! recorded yet (the catch-up after a crash), and the backfill of repeat keys for cases stored
//! before migration 0016.
//!
//! What a repeat key is (`manyi_core::find::repeat_key`) is the core's business; the store
//! keeps it as a `case_find` row of kind [`REPEAT`], written with the case like the other
//! find keys (`NewCase::find`, `CaseUpdate::find`), and a new case's [`REPEAT_PENDING`] row
//! the same way.

use jiff::Timestamp;

use crate::find::FindBackfill;
use crate::{Backend, CaseRecord, Store, StoreError};

/// The `case_find` kind of a repeat key (exact match).
pub const REPEAT: &str = "repeat";
/// The `case_find` kind of the marker "the repeat this case makes is not recorded yet" (empty
/// key). An update that replaces the case's keys keeps it: only [`Store::repeat_checked`]
/// removes it.
pub const REPEAT_PENDING: &str = "repeat_pending";

/// A case's repeat key for the backfill, with the version it was computed from: the key is
/// written only if the case is still at that version (a later update wrote its own keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatKeyRow {
    pub case_id: i64,
    pub version: i64,
    /// Personal data: never logged.
    pub key: String,
}

impl Store {
    /// The open case with the repeat key `key` and the lowest id below `below`: the case a new
    /// case (id `below`) with that key repeats. One range of the primary key of `case_find`,
    /// lowest case id first, skipping closed cases.
    pub async fn repeat_first(
        &self,
        key: &str,
        below: i64,
    ) -> Result<Option<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.repeat_first(key, below).await,
            Backend::Postgres(b) => b.repeat_first(key, below).await,
        }
    }

    /// Up to `limit` cases created before `before` that still carry a [`REPEAT_PENDING`]
    /// marker, lowest id first.
    pub async fn repeat_pending(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.repeat_pending(before, limit).await,
            Backend::Postgres(b) => b.repeat_pending(before, limit).await,
        }
    }

    /// Removes case `case_id`'s [`REPEAT_PENDING`] marker (its repeat is recorded, or it
    /// repeats nothing). Idempotent.
    pub async fn repeat_checked(&self, case_id: i64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.repeat_checked(case_id).await,
            Backend::Postgres(b) => b.repeat_checked(case_id).await,
        }
    }

    /// How far the backfill of repeat keys (cases stored before migration 0016) has come.
    pub async fn repeat_backfill(&self) -> Result<FindBackfill, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.repeat_backfill().await,
            Backend::Postgres(b) => b.repeat_backfill().await,
        }
    }

    /// Writes the repeat keys of a backfill batch — each only if its case is still at the
    /// version it was computed from and has no repeat key yet, so that a concurrent update's
    /// keys are never overwritten with older ones — and records the progress, in one
    /// transaction. Idempotent: a batch written twice (two instances) changes nothing more.
    pub async fn backfill_repeat_keys(
        &self,
        batch: &[RepeatKeyRow],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.backfill_repeat_keys(batch, progress).await,
            Backend::Postgres(b) => b.backfill_repeat_keys(batch, progress).await,
        }
    }
}
