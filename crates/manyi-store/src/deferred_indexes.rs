//! Secondary indexes set aside for a bulk load (`manyi gen`, migration 0023): dropped before
//! the load and re-created afterwards from their own definitions, because maintaining them row
//! by row is what slows a load once they outgrow the cache (BENCHMARKS.md, "Synthetic data").
//!
//! The safety of it is in one invariant: an index is always either present or listed in
//! `deferred_indexes` with its definition. The definitions are written in the transaction that
//! drops the indexes, and each row is deleted in the transaction that re-creates its index.
//! So a load that fails or is killed halfway leaves a database whose missing indexes are
//! listed, and [`Store::migrate`] (which every `manyi` command that opens a database runs
//! first) re-creates them before anything reads it.
//!
//! Only indexes that back no constraint and are not unique are deferred: the primary keys and
//! unique keys keep checking every row of the load. On PostgreSQL the foreign keys of the
//! loaded tables are deferred the same way and listed in the same table (their definition is
//! the `ALTER TABLE … ADD CONSTRAINT` that re-adds and validates them).

use jiff::Timestamp;

use crate::{Backend, Store, StoreError};

/// The tables a bulk load fills by the million: their secondary indexes are the ones deferred.
pub(crate) const BULK_TABLES: &[&str] = &["cases", "case_find"];

/// The tables a bulk load writes whose foreign keys PostgreSQL defers too (re-added after the
/// load, validated by one join each). SQLite keeps checking them: its foreign keys cannot be
/// dropped without rebuilding the table.
pub(crate) const BULK_FK_TABLES: &[&str] = &["cases", "case_events", "case_find", "timers"];

impl Store {
    /// FOR `manyi gen` ONLY: drops the secondary indexes of the bulk-loaded tables (and, on
    /// PostgreSQL, the foreign keys of the tables it fills) and records their definitions, in
    /// one transaction; returns their names. Call
    /// [`Store::rebuild_deferred_indexes`] after the load.
    #[doc(hidden)]
    pub async fn defer_bulk_indexes(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.defer_bulk_indexes(now).await,
            Backend::Postgres(s) => s.defer_bulk_indexes(now).await,
        }
    }

    /// Re-creates every index listed in `deferred_indexes` (each in its own transaction, which
    /// also deletes its row) and returns their names; none listed, nothing done. Run by
    /// [`Store::migrate`], so a database left by an interrupted load is repaired on next open.
    pub async fn rebuild_deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.rebuild_deferred_indexes().await,
            Backend::Postgres(s) => s.rebuild_deferred_indexes().await,
        }
    }

    /// `(name, definition)` of the secondary indexes (and PostgreSQL's foreign keys) the
    /// bulk-loaded tables have now (what [`Store::defer_bulk_indexes`] would drop), by name;
    /// for tests and checks.
    #[doc(hidden)]
    pub async fn bulk_table_indexes(&self) -> Result<Vec<(String, String)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.bulk_table_indexes().await,
            Backend::Postgres(s) => s.bulk_table_indexes().await,
        }
    }

    /// The names of the indexes listed as deferred (not re-created yet).
    pub async fn deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.deferred_indexes().await,
            Backend::Postgres(s) => s.deferred_indexes().await,
        }
    }
}
