//! SQLite group commit: concurrent case creates and updates share one write transaction.
//!
//! SQLite has one writer, and with `synchronous = full` every commit waits for an fsync of the
//! WAL. Committing each create alone caps intake at one fsync per case, whatever the CPU. So
//! [`SqliteStore::create_case`] and [`SqliteStore::update_case`] do not write themselves: they
//! queue a [`Job`] and wait for its answer. One drainer task at a time takes up to
//! [`MAX_BATCH`] queued jobs and runs them in one `BEGIN IMMEDIATE` transaction, each inside
//! its own `SAVEPOINT`: a job that fails (an idempotency key reused, a version conflict, an
//! unknown unit) rolls back to its savepoint — its rows and any case-number serial it took
//! are undone, so numbers stay gap-free — and gets its own error, while the others go on.
//! Jobs that arrive while a batch runs wait for the next one, so batches grow with the load
//! and a lone request is written at once, with no timer.
//!
//! **Durability is unchanged:** every job's answer is sent only after the batch's `COMMIT`
//! has returned, so a create is acknowledged only once it is on disk (with `full`), exactly as
//! when it was committed alone. If the `COMMIT` fails, every job of the batch gets an error
//! and none of them was written.
//!
//! The batch runs in a task of its own, not in the request's future: a client that goes away
//! does not cancel the other jobs of its batch. Its own job is still written (as a request
//! whose answer was lost after its commit is), which an `Idempotency-Key` retry replays.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use sqlx::SqliteConnection;

use super::SqliteStore;
use super::cases::{apply_update, create_in};
use super::intake;
use crate::{CaseRecord, CaseUpdate, CreateOutcome, NewCase, StoreError};

/// The most jobs one transaction takes. Bounds the time a batch holds the writer (and so the
/// wait of the jobs queued behind it) to a few tens of milliseconds.
const MAX_BATCH: usize = 64;

/// The fewest creates a batch must have for the multi-row fast path (`intake.rs`): a lone
/// create takes fewer statements written one at a time.
const FAST_PATH_MIN: usize = 2;

/// Turns the serial the counter gave into the case number.
pub(super) type NumberFn = Box<dyn Fn(u64) -> String + Send + Sync>;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write waiting for the next batch.
pub(super) enum Job {
    Create {
        case: NewCase,
        number: NumberFn,
        reply: Reply<CreateOutcome>,
    },
    Update {
        update: CaseUpdate,
        reply: Reply<CaseRecord>,
    },
}

/// A job that ran, with its result, waiting for the batch's commit.
enum Done {
    Create(Result<CreateOutcome, StoreError>, Reply<CreateOutcome>),
    Update(Result<CaseRecord, StoreError>, Reply<CaseRecord>),
}

impl Done {
    fn is_ok(&self) -> bool {
        match self {
            Done::Create(r, _) => r.is_ok(),
            Done::Update(r, _) => r.is_ok(),
        }
    }

    /// Sends the result; a receiver that is gone (the request was dropped) changes nothing.
    fn send(self) {
        match self {
            Done::Create(r, reply) => {
                let _ = reply.send(r);
            }
            Done::Update(r, reply) => {
                let _ = reply.send(r);
            }
        }
    }

    /// Sends `e` instead of a success that the batch's failure undid; a job's own error stays.
    fn fail(self, e: &StoreError) {
        match self {
            Done::Create(Ok(_), reply) => {
                let _ = reply.send(Err(StoreError::batch_failed(e)));
            }
            Done::Update(Ok(_), reply) => {
                let _ = reply.send(Err(StoreError::batch_failed(e)));
            }
            own_error => own_error.send(),
        }
    }
}

impl Job {
    fn fail(self, e: &StoreError) {
        match self {
            Job::Create { reply, .. } => {
                let _ = reply.send(Err(StoreError::batch_failed(e)));
            }
            Job::Update { reply, .. } => {
                let _ = reply.send(Err(StoreError::batch_failed(e)));
            }
        }
    }
}

/// The error of a job submitted after the store was closed, or whose batch task went away
/// without answering (the runtime shut down). The server answers it with 503.
fn writer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// The queue of jobs and whether a drainer task is running. Shared by the store's clones.
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
    /// Set by [`GroupCommit::close`]: no job is accepted any more.
    closed: bool,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock means a panic while pushing or popping a job: the queue itself is
        // still a well-formed VecDeque.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses every job submitted from now on, and waits until the jobs accepted before
    /// have been written and answered. The store closes its pools only after this: closing
    /// the writer under a running drainer would fail its batch half-way, and the jobs queued
    /// behind it with a driver error instead of a clear "closed".
    pub(super) async fn close(&self) {
        self.lock().closed = true;
        // The drainer clears `draining` when the queue is empty (or its guard does if the
        // task is dropped), so this ends; a store closes once, so polling costs nothing.
        while self.lock().draining {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

impl SqliteStore {
    /// Queues a job for the next batch, starting a drainer if none runs, and waits for its
    /// answer (sent after the batch's commit).
    pub(super) async fn submit<T>(
        &self,
        job: impl FnOnce(Reply<T>) -> Job,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut q = self.group.lock();
            if q.closed {
                return Err(writer_gone());
            }
            q.jobs.push_back(job(reply));
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            tokio::spawn(drain(self.clone()));
        }
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
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
                job.fail(&e);
            }
        }
    }
}

/// Runs batches until the queue is empty.
async fn drain(store: SqliteStore) {
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

/// One transaction: the multi-row fast path (`intake.rs`) for the creates it may take, each
/// other job in its own savepoint (in arrival order), one commit, then the answers. If the fast
/// path fails, its savepoint is rolled back and every job runs in its own savepoint.
///
/// The fast path's creates are written before the other jobs of the batch. No job can depend
/// on a create of its own batch (a case is unknown to every client until its create is
/// answered, after the commit), except a create repeating an earlier one's idempotency key,
/// which [`intake::eligible`] leaves to the one-at-a-time path: it runs after the fast path
/// and so sees that key.
async fn run_batch(store: &SqliteStore, jobs: Vec<Job>) {
    let size = jobs.len();
    let mut tx = match store.write_tx().await {
        Ok(tx) => tx,
        Err(e) => {
            for job in jobs {
                job.fail(&e);
            }
            return;
        }
    };
    let creates = jobs
        .iter()
        .filter(|j| matches!(j, Job::Create { .. }))
        .count();
    // One create alone takes fewer statements one at a time than with the fast path's.
    let (mut done, rest, mut begin) = if creates < FAST_PATH_MIN {
        (Vec::with_capacity(size), jobs, "SAVEPOINT job")
    } else {
        if let Err(e) = sqlx::raw_sql("SAVEPOINT fast").execute(&mut *tx).await {
            abort(Vec::new(), jobs.into_iter(), &e.into());
            return;
        }
        match fast_path(&mut tx, &jobs).await {
            Ok(written) => {
                let mut done = Vec::with_capacity(size);
                let mut rest = Vec::new();
                for (job, case) in jobs.into_iter().zip(written) {
                    match (job, case) {
                        (Job::Create { reply, .. }, Some(case)) => {
                            done.push(Done::Create(Ok(CreateOutcome::Created(case)), reply));
                        }
                        (job, _) => rest.push(job),
                    }
                }
                (done, rest, "RELEASE fast; SAVEPOINT job")
            }
            Err(e) => {
                // Not a failure of the batch: one of its creates cannot be written (an unknown
                // unit, say), and the one-at-a-time path finds which and answers it.
                store.intake.fell_back(size, &e);
                (
                    Vec::with_capacity(size),
                    jobs,
                    "ROLLBACK TO fast; RELEASE fast; SAVEPOINT job",
                )
            }
        }
    };
    let fast = done.len();
    let one_at_a_time = rest.len();
    let mut jobs = rest.into_iter();
    // Whether a savepoint is still to be released before the commit (COMMIT would release
    // it too; the explicit RELEASE keeps the statements the same as a lone job's).
    let mut open_savepoint = fast > 0;
    while let Some(job) = jobs.next() {
        if let Err(e) = sqlx::raw_sql(begin).execute(&mut *tx).await {
            abort(done, std::iter::once(job).chain(jobs), &e.into());
            return;
        }
        // Releasing the last job's savepoint and opening the next one's go to SQLite's worker
        // thread together: one hand-off per job fewer.
        begin = "RELEASE job; SAVEPOINT job";
        open_savepoint = true;
        let result = match job {
            Job::Create {
                case,
                number,
                reply,
            } => Done::Create(create_in(&mut tx, &case, number).await, reply),
            Job::Update { update, reply } => {
                Done::Update(apply_update(&mut tx, &update).await, reply)
            }
        };
        let failed = !result.is_ok();
        done.push(result);
        // Undo a failed job's writes only; the transaction and the other jobs go on. Its
        // (now empty) savepoint is released with the next job's round trip.
        if failed && let Err(e) = sqlx::raw_sql("ROLLBACK TO job").execute(&mut *tx).await {
            // The transaction is in an unknown state: give it up whole (dropping `tx` rolls
            // it back) rather than commit half of a job.
            abort(done, jobs, &e.into());
            return;
        }
    }
    if open_savepoint {
        let release = if one_at_a_time > 0 {
            "RELEASE job"
        } else {
            "RELEASE fast"
        };
        if let Err(e) = sqlx::raw_sql(release).execute(&mut *tx).await {
            abort(done, std::iter::empty(), &e.into());
            return;
        }
    }
    store.intake.batch(fast, one_at_a_time);
    match tx.commit().await {
        Ok(()) => {
            tracing::debug!(jobs = size, fast, "write batch committed");
            for d in done {
                d.send();
            }
        }
        Err(e) => {
            let e = StoreError::from(e);
            tracing::warn!(jobs = size, error = %e, "write batch failed to commit");
            for d in done {
                d.fail(&e);
            }
        }
    }
}

/// The fast path: for each job, its case if the multi-row statements wrote it, `None` if it is
/// left to the one-at-a-time path (an update, or a create [`intake::eligible`] refused). An
/// error leaves the transaction to be rolled back to the savepoint `fast`.
async fn fast_path(
    conn: &mut SqliteConnection,
    jobs: &[Job],
) -> Result<Vec<Option<CaseRecord>>, StoreError> {
    let creates: Vec<(&NewCase, intake::Numbering<'_>)> = jobs
        .iter()
        .filter_map(|j| match j {
            Job::Create { case, number, .. } => Some((case, &**number as intake::Numbering<'_>)),
            Job::Update { .. } => None,
        })
        .collect();
    let cases: Vec<&NewCase> = creates.iter().map(|(c, _)| *c).collect();
    let eligible = intake::eligible(&mut *conn, &cases).await?;
    let fast: Vec<(&NewCase, intake::Numbering<'_>)> = creates
        .into_iter()
        .zip(&eligible)
        .filter(|(_, ok)| **ok)
        .map(|(job, _)| job)
        .collect();
    let mut written = if fast.is_empty() {
        Vec::new()
    } else {
        intake::write_batch(&mut *conn, &fast).await?
    }
    .into_iter();
    let mut eligible = eligible.into_iter();
    Ok(jobs
        .iter()
        .map(|j| match j {
            Job::Create { .. } if eligible.next() == Some(true) => written.next(),
            _ => None,
        })
        .collect())
}

/// Fails a batch that cannot go on: the jobs that ran and those still to run.
fn abort(done: Vec<Done>, rest: impl Iterator<Item = Job>, e: &StoreError) {
    tracing::warn!(error = %e, "write batch abandoned");
    for d in done {
        d.fail(e);
    }
    for job in rest {
        job.fail(e);
    }
}
