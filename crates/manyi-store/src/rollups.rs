//! The dashboard's rollups of `case_stats` (migration 0019): a subtree's counts over a range
//! of months by owner unit (`case_months`), by category and by month (`case_tree_months`, the
//! subtree root's own rows), instead of summing `case_stats` row by row. Their cost follows
//! months × the subtree's units (by unit) and months × categories (the rest), not the
//! categories × statuses of every unit.
//!
//! [`SubtreeTotals::from_stats`] computes the same answer from the GROUP BY over `case_stats`
//! ([`crate::Store::case_stats_totals`]): the baseline the contract test compares with.
//! [`crate::Store::rebuild_aggregates`] recomputes every aggregate kept by triggers.

use std::collections::BTreeMap;

use crate::dashboard::StatsTotal;
use crate::{Backend, Store, StoreError};

/// Cases, and how many of them are in each status the dashboard's rates need (the rest are
/// open and on time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub cases: i64,
    pub open_overdue: i64,
    pub closed_on_time: i64,
    pub closed_late: i64,
}

impl StatusCounts {
    fn is_zero(&self) -> bool {
        *self == StatusCounts::default()
    }

    fn add(&mut self, other: &StatusCounts) {
        self.cases += other.cases;
        self.open_overdue += other.open_overdue;
        self.closed_on_time += other.closed_on_time;
        self.closed_late += other.closed_late;
    }
}

/// `(key, cases, open_overdue, closed_on_time, closed_late)` as the backends select it.
pub(crate) type CountsRow<K> = (K, i64, i64, i64, i64);

fn counts<K>(
    (key, cases, open_overdue, closed_on_time, closed_late): CountsRow<K>,
) -> (K, StatusCounts) {
    (
        key,
        StatusCounts {
            cases,
            open_overdue,
            closed_on_time,
            closed_late,
        },
    )
}

/// A subtree's counts over a range of months. Every list is sorted by its key and leaves out
/// keys whose counts are all zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubtreeTotals {
    /// By owner unit id: each unit's own cases.
    pub units: Vec<(i64, StatusCounts)>,
    /// By the `category` field (`""` while it is unset), the whole subtree.
    pub categories: Vec<(String, StatusCounts)>,
    /// Cases by month (`YYYY-MM`), the whole subtree.
    pub months: Vec<(String, i64)>,
}

impl SubtreeTotals {
    /// From the rows the backends select: per unit, and per (month, category) of the root.
    pub(crate) fn from_rows(
        units: Vec<CountsRow<i64>>,
        tree: Vec<CountsRow<(String, String)>>,
    ) -> SubtreeTotals {
        let mut by_unit: BTreeMap<i64, StatusCounts> = BTreeMap::new();
        for (unit, c) in units.into_iter().map(counts) {
            by_unit.entry(unit).or_default().add(&c);
        }
        let mut by_category: BTreeMap<String, StatusCounts> = BTreeMap::new();
        let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
        for ((month, category), c) in tree.into_iter().map(counts) {
            by_category.entry(category).or_default().add(&c);
            *by_month.entry(month).or_default() += c.cases;
        }
        SubtreeTotals::collect(by_unit, by_category, by_month)
    }

    /// The same answer from the GROUP BY over `case_stats`
    /// ([`crate::Store::case_stats_totals`]'s two results).
    pub fn from_stats(totals: &[StatsTotal], months: &[(String, i64)]) -> SubtreeTotals {
        let mut by_unit: BTreeMap<i64, StatusCounts> = BTreeMap::new();
        let mut by_category: BTreeMap<String, StatusCounts> = BTreeMap::new();
        for t in totals {
            let mut c = StatusCounts {
                cases: t.cases,
                ..StatusCounts::default()
            };
            match t.status.as_str() {
                "open_overdue" => c.open_overdue = t.cases,
                "closed_on_time" => c.closed_on_time = t.cases,
                "closed_late" => c.closed_late = t.cases,
                _ => {}
            }
            by_unit.entry(t.unit_id).or_default().add(&c);
            by_category.entry(t.category.clone()).or_default().add(&c);
        }
        let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
        for (month, n) in months {
            *by_month.entry(month.clone()).or_default() += n;
        }
        SubtreeTotals::collect(by_unit, by_category, by_month)
    }

    fn collect(
        by_unit: BTreeMap<i64, StatusCounts>,
        by_category: BTreeMap<String, StatusCounts>,
        by_month: BTreeMap<String, i64>,
    ) -> SubtreeTotals {
        SubtreeTotals {
            units: by_unit.into_iter().filter(|(_, c)| !c.is_zero()).collect(),
            categories: by_category
                .into_iter()
                .filter(|(_, c)| !c.is_zero())
                .collect(),
            months: by_month.into_iter().filter(|(_, n)| *n != 0).collect(),
        }
    }
}

/// The id of the unit a subtree path ends with (`/1/5/12/` → 12).
pub(crate) fn root_id(subtree: &str) -> Result<i64, StoreError> {
    crate::tree::subtree_range(subtree)?;
    subtree
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| StoreError::Invalid {
            what: "unit subtree",
            reason: format!("`{subtree}` does not end with a unit id (`/1/5/`)"),
        })
}

/// What [`Store::rebuild_aggregates`] wrote: rows of each aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub case_stats: u64,
    pub case_weeks: u64,
    pub case_months: u64,
    pub case_tree_months: u64,
}

impl Store {
    /// A subtree's counts of the months `from_month..=to_month` (`YYYY-MM`) from the rollups
    /// of migration 0019: by owner unit, by category, by month. Never reads `case_stats` or
    /// `cases`.
    pub async fn subtree_totals(
        &self,
        subtree: &str,
        from_month: &str,
        to_month: &str,
    ) -> Result<SubtreeTotals, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.subtree_totals(subtree, from_month, to_month).await,
            Backend::Postgres(s) => s.subtree_totals(subtree, from_month, to_month).await,
        }
    }

    /// Recomputes every aggregate the triggers keep — `case_stats` from the cases, then
    /// `case_weeks` from the cases and the rollups of migration 0019 from `case_stats` — in
    /// one transaction (case writes wait meanwhile).
    pub async fn rebuild_aggregates(&self) -> Result<Rebuilt, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.rebuild_aggregates().await,
            Backend::Postgres(s) => s.rebuild_aggregates().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_of_a_subtree_is_the_last_id_of_its_path() {
        assert_eq!(root_id("/1/").expect("root"), 1);
        assert_eq!(root_id("/1/5/12/").expect("leaf"), 12);
        assert!(root_id("/1/5").is_err());
        assert!(root_id("/x/").is_err());
    }

    #[test]
    fn totals_from_stats_fold_statuses_into_counts() {
        let t = |unit_id: i64, category: &str, status: &str, cases: i64| StatsTotal {
            unit_id,
            category: category.into(),
            status: status.into(),
            cases,
        };
        let got = SubtreeTotals::from_stats(
            &[
                t(2, "a", "open_on_time", 3),
                t(2, "a", "closed_late", 1),
                t(3, "", "closed_on_time", 2),
            ],
            &[("2026-01".into(), 4), ("2026-02".into(), 2)],
        );
        assert_eq!(got.units.len(), 2);
        assert_eq!(
            got.units[0],
            (
                2,
                StatusCounts {
                    cases: 4,
                    open_overdue: 0,
                    closed_on_time: 0,
                    closed_late: 1
                }
            )
        );
        assert_eq!(got.categories[0].0, "");
        assert_eq!(got.categories[0].1.closed_on_time, 2);
        assert_eq!(got.months.iter().map(|m| m.1).sum::<i64>(), 6);
    }
}
