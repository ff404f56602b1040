//! PostgreSQL: a group commit's batch of creates written with a constant number of statements.
//!
//! Written one at a time (`cases::create_in`), a create costs about eight round trips —
//! idempotency check, counter, owner unit, case, events, timers, quick-find keys, key — and a
//! batch of 64 about five hundred, all while the batch holds the month's counter row. Here
//! the whole batch takes one statement per table instead: one counter upsert per (scope,
//! period) in a single statement, one share lock of the owner units, then one `INSERT … SELECT
//! FROM unnest(…)` each for cases, events, timers, quick-find keys and idempotency keys.
//!
//! This is only a fast path. `group.rs` runs it inside a savepoint and, if it fails for any
//! reason (an unknown unit or user, a number taken, a key taken meanwhile by a writer outside
//! the batches), rolls back to that savepoint — the serials it took too — and writes the batch
//! again one create at a time, each in its own savepoint, so every create gets the answer it
//! would have got alone. Correctness never depends on this module; its results are only used
//! when every statement succeeded.
//!
//! [`eligible`] picks the creates the fast path may take: not those whose idempotency key is
//! already stored or used by an earlier create of the batch (they are replays or refusals,
//! answered by the one-at-a-time path after the fast path, in the same transaction, where the
//! earlier create's key is visible), nor those that cancel a clock (rare on a new case; the
//! one-at-a-time path applies changes in order).

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::PgConnection;

use crate::time::{from_millis, to_millis};
use crate::{CaseRecord, NewCase, StoreError, TimerChange};

/// Turns a serial into the case number (`group::NumberFn`, borrowed).
pub(super) type Numbering<'a> = &'a (dyn Fn(u64) -> String + Send + Sync);

/// A create's JSON texts, as the multi-row statements bind them (`::jsonb`): ~2 KB per case.
/// The request's task encodes them before it queues the job, in parallel with the other
/// requests, so that the drainer does not while its batch holds the intake lock (batches run
/// one at a time across instances, so that lock's time is intake's ceiling). The one-at-a-time path encodes again (it binds
/// `Json` values); it runs only for replays, refusals and fallbacks.
pub(super) struct Encoded {
    /// The case's snapshot.
    snapshot: String,
    /// Each event's stored payload (`rows::stored_payload`), in order.
    payloads: Vec<String>,
}

impl Encoded {
    pub(super) fn of(c: &NewCase) -> Result<Self, StoreError> {
        let text = |v: &serde_json::Value| serde_json::to_string(v).map_err(sqlx::Error::decode);
        Ok(Encoded {
            snapshot: text(&c.snapshot)?,
            payloads: c
                .events
                .iter()
                .map(|e| text(&crate::rows::stored_payload(e)))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// One create of the fast path: the case, its numbering and its encoded JSON.
pub(super) struct FastJob<'a> {
    pub(super) case: &'a NewCase,
    pub(super) number: Numbering<'a>,
    pub(super) json: &'a Encoded,
}

/// For each create of the batch, whether the fast path may write it: one `SELECT` for all the
/// batch's idempotency keys.
pub(super) async fn eligible(
    conn: &mut PgConnection,
    cases: &[&NewCase],
) -> Result<Vec<bool>, StoreError> {
    let (users, keys): (Vec<i64>, Vec<&str>) = cases
        .iter()
        .filter_map(|c| c.idempotency.as_ref())
        .map(|i| (i.user_id, i.key.as_str()))
        .unzip();
    let stored: HashSet<(i64, String)> = if users.is_empty() {
        HashSet::new()
    } else {
        sqlx::query_as(
            "SELECT user_id, idempotency_key FROM idempotency_keys \
             WHERE (user_id, idempotency_key) IN \
             (SELECT * FROM unnest($1::bigint[], $2::text[]))",
        )
        .bind(&users)
        .bind(&keys)
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
            key_is_new && schedules_only
        })
        .collect())
}

/// Writes `jobs` (in this order: the order of their statistics buckets, see `group.rs`) and
/// returns their cases in the same order. Any error leaves the transaction aborted: the caller
/// rolls back to the savepoint it took before.
pub(super) async fn write_batch(
    conn: &mut PgConnection,
    jobs: &[FastJob<'_>],
) -> Result<Vec<CaseRecord>, StoreError> {
    // --- Serials: one upsert for every (scope, period) of the batch, in key order.
    let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for FastJob { case: c, .. } in jobs {
        *counts
            .entry((c.number_scope.as_str(), c.number_period.as_str()))
            .or_default() += 1;
    }
    let (scopes, periods): (Vec<&str>, Vec<&str>) = counts.keys().copied().unzip();
    let adds: Vec<i64> = counts.values().copied().collect();
    let lasts: Vec<(String, String, i64)> = sqlx::query_as(
        "INSERT INTO number_counters (scope, period, last_serial) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
         ON CONFLICT (scope, period) \
         DO UPDATE SET last_serial = number_counters.last_serial + EXCLUDED.last_serial \
         RETURNING scope, period, last_serial",
    )
    .bind(&scopes)
    .bind(&periods)
    .bind(&adds)
    .fetch_all(&mut *conn)
    .await?;
    // The next serial to hand out in each (scope, period).
    let mut next: HashMap<(String, String), i64> = HashMap::new();
    for (scope, period, last) in lasts {
        let add = counts
            .get(&(scope.as_str(), period.as_str()))
            .copied()
            .ok_or_else(|| crate::error::corrupt("number counter"))?;
        next.insert((scope, period), last - add + 1);
    }

    // --- Owner units: their paths, share-locked until commit (as `cases::owner_path` does),
    // after the counters (the store's lock order, see `cases.rs`).
    let mut unit_ids: Vec<i64> = jobs.iter().map(|j| j.case.owner_unit_id).collect();
    unit_ids.sort_unstable();
    unit_ids.dedup();
    let paths: HashMap<i64, String> =
        sqlx::query_as("SELECT id, path FROM units WHERE id = ANY($1) ORDER BY id FOR SHARE")
            .bind(&unit_ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();

    // --- Cases.
    let n = jobs.len();
    let mut numbers = Vec::with_capacity(n);
    let mut serials = Vec::with_capacity(n);
    let mut owner_paths = Vec::with_capacity(n);
    for FastJob {
        case: c, number, ..
    } in jobs
    {
        let slot = next
            .get_mut(&(c.number_scope.clone(), c.number_period.clone()))
            .ok_or_else(|| crate::error::corrupt("number counter"))?;
        let serial = *slot;
        *slot += 1;
        let serial_u64 = u64::try_from(serial).map_err(|_| crate::error::corrupt("serial"))?;
        numbers.push(number(serial_u64));
        serials.push(serial);
        owner_paths.push(paths.get(&c.owner_unit_id).cloned().ok_or_else(|| {
            StoreError::Invalid {
                what: "case",
                reason: format!("unknown owner unit id {}", c.owner_unit_id),
            }
        })?);
    }
    let col = |f: &dyn Fn(&NewCase) -> String| jobs.iter().map(|j| f(j.case)).collect::<Vec<_>>();
    let int = |f: &dyn Fn(&NewCase) -> i64| jobs.iter().map(|j| f(j.case)).collect::<Vec<_>>();
    // Only the ids come back: the rest of each row is what was sent, so the snapshot is
    // neither printed back by PostgreSQL nor parsed again here (`case_record` below).
    let ids: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO cases (number, number_scope, number_period, serial, kind, policy_id, \
         state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, \
         created_at, updated_at, closed, version, snapshot, due_at) \
         SELECT n, s, p, se, k, pol, st, ou, op, fc, a, ch, ca, ca, FALSE, 1, sn::jsonb, d \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
         $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], \
         $12::text[], $13::bigint[], $14::text[], $15::bigint[]) WITH ORDINALITY \
         AS t(n, s, p, se, k, pol, st, ou, op, fc, a, ch, ca, sn, d, ord) \
         ORDER BY ord \
         RETURNING number, id",
    )
    .bind(&numbers)
    .bind(col(&|c| c.number_scope.clone()))
    .bind(col(&|c| c.number_period.clone()))
    .bind(&serials)
    .bind(col(&|c| c.kind.clone()))
    .bind(int(&|c| c.policy_id))
    .bind(col(&|c| c.state.clone()))
    .bind(int(&|c| c.owner_unit_id))
    .bind(&owner_paths)
    .bind(int(&|c| c.first_contact_id))
    .bind(jobs.iter().map(|j| j.case.assignee_id).collect::<Vec<_>>())
    .bind(col(&|c| c.channel.clone()))
    .bind(int(&|c| to_millis(c.created_at)))
    .bind(
        jobs.iter()
            .map(|j| j.json.snapshot.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        jobs.iter()
            .map(|j| j.case.due_at.map(to_millis))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_number: HashMap<String, i64> = ids.into_iter().collect();
    let cases: Vec<CaseRecord> = jobs
        .iter()
        .zip(numbers)
        .zip(owner_paths)
        .map(|((j, number), path)| {
            let id = by_number
                .remove(&number)
                .ok_or_else(|| crate::error::corrupt("case returned by the batch insert"))?;
            case_record(j.case, id, number, path)
        })
        .collect::<Result<_, _>>()?;

    // --- Events, `seq` 1, 2, 3, … per case.
    let mut ev = Events::default();
    for (j, case) in jobs.iter().zip(&cases) {
        for ((seq, e), payload) in (1_i64..).zip(&j.case.events).zip(&j.json.payloads) {
            ev.case_id.push(case.id);
            ev.seq.push(seq);
            ev.at.push(to_millis(e.at));
            ev.actor.push(e.actor_id);
            ev.action.push(e.action.as_str());
            ev.clause.push(e.clause.as_deref());
            ev.payload.push(payload.as_str());
        }
    }
    if !ev.case_id.is_empty() {
        sqlx::query(
            "INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, \
             payload) \
             SELECT c, s, o, a, ac, cl, p::jsonb \
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::text[], $7::text[]) AS t(c, s, o, a, ac, cl, p)",
        )
        .bind(&ev.case_id)
        .bind(&ev.seq)
        .bind(&ev.at)
        .bind(&ev.actor)
        .bind(&ev.action)
        .bind(&ev.clause)
        .bind(&ev.payload)
        .execute(&mut *conn)
        .await?;
    }

    // --- Timers ([`eligible`] let through only schedules).
    let mut tm = Timers::default();
    for (FastJob { case: c, .. }, case) in jobs.iter().zip(&cases) {
        for t in &c.timers {
            if let TimerChange::Schedule {
                clock,
                kind,
                purpose,
                generation,
                due_at,
            } = t
            {
                tm.case_id.push(case.id);
                tm.clock.push(clock.as_str());
                tm.kind.push(kind.as_str());
                tm.purpose.push(purpose.as_str());
                tm.generation.push(*generation);
                tm.due_at.push(to_millis(*due_at));
            }
        }
    }
    if !tm.case_id.is_empty() {
        sqlx::query(
            "INSERT INTO timers (case_id, clock, kind, purpose, generation, due_at) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], \
             $5::bigint[], $6::bigint[]) \
             ON CONFLICT (case_id, clock, kind, generation) DO NOTHING",
        )
        .bind(&tm.case_id)
        .bind(&tm.clock)
        .bind(&tm.kind)
        .bind(&tm.purpose)
        .bind(&tm.generation)
        .bind(&tm.due_at)
        .execute(&mut *conn)
        .await?;
    }

    // --- Quick-find keys (a set: a duplicate is skipped, as `find::insert_keys` does). One
    // statement text whatever the batch's count, so it is prepared once per connection.
    let mut fk = FindKeys::default();
    for (FastJob { case: c, .. }, case) in jobs.iter().zip(&cases) {
        for k in &c.find {
            fk.kind.push(k.kind.as_str());
            fk.key.push(k.key.as_str());
            fk.case_id.push(case.id);
        }
    }
    if !fk.case_id.is_empty() {
        sqlx::query(
            "INSERT INTO case_find (kind, key, case_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&fk.kind)
        .bind(&fk.key)
        .bind(&fk.case_id)
        .execute(&mut *conn)
        .await?;
    }

    // --- Idempotency keys. [`eligible`] saw none of them stored; one taken since (a writer
    // outside the batches) makes the fast path fail, and the one-at-a-time path replays it.
    let mut ik = Keys::default();
    for (FastJob { case: c, .. }, case) in jobs.iter().zip(&cases) {
        if let Some(i) = &c.idempotency {
            ik.user.push(i.user_id);
            ik.key.push(i.key.as_str());
            ik.hash.push(i.request_hash.as_str());
            ik.case_id.push(case.id);
            ik.at.push(to_millis(c.created_at));
        }
    }
    if !ik.user.is_empty() {
        let stored = sqlx::query(
            "INSERT INTO idempotency_keys \
             (user_id, idempotency_key, request_hash, case_id, created_at) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], \
             $5::bigint[]) \
             ON CONFLICT (user_id, idempotency_key) DO NOTHING",
        )
        .bind(&ik.user)
        .bind(&ik.key)
        .bind(&ik.hash)
        .bind(&ik.case_id)
        .bind(&ik.at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if stored != ik.user.len() as u64 {
            return Err(StoreError::Database(sqlx::Error::Protocol(
                "an idempotency key of the batch was taken meanwhile".into(),
            )));
        }
    }
    Ok(cases)
}

/// The stored row of a case the batch inserted as `id`, from what was sent: instants at the
/// stored millisecond precision, as a read gives them (`rows::case`).
fn case_record(
    c: &NewCase,
    id: i64,
    number: String,
    owner_unit_path: String,
) -> Result<CaseRecord, StoreError> {
    let stored = |t| from_millis(to_millis(t));
    let created_at = stored(c.created_at)?;
    Ok(CaseRecord {
        id,
        number,
        kind: c.kind.clone(),
        policy_id: c.policy_id,
        state: c.state.clone(),
        owner_unit_id: c.owner_unit_id,
        owner_unit_path,
        first_contact_id: c.first_contact_id,
        assignee_id: c.assignee_id,
        channel: c.channel.clone(),
        created_at,
        updated_at: created_at,
        closed: false,
        version: 1,
        snapshot: c.snapshot.clone(),
        due_at: c.due_at.map(stored).transpose()?,
    })
}

/// The columns of the batch's events, one array each.
#[derive(Default)]
struct Events<'a> {
    case_id: Vec<i64>,
    seq: Vec<i64>,
    at: Vec<i64>,
    actor: Vec<Option<i64>>,
    action: Vec<&'a str>,
    clause: Vec<Option<&'a str>>,
    payload: Vec<&'a str>,
}

/// The columns of the batch's timers.
#[derive(Default)]
struct Timers<'a> {
    case_id: Vec<i64>,
    clock: Vec<&'a str>,
    kind: Vec<&'a str>,
    purpose: Vec<&'a str>,
    generation: Vec<i64>,
    due_at: Vec<i64>,
}

/// The columns of the batch's quick-find keys.
#[derive(Default)]
struct FindKeys<'a> {
    kind: Vec<&'a str>,
    key: Vec<&'a str>,
    case_id: Vec<i64>,
}

/// The columns of the batch's idempotency keys.
#[derive(Default)]
struct Keys<'a> {
    user: Vec<i64>,
    key: Vec<&'a str>,
    hash: Vec<&'a str>,
    case_id: Vec<i64>,
    at: Vec<i64>,
}
