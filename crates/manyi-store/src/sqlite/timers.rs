//! SQLite: deadline timers.
//!
//! Timers are scheduled and cancelled inside the case transactions of `cases.rs` (through
//! [`apply_timer_changes`]); the scheduler reads the due ones and fires each with
//! [`SqliteStore::fire_timer`], whose conditional update makes the first caller the only one.

use jiff::Timestamp;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::cases::apply_update;
use super::{SqliteStore, decode_all};
use crate::time::to_millis;
use crate::timers::{self as sql, Step};
use crate::validate::check_same_case;
use crate::{CaseUpdate, FireOutcome, StoreError, TimerChange, TimerRecord, rows};

pub(super) use crate::timers::{DUE_TIMERS, NEXT_DUE};

impl SqliteStore {
    pub(crate) async fn due_timers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(DUE_TIMERS)
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> = sqlx::query_scalar(NEXT_DUE).fetch_one(&self.read).await?;
        Ok(due.map(crate::time::from_millis).transpose()?)
    }

    pub(crate) async fn fire_timer(
        &self,
        timer_id: i64,
        fired_at: Timestamp,
        update: Option<CaseUpdate>,
    ) -> Result<FireOutcome, StoreError> {
        // `BEGIN IMMEDIATE` already serialises this with every other write, other instances'
        // included; the `IS NULL` conditions make a second firing a no-op all the same.
        let mut tx = self.write_tx().await?;
        // An error returns here and drops `tx`: the timer stays pending.
        let outcome = fire_in(&mut tx, timer_id, fired_at, update.as_ref()).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Several firings in one write transaction, each in its own savepoint: one that fails
    /// (a conflict: the case moved on) is undone alone and reported, the others are kept.
    pub(crate) async fn fire_timers(
        &self,
        fires: &[(i64, Option<CaseUpdate>)],
        fired_at: Timestamp,
    ) -> Result<Vec<Result<FireOutcome, StoreError>>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut outcomes = Vec::with_capacity(fires.len());
        for (timer_id, update) in fires {
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
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    pub(crate) async fn retire_timers(
        &self,
        ids: &[i64],
        at: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut retired = Vec::with_capacity(ids.len());
        // Chunks keep each statement well under SQLite's limit on bound parameters.
        for chunk in ids.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE timers SET fired_at = ");
            q.push_bind(to_millis(at)).push(" WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(") AND fired_at IS NULL AND cancelled_at IS NULL RETURNING id");
            let rows: Vec<(i64,)> = q.build_query_as().fetch_all(&mut *tx).await?;
            retired.extend(rows.into_iter().map(|(id,)| id));
        }
        tx.commit().await?;
        tracing::debug!(retired = retired.len(), "stale timers retired");
        Ok(retired)
    }

    pub(crate) async fn pending_timers(
        &self,
        case_id: i64,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(sql::PENDING_OF_CASE)
            .bind(case_id)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn case_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(sql::OF_CASE)
            .bind(case_id)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rows::timer)
    }
}

/// Fires timer `timer_id` inside the caller's write transaction, with `update` if given. The
/// caller commits; on an error nothing must be kept (drop the transaction or roll back to a
/// savepoint taken before).
async fn fire_in(
    conn: &mut SqliteConnection,
    timer_id: i64,
    fired_at: Timestamp,
    update: Option<&CaseUpdate>,
) -> Result<FireOutcome, StoreError> {
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
    let case = match update {
        None => None,
        Some(u) => {
            check_same_case(timer_id, case_id, u)?;
            Some(apply_update(conn, u).await?)
        }
    };
    tracing::debug!(timer_id, case_id, "timer fired");
    Ok(FireOutcome::Fired(case))
}

/// Applies timer changes, in order, for case `case_id` inside the caller's write transaction;
/// `at` is the instant of the write, recorded as the cancellation time. Consecutive schedules
/// go in one multi-row insert (a clock's warning and breach, several clocks at once): one
/// statement instead of one per timer.
pub(super) async fn apply_timer_changes(
    conn: &mut SqliteConnection,
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
                sql::insert_schedules::<Sqlite>(case_id, schedules)
                    .build()
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}
