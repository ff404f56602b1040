//! Deadline timers: the SQL and the logic both backends share. Statements use `$n`
//! placeholders, which PostgreSQL and sqlx's SQLite driver both bind by number. What differs —
//! how a fire locks the case, how stale timers are retired — stays in the backends.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::rows::timer_columns;
use crate::time::to_millis;
use crate::validate::unknown_timer;
use crate::{FireOutcome, StoreError, TimerChange};

/// Pending timers due by `$1`, soonest first, at most `$2`: a range scan of the partial index
/// `timers_pending_by_due` (a unit test of each backend checks the plan).
pub(crate) const DUE_TIMERS: &str = concat!(
    "SELECT ",
    timer_columns!(),
    " FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 \
     ORDER BY due_at, id LIMIT $2"
);

/// The soonest pending due instant: one step into the same index.
pub(crate) const NEXT_DUE: &str =
    "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL";

/// Fires a pending timer, returning its case; no row when it is fired, cancelled or unknown.
/// Binds: fired at, timer id.
pub(crate) const FIRE: &str = "UPDATE timers SET fired_at = $1 \
     WHERE id = $2 AND fired_at IS NULL AND cancelled_at IS NULL RETURNING case_id";

/// Binds: timer id.
pub(crate) const EXISTS: &str = "SELECT id FROM timers WHERE id = $1";

/// A case's pending timers, soonest first. Binds: case id.
pub(crate) const PENDING_OF_CASE: &str = concat!(
    "SELECT ",
    timer_columns!(),
    " FROM timers WHERE case_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL \
     ORDER BY due_at, id"
);

/// All of a case's timers. Binds: case id.
pub(crate) const OF_CASE: &str = concat!(
    "SELECT ",
    timer_columns!(),
    " FROM timers WHERE case_id = $1 ORDER BY id"
);

/// Binds: cancelled at, case id, clock.
pub(crate) const CANCEL_CLOCK: &str = "UPDATE timers SET cancelled_at = $1 \
     WHERE case_id = $2 AND clock = $3 AND fired_at IS NULL AND cancelled_at IS NULL";

/// A fire that changed nothing: the timer was fired or cancelled already if it `exists`,
/// else it is unknown.
pub(crate) fn not_fired(timer_id: i64, exists: bool) -> Result<FireOutcome, StoreError> {
    if exists {
        Ok(FireOutcome::AlreadyDone)
    } else {
        Err(unknown_timer(timer_id))
    }
}

/// One statement's worth of timer changes.
pub(crate) enum Step<'a> {
    /// Cancel the pending timers of this clock ([`CANCEL_CLOCK`]).
    Cancel(&'a str),
    /// Consecutive schedules, inserted in one multi-row statement ([`insert_schedules`]): one
    /// round trip instead of one per timer (a clock's warning and breach, several clocks).
    Schedule(&'a [TimerChange]),
}

/// Splits timer changes, in order, into statements.
pub(crate) fn steps(changes: &[TimerChange]) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    let mut rest = changes;
    while let Some(first) = rest.first() {
        if let TimerChange::CancelClock { clock } = first {
            out.push(Step::Cancel(clock));
            rest = &rest[1..];
            continue;
        }
        let run = rest
            .iter()
            .take_while(|c| matches!(c, TimerChange::Schedule { .. }))
            .count();
        let (schedules, after) = rest.split_at(run);
        out.push(Step::Schedule(schedules));
        rest = after;
    }
    out
}

/// Inserts the schedules of a [`Step::Schedule`] for case `case_id`; a timer already planned
/// (same clock, kind and generation) is left as it is.
pub(crate) fn insert_schedules<DB>(case_id: i64, schedules: &[TimerChange]) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO timers (case_id, clock, kind, purpose, generation, due_at) ",
    );
    q.push_values(schedules, |mut row, change| {
        if let TimerChange::Schedule {
            clock,
            kind,
            purpose,
            generation,
            due_at,
        } = change
        {
            row.push_bind(case_id)
                .push_bind(clock.clone())
                .push_bind(kind.clone())
                .push_bind(purpose.clone())
                .push_bind(*generation)
                .push_bind(to_millis(*due_at));
        }
    });
    q.push(" ON CONFLICT (case_id, clock, kind, generation) DO NOTHING");
    q
}
