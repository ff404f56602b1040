//! PostgreSQL: the dashboard's rollups (migration 0019) read, and every trigger-kept
//! aggregate rebuilt (records and checks: `crate::rollups`).
//!
//! The read by unit is sent unprepared (`persistent(false)`), like the dashboard's other
//! range reads over the unit tree (`postgres/dashboard.rs` says why).

use super::PgStore;
use crate::StoreError;
use crate::rollups::{CountsRow, Rebuilt, SubtreeTotals, root_id};
use crate::tree::subtree_range;

/// `case_stats`' statuses folded into the rollups' four counts (`s` is a `case_stats` row).
const FOLD: &str = "sum(s.cases), \
     coalesce(sum(s.cases) FILTER (WHERE s.status = 'open_overdue'), 0), \
     coalesce(sum(s.cases) FILTER (WHERE s.status = 'closed_on_time'), 0), \
     coalesce(sum(s.cases) FILTER (WHERE s.status = 'closed_late'), 0)";

impl PgStore {
    pub(crate) async fn subtree_totals(
        &self,
        subtree: &str,
        from_month: &str,
        to_month: &str,
    ) -> Result<SubtreeTotals, StoreError> {
        let (lo, hi) = subtree_range(subtree)?;
        let root = root_id(subtree)?;
        let units = sqlx::query_as::<_, CountsRow<i64>>(
            "SELECT m.unit_id, sum(m.cases)::BIGINT, sum(m.open_overdue)::BIGINT, \
                    sum(m.closed_on_time)::BIGINT, sum(m.closed_late)::BIGINT \
             FROM case_months m JOIN units u ON u.id = m.unit_id \
             WHERE m.month >= $1 AND m.month <= $2 AND u.path >= $3 AND u.path < $4 \
             GROUP BY m.unit_id",
        )
        .bind(from_month)
        .bind(to_month)
        .bind(&lo)
        .bind(&hi)
        .persistent(false)
        .fetch_all(&self.pool);
        let tree = sqlx::query_as::<_, (String, String, i64, i64, i64, i64)>(
            "SELECT month, category, cases, open_overdue, closed_on_time, closed_late \
             FROM case_tree_months \
             WHERE unit_id = $1 AND month >= $2 AND month <= $3",
        )
        .bind(root)
        .bind(from_month)
        .bind(to_month)
        .fetch_all(&self.pool);
        let (units, tree) = tokio::try_join!(units, tree)?;
        let tree = tree
            .into_iter()
            .map(|(month, category, a, b, c, d)| ((month, category), a, b, c, d))
            .collect();
        Ok(SubtreeTotals::from_rows(units, tree))
    }

    pub(crate) async fn rebuild_aggregates(&self) -> Result<Rebuilt, StoreError> {
        let mut tx = self.tx().await?;
        // Case writes wait (reads go on) so that no trigger updates the tables while they are
        // recomputed: SHARE conflicts with the ROW EXCLUSIVE lock every INSERT/UPDATE takes.
        // `units` too: a unit move rewrites the tree's rollup.
        sqlx::query("LOCK TABLE cases, case_events, units IN SHARE MODE")
            .execute(&mut *tx)
            .await?;
        let case_stats = self.rebuild_case_stats_in(&mut tx).await?;
        let rows = |r: sqlx::postgres::PgQueryResult| r.rows_affected();
        // `case_stats`' triggers kept the rollups in step while it was emptied and refilled;
        // they are recomputed anyway, so that a rebuild also repairs them.
        sqlx::query("DELETE FROM case_weeks")
            .execute(&mut *tx)
            .await?;
        let case_weeks = rows(
            sqlx::query(
                "INSERT INTO case_weeks (week_start, unit_id, cases) \
                 SELECT case_weeks_start(created_at), owner_unit_id, count(*) \
                 FROM cases GROUP BY 1, 2",
            )
            .execute(&mut *tx)
            .await?,
        );
        sqlx::query("DELETE FROM case_months")
            .execute(&mut *tx)
            .await?;
        let case_months = rows(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO case_months \
                     (month, unit_id, cases, open_overdue, closed_on_time, closed_late) \
                 SELECT s.month, s.unit_id, {FOLD} FROM case_stats s GROUP BY 1, 2"
            )))
            .execute(&mut *tx)
            .await?,
        );
        sqlx::query("DELETE FROM case_tree_months")
            .execute(&mut *tx)
            .await?;
        let case_tree_months = rows(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO case_tree_months \
                     (unit_id, month, category, cases, open_overdue, closed_on_time, \
                      closed_late) \
                 SELECT a.id, s.month, s.category, {FOLD} \
                 FROM case_stats s JOIN units u ON u.id = s.unit_id \
                 CROSS JOIN LATERAL unnest(case_rollups_ancestors(u.path)) AS a(id) \
                 GROUP BY 1, 2, 3"
            )))
            .execute(&mut *tx)
            .await?,
        );
        tx.commit().await?;
        Ok(Rebuilt {
            case_stats,
            case_weeks,
            case_months,
            case_tree_months,
        })
    }
}
