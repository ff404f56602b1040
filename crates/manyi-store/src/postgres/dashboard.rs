//! PostgreSQL: the dashboard's counts (see `crate::dashboard`).
//!
//! Every query here is sent unprepared (`persistent(false)`), so PostgreSQL plans it with its
//! values: how much of the tree a subtree range covers (an outlet or head office) changes the
//! best plan, and after five runs of a prepared statement PostgreSQL may settle on a generic
//! plan. Measured over 1,000,000 cases: the head office's 12-month aggregate took 2.3–2.5 s a
//! query with the cached generic plan and 21 ms planned with its values (BENCHMARKS.md, "Web
//! pages").

use jiff::Timestamp;
use sqlx::Row;

use super::PgStore;
use crate::StoreError;
use crate::dashboard::{OpenCounts, StatsTotal, WEEK_MS, per_week};
use crate::time::to_millis;
use crate::tree::subtree_range;

impl PgStore {
    pub(crate) async fn open_case_counts(
        &self,
        subtree: &str,
        now: Timestamp,
        soon: Timestamp,
    ) -> Result<Vec<OpenCounts>, StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        // Index entries only (covering): the subtree's range of the open cases' index.
        let rows = sqlx::query(
            "SELECT owner_unit_path, count(*) AS open, \
                    count(CASE WHEN due_at <= $1 THEN 1 END) AS overdue, \
                    count(CASE WHEN due_at > $1 AND due_at <= $2 THEN 1 END) AS due_soon \
             FROM cases \
             WHERE closed = FALSE AND owner_unit_path >= $3 AND owner_unit_path < $4 \
             GROUP BY owner_unit_path",
        )
        .bind(to_millis(now))
        .bind(to_millis(soon))
        .bind(lo)
        .bind(hi)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenCounts {
                    unit_path: r.try_get("owner_unit_path")?,
                    open: r.try_get("open")?,
                    overdue: r.try_get("overdue")?,
                    due_soon: r.try_get("due_soon")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub(crate) async fn cases_per_week(
        &self,
        subtree: &str,
        from: Timestamp,
        weeks: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        let from = to_millis(from);
        let to = from + WEEK_MS * i64::from(weeks);
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (created_at - $1) / $2 AS week, count(*) \
             FROM cases \
             WHERE created_at >= $1 AND created_at < $3 \
               AND owner_unit_path >= $4 AND owner_unit_path < $5 \
             GROUP BY week",
        )
        .bind(from)
        .bind(WEEK_MS)
        .bind(to)
        .bind(lo)
        .bind(hi)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        Ok(per_week(&rows, weeks))
    }

    pub(crate) async fn case_stats_totals(
        &self,
        subtree: &str,
        from_month: &str,
        to_month: &str,
    ) -> Result<(Vec<StatsTotal>, Vec<(String, i64)>), StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        let totals = sqlx::query(
            "SELECT s.unit_id, s.category, s.status, sum(s.cases)::BIGINT AS cases \
             FROM case_stats s JOIN units u ON u.id = s.unit_id \
             WHERE s.month >= $1 AND s.month <= $2 AND s.cases > 0 \
               AND u.path >= $3 AND u.path < $4 \
             GROUP BY s.unit_id, s.category, s.status",
        )
        .bind(from_month)
        .bind(to_month)
        .bind(&lo)
        .bind(&hi)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StatsTotal {
                unit_id: r.try_get("unit_id")?,
                category: r.try_get("category")?,
                status: r.try_get("status")?,
                cases: r.try_get("cases")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let months: Vec<(String, i64)> = sqlx::query_as(
            "SELECT s.month, sum(s.cases)::BIGINT \
             FROM case_stats s JOIN units u ON u.id = s.unit_id \
             WHERE s.month >= $1 AND s.month <= $2 AND s.cases > 0 \
               AND u.path >= $3 AND u.path < $4 \
             GROUP BY s.month ORDER BY s.month",
        )
        .bind(from_month)
        .bind(to_month)
        .bind(&lo)
        .bind(&hi)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        Ok((totals, months))
    }
}
