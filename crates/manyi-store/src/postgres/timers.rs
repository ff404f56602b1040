//! PostgreSQL: deadline timers.
//!
//! Timers are scheduled and cancelled inside the case transactions of `cases.rs` (through
//! [`apply_timer_changes`]). Several instances may run the scheduler against one database:
//! they read the same due timers (a plain `SELECT`, no claim) and race in
//! [`PgStore::fire_timer`], whose conditional `UPDATE` lets exactly one of them fire each timer
//! — the others wait for the winner's row lock, then see the timer fired and write nothing.

use jiff::Timestamp;
use sqlx::{PgConnection, Postgres};

use super::cases::{apply_update, owner_path};
use super::{PgStore, decode_all};
use crate::time::{from_millis, to_millis};
use crate::timers::{self as sql, Step};
use crate::validate::check_same_case;
use crate::{CaseUpdate, FireOutcome, StoreError, TimerChange, TimerRecord, rows};

pub(super) use crate::timers::{DUE_TIMERS, NEXT_DUE};

impl PgStore {
    pub(crate) async fn due_timers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(DUE_TIMERS)
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> = sqlx::query_scalar(NEXT_DUE).fetch_one(&self.pool).await?;
        Ok(due.map(from_millis).transpose()?)
    }

    pub(crate) async fn fire_timer(
        &self,
        timer_id: i64,
        fired_at: Timestamp,
        update: Option<CaseUpdate>,
    ) -> Result<FireOutcome, StoreError> {
        let mut tx = self.tx().await?;
        // With an update, lock what it will write in the store's one order — owner unit,
        // case, then timer — before touching the timer: an `update_case` that cancels this
        // timer locks the case before the timer too, so the two cannot deadlock.
        let owner = match &update {
            None => None,
            Some(u) => {
                let path = owner_path(&mut tx, u.owner_unit_id).await?;
                sqlx::query("SELECT id FROM cases WHERE id = $1 FOR UPDATE")
                    .bind(u.id)
                    .execute(&mut *tx)
                    .await?;
                Some(path)
            }
        };
        let case_id: Option<i64> = sqlx::query_scalar(sql::FIRE)
            .bind(to_millis(fired_at))
            .bind(timer_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(case_id) = case_id else {
            let exists: Option<i64> = sqlx::query_scalar(sql::EXISTS)
                .bind(timer_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            return sql::not_fired(timer_id, exists.is_some());
        };
        let case = match (&update, &owner) {
            (Some(u), Some(path)) => {
                check_same_case(timer_id, case_id, u)?;
                // A conflict returns here and drops `tx`: the timer stays pending.
                Some(apply_update(&mut tx, u, path).await?)
            }
            _ => None,
        };
        tx.commit().await?;
        tracing::debug!(timer_id, case_id, "timer fired");
        Ok(FireOutcome::Fired(case))
    }

    pub(crate) async fn retire_timers(
        &self,
        ids: &[i64],
        at: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        // `SKIP LOCKED`: a timer another instance is firing at this moment is left to it
        // rather than waited for, so instances working through the same due list spread out
        // instead of queueing behind each other's row locks. Only timer rows are locked, and
        // no case: no lock-order question with case writes.
        let retired: Vec<i64> = sqlx::query_scalar(
            "UPDATE timers SET fired_at = $1 WHERE id IN (\
                 SELECT id FROM timers WHERE id = ANY($2) \
                 AND fired_at IS NULL AND cancelled_at IS NULL \
                 ORDER BY id FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(to_millis(at))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        tracing::debug!(retired = retired.len(), "stale timers retired");
        Ok(retired)
    }

    pub(crate) async fn pending_timers(
        &self,
        case_id: i64,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(sql::PENDING_OF_CASE)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn case_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(sql::OF_CASE)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, rows::timer)
    }
}

/// Applies timer changes, in order, for case `case_id` inside the caller's transaction; `at`
/// is the instant of the write, recorded as the cancellation time. Consecutive schedules go in
/// one multi-row insert: one round trip instead of one per timer, inside the window in which
/// a create holds its number counter's row lock.
pub(super) async fn apply_timer_changes(
    conn: &mut PgConnection,
    case_id: i64,
    at: Timestamp,
    changes: &[TimerChange],
) -> Result<(), StoreError> {
    for step in sql::steps(changes) {
        match step {
            Step::Cancel(clock) => {
                sqlx::query(sql::CANCEL_CLOCK)
                    .bind(to_millis(at))
                    .bind(case_id)
                    .bind(clock)
                    .execute(&mut *conn)
                    .await?;
            }
            Step::Schedule(schedules) => {
                sql::insert_schedules::<Postgres>(case_id, schedules)
                    .build()
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}
