//! PostgreSQL group commit: concurrent case creates share one write transaction.
//!
//! Every create of one numbering scope and period (every complaint of a month) takes the same
//! `number_counters` row, and its insert takes the same `case_stats` row (migration 0006); both
//! row locks last until `COMMIT`. Committed one by one, creates therefore run strictly one
//! after another, each paying its round trips and its own WAL flush while the next waits:
//! about 80 creates/s on the shared server of our benchmark machine, whatever the pool size.
//!
//! So [`PgStore::create_case`] queues a [`Job`] and waits for its answer. One drainer task per
//! instance takes up to [`MAX_BATCH`] queued creates and runs them in one transaction, each in
//! its own `SAVEPOINT`: a create that fails (an unknown unit, a reused idempotency key) rolls
//! back to its savepoint — its serial too, so numbers stay gap-free — and gets its own error,
//! while the others go on. One counter lock and one WAL flush then serve the whole batch. Jobs
//! that arrive while a batch runs wait for the next one, so batches grow with the load and a
//! lone request is written at once, with no timer.
//!
//! **Durability is unchanged:** an answer is sent only after the batch's `COMMIT` has returned,
//! so with `synchronous_commit = on` (PostgreSQL's default) every acknowledged create is in the
//! flushed WAL. If the `COMMIT` fails, every job of the batch gets an error and none of them was
//! written.
//!
//! **Lock order.** A batch holds several hot rows at once (counters, statistics buckets), which
//! a single create never did, so two transactions could otherwise lock them in opposite orders:
//!
//! - batches of all instances run one at a time: each starts by taking the advisory lock
//!   `manyi:intake` (transaction-scoped, like [`super::lock`]'s). They would wait for each other on the counter row of the month
//!   anyway; the lock makes that wait happen before any row is locked, so batches of different
//!   scopes cannot deadlock on their counters and buckets;
//! - within a batch, creates run in the order of their statistics bucket (month, owner unit,
//!   category), the order in which a case update takes the two buckets it moves a case between.
//!
//! The batch runs in a task of its own, not in the request's future: a client that goes away
//! does not cancel the other jobs of its batch. Its own job is still written (as a request
//! whose answer was lost after its commit is), which an `Idempotency-Key` retry replays.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::PgConnection;
use tokio::sync::oneshot;

use super::cases::{Attempt, create_in, replay};
use super::{PgStore, intake};
use crate::{CaseRecord, CreateOutcome, NewCase, StoreError};

/// The most creates one transaction takes. Bounds the time a batch holds the counter (and so
/// the wait of the creates queued behind it) to a few tens of milliseconds.
const MAX_BATCH: usize = 64;

/// Turns the serial the counter gave into the case number.
pub(super) type NumberFn = Box<dyn Fn(u64) -> String + Send + Sync>;

type Reply = oneshot::Sender<Result<CreateOutcome, StoreError>>;

/// A create waiting for the next batch.
pub(super) struct Job {
    case: NewCase,
    number: NumberFn,
    /// Its JSON texts, encoded by the request's own task before it queued the job.
    json: intake::Encoded,
    reply: Reply,
}

impl Job {
    /// Where this create's statistics bucket sorts: see "Lock order" above.
    fn bucket_key(&self) -> (i64, i64, String) {
        // The month in UTC+8 (as `case_stats_month` computes it) orders as its first instant.
        let month = month_key(self.case.created_at);
        let category = match self.case.snapshot.pointer("/fields/category") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        (month, self.case.owner_unit_id, category)
    }
}

/// `year * 12 + month` of an instant in UTC+8, the month of `case_stats`.
fn month_key(t: jiff::Timestamp) -> i64 {
    let civil = jiff::tz::Offset::constant(8).to_datetime(t);
    i64::from(civil.year()) * 12 + i64::from(civil.month())
}

/// The queue of creates and whether a drainer task is running. Shared by the store's clones.
#[derive(Clone, Default)]
pub(super) struct GroupCommit {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// True while a drainer task is alive: it will take every job queued before it clears
    /// this flag (under the same lock), so a job is never left behind.
    draining: bool,
    /// Set by [`GroupCommit::close`]: no create is accepted any more.
    closed: bool,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock means a panic while pushing or popping a job: the queue itself is
        // still a well-formed VecDeque.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses every create submitted from now on, and waits until those accepted before have
    /// been written and answered, so that closing the pool afterwards fails none of them
    /// half-way (as `sqlite/group.rs`).
    pub(super) async fn close(&self) {
        self.lock().closed = true;
        while self.lock().draining {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

impl PgStore {
    /// Queues a create for the next batch, starting a drainer if none runs, and waits for its
    /// answer (sent after the batch's commit).
    pub(super) async fn submit_create(
        &self,
        case: NewCase,
        number: NumberFn,
    ) -> Result<CreateOutcome, StoreError> {
        // Encoded here, in the request's task and in parallel with the other requests, rather
        // than by the drainer while its batch holds the intake lock (`intake::Encoded`).
        let json = intake::Encoded::of(&case)?;
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut q = self.group.lock();
            if q.closed {
                return Err(StoreError::Database(sqlx::Error::PoolClosed));
            }
            q.jobs.push_back(Job {
                case,
                number,
                json,
                reply,
            });
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            tokio::spawn(drain(self.clone()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Database(sqlx::Error::PoolClosed)))
    }
}

/// Clears `draining` if the drainer task ends without doing so itself (it was dropped with
/// its runtime, or panicked), failing the jobs still queued rather than stranding them.
///
/// A drainer that ends normally disarms it first: by then it has cleared `draining` itself, and
/// a request may already have set it again for a new drainer; an armed guard would fail that
/// request's job (with `PoolClosed`: a spurious 503) and leave the new drainer without it.
struct DrainGuard {
    group: GroupCommit,
    armed: bool,
}

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut q = self.group.lock();
        if q.draining {
            q.draining = false;
            let e = StoreError::Database(sqlx::Error::PoolClosed);
            for job in q.jobs.drain(..) {
                let _ = job.reply.send(Err(StoreError::batch_failed(&e)));
            }
        }
    }
}

/// Runs batches until the queue is empty.
async fn drain(store: PgStore) {
    let mut guard = DrainGuard {
        group: store.group.clone(),
        armed: true,
    };
    loop {
        let batch: Vec<Job> = {
            let mut q = store.group.lock();
            if q.jobs.is_empty() {
                q.draining = false;
                // Under the same lock: from here on `draining` may belong to a new drainer.
                guard.armed = false;
                break;
            }
            let n = q.jobs.len().min(MAX_BATCH);
            q.jobs.drain(..n).collect()
        };
        run_batch(&store, batch).await;
    }
    drop(guard);
}

/// A create that ran, with its result, waiting for the batch's commit.
struct Done(Result<CreateOutcome, StoreError>, Reply);

/// One transaction: the intake lock, the multi-row fast path (`intake.rs`) for the creates it
/// may take, each other create in its own savepoint, one commit, then the answers. If the fast
/// path fails, its savepoint is rolled back and every create runs in its own savepoint.
async fn run_batch(store: &PgStore, mut jobs: Vec<Job>) {
    let size = jobs.len();
    // Stable: creates of one bucket keep their arrival order (and so their serials).
    jobs.sort_by_cached_key(Job::bucket_key);
    let mut tx = match store.tx().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(Vec::new(), jobs, &e),
    };
    if let Err(e) = sqlx::raw_sql(
        "SELECT pg_advisory_xact_lock(hashtextextended('manyi:intake', 0)); SAVEPOINT fast",
    )
    .execute(&mut *tx)
    .await
    {
        return fail_all(Vec::new(), jobs, &e.into());
    }
    let (done, rest, first) = match fast_path(&mut tx, &jobs).await {
        Ok(written) => {
            let mut done = Vec::with_capacity(size);
            let mut rest = Vec::new();
            let mut written = written.into_iter();
            for job in jobs {
                match written.next().flatten() {
                    Some(case) => done.push(Done(Ok(CreateOutcome::Created(case)), job.reply)),
                    None => rest.push(job),
                }
            }
            (done, rest, "SAVEPOINT job")
        }
        Err(e) => {
            // Not a failure of the batch: one of its creates cannot be written (an unknown
            // unit, say), and the one-at-a-time path finds which and answers it.
            store.intake.fell_back(size, &e);
            (
                Vec::with_capacity(size),
                jobs,
                "ROLLBACK TO fast; SAVEPOINT job",
            )
        }
    };
    let fast = done.len();
    let slow = rest.len();
    let Some(done) = one_at_a_time(&mut tx, rest, done, first).await else {
        return;
    };
    store.intake.batch(fast, slow);
    match tx.commit().await {
        Ok(()) => {
            tracing::debug!(jobs = size, "create batch committed");
            for Done(result, reply) in done {
                if let Ok(CreateOutcome::Created(case)) = &result {
                    tracing::debug!(case_id = case.id, case_number = %case.number, "case created");
                }
                // A receiver that is gone (the request was dropped) changes nothing.
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let e = StoreError::from(e);
            tracing::warn!(jobs = size, error = %e, "create batch failed to commit");
            fail_all(done, Vec::new(), &e);
        }
    }
}

/// The fast path: for each job, its case if the multi-row statements wrote it, `None` if it is
/// left to [`one_at_a_time`] (see [`intake::eligible`]). An error leaves the transaction to be
/// rolled back to the savepoint `fast`.
async fn fast_path(
    conn: &mut PgConnection,
    jobs: &[Job],
) -> Result<Vec<Option<CaseRecord>>, StoreError> {
    let cases: Vec<&NewCase> = jobs.iter().map(|j| &j.case).collect();
    let eligible = intake::eligible(&mut *conn, &cases).await?;
    let fast: Vec<intake::FastJob<'_>> = jobs
        .iter()
        .zip(&eligible)
        .filter(|(_, ok)| **ok)
        .map(|(j, _)| intake::FastJob {
            case: &j.case,
            number: &*j.number,
            json: &j.json,
        })
        .collect();
    let mut written = if fast.is_empty() {
        Vec::new()
    } else {
        intake::write_batch(&mut *conn, &fast).await?
    }
    .into_iter();
    Ok(eligible
        .iter()
        .map(|ok| if *ok { written.next() } else { None })
        .collect())
}

/// Runs `jobs` one at a time, each in its own savepoint (opened by `first`, then by releasing
/// the previous one): a create that fails rolls back alone, its serial too, and keeps its own
/// error. Returns every answer so far, or `None` if the batch had to be abandoned (every job
/// already answered).
async fn one_at_a_time(
    tx: &mut PgConnection,
    jobs: Vec<Job>,
    mut done: Vec<Done>,
    first: &'static str,
) -> Option<Vec<Done>> {
    let mut jobs = jobs.into_iter();
    let mut begin = first;
    while let Some(job) = jobs.next() {
        if let Err(e) = sqlx::raw_sql(begin).execute(&mut *tx).await {
            fail_all(done, std::iter::once(job).chain(jobs).collect(), &e.into());
            return None;
        }
        begin = "RELEASE job; SAVEPOINT job";
        let Job {
            case,
            number,
            reply,
            ..
        } = job;
        let result = create_in(&mut *tx, &case, &*number).await;
        let result = match result {
            Ok(Attempt::Done(outcome)) => Ok(outcome),
            Ok(Attempt::KeyTaken) | Err(_) => {
                // Undo this create only (its serial too); the others go on. The savepoint is
                // kept open and released by the next job's round trip or by the commit.
                if let Err(e) = sqlx::raw_sql("ROLLBACK TO job").execute(&mut *tx).await {
                    // The create's own error says more (a lost connection, typically).
                    let own = match result {
                        Err(own) => own,
                        Ok(_) => StoreError::from(e),
                    };
                    done.push(Done(Err(own), reply));
                    // The transaction is in an unknown state: give it up whole (dropping `tx`
                    // rolls it back) rather than commit half of a create.
                    let e = StoreError::Database(sqlx::Error::Protocol(
                        "rollback to a create's savepoint failed".into(),
                    ));
                    fail_all(done, jobs.collect(), &e);
                    return None;
                }
                match result {
                    // Another request with this key committed while this one ran: answer as
                    // if it had arrived second, which it did. Keys are never deleted, and ON
                    // CONFLICT only skips a row another transaction committed.
                    Ok(_) => match case.idempotency.as_ref() {
                        Some(idem) => replay(&mut *tx, idem).await.and_then(|r| {
                            r.ok_or_else(|| {
                                StoreError::Database(sqlx::Error::Protocol(
                                    "idempotency key vanished after a conflict".into(),
                                ))
                            })
                        }),
                        None => Err(StoreError::Database(sqlx::Error::Protocol(
                            "key conflict without an idempotency key".into(),
                        ))),
                    },
                    Err(e) => Err(e),
                }
            }
        };
        done.push(Done(result, reply));
    }
    Some(done)
}

/// Fails a batch that cannot go on: the creates that ran (a create's own error stays) and
/// those still to run.
fn fail_all(done: Vec<Done>, rest: Vec<Job>, e: &StoreError) {
    tracing::warn!(error = %e, "create batch abandoned");
    for Done(result, reply) in done {
        let _ = reply.send(match result {
            Ok(_) => Err(StoreError::batch_failed(e)),
            own_error => own_error,
        });
    }
    for job in rest {
        let _ = job.reply.send(Err(StoreError::batch_failed(e)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_key_is_the_month_in_utc_plus_8() {
        // 2026-09-30 16:00 UTC is 2026-10-01 00:00 in Beijing: October's bucket.
        let t: jiff::Timestamp = "2026-09-30T16:00:00Z".parse().expect("instant");
        assert_eq!(month_key(t), 2026 * 12 + 10);
        let before: jiff::Timestamp = "2026-09-30T15:59:59Z".parse().expect("instant");
        assert_eq!(month_key(before), 2026 * 12 + 9);
    }
}
