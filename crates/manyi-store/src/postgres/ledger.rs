//! PostgreSQL: the violations ledger and the penalty ledger (the same statements as SQLite's,
//! with numbered placeholders).

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{PgStore, decode_all};
use crate::error::is_foreign_key_violation;
use crate::ledger::{self, ledger_limit, penalty_select, violation_select};
use crate::time::to_millis;
use crate::tree::subtree_range;
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
        let index = i64::try_from(v.event_index).map_err(|_| invalid("event index"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO violations (case_id, event_seq, kind, rule, clause, occurred_at, \
             due_at, unit_id, person_ids, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(case_id)
        .bind(first_seq + index)
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
            sqlx::query(
                "INSERT INTO violation_persons (violation_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(person)
            .execute(&mut *conn)
            .await
            .map_err(reference_error)?;
        }
        for p in &v.penalties {
            sqlx::query(
                "INSERT INTO penalties (violation_id, case_id, rule, clause, person_id, \
                 unit_id, min_fen, max_fen, items, discipline_referral, \
                 requires_substantiation, proposed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
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

fn invalid(reason: &str) -> StoreError {
    StoreError::Invalid {
        what: "violation",
        reason: reason.to_owned(),
    }
}

fn reference_error(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        invalid("refers to an unknown case event, unit or user")
    } else {
        e.into()
    }
}

/// Adds the filter's conditions: `person` is the condition "is against the person bound next"
/// for the table queried, as (text before the bind, text after), `at` its time column.
fn push_filter(
    q: &mut QueryBuilder<Postgres>,
    f: &LedgerFilter,
    person: (&str, &str),
    at: &str,
) -> Result<(), StoreError> {
    if let Some(prefix) = &f.unit_subtree {
        let (lo, hi) = subtree_range(prefix)?;
        q.push(" AND u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
    }
    if let Some(id) = f.person_id {
        q.push(format!(" AND {}", person.0)).push_bind(id);
        q.push(person.1);
    }
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        q.push(" AND ((u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
        q.push(format!(") OR {}", person.0)).push_bind(v.user_id);
        q.push(format!("{})", person.1));
    }
    if let Some(from) = f.from {
        q.push(format!(" AND {at} >= ")).push_bind(to_millis(from));
    }
    if let Some(to) = f.to {
        q.push(format!(" AND {at} < ")).push_bind(to_millis(to));
    }
    if let Some(case_id) = f.case_id {
        q.push(" AND c.id = ").push_bind(case_id);
    }
    Ok(())
}

impl PgStore {
    pub(crate) async fn list_violations(
        &self,
        f: &LedgerFilter,
    ) -> Result<Vec<ViolationRecord>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(violation_select!());
        push_filter(
            &mut q,
            f,
            (
                "v.id IN (SELECT violation_id FROM violation_persons WHERE user_id = ",
                ")",
            ),
            "v.occurred_at",
        )?;
        q.push(" ORDER BY v.occurred_at, v.id LIMIT ")
            .push_bind(ledger_limit(f.limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        decode_all(&rows, ledger::violation)
    }

    pub(crate) async fn list_penalties(
        &self,
        f: &LedgerFilter,
    ) -> Result<Vec<PenaltyRecord>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(penalty_select!());
        push_filter(&mut q, f, ("p.person_id = ", ""), "p.proposed_at")?;
        if let Some(status) = &f.status {
            q.push(" AND p.status = ").push_bind(status.clone());
        }
        q.push(" ORDER BY p.proposed_at, p.id LIMIT ")
            .push_bind(ledger_limit(f.limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        decode_all(&rows, ledger::penalty)
    }

    pub(crate) async fn penalty_by_id(&self, id: i64) -> Result<Option<PenaltyRecord>, StoreError> {
        let row = sqlx::query(concat!(penalty_select!(), " AND p.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ledger::penalty).transpose()?)
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
            } => sqlx::query(
                "UPDATE penalties SET status = 'decided', decided_amount_fen = $1, \
                 decided_reason = $2, decided_by = $3, decided_at = $4 \
                 WHERE id = $5 AND status = $6",
            )
            .bind(amount_fen)
            .bind(reason)
            .bind(by)
            .bind(to_millis(*at)),
            PenaltyStep::Appeal { reason, at } => sqlx::query(
                "UPDATE penalties SET status = 'appealed', appeal_reason = $1, appealed_at = $2 \
                 WHERE id = $3 AND status = $4",
            )
            .bind(reason)
            .bind(to_millis(*at)),
            PenaltyStep::DecideAppeal {
                amount_fen,
                reason,
                by,
                at,
            } => sqlx::query(
                "UPDATE penalties SET status = 'appeal_decided', appeal_amount_fen = $1, \
                 appeal_decision_reason = $2, appeal_decided_by = $3, appeal_decided_at = $4 \
                 WHERE id = $5 AND status = $6",
            )
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
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM penalties WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Conflict,
                None => StoreError::NotFound {
                    what: "penalty",
                    key: id.to_string(),
                },
            });
        }
        let row = sqlx::query(concat!(penalty_select!(), " AND p.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = ledger::penalty(&row)?;
        tx.commit().await?;
        Ok(record)
    }
}
