//! PostgreSQL: cases, their numbering, their event log and idempotency keys.
//!
//! The same transactions as on SQLite, made safe for many concurrent writers:
//!
//! - creates are group-committed (`group.rs`): a batch of them shares one transaction, each in
//!   a savepoint, and batches run one at a time across instances;
//! - the serial comes from an upsert of the (scope, period) counter row, which locks that row
//!   until commit: concurrent creates in one scope and period take their serials one after the
//!   other, and a rolled-back create (or savepoint) gives its serial back;
//! - the owner unit's row is locked `FOR SHARE` before the case row is written, so that a unit
//!   move (which rewrites the paths of units, then of cases) either waits for the case or is
//!   seen by it: no case keeps a stale owner path;
//! - updates are one conditional statement (`WHERE version = $n`), re-checked by PostgreSQL
//!   against the latest committed row;
//! - the idempotency key is inserted last with `ON CONFLICT DO NOTHING`: when two instances
//!   receive the same keyed request at once, the second waits for the first to commit, finds
//!   the key taken, rolls back to its savepoint (serial included) and replays.

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::intake::Numbering;
use super::timers::apply_timer_changes;
use super::{PgStore, decode_all};
use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{case_columns, event_columns};
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{
    CaseFilter, CaseOrder, CasePage, CaseRecord, CaseUpdate, CreateOutcome, EventRecord,
    Idempotency, NewCase, NewEvent, StoreError, page_size, rows,
};

impl PgStore {
    /// Queues the create for the next group commit (see `group.rs`) and waits for it.
    pub(crate) async fn create_case(
        &self,
        c: NewCase,
        number: impl Fn(u64) -> String + Send + Sync + 'static,
    ) -> Result<CreateOutcome, StoreError> {
        self.submit_create(c, Box::new(number)).await
    }

    pub(crate) async fn update_case(&self, u: CaseUpdate) -> Result<CaseRecord, StoreError> {
        let mut tx = self.tx().await?;
        let owner_path = owner_path(&mut tx, u.owner_unit_id).await?;
        let case = apply_update(&mut tx, &u, &owner_path).await?;
        tx.commit().await?;
        tracing::debug!(case_id = case.id, version = case.version, "case updated");
        Ok(case)
    }

    pub(crate) async fn case_by_number(
        &self,
        number: &str,
    ) -> Result<Option<CaseRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE number = $1"
        ))
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::case).transpose()?)
    }

    pub(crate) async fn case_by_id(&self, id: i64) -> Result<Option<CaseRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        case_by_id(&mut conn, id).await
    }

    pub(crate) async fn cases_by_ids(&self, ids: &[i64]) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::case)
    }

    pub(crate) async fn list_cases(&self, f: &CaseFilter) -> Result<CasePage, StoreError> {
        let limit = page_size(f.limit);
        let mut q = if f.order == CaseOrder::Due {
            due_query(f, limit)?
        } else {
            let mut q = QueryBuilder::<Postgres>::new(concat!(
                "SELECT ",
                case_columns!(),
                " FROM cases WHERE 1 = 1"
            ));
            push_filters(&mut q, f, Visible::Either)?;
            if let Some(after) = f.after {
                q.push(" AND id < ").push_bind(after);
            }
            // One row more than the page tells whether another page follows, without a COUNT.
            q.push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
            q
        };

        let rows = q.build().fetch_all(&self.pool).await?;
        let mut items = decode_all(&rows, rows::case)?;
        let page_len = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > page_len {
            items.truncate(page_len);
            items.last().map(|c| c.id)
        } else {
            None
        };
        Ok(CasePage { items, next_cursor })
    }

    pub(crate) async fn case_events(&self, case_id: i64) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM case_events WHERE case_id = $1 ORDER BY seq"
        ))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::event)
    }
}

/// What one create inside a batch did.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per create, moved once into its answer; a box would only add an allocation"
)]
pub(super) enum Attempt {
    /// Written (or replayed from an earlier key, or refused for a reused key): keep it.
    Done(CreateOutcome),
    /// Another request with the same idempotency key committed while this one ran: the caller
    /// rolls back to this create's savepoint (its serial too) and replays the first one.
    KeyTaken,
}

/// Opens a case inside the caller's transaction (a group commit's savepoint): the idempotency
/// check, the next serial, the case row, its events, timers and key. On error, or on
/// [`Attempt::KeyTaken`], the caller rolls back to its savepoint, which gives the serial back.
pub(super) async fn create_in(
    conn: &mut PgConnection,
    c: &NewCase,
    number: Numbering<'_>,
) -> Result<Attempt, StoreError> {
    if let Some(idem) = &c.idempotency
        && let Some(outcome) = replay(&mut *conn, idem).await?
    {
        return Ok(Attempt::Done(outcome));
    }

    // The counter row first, then the owner unit's row: a create holding a unit lock has
    // its serial already and waits for no other create, so a unit move waiting for that
    // unit can never close a cycle of waits through the counter.
    let serial: i64 = sqlx::query_scalar(
        "INSERT INTO number_counters (scope, period, last_serial) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, period) \
         DO UPDATE SET last_serial = number_counters.last_serial + 1 \
         RETURNING last_serial",
    )
    .bind(&c.number_scope)
    .bind(&c.number_period)
    .fetch_one(&mut *conn)
    .await?;
    let serial_u64 = u64::try_from(serial).map_err(|_| crate::error::corrupt("serial"))?;
    let owner_path = owner_path(&mut *conn, c.owner_unit_id).await?;
    let number = number(serial_u64);

    let row = sqlx::query(concat!(
        "INSERT INTO cases (number, number_scope, number_period, serial, kind, policy_id, \
         state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, \
         created_at, updated_at, closed, version, snapshot, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, FALSE, 1, $14, \
         $15) \
         RETURNING ",
        case_columns!()
    ))
    .bind(&number)
    .bind(&c.number_scope)
    .bind(&c.number_period)
    .bind(serial)
    .bind(&c.kind)
    .bind(c.policy_id)
    .bind(&c.state)
    .bind(c.owner_unit_id)
    .bind(&owner_path)
    .bind(c.first_contact_id)
    .bind(c.assignee_id)
    .bind(&c.channel)
    .bind(to_millis(c.created_at))
    .bind(Json(&c.snapshot))
    .bind(c.due_at.map(to_millis))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "case number",
                key: number.clone(),
            }
        } else {
            reference_error(e)
        }
    })?;
    let case = rows::case(&row)?;

    append_events(&mut *conn, case.id, 1, &c.events).await?;
    apply_timer_changes(&mut *conn, case.id, c.created_at, &c.timers).await?;
    super::find::write_keys(&mut *conn, case.id, &c.find, false).await?;

    if let Some(idem) = &c.idempotency {
        let stored: Option<i64> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys \
             (user_id, idempotency_key, request_hash, case_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING case_id",
        )
        .bind(idem.user_id)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(case.id)
        .bind(to_millis(c.created_at))
        .fetch_optional(&mut *conn)
        .await
        .map_err(reference_error)?;
        if stored.is_none() {
            return Ok(Attempt::KeyTaken);
        }
    }

    Ok(Attempt::Done(CreateOutcome::Created(case)))
}

/// What an idempotency key already stored answers: the first case (same request) or a
/// refusal (another request); `None` if the key is new.
pub(super) async fn replay(
    conn: &mut PgConnection,
    idem: &Idempotency,
) -> Result<Option<CreateOutcome>, StoreError> {
    let seen: Option<(i64, String)> = sqlx::query_as(
        "SELECT case_id, request_hash FROM idempotency_keys \
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(idem.user_id)
    .bind(&idem.key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((case_id, request_hash)) = seen else {
        return Ok(None);
    };
    if request_hash != idem.request_hash {
        tracing::debug!(
            user_id = idem.user_id,
            "idempotency key reused for another request"
        );
        return Ok(Some(CreateOutcome::KeyReused));
    }
    let first = case_by_id(conn, case_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "case",
            key: format!("id {case_id}"),
        })?;
    tracing::debug!(case_id, "idempotent create replayed");
    Ok(Some(CreateOutcome::Replayed(first)))
}

/// The path of the unit that is to own a case, checked here so that an unknown unit is a
/// clear error rather than a NOT NULL failure. The unit's row stays share-locked until the
/// transaction ends, so a concurrent move of the unit waits for this case to be written.
pub(super) async fn owner_path(
    conn: &mut PgConnection,
    unit_id: i64,
) -> Result<String, StoreError> {
    sqlx::query_scalar("SELECT path FROM units WHERE id = $1 FOR SHARE")
        .bind(unit_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Invalid {
            what: "case",
            reason: format!("unknown owner unit id {unit_id}"),
        })
}

/// Applies a case update inside the caller's transaction, given the new owner's path (read,
/// and share-locked, with [`owner_path`] before the case row is locked): the optimistic version
/// check, the new state, the events and the timer changes. On error the caller drops the
/// transaction, which rolls back whatever this wrote.
pub(super) async fn apply_update(
    conn: &mut PgConnection,
    u: &CaseUpdate,
    owner_path: &str,
) -> Result<CaseRecord, StoreError> {
    // The version check and the write are one statement: if another transaction updated the
    // row meanwhile, PostgreSQL waits for it and re-checks the version against its result.
    let row = sqlx::query(concat!(
        "UPDATE cases SET state = $1, owner_unit_id = $2, owner_unit_path = $3, \
         assignee_id = $4, first_contact_id = COALESCE($11, first_contact_id), closed = $5, \
         updated_at = $6, snapshot = $7, version = version + $8, due_at = $12 \
         WHERE id = $9 AND version = $10 RETURNING ",
        case_columns!()
    ))
    .bind(&u.state)
    .bind(u.owner_unit_id)
    .bind(owner_path)
    .bind(u.assignee_id)
    .bind(u.closed)
    .bind(to_millis(u.updated_at))
    .bind(Json(&u.snapshot))
    // The row's version counts the events (a transition may bring a callback's opening).
    .bind(i64::try_from(u.events.len().max(1)).unwrap_or(1))
    .bind(u.id)
    .bind(u.expected_version)
    .bind(u.first_contact_id)
    .bind(u.due_at.map(to_millis))
    .fetch_optional(&mut *conn)
    .await
    .map_err(reference_error)?;
    let Some(row) = row else {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = $1")
            .bind(u.id)
            .fetch_optional(&mut *conn)
            .await?;
        return Err(match exists {
            Some(_) => StoreError::Conflict,
            None => StoreError::NotFound {
                what: "case",
                key: format!("id {}", u.id),
            },
        });
    };
    let case = rows::case(&row)?;

    // The case row is locked by the update above: no other transaction appends to this log
    // until this one ends, so MAX(seq) + 1 is free.
    let last_seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM case_events WHERE case_id = $1")
            .bind(u.id)
            .fetch_one(&mut *conn)
            .await?;
    append_events(conn, u.id, last_seq + 1, &u.events).await?;
    super::ledger::insert_violations(conn, u.id, last_seq + 1, &u.violations).await?;
    apply_timer_changes(conn, u.id, u.updated_at, &u.timers).await?;
    if let Some(keys) = &u.find {
        super::find::write_keys(conn, u.id, keys, true).await?;
    }
    Ok(case)
}

async fn case_by_id(conn: &mut PgConnection, id: i64) -> Result<Option<CaseRecord>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        case_columns!(),
        " FROM cases WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rows::case).transpose()?)
}

/// Appends `events` to a case's log with `seq` counting up from `first_seq`.
async fn append_events(
    conn: &mut PgConnection,
    case_id: i64,
    first_seq: i64,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    for (seq, e) in (first_seq..).zip(events) {
        sqlx::query(
            "INSERT INTO case_events \
             (case_id, seq, occurred_at, actor_id, action, clause, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(case_id)
        .bind(seq)
        .bind(to_millis(e.at))
        .bind(e.actor_id)
        .bind(&e.action)
        .bind(&e.clause)
        .bind(Json(crate::rows::stored_payload(e)))
        .execute(&mut *conn)
        .await
        .map_err(reference_error)?;
    }
    Ok(())
}

/// A foreign-key failure while writing a case or its events: name the candidates, as the
/// SQLite backend does (whose driver cannot say which reference failed).
fn reference_error(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        StoreError::Invalid {
            what: "case",
            reason: "refers to an unknown policy version or user".to_owned(),
        }
    } else {
        e.into()
    }
}

/// How [`push_filters`] writes [`CaseFilter::visible_to`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visible {
    /// Owned in the subtree or registered by the person (the filter as documented).
    Either,
    /// Owned in the subtree only (the first arm of the due order's union).
    Subtree,
    /// Registered by the person and owned outside the subtree (the second arm).
    FirstContactElsewhere,
}

/// Appends ` AND …` for every condition of `f` but the cursor. Only constant SQL is pushed;
/// every value goes through a bind parameter.
fn push_filters(
    q: &mut QueryBuilder<Postgres>,
    f: &CaseFilter,
    visible: Visible,
) -> Result<(), StoreError> {
    if let Some(kind) = &f.kind {
        q.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(state) = &f.state {
        q.push(" AND state = ").push_bind(state.clone());
    }
    if let Some(prefix) = &f.unit_subtree {
        let (lo, hi) = subtree_range(prefix)?;
        q.push(" AND owner_unit_path >= ").push_bind(lo);
        q.push(" AND owner_unit_path < ").push_bind(hi);
    }
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        match visible {
            Visible::Either => {
                q.push(" AND ((owner_unit_path >= ").push_bind(lo);
                q.push(" AND owner_unit_path < ").push_bind(hi);
                q.push(") OR first_contact_id = ").push_bind(v.user_id);
                q.push(")");
            }
            Visible::Subtree => {
                q.push(" AND owner_unit_path >= ").push_bind(lo);
                q.push(" AND owner_unit_path < ").push_bind(hi);
            }
            Visible::FirstContactElsewhere => {
                q.push(" AND first_contact_id = ").push_bind(v.user_id);
                q.push(" AND NOT (owner_unit_path >= ").push_bind(lo);
                q.push(" AND owner_unit_path < ").push_bind(hi);
                q.push(")");
            }
        }
    }
    if let Some(assignee) = f.assignee_id {
        q.push(" AND assignee_id = ").push_bind(assignee);
    }
    if let Some(first_contact) = f.first_contact_id {
        q.push(" AND first_contact_id = ").push_bind(first_contact);
    }
    if let Some(from) = f.created_from {
        q.push(" AND created_at >= ").push_bind(to_millis(from));
    }
    if let Some(to) = f.created_to {
        q.push(" AND created_at < ").push_bind(to_millis(to));
    }
    match f.closed {
        // Literals, not a parameter: a generic plan can use the partial index of open cases
        // (`WHERE NOT closed`, migration 0012) only when the query says so itself.
        Some(false) => {
            q.push(" AND closed = FALSE");
        }
        Some(true) => {
            q.push(" AND closed = TRUE");
        }
        None => {}
    }
    Ok(())
}

/// The due order: soonest `due_at` first, NULL last (PostgreSQL's default for ascending),
/// then id. The page's ids are chosen first (from `cases_open_by_due` for open cases), then
/// only those rows are read. "Owned in my subtree OR registered by me" is a `UNION ALL` of the
/// two, each arm with its own index.
fn due_query(f: &CaseFilter, limit: u32) -> Result<QueryBuilder<Postgres>, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new(concat!(
        "SELECT ",
        case_columns!(),
        " FROM cases WHERE id IN (SELECT id FROM ("
    ));
    let arm = |q: &mut QueryBuilder<Postgres>, visible: Visible| {
        q.push("SELECT id, due_at FROM cases WHERE 1 = 1");
        push_filters(q, f, visible)?;
        push_due_cursor(q, f);
        Ok::<_, StoreError>(())
    };
    if f.visible_to.is_some() && f.unit_subtree.is_none() {
        q.push("(");
        arm(&mut q, Visible::Subtree)?;
        q.push(") UNION ALL (");
        arm(&mut q, Visible::FirstContactElsewhere)?;
        q.push(")");
    } else {
        arm(&mut q, Visible::Either)?;
    }
    q.push(" ORDER BY due_at ASC NULLS LAST, id LIMIT ")
        .push_bind(i64::from(limit) + 1);
    q.push(") AS page) ORDER BY due_at ASC NULLS LAST, id");
    Ok(q)
}

/// The keyset of the due order: after (`after_due`, `after`), NULL due times last.
fn push_due_cursor(q: &mut QueryBuilder<Postgres>, f: &CaseFilter) {
    let Some(after) = f.after else {
        return;
    };
    match f.after_due {
        Some(due) => {
            let due = to_millis(due);
            q.push(" AND (due_at IS NULL OR due_at > ").push_bind(due);
            q.push(" OR (due_at = ").push_bind(due);
            q.push(" AND id > ").push_bind(after);
            q.push("))");
        }
        None => {
            q.push(" AND due_at IS NULL AND id > ").push_bind(after);
        }
    }
}
