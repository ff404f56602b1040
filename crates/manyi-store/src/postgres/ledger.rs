//! PostgreSQL: runs the violations ledger's and the penalty ledger's statements, which
//! [`crate::ledger`] spells for both backends.

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres};

use super::{PgStore, decode_all};
use crate::ledger::{self as sql, reference_error};
use crate::time::to_millis;
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
        let id: i64 = sqlx::query_scalar(sql::INSERT_VIOLATION)
            .bind(case_id)
            .bind(sql::event_seq(first_seq, v)?)
            .bind(&v.kind)
            .bind(&v.rule)
            .bind(&v.clause)
            .bind(to_millis(v.occurred_at))
            .bind(v.due_at.map(to_millis))
            .bind(v.unit_id)
            .bind(Json(&v.person_ids))
            .bind(Json(&v.detail))
            .fetch_one(&mut *conn)
            .await
            .map_err(reference_error)?;
        for person in &v.person_ids {
            sqlx::query(sql::INSERT_VIOLATION_PERSON)
                .bind(id)
                .bind(person)
                .execute(&mut *conn)
                .await
                .map_err(reference_error)?;
        }
        for p in &v.penalties {
            sqlx::query(sql::INSERT_PENALTY)
                .bind(id)
                .bind(case_id)
                .bind(&p.rule)
                .bind(&p.clause)
                .bind(p.person_id)
                .bind(v.unit_id)
                .bind(p.min_fen)
                .bind(p.max_fen)
                .bind(p.items)
                .bind(p.discipline_referral)
                .bind(p.requires_substantiation)
                .bind(to_millis(v.occurred_at))
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
        let from = step.starts_from();
        let done = match step {
            PenaltyStep::Decide {
                amount_fen,
                reason,
                by,
                at,
            } => sqlx::query(sql::DECIDE_PENALTY)
                .bind(amount_fen)
                .bind(reason)
                .bind(by)
                .bind(to_millis(*at)),
            PenaltyStep::Appeal { reason, at } => sqlx::query(sql::APPEAL_PENALTY)
                .bind(reason)
                .bind(to_millis(*at)),
            PenaltyStep::DecideAppeal {
                amount_fen,
                reason,
                by,
                at,
            } => sqlx::query(sql::DECIDE_APPEAL)
                .bind(amount_fen)
                .bind(reason)
                .bind(by)
                .bind(to_millis(*at)),
        }
        .bind(id)
        .bind(from)
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
