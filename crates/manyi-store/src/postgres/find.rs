//! PostgreSQL: quick-find keys (`case_find`, migrations 0013 and 0015), its SQL only (query shapes
//! and checks: `crate::find`).

use sqlx::Postgres;
use sqlx::postgres::PgConnection;

use super::{PgStore, decode_all};
use crate::find::{
    FindBackfill, FindKey, FindQuery, NumberBackfill, find_cases_query, insert_keys_queries,
};
use crate::rows::{self, case_columns};
use crate::{CaseRecord, StoreError};

/// Writes the keys of case `case_id` in the caller's transaction; `replace` first removes the
/// keys it had (an update) — all but its number's, which the database wrote and which never
/// change, and its pending-repeat marker, which only the repeat check removes.
pub(super) async fn write_keys(
    conn: &mut PgConnection,
    case_id: i64,
    keys: &[FindKey],
    replace: bool,
) -> Result<(), StoreError> {
    if replace {
        // The marker stays: the repeat a case made was a fact at its creation, and the
        // catch-up after a crash must still find it whatever an update changed since.
        sqlx::query(
            "DELETE FROM case_find WHERE case_id = $1 AND kind NOT IN ('number', 'repeat_pending')",
        )
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    }
    insert_keys(conn, keys.iter().map(|k| (case_id, k))).await
}

/// Inserts `(case, key)` rows, many per statement (a duplicate is skipped: keys are a set).
pub(super) async fn insert_keys<'a>(
    conn: &mut PgConnection,
    rows: impl Iterator<Item = (i64, &'a FindKey)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = rows.collect();
    for mut q in insert_keys_queries::<Postgres>(&rows) {
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl PgStore {
    pub(crate) async fn find_cases(&self, f: &FindQuery) -> Result<Vec<CaseRecord>, StoreError> {
        let mut q = find_cases_query::<Postgres>(f)?;
        let rows = q.build().fetch_all(&self.pool).await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn capped_ids(
        &self,
        f: &FindQuery,
        walk: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let mut q = crate::find_capped::capped_ids_query::<Postgres>(f, walk)?;
        Ok(q.build_query_scalar().fetch_all(&self.pool).await?)
    }

    pub(crate) async fn walked_count(&self, f: &FindQuery, walk: usize) -> Result<i64, StoreError> {
        let mut q = crate::find_capped::walked_count_query::<Postgres>(f, walk);
        Ok(q.build_query_scalar().fetch_one(&self.pool).await?)
    }

    pub(crate) async fn scanned_ids(
        &self,
        f: &FindQuery,
        v: &crate::Visibility,
    ) -> Result<Vec<i64>, StoreError> {
        let mut q = crate::find_capped::scan_ids_query::<Postgres>(f, v, "strpos")?;
        Ok(q.build_query_scalar().fetch_all(&self.pool).await?)
    }

    pub(crate) async fn find_backfill(&self) -> Result<FindBackfill, StoreError> {
        let (last_case_id, done): (i64, bool) =
            sqlx::query_as("SELECT last_case_id, done FROM case_find_backfill WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(FindBackfill { last_case_id, done })
    }

    pub(crate) async fn cases_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn backfill_find_keys(
        &self,
        batch: &[(i64, Vec<FindKey>)],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx().await?;
        for (case_id, keys) in batch {
            // The case row's lock orders this against a concurrent update of the same case
            // (which replaces its keys): whichever comes second sees the other's rows.
            sqlx::query("SELECT id FROM cases WHERE id = $1 FOR UPDATE")
                .bind(case_id)
                .fetch_optional(&mut *tx)
                .await?;
            // Number keys do not count: the database writes them itself.
            let has: Option<i64> = sqlx::query_scalar(
                "SELECT case_id FROM case_find WHERE case_id = $1 AND kind <> 'number' LIMIT 1",
            )
            .bind(case_id)
            .fetch_optional(&mut *tx)
            .await?;
            if has.is_none() {
                insert_keys(&mut tx, keys.iter().map(|k| (*case_id, k))).await?;
            }
        }
        // Progress only moves forward, whoever runs the backfill.
        sqlx::query(
            "UPDATE case_find_backfill SET last_case_id = GREATEST(last_case_id, $1), \
             done = (done OR $2) WHERE id = 1",
        )
        .bind(progress.last_case_id)
        .bind(progress.done)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn number_backfill(&self) -> Result<NumberBackfill, StoreError> {
        let (last_case_id, upto): (i64, i64) =
            sqlx::query_as("SELECT last_case_id, upto FROM case_find_number_backfill WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(NumberBackfill { last_case_id, upto })
    }

    pub(crate) async fn backfill_number_keys(
        &self,
        limit: u32,
    ) -> Result<NumberBackfill, StoreError> {
        // The progress row's lock orders concurrent callers.
        let mut tx = self.tx().await?;
        let (last, upto): (i64, i64) = sqlx::query_as(
            "SELECT last_case_id, upto FROM case_find_number_backfill WHERE id = 1 FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        if last >= upto {
            return Ok(NumberBackfill {
                last_case_id: last,
                upto,
            });
        }
        // The batch's last id, or `upto` when no case is left below it (ids may have gaps).
        let next: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(id), $2) FROM \
             (SELECT id FROM cases WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3) b",
        )
        .bind(last)
        .bind(upto)
        .bind(i64::from(limit))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO case_find (kind, key, case_id) \
             SELECT 'number', upper(substr(c.number, p.n)), c.id \
             FROM cases c, generate_series(1, length(c.number) - 3) AS p(n) \
             WHERE c.id > $1 AND c.id <= $2 \
             ON CONFLICT DO NOTHING",
        )
        .bind(last)
        .bind(next)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE case_find_number_backfill SET last_case_id = $1 WHERE id = 1")
            .bind(next)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(NumberBackfill {
            last_case_id: next,
            upto,
        })
    }
}
