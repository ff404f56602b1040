//! PostgreSQL: repeat-complaint lookups, markers and backfill (`crate::repeat`, migration
//! 0016).

use jiff::Timestamp;

use super::{PgStore, decode_all};
use crate::StoreError;
use crate::find::FindBackfill;
use crate::repeat::{REPEAT, REPEAT_PENDING, RepeatKeyRow};
use crate::rows::{self, case_columns};
use crate::time::to_millis;
use crate::{CaseRecord, page_size};

impl PgStore {
    pub(crate) async fn repeat_first(
        &self,
        key: &str,
        below: i64,
    ) -> Result<Option<CaseRecord>, StoreError> {
        // The primary key (kind, key, case_id) gives the key's cases in id order; the first
        // open one is the answer.
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id = (SELECT f.case_id FROM case_find f \
               JOIN cases c ON c.id = f.case_id \
               WHERE f.kind = $1 AND f.key = $2 AND f.case_id < $3 AND NOT c.closed \
               ORDER BY f.case_id LIMIT 1)"
        ))
        .bind(REPEAT)
        .bind(key)
        .bind(below)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::case).transpose()?)
    }

    pub(crate) async fn repeat_pending(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id IN (SELECT case_id FROM case_find WHERE kind = $1) \
               AND created_at < $2 ORDER BY id LIMIT $3"
        ))
        .bind(REPEAT_PENDING)
        .bind(to_millis(before))
        .bind(i64::from(page_size(limit)))
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn repeat_checked(&self, case_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM case_find WHERE kind = $1 AND case_id = $2")
            .bind(REPEAT_PENDING)
            .bind(case_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn repeat_backfill(&self) -> Result<FindBackfill, StoreError> {
        let (last_case_id, done): (i64, bool) =
            sqlx::query_as("SELECT last_case_id, done FROM case_repeat_backfill WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(FindBackfill { last_case_id, done })
    }

    pub(crate) async fn backfill_repeat_keys(
        &self,
        batch: &[RepeatKeyRow],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx().await?;
        for row in batch {
            // The case row's lock orders this against a concurrent update of the same case
            // (which replaces its keys and moves its version): whichever comes second sees the
            // other's work — the update deletes this key, or this finds the version moved on.
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM cases WHERE id = $1 FOR UPDATE")
                    .bind(row.case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if current != Some(row.version) {
                continue;
            }
            sqlx::query(
                "INSERT INTO case_find (kind, key, case_id) \
                 SELECT $1, $2, $3 WHERE NOT EXISTS \
                   (SELECT 1 FROM case_find WHERE case_id = $3 AND kind = $1) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(REPEAT)
            .bind(&row.key)
            .bind(row.case_id)
            .execute(&mut *tx)
            .await?;
        }
        // Progress only moves forward, whoever runs the backfill.
        sqlx::query(
            "UPDATE case_repeat_backfill SET last_case_id = GREATEST(last_case_id, $1), \
             done = (done OR $2) WHERE id = 1",
        )
        .bind(progress.last_case_id)
        .bind(progress.done)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
