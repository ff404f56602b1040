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
        // An error returns here and drops `tx`: the timer stays pending.
        let outcome = fire_in(&mut tx, timer_id, fired_at, update.as_ref()).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Several firings in one transaction, each in its own savepoint: one that fails (a
    /// conflict: the case moved on; a deadlock with another multi-case writer) is undone alone
    /// and reported, the others are kept. The firings are taken in case order, so that two
    /// instances firing overlapping groups lock their cases in the same order.
    pub(crate) async fn fire_timers(
        &self,
        fires: &[(i64, Option<CaseUpdate>)],
        fired_at: Timestamp,
    ) -> Result<Vec<Result<FireOutcome, StoreError>>, StoreError> {
        let mut order: Vec<usize> = (0..fires.len()).collect();
        order.sort_by_key(|&i| (fires[i].1.as_ref().map(|u| u.id), fires[i].0));
        let mut tx = self.tx().await?;
        let mut outcomes: Vec<Option<Result<FireOutcome, StoreError>>> =
            (0..fires.len()).map(|_| None).collect();
        for i in order {
            let (timer_id, update) = &fires[i];
            sqlx::query("SAVEPOINT fire").execute(&mut *tx).await?;
            let outcome = fire_in(&mut tx, *timer_id, fired_at, update.as_ref()).await;
            if outcome.is_err() {
                sqlx::query("ROLLBACK TO SAVEPOINT fire")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("RELEASE SAVEPOINT fire")
                .execute(&mut *tx)
                .await?;
            outcomes[i] = Some(outcome);
        }
        tx.commit().await?;
        Ok(outcomes.into_iter().flatten().collect())
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

/// Fires timer `timer_id` inside the caller's transaction, with `update` if given. The caller
/// commits; on an error nothing must be kept (drop the transaction or roll back to a savepoint
/// taken before).
async fn fire_in(
    conn: &mut PgConnection,
    timer_id: i64,
    fired_at: Timestamp,
    update: Option<&CaseUpdate>,
) -> Result<FireOutcome, StoreError> {
    // With an update, lock what it will write in the store's one order — owner unit, case,
    // then timer — before touching the timer: an `update_case` that cancels this timer locks
    // the case before the timer too, so the two cannot deadlock.
    let owner = match update {
        None => None,
        Some(u) => {
            let path = owner_path(conn, u.owner_unit_id).await?;
            sqlx::query("SELECT id FROM cases WHERE id = $1 FOR UPDATE")
                .bind(u.id)
                .execute(&mut *conn)
                .await?;
            Some(path)
        }
    };
    let case_id: Option<i64> = sqlx::query_scalar(sql::FIRE)
        .bind(to_millis(fired_at))
        .bind(timer_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(case_id) = case_id else {
        let exists: Option<i64> = sqlx::query_scalar(sql::EXISTS)
            .bind(timer_id)
            .fetch_optional(&mut *conn)
            .await?;
        return sql::not_fired(timer_id, exists.is_some());
    };
    let case = match (update, &owner) {
        (Some(u), Some(path)) => {
            check_same_case(timer_id, case_id, u)?;
            Some(apply_update(conn, u, path).await?)
        }
        _ => None,
    };
    tracing::debug!(timer_id, case_id, "timer fired");
    Ok(FireOutcome::Fired(case))
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
