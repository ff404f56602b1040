//! SQLite: a group commit's batch of creates written with a constant number of statements.
//!
//! Written one at a time (`cases::create_in`), a create costs six to eight statements — its
//! savepoint, the idempotency check, the counter, the case, its events, timers, quick-find keys
//! and key — and each statement is a hand-off to SQLite's worker thread and back. At 64
//! concurrent clients that hand-off, not SQLite itself, was most of the CPU a create cost
//! (BENCHMARKS.md, "Intake"). Here the whole batch takes one statement per table instead: one
//! lookup of the batch's idempotency keys, one counter upsert per (scope, period), then one
//! `INSERT … SELECT … FROM json_each(?)` each for cases, events, timers, quick-find keys and
//! idempotency keys. The rows travel as one JSON array per table (SQLite has no arrays to
//! bind), so every statement's text is the same whatever the batch's size and is prepared
//! once per connection — the SQLite twin of PostgreSQL's `unnest` (`postgres/intake.rs`).
//!
//! This is only a fast path. `group.rs` runs it inside a savepoint and, if it fails for any
//! reason (an unknown unit or user, a number taken), rolls back to that savepoint — the serials
//! it took too — and writes the batch again one create at a time, each in its own savepoint,
//! so every create gets the answer it would have got alone. Correctness never depends on this
//! module; its results are only used when every statement succeeded.
//!
//! [`eligible`] picks the creates the fast path may take: not those whose idempotency key is
//! already stored or used by an earlier create of the batch (they are replays or refusals,
//! answered by the one-at-a-time path after the fast path, in the same transaction, where the
//! earlier create's key is visible), nor those that cancel a clock (rare on a new case; the
//! one-at-a-time path applies changes in order), nor those with a NUL character in a plain
//! text (see there).

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::SqliteConnection;

use crate::rows::case_columns;
use crate::time::to_millis;
use crate::{CaseRecord, NewCase, StoreError, TimerChange, rows};

/// Turns a serial into the case number (`group::NumberFn`, borrowed).
pub(super) type Numbering<'a> = &'a (dyn Fn(u64) -> String + Send + Sync);

/// The rows of one statement as the JSON array `json_each` walks.
fn rows_json<T: serde::Serialize>(rows: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}

/// For each create of the batch, whether the fast path may write it: one `SELECT` for all the
/// batch's idempotency keys.
pub(super) async fn eligible(
    conn: &mut SqliteConnection,
    cases: &[&NewCase],
) -> Result<Vec<bool>, StoreError> {
    let keys: Vec<(i64, &str)> = cases
        .iter()
        .filter_map(|c| c.idempotency.as_ref())
        .map(|i| (i.user_id, i.key.as_str()))
        .collect();
    let stored: HashSet<(i64, String)> = if keys.is_empty() {
        HashSet::new()
    } else {
        // `CROSS JOIN` keeps the batch's list as the outer loop: one primary-key probe per
        // key, never a scan of the stored keys.
        sqlx::query_as(
            "SELECT k.user_id, k.idempotency_key FROM json_each(?) AS r \
             CROSS JOIN idempotency_keys AS k \
             ON k.user_id = r.value ->> 0 AND k.idempotency_key = r.value ->> 1",
        )
        .bind(rows_json(&keys)?)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };
    let mut seen: HashSet<(i64, &str)> = HashSet::new();
    Ok(cases
        .iter()
        .map(|c| {
            let key_is_new = match &c.idempotency {
                None => true,
                Some(i) => {
                    !stored.contains(&(i.user_id, i.key.clone()))
                        && seen.insert((i.user_id, i.key.as_str()))
                }
            };
            let schedules_only = c
                .timers
                .iter()
                .all(|t| matches!(t, TimerChange::Schedule { .. }));
            // SQLite's JSON functions may cut a text at a NUL character; a text bound as
            // itself never is. Quick-find keys come from what a customer typed.
            let no_nul = c.find.iter().all(|k| !k.key.contains('\0')) && !c.channel.contains('\0');
            key_is_new && schedules_only && no_nul
        })
        .collect())
}

/// Writes `jobs` in this order and returns their cases in the same order. On error the caller
/// rolls back to the savepoint it took before (a failed statement of SQLite undoes only
/// itself, the savepoint undoes the statements before it).
pub(super) async fn write_batch(
    conn: &mut SqliteConnection,
    jobs: &[(&NewCase, Numbering<'_>)],
) -> Result<Vec<CaseRecord>, StoreError> {
    // --- Serials: one upsert per (scope, period) of the batch (nearly always one), taking
    // as many serials as the batch has creates there.
    let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (c, _) in jobs {
        *counts
            .entry((c.number_scope.as_str(), c.number_period.as_str()))
            .or_default() += 1;
    }
    // The next serial to hand out in each (scope, period).
    let mut next: HashMap<(&str, &str), i64> = HashMap::with_capacity(counts.len());
    for ((scope, period), add) in counts {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO number_counters (scope, period, last_serial) VALUES (?, ?, ?) \
             ON CONFLICT (scope, period) \
             DO UPDATE SET last_serial = last_serial + excluded.last_serial \
             RETURNING last_serial",
        )
        .bind(scope)
        .bind(period)
        .bind(add)
        .fetch_one(&mut *conn)
        .await?;
        next.insert((scope, period), last - add + 1);
    }

    // --- Cases. The owner's path is read by the insert (an unknown unit gives NULL, which the
    // NOT NULL constraint refuses: the one-at-a-time path then names the unit).
    let n = jobs.len();
    let mut numbers = Vec::with_capacity(n);
    let mut case_rows = Vec::with_capacity(n);
    for (c, number) in jobs {
        let slot = next
            .get_mut(&(c.number_scope.as_str(), c.number_period.as_str()))
            .ok_or_else(|| crate::error::corrupt("number counter"))?;
        let serial = *slot;
        *slot += 1;
        let serial_u64 = u64::try_from(serial).map_err(|_| crate::error::corrupt("serial"))?;
        let number = number(serial_u64);
        let snapshot = serde_json::to_string(&c.snapshot)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
        case_rows.push((
            number.clone(),
            c.number_scope.as_str(),
            c.number_period.as_str(),
            serial,
            c.kind.as_str(),
            c.policy_id,
            c.state.as_str(),
            c.owner_unit_id,
            c.first_contact_id,
            c.assignee_id,
            c.channel.as_str(),
            to_millis(c.created_at),
            snapshot,
            c.due_at.map(to_millis),
        ));
        numbers.push(number);
    }
    let rows = sqlx::query(concat!(
        "INSERT INTO cases (number, number_scope, number_period, serial, kind, policy_id, \
         state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, \
         created_at, updated_at, closed, version, snapshot, due_at) \
         SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, \
         r.value ->> 5, r.value ->> 6, r.value ->> 7, \
         (SELECT path FROM units WHERE units.id = r.value ->> 7), \
         r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11, r.value ->> 11, 0, 1, \
         r.value ->> 12, r.value ->> 13 \
         FROM json_each(?) AS r ORDER BY r.key \
         RETURNING ",
        case_columns!()
    ))
    .bind(rows_json(&case_rows)?)
    .fetch_all(&mut *conn)
    .await?;
    // RETURNING gives the rows in no promised order: match them by number.
    let mut by_number: HashMap<String, CaseRecord> = HashMap::with_capacity(n);
    for row in &rows {
        let case = rows::case(row)?;
        by_number.insert(case.number.clone(), case);
    }
    let cases: Vec<CaseRecord> = numbers
        .iter()
        .map(|number| {
            by_number
                .remove(number)
                .ok_or_else(|| crate::error::corrupt("case returned by the batch insert"))
        })
        .collect::<Result<_, _>>()?;

    // --- Events, `seq` 1, 2, 3, … per case.
    let mut events = Vec::new();
    for ((c, _), case) in jobs.iter().zip(&cases) {
        for (seq, e) in (1_i64..).zip(&c.events) {
            let payload = serde_json::to_string(&crate::rows::stored_payload(e))
                .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
            events.push((
                case.id,
                seq,
                to_millis(e.at),
                e.actor_id,
                e.action.as_str(),
                e.clause.as_deref(),
                payload,
            ));
        }
    }
    if !events.is_empty() {
        sqlx::query(
            "INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, \
             payload) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5, value ->> 6 FROM json_each(?)",
        )
        .bind(rows_json(&events)?)
        .execute(&mut *conn)
        .await?;
    }

    // --- Timers ([`eligible`] let through only schedules).
    let mut timers = Vec::new();
    for ((c, _), case) in jobs.iter().zip(&cases) {
        for t in &c.timers {
            if let TimerChange::Schedule {
                clock,
                kind,
                purpose,
                generation,
                due_at,
            } = t
            {
                timers.push((
                    case.id,
                    clock.as_str(),
                    kind.as_str(),
                    purpose.as_str(),
                    *generation,
                    to_millis(*due_at),
                ));
            }
        }
    }
    if !timers.is_empty() {
        // `WHERE true`: an upsert after `INSERT … SELECT … FROM` needs a WHERE clause for
        // SQLite to parse the `ON` as the upsert's and not a join's.
        sqlx::query(
            "INSERT INTO timers (case_id, clock, kind, purpose, generation, due_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5 FROM json_each(?) WHERE true \
             ON CONFLICT (case_id, clock, kind, generation) DO NOTHING",
        )
        .bind(rows_json(&timers)?)
        .execute(&mut *conn)
        .await?;
    }

    // --- Quick-find keys (a set: a duplicate is skipped, as `find::insert_keys` does).
    let mut keys = Vec::new();
    for ((c, _), case) in jobs.iter().zip(&cases) {
        for k in &c.find {
            keys.push((k.kind.as_str(), k.key.as_str(), case.id));
        }
    }
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO case_find (kind, key, case_id) \
             SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true \
             ON CONFLICT DO NOTHING",
        )
        .bind(rows_json(&keys)?)
        .execute(&mut *conn)
        .await?;
    }

    // --- Idempotency keys. [`eligible`] saw none of them stored, under the same write lock:
    // a conflict here would be a bug, and fails the fast path rather than lose a key.
    let mut idempotency = Vec::new();
    for ((c, _), case) in jobs.iter().zip(&cases) {
        if let Some(i) = &c.idempotency {
            idempotency.push((
                i.user_id,
                i.key.as_str(),
                i.request_hash.as_str(),
                case.id,
                to_millis(c.created_at),
            ));
        }
    }
    if !idempotency.is_empty() {
        sqlx::query(
            "INSERT INTO idempotency_keys \
             (user_id, idempotency_key, request_hash, case_id, created_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
             FROM json_each(?)",
        )
        .bind(rows_json(&idempotency)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(cases)
}
