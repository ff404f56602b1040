//! PostgreSQL: deadline timers.
//!
//! Timers are scheduled and cancelled inside the case transactions of `cases.rs` (through
//! [`apply_timer_changes`]). Several instances may run the scheduler against one database:
//! they read the same due timers (a plain `SELECT`, no claim) and race in
//! [`PgStore::fire_timer`], whose conditional `UPDATE` lets exactly one of them fire each timer
//! — the others wait for the winner's row lock, then see the timer fired and write nothing.

use jiff::Timestamp;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::cases::{apply_update, owner_path};
use super::{PgStore, decode_all};
use crate::rows::timer_columns;
use crate::time::{from_millis, to_millis};
use crate::validate::{check_same_case, unknown_timer};
use crate::{CaseUpdate, FireOutcome, StoreError, TimerChange, TimerRecord, rows};

/// Pending timers due by `$1`, soonest first, at most `$2`: a range scan of the partial index
/// `timers_pending_by_due` (a unit test checks the plan).
pub(super) const DUE_TIMERS: &str = concat!(
    "SELECT ",
    timer_columns!(),
    " FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 \
     ORDER BY due_at, id LIMIT $2"
);

/// The soonest pending due instant: one step into the same index.
pub(super) const NEXT_DUE: &str =
    "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL";

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
        let case_id: Option<i64> = sqlx::query_scalar(
            "UPDATE timers SET fired_at = $1 \
             WHERE id = $2 AND fired_at IS NULL AND cancelled_at IS NULL RETURNING case_id",
        )
        .bind(to_millis(fired_at))
        .bind(timer_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(case_id) = case_id else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM timers WHERE id = $1")
                .bind(timer_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            return match exists {
                Some(_) => Ok(FireOutcome::AlreadyDone),
                None => Err(unknown_timer(timer_id)),
            };
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
        let rows = sqlx::query(concat!(
            "SELECT ",
            timer_columns!(),
            " FROM timers WHERE case_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL \
             ORDER BY due_at, id"
        ))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn case_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            timer_columns!(),
            " FROM timers WHERE case_id = $1 ORDER BY id"
        ))
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
    let mut rest = changes;
    while let Some(first) = rest.first() {
        if let TimerChange::CancelClock { clock } = first {
            sqlx::query(
                "UPDATE timers SET cancelled_at = $1 WHERE case_id = $2 AND clock = $3 \
                 AND fired_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(to_millis(at))
            .bind(case_id)
            .bind(clock)
            .execute(&mut *conn)
            .await?;
            rest = &rest[1..];
            continue;
        }
        let run = rest
            .iter()
            .take_while(|c| matches!(c, TimerChange::Schedule { .. }))
            .count();
        let (schedules, after) = rest.split_at(run);
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO timers (case_id, clock, kind, generation, due_at) ",
        );
        q.push_values(schedules, |mut row, change| {
            if let TimerChange::Schedule {
                clock,
                kind,
                generation,
                due_at,
            } = change
            {
                row.push_bind(case_id)
                    .push_bind(clock.clone())
                    .push_bind(kind.clone())
                    .push_bind(*generation)
                    .push_bind(to_millis(*due_at));
            }
        });
        q.push(" ON CONFLICT (case_id, clock, kind, generation) DO NOTHING");
        q.build().execute(&mut *conn).await?;
        rest = after;
    }
    Ok(())
}
