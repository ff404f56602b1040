//! SQLite: repeat-complaint lookups, markers and backfill (`crate::repeat`, migration 0016).

use jiff::Timestamp;

use super::{SqliteStore, decode_all};
use crate::StoreError;
use crate::find::FindBackfill;
use crate::repeat::{REPEAT, REPEAT_PENDING, RepeatKeyRow};
use crate::rows::{self, case_columns};
use crate::time::to_millis;
use crate::{CaseRecord, page_size};

impl SqliteStore {
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
               WHERE f.kind = ? AND f.key = ? AND f.case_id < ? AND c.closed = 0 \
               ORDER BY f.case_id LIMIT 1)"
        ))
        .bind(REPEAT)
        .bind(key)
        .bind(below)
        .fetch_optional(&self.read)
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
            " FROM cases WHERE id IN (SELECT case_id FROM case_find WHERE kind = ?) \
               AND created_at < ? ORDER BY id LIMIT ?"
        ))
        .bind(REPEAT_PENDING)
        .bind(to_millis(before))
        .bind(i64::from(page_size(limit)))
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn repeat_checked(&self, case_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM case_find WHERE kind = ? AND case_id = ?")
            .bind(REPEAT_PENDING)
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn repeat_backfill(&self) -> Result<FindBackfill, StoreError> {
        let (last_case_id, done): (i64, bool) =
            sqlx::query_as("SELECT last_case_id, done FROM case_repeat_backfill WHERE id = 1")
                .fetch_one(&self.read)
                .await?;
        Ok(FindBackfill { last_case_id, done })
    }

    pub(crate) async fn backfill_repeat_keys(
        &self,
        batch: &[RepeatKeyRow],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        // One writer: no update of these cases can interleave with this transaction.
        let mut tx = self.write_tx().await?;
        for row in batch {
            sqlx::query(
                "INSERT INTO case_find (kind, key, case_id) \
                 SELECT ?, ?, id FROM cases WHERE id = ? AND version = ? \
                   AND NOT EXISTS (SELECT 1 FROM case_find \
                                   WHERE case_id = cases.id AND kind = ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(REPEAT)
            .bind(&row.key)
            .bind(row.case_id)
            .bind(row.version)
            .bind(REPEAT)
            .execute(&mut *tx)
            .await?;
        }
        // Progress only moves forward, whoever runs the backfill.
        sqlx::query(
            "UPDATE case_repeat_backfill SET last_case_id = MAX(last_case_id, ?), \
             done = (done OR ?) WHERE id = 1",
        )
        .bind(progress.last_case_id)
        .bind(progress.done)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
