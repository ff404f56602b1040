//! What a supervisor's dashboard reads, without reading cases one by one: counts of a subtree's
//! open cases by unit and due time (from the index of open cases by due time, migration 0012),
//! new cases per week (from the index by creation time), and the monthly aggregate
//! `case_stats` (migration 0006) summed over a range of months.

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

/// One week's new cases for [`crate::Store::cases_per_week`]: weeks are counted from `from`,
/// 7 × 24 hours each (Asia/Shanghai has no daylight-saving time).
pub(crate) const WEEK_MS: i64 = 7 * 24 * 3_600 * 1_000;

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
