//! SQLite: monthly case statistics (`case_stats`, kept by the triggers of migration 0006).

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{StatsQuery, StatsRow, StoreError};

/// A case's bucket, as the triggers compute it (`c` is the case row).
const MONTH: &str = "strftime('%Y-%m', (c.created_at + 28800000) / 1000, 'unixepoch')";
const CATEGORY: &str = "CAST(coalesce(json_extract(c.snapshot, '$.fields.category'), '') AS TEXT)";
const STATUS: &str = "CASE \
     WHEN EXISTS (SELECT 1 FROM case_events e \
                  WHERE e.case_id = c.id AND e.action = 'clock_breached') \
     THEN CASE WHEN c.closed THEN 'closed_late' ELSE 'open_overdue' END \
     ELSE CASE WHEN c.closed THEN 'closed_on_time' ELSE 'open_on_time' END END";

fn decode(r: &SqliteRow) -> Result<StatsRow, sqlx::Error> {
    Ok(StatsRow {
        unit_code: r.try_get("code")?,
        unit_name: r.try_get("name")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        cases: r.try_get("cases")?,
    })
}

impl SqliteStore {
    pub(crate) async fn case_stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        let range = q.unit_subtree.as_deref().map(subtree_range).transpose()?;
        let sql = format!(
            "SELECT u.code, u.name, s.category, s.status, s.cases \
             FROM case_stats s JOIN units u ON u.id = s.unit_id \
             WHERE s.month = ? AND s.cases > 0 {} \
             ORDER BY u.code, s.category, s.status",
            if range.is_some() {
                "AND u.path >= ? AND u.path < ?"
            } else {
                ""
            }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&q.month);
        if let Some((lo, hi)) = &range {
            query = query.bind(lo).bind(hi);
        }
        let rows = query.fetch_all(&self.read).await?;
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
                 WHERE c.created_at >= ? AND c.created_at < ? {} \
                 GROUP BY 1, 2, 3) g \
             JOIN units u ON u.id = g.unit_id \
             ORDER BY u.code, g.category, g.status",
            if range.is_some() {
                "AND c.owner_unit_path >= ? AND c.owner_unit_path < ?"
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
        let rows = query.fetch_all(&self.read).await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn rebuild_case_stats(&self) -> Result<u64, StoreError> {
        Ok(self.rebuild_aggregates().await?.case_stats)
    }

    /// Empties `case_stats` and refills it from the cases, inside `tx`; returns its rows.
    pub(crate) async fn rebuild_case_stats_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
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
