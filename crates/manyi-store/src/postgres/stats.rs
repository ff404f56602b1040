//! PostgreSQL: monthly case statistics (`case_stats`, kept by the triggers of migration 0006).

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{StatsQuery, StatsRow, StoreError};

/// A case's bucket, as the triggers compute it (`c` is the case row; the functions are the
/// migration's).
const MONTH: &str = "case_stats_month(c.created_at)";
const CATEGORY: &str = "coalesce(c.snapshot -> 'fields' ->> 'category', '')";
const STATUS: &str = "case_stats_status(c.closed, EXISTS (SELECT 1 FROM case_events e \
     WHERE e.case_id = c.id AND e.action = 'clock_breached'))";

fn decode(r: &PgRow) -> Result<StatsRow, sqlx::Error> {
    Ok(StatsRow {
        unit_code: r.try_get("code")?,
        unit_name: r.try_get("name")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        cases: r.try_get("cases")?,
    })
}

impl PgStore {
    pub(crate) async fn case_stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        let range = q.unit_subtree.as_deref().map(subtree_range).transpose()?;
        let sql = format!(
            "SELECT u.code, u.name, s.category, s.status, s.cases \
             FROM case_stats s JOIN units u ON u.id = s.unit_id \
             WHERE s.month = $1 AND s.cases > 0 {} \
             ORDER BY u.code COLLATE \"C\", s.category, s.status",
            if range.is_some() {
                "AND u.path >= $2 AND u.path < $3"
            } else {
                ""
            }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&q.month);
        if let Some((lo, hi)) = &range {
            query = query.bind(lo).bind(hi);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn case_stats_from_cases(
        &self,
        q: &StatsQuery,
    ) -> Result<Vec<StatsRow>, StoreError> {
        let range = q.unit_subtree.as_deref().map(subtree_range).transpose()?;
        let sql = format!(
            "SELECT u.code, u.name, g.category, g.status, g.cases FROM ( \
                 SELECT c.owner_unit_id AS unit_id, {CATEGORY} AS category, \
                        {STATUS} AS status, count(*) AS cases \
                 FROM cases c \
                 WHERE c.created_at >= $1 AND c.created_at < $2 {} \
                 GROUP BY 1, 2, 3) g \
             JOIN units u ON u.id = g.unit_id \
             ORDER BY u.code COLLATE \"C\", g.category COLLATE \"C\", g.status COLLATE \"C\"",
            if range.is_some() {
                "AND c.owner_unit_path >= $3 AND c.owner_unit_path < $4"
            } else {
                ""
            }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_millis(q.from))
            .bind(to_millis(q.to));
        if let Some((lo, hi)) = &range {
            query = query.bind(lo).bind(hi);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn rebuild_case_stats(&self) -> Result<u64, StoreError> {
        Ok(self.rebuild_aggregates().await?.case_stats)
    }

    /// Empties `case_stats` and refills it from the cases, inside `tx`, which must hold
    /// `cases` and `case_events` in SHARE mode; returns its rows.
    pub(crate) async fn rebuild_case_stats_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM case_stats")
            .execute(&mut **tx)
            .await?;
        let sql = format!(
            "INSERT INTO case_stats (month, unit_id, category, status, cases) \
             SELECT {MONTH}, c.owner_unit_id, {CATEGORY}, {STATUS}, count(*) \
             FROM cases c GROUP BY 1, 2, 3, 4"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }
}
