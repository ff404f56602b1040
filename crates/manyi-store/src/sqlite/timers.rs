//! SQLite: deadline timers.
//!
//! Timers are scheduled and cancelled inside the case transactions of `cases.rs` (through
//! [`apply_timer_changes`]); the scheduler reads the due ones and fires each with
//! [`SqliteStore::fire_timer`], whose conditional update makes the first caller the only one.

use jiff::Timestamp;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::cases::apply_update;
use super::{SqliteStore, decode_all};
use crate::rows::timer_columns;
use crate::time::to_millis;
use crate::validate::{check_same_case, unknown_timer};
use crate::{CaseUpdate, FireOutcome, StoreError, TimerChange, TimerRecord, rows};

/// Pending timers due by `?1`, soonest first, at most `?2`: a range scan of the partial index
/// `timers_pending_by_due` (a unit test checks the plan).
pub(super) const DUE_TIMERS: &str = concat!(
    "SELECT ",
    timer_columns!(),
    " FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= ? \
     ORDER BY due_at, id LIMIT ?"
);

/// The soonest pending due instant: one step into the same index.
pub(super) const NEXT_DUE: &str =
    "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL";

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
        let case_id: Option<i64> = sqlx::query_scalar(
            "UPDATE timers SET fired_at = ? \
             WHERE id = ? AND fired_at IS NULL AND cancelled_at IS NULL RETURNING case_id",
        )
        .bind(to_millis(fired_at))
        .bind(timer_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(case_id) = case_id else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM timers WHERE id = ?")
                .bind(timer_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            return match exists {
                Some(_) => Ok(FireOutcome::AlreadyDone),
                None => Err(unknown_timer(timer_id)),
            };
        };
        let case = match &update {
            None => None,
            Some(u) => {
                check_same_case(timer_id, case_id, u)?;
                // A conflict returns here and drops `tx`: the timer stays pending.
                Some(apply_update(&mut tx, u).await?)
            }
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
        let rows = sqlx::query(concat!(
            "SELECT ",
            timer_columns!(),
            " FROM timers WHERE case_id = ? AND fired_at IS NULL AND cancelled_at IS NULL \
             ORDER BY due_at, id"
        ))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::timer)
    }

    pub(crate) async fn case_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            timer_columns!(),
            " FROM timers WHERE case_id = ? ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::timer)
    }
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
    let mut rest = changes;
    while let Some(first) = rest.first() {
        if let TimerChange::CancelClock { clock } = first {
            sqlx::query(
                "UPDATE timers SET cancelled_at = ? WHERE case_id = ? AND clock = ? \
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
        let mut q = QueryBuilder::<Sqlite>::new(
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
