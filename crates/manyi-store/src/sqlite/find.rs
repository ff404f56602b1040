//! SQLite: quick-find keys (`case_find`, migration 0013).

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{SqliteStore, decode_all};
use crate::StoreError;
use crate::find::{FindBackfill, FindKey, FindQuery, prefix_end};
use crate::rows::{self, case_columns};
use crate::tree::subtree_range;
use crate::{CaseRecord, page_size};

/// Writes the keys of case `case_id` in the caller's transaction; `replace` first removes the
/// keys it had (an update).
pub(super) async fn write_keys(
    conn: &mut SqliteConnection,
    case_id: i64,
    keys: &[FindKey],
    replace: bool,
) -> Result<(), StoreError> {
    if replace {
        sqlx::query("DELETE FROM case_find WHERE case_id = ?")
            .bind(case_id)
            .execute(&mut *conn)
            .await?;
    }
    insert_keys(conn, keys.iter().map(|k| (case_id, k))).await
}

/// Inserts `(case, key)` rows, many per statement (a duplicate is skipped: keys are a set).
pub(super) async fn insert_keys<'a>(
    conn: &mut SqliteConnection,
    rows: impl Iterator<Item = (i64, &'a FindKey)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = rows.collect();
    // 3 parameters a row, well under SQLite's 32,766.
    for chunk in rows.chunks(1_000) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO case_find (kind, key, case_id) ");
        q.push_values(chunk, |mut b, (case_id, k)| {
            b.push_bind(&k.kind).push_bind(&k.key).push_bind(*case_id);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn find_cases(&self, f: &FindQuery) -> Result<Vec<CaseRecord>, StoreError> {
        // The key range first (the primary key), then the cases it names.
        let mut q = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id IN (SELECT case_id FROM case_find WHERE kind = "
        ));
        q.push_bind(f.kind.clone());
        q.push(" AND key >= ").push_bind(f.prefix.clone());
        q.push(" AND key < ").push_bind(prefix_end(&f.prefix));
        q.push(")");
        if let Some(v) = &f.visible_to {
            let (lo, hi) = subtree_range(&v.unit_path)?;
            q.push(" AND ((owner_unit_path >= ").push_bind(lo);
            q.push(" AND owner_unit_path < ").push_bind(hi);
            q.push(") OR first_contact_id = ").push_bind(v.user_id);
            q.push(")");
        }
        q.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(page_size(f.limit)));
        let rows = q.build().fetch_all(&self.read).await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn find_backfill(&self) -> Result<FindBackfill, StoreError> {
        let (last_case_id, done): (i64, bool) =
            sqlx::query_as("SELECT last_case_id, done FROM case_find_backfill WHERE id = 1")
                .fetch_one(&self.read)
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
            " FROM cases WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn backfill_find_keys(
        &self,
        batch: &[(i64, Vec<FindKey>)],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for (case_id, keys) in batch {
            let has: Option<i64> =
                sqlx::query_scalar("SELECT case_id FROM case_find WHERE case_id = ? LIMIT 1")
                    .bind(case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if has.is_none() {
                insert_keys(&mut tx, keys.iter().map(|k| (*case_id, k))).await?;
            }
        }
        // Progress only moves forward, whoever runs the backfill.
        sqlx::query(
            "UPDATE case_find_backfill SET last_case_id = MAX(last_case_id, ?), \
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
