//! What a supervisor's dashboard reads, without reading cases one by one: counts of a subtree's
//! open cases by unit and due time (from the index of open cases by due time, migration 0012),
//! new cases per week (the weekly aggregate `case_weeks`, migration 0014), and the monthly
//! aggregate `case_stats` (migration 0006) summed over a range of months.
//!
//! The two backends differ only in their SQL (`{sqlite,postgres}/dashboard.rs`); the rows they
//! fetch are plain tuples, turned into records and checked here.

use jiff::Timestamp;

use crate::time::to_millis;
use crate::{Backend, Store, StoreError};

/// A subtree's open cases owned by one unit, counted by their due time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCounts {
    /// The owner unit's path (its id is the last segment).
    pub unit_path: String,
    pub open: i64,
    /// Due at or before the instant asked about (`due_at <= now`).
    pub overdue: i64,
    /// Due after it, and at or before the end of the "due soon" window.
    pub due_soon: i64,
}

/// `(owner_unit_path, open, overdue, due_soon)` as the backends select it.
pub(crate) type OpenCountsRow = (String, i64, i64, i64);

impl From<OpenCountsRow> for OpenCounts {
    fn from((unit_path, open, overdue, due_soon): OpenCountsRow) -> Self {
        OpenCounts {
            unit_path,
            open,
            overdue,
            due_soon,
        }
    }
}

/// `case_stats` summed over a range of months, by owner unit, category and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsTotal {
    pub unit_id: i64,
    /// The `category` field; `""` while it is unset.
    pub category: String,
    /// `open_on_time`, `open_overdue`, `closed_on_time` or `closed_late`.
    pub status: String,
    pub cases: i64,
}

/// `(unit_id, category, status, cases)` as the backends select it.
pub(crate) type StatsTotalRow = (i64, String, String, i64);

impl From<StatsTotalRow> for StatsTotal {
    fn from((unit_id, category, status, cases): StatsTotalRow) -> Self {
        StatsTotal {
            unit_id,
            category,
            status,
            cases,
        }
    }
}

/// A week, 7 × 24 hours (Asia/Shanghai has no daylight-saving time).
pub(crate) const WEEK_MS: i64 = 7 * 24 * 3_600 * 1_000;

/// Monday 1970-01-05 00:00 in Asia/Shanghai (UTC+8), in Unix milliseconds: every week of
/// `case_weeks` starts a whole number of weeks from it (migration 0014 writes the same
/// constant in SQL).
pub(crate) const MONDAY_MS: i64 = 4 * 24 * 3_600 * 1_000 - 8 * 3_600 * 1_000;

/// The start of the week (Monday 00:00 in Asia/Shanghai) of an instant in milliseconds.
pub(crate) fn week_start(ms: i64) -> i64 {
    ms - (ms - MONDAY_MS).rem_euclid(WEEK_MS)
}

/// `[from, to)` in milliseconds of `weeks` weeks from `from`, which must start a week: the
/// weekly aggregate has no finer grain.
pub(crate) fn week_range(from: Timestamp, weeks: u32) -> Result<(i64, i64), StoreError> {
    let from = to_millis(from);
    if week_start(from) != from {
        return Err(StoreError::Invalid {
            what: "weekly counts",
            reason: format!(
                "the first week must start on a Monday at 00:00 in Asia/Shanghai, not at {from} ms"
            ),
        });
    }
    Ok((from, from + WEEK_MS * i64::from(weeks)))
}

/// `weeks` counts from `(week index, count)` rows.
pub(crate) fn per_week(rows: &[(i64, i64)], weeks: u32) -> Vec<i64> {
    let mut out = vec![0; weeks as usize];
    for (week, count) in rows {
        if let Some(slot) = usize::try_from(*week).ok().and_then(|w| out.get_mut(w)) {
            *slot += count;
        }
    }
    out
}

impl Store {
    /// [`Store::cases_per_week`] computed the slow way, with a GROUP BY over the cases'
    /// creation index instead of the aggregate: the baseline the aggregate is tested against.
    pub async fn cases_per_week_from_cases(
        &self,
        subtree: &str,
        from: Timestamp,
        weeks: u32,
    ) -> Result<Vec<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.cases_per_week_from_cases(subtree, from, weeks).await,
            Backend::Postgres(s) => s.cases_per_week_from_cases(subtree, from, weeks).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_midnight_in_beijing() {
        // Monday 2026-11-23 00:00 in Beijing is 2026-11-22T16:00:00Z.
        let monday = to_millis("2026-11-22T16:00:00Z".parse().expect("instant"));
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
        assert_eq!(week_start(monday + WEEK_MS - 1), monday);
        // before the reference Monday, too
        assert_eq!(week_start(0), MONDAY_MS - WEEK_MS);
        assert!(week_range("2026-11-22T16:00:00Z".parse().expect("instant"), 8).is_ok());
        assert!(week_range("2026-11-23T00:00:00Z".parse().expect("instant"), 8).is_err());
    }
}
