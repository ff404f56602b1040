//! Monthly case statistics: the query and the rows, for both backends.
//!
//! The counts live in `case_stats` (migration 0006), kept by database triggers on `cases` and
//! `case_events` in the same transaction as every case write; see that migration for the
//! meaning of each column and status. [`crate::Store::case_stats`] reads it (no scan of
//! `cases`); [`crate::Store::case_stats_from_cases`] computes the same rows with a GROUP BY
//! over `cases`, the baseline and the check; [`crate::Store::rebuild_case_stats`] recomputes
//! the table from `cases`.

use jiff::Timestamp;

/// What to count: one month, optionally one subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// `YYYY-MM`, the key of the aggregate (the month in Asia/Shanghai).
    pub month: String,
    /// The same month as instants, `[from, to)`, for the GROUP BY over `cases`. The caller
    /// keeps the two in agreement (`manyi_core::stats::Month` gives both).
    pub from: Timestamp,
    pub to: Timestamp,
    /// The path of a unit (`/1/5/`): only cases owned in its subtree. `None`: all.
    pub unit_subtree: Option<String>,
}

/// The cases of one owner unit, category and on-time status in the month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatsRow {
    pub unit_code: String,
    pub unit_name: String,
    /// The `category` field; `""` while it is unset.
    pub category: String,
    /// `open_on_time`, `open_overdue`, `closed_on_time` or `closed_late`.
    pub status: String,
    pub cases: i64,
}
