//! PostgreSQL: the dashboard's counts, its SQL only (records and checks: `crate::dashboard`).
//!
//! Every query here is sent unprepared (`persistent(false)`), so PostgreSQL plans it with its
//! values: how much of the tree a subtree range covers (an outlet or head office) changes the
//! best plan, and after five runs of a prepared statement PostgreSQL may settle on a generic
//! plan. Measured over 1,000,000 cases: the head office's 12-month aggregate took 2.3–2.5 s a
//! query with the cached generic plan and 21 ms planned with its values (BENCHMARKS.md, "Web
//! pages").

use jiff::Timestamp;

use super::PgStore;
use crate::StoreError;
use crate::dashboard::{
    OpenCounts, OpenCountsRow, StatsTotal, StatsTotalRow, WEEK_MS, per_week, week_range,
};
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
        let rows: Vec<OpenCountsRow> = sqlx::query_as(
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
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn cases_per_week(
        &self,
        subtree: &str,
        from: Timestamp,
        weeks: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        let (from, to) = week_range(from, weeks)?;
        // The weekly aggregate (migration 0014): weeks × the subtree's units.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (w.week_start - $1) / $2 AS week, sum(w.cases)::BIGINT \
             FROM case_weeks w JOIN units u ON u.id = w.unit_id \
             WHERE w.week_start >= $1 AND w.week_start < $3 AND w.cases > 0 \
               AND u.path >= $4 AND u.path < $5 \
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

    pub(crate) async fn cases_per_week_from_cases(
        &self,
        subtree: &str,
        from: Timestamp,
        weeks: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        let (from, to) = week_range(from, weeks)?;
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
        // Two reads of the same rows, on two connections at once: the page waits for the
        // slower, not for both (head office: ~130,000 aggregate rows at 1,000,000 cases).
        let totals = sqlx::query_as::<_, StatsTotalRow>(
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
        .fetch_all(&self.pool);
        let months = sqlx::query_as::<_, (String, i64)>(
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
        .fetch_all(&self.pool);
        let (totals, months) = tokio::try_join!(totals, months)?;
        Ok((totals.into_iter().map(Into::into).collect(), months))
    }
}
