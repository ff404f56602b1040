//! PostgreSQL: runs the violations ledger's and the penalty ledger's statements, which
//! [`crate::ledger`] spells for both backends.

use sqlx::{PgConnection, Postgres};

use super::{PgStore, decode_all};
use crate::ledger::{self as sql, reference_error};
use crate::rows::RowExt;
use crate::{LedgerFilter, NewViolation, PenaltyRecord, PenaltyStep, StoreError, ViolationRecord};

/// Writes `violations` (recorded by events whose first `seq` is `first_seq`) and their
/// penalty proposals, inside the caller's write transaction.
pub(super) async fn insert_violations(
    conn: &mut PgConnection,
    case_id: i64,
    first_seq: i64,
    violations: &[NewViolation],
) -> Result<(), StoreError> {
    for v in violations {
        let row = sql::insert_violation::<Postgres>(case_id, first_seq, v)?
            .fetch_one(&mut *conn)
            .await
            .map_err(reference_error)?;
        let id = row.int("id")?;
        for person in &v.person_ids {
            sqlx::query(sql::INSERT_VIOLATION_PERSON)
                .bind(id)
                .bind(person)
                .execute(&mut *conn)
                .await
                .map_err(reference_error)?;
        }
        for p in &v.penalties {
            sql::insert_penalty::<Postgres>(id, Some(case_id), v, p)
                .execute(&mut *conn)
                .await
                .map_err(reference_error)?;
        }
    }
    Ok(())
}

impl PgStore {
    pub(crate) async fn list_violations(
        &self,
        f: &LedgerFilter,
    ) -> Result<Vec<ViolationRecord>, StoreError> {
        let rows = sql::list_violations::<Postgres>(f)?
            .build()
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, sql::violation)
    }

    pub(crate) async fn list_penalties(
        &self,
        f: &LedgerFilter,
    ) -> Result<Vec<PenaltyRecord>, StoreError> {
        let rows = sql::list_penalties::<Postgres>(f)?
            .build()
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, sql::penalty)
    }

    pub(crate) async fn penalty_by_id(&self, id: i64) -> Result<Option<PenaltyRecord>, StoreError> {
        let row = sqlx::query(sql::PENALTY_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(sql::penalty).transpose()?)
    }

    pub(crate) async fn penalty_step(
        &self,
        id: i64,
        step: &PenaltyStep,
    ) -> Result<PenaltyRecord, StoreError> {
        let mut tx = self.tx().await?;
        let done = sql::penalty_step::<Postgres>(id, step)
            .execute(&mut *tx)
            .await
            .map_err(reference_error)?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar(sql::PENALTY_EXISTS)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(sql::step_refused(id, exists.is_some()));
        }
        let row = sqlx::query(sql::PENALTY_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = sql::penalty(&row)?;
        tx.commit().await?;
        Ok(record)
    }
}
