//! SQLite: cases, their numbering, their event log and idempotency keys.
//!
//! A case is a current-state row (what lists and filters read) plus an append-only log of
//! events (the audit trail). Both are written in one transaction, so the row can never
//! describe a state the log does not explain. Snapshots and payloads are personal data: they
//! are stored and returned, never logged.

use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::group::{Job, NumberFn};
use super::timers::apply_timer_changes;
use super::{SqliteStore, decode_all};
use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{case_columns, event_columns};
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{
    CaseFilter, CaseOrder, CasePage, CaseRecord, CaseUpdate, CreateOutcome, EventRecord, NewCase,
    NewEvent, StoreError, page_size, rows,
};

impl SqliteStore {
    /// Queues the create for the next group commit (see `group.rs`) and waits for it.
    pub(crate) async fn create_case(
        &self,
        c: NewCase,
        number: impl Fn(u64) -> String + Send + Sync + 'static,
    ) -> Result<CreateOutcome, StoreError> {
        let number: NumberFn = Box::new(number);
        let outcome = self
            .submit(|reply| Job::Create {
                case: c,
                number,
                reply,
            })
            .await?;
        if let CreateOutcome::Created(case) = &outcome {
            tracing::debug!(case_id = case.id, case_number = %case.number, "case created");
        }
        Ok(outcome)
    }

    /// Queues the update for the next group commit (see `group.rs`) and waits for it.
    pub(crate) async fn update_case(&self, u: CaseUpdate) -> Result<CaseRecord, StoreError> {
        let case = self
            .submit(|reply| Job::Update { update: u, reply })
            .await?;
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
            " FROM cases WHERE number = ?"
        ))
        .bind(number)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(rows::case).transpose()?)
    }

    pub(crate) async fn case_by_id(&self, id: i64) -> Result<Option<CaseRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(rows::case).transpose()?)
    }

    pub(crate) async fn cases_by_ids(&self, ids: &[i64]) -> Result<Vec<CaseRecord>, StoreError> {
        let mut cases = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(concat!(
                "SELECT ",
                case_columns!(),
                " FROM cases WHERE id IN ("
            ));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.read).await?;
            cases.extend(decode_all(&rows, rows::case)?);
        }
        Ok(cases)
    }

    pub(crate) async fn list_cases(&self, f: &CaseFilter) -> Result<CasePage, StoreError> {
        let limit = page_size(f.limit);
        let mut q = list_query("", f, limit)?;
        let rows = q.build().fetch_all(&self.read).await?;
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
            " FROM case_events WHERE case_id = ? ORDER BY seq"
        ))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::event)
    }
}

/// The query of [`SqliteStore::list_cases`], after `prefix` (`EXPLAIN QUERY PLAN ` in tests).
pub(super) fn list_query(
    prefix: &str,
    f: &CaseFilter,
    limit: u32,
) -> Result<QueryBuilder<Sqlite>, StoreError> {
    if f.order == CaseOrder::Due {
        return due_query(prefix, f, limit);
    }
    // A user's open cases, filtered by nothing more selective than what they may see: walk
    // the index of open cases newest first (migration 0010), testing the visibility on the
    // index entries. SQLite's planner would otherwise collect both arms of the `OR` (the
    // whole subtree) and sort them. `INDEXED BY` makes the choice explicit and is an error,
    // not a silent slow plan, if the index is ever missing.
    let open_page_of_visible = f.closed == Some(false)
        && f.visible_to.is_some()
        && f.unit_subtree.is_none()
        && f.assignee_id.is_none()
        && f.first_contact_id.is_none()
        && f.state.is_none();
    let select = if open_page_of_visible {
        concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases INDEXED BY cases_open_by_id WHERE 1 = 1"
        )
    } else {
        concat!("SELECT ", case_columns!(), " FROM cases WHERE 1 = 1")
    };
    let mut q = QueryBuilder::<Sqlite>::new(format!("{prefix}{select}"));
    push_filters(&mut q, f, Visible::Either)?;
    if let Some(after) = f.after {
        q.push(" AND id < ").push_bind(after);
    }
    // One row more than the page tells whether another page follows, without a COUNT.
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);

    Ok(q)
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
    q: &mut QueryBuilder<Sqlite>,
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
        // A literal, not a parameter: only then can SQLite use the partial indexes of open
        // cases (`WHERE closed = 0`).
        Some(false) => {
            q.push(" AND closed = 0");
        }
        Some(true) => {
            q.push(" AND closed = 1");
        }
        None => {}
    }
    Ok(())
}

/// The due order: soonest `due_at` first, NULL last, then id. The page's ids are chosen from
/// index entries (`cases_open_by_due`: the subtree's range of open cases, sorted there), and
/// only those rows are read. "Owned in my subtree OR registered by me" is a `UNION ALL` of the
/// two, each arm read from its own index, instead of an `OR` that would make SQLite read the
/// whole subtree.
fn due_query(prefix: &str, f: &CaseFilter, limit: u32) -> Result<QueryBuilder<Sqlite>, StoreError> {
    let open = f.closed == Some(false);
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "{prefix}{}",
        concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE id IN (SELECT id FROM ("
        )
    ));
    let arm = |q: &mut QueryBuilder<Sqlite>, visible: Visible, indexed: bool| {
        q.push(if indexed {
            "SELECT id, due_at IS NULL AS no_due, due_at FROM cases \
             INDEXED BY cases_open_by_due WHERE 1 = 1"
        } else {
            "SELECT id, due_at IS NULL AS no_due, due_at FROM cases WHERE 1 = 1"
        });
        push_filters(q, f, visible)?;
        push_due_cursor(q, f);
        Ok::<_, StoreError>(())
    };
    if f.visible_to.is_some() && f.unit_subtree.is_none() {
        arm(&mut q, Visible::Subtree, open)?;
        q.push(" UNION ALL ");
        arm(&mut q, Visible::FirstContactElsewhere, false)?;
    } else {
        // A subtree (if any) is the range; the visibility, if also given, is tested on the
        // index entries (the first contact is in the index).
        arm(&mut q, Visible::Either, open)?;
    }
    q.push(" ORDER BY no_due, due_at, id LIMIT ")
        .push_bind(i64::from(limit) + 1);
    q.push(")) ORDER BY due_at IS NULL, due_at, id");
    Ok(q)
}

/// The keyset of the due order: after (`after_due`, `after`), NULL due times last.
fn push_due_cursor(q: &mut QueryBuilder<Sqlite>, f: &CaseFilter) {
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

/// Opens a case inside the caller's write transaction (a group commit's savepoint): the
/// idempotency check, the next serial, the case row, its events, timers and key. On error the
/// caller rolls back to its savepoint, which gives the serial back.
pub(super) async fn create_in(
    conn: &mut SqliteConnection,
    c: &NewCase,
    number: NumberFn,
) -> Result<CreateOutcome, StoreError> {
    // The key is checked inside the write transaction: the single writer serialises two
    // concurrent submissions of the same form (even within one batch, the later job sees the
    // earlier one's key), so the second sees the first one's key.
    if let Some(idem) = &c.idempotency {
        let seen: Option<(i64, String)> = sqlx::query_as(
            "SELECT case_id, request_hash FROM idempotency_keys \
             WHERE user_id = ? AND idempotency_key = ?",
        )
        .bind(idem.user_id)
        .bind(&idem.key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((case_id, request_hash)) = seen {
            return Ok(if request_hash == idem.request_hash {
                let first =
                    case_by_id(conn, case_id)
                        .await?
                        .ok_or_else(|| StoreError::NotFound {
                            what: "case",
                            key: format!("id {case_id}"),
                        })?;
                tracing::debug!(case_id, "idempotent create replayed");
                CreateOutcome::Replayed(first)
            } else {
                tracing::debug!(
                    user_id = idem.user_id,
                    "idempotency key reused for another request"
                );
                CreateOutcome::KeyReused
            });
        }
    }

    // The next serial of this scope and period. The upsert takes it under the write lock
    // and in this transaction: if anything below fails, the rollback gives it back, which
    // is what keeps numbers gap-free.
    let serial: i64 = sqlx::query_scalar(
        "INSERT INTO number_counters (scope, period, last_serial) VALUES (?, ?, 1) \
         ON CONFLICT (scope, period) DO UPDATE SET last_serial = last_serial + 1 \
         RETURNING last_serial",
    )
    .bind(&c.number_scope)
    .bind(&c.number_period)
    .fetch_one(&mut *conn)
    .await?;
    let serial_u64 = u64::try_from(serial).map_err(|_| crate::error::corrupt("serial"))?;
    let number = number(serial_u64);

    // The owner's path is read by the insert itself (one statement fewer per create): no
    // row comes back when the unit does not exist.
    let row = sqlx::query(concat!(
        "INSERT INTO cases (number, number_scope, number_period, serial, kind, policy_id, \
         state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, \
         created_at, updated_at, closed, version, snapshot, due_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, units.id, units.path, ?, ?, ?, ?, ?, 0, 1, ?, ? \
         FROM units WHERE units.id = ? RETURNING ",
        case_columns!()
    ))
    .bind(&number)
    .bind(&c.number_scope)
    .bind(&c.number_period)
    .bind(serial)
    .bind(&c.kind)
    .bind(c.policy_id)
    .bind(&c.state)
    .bind(c.first_contact_id)
    .bind(c.assignee_id)
    .bind(&c.channel)
    .bind(to_millis(c.created_at))
    .bind(to_millis(c.created_at))
    .bind(Json(&c.snapshot))
    .bind(c.due_at.map(to_millis))
    .bind(c.owner_unit_id)
    .fetch_optional(&mut *conn)
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
    })?
    .ok_or_else(|| unknown_owner(c.owner_unit_id))?;
    let case = rows::case(&row)?;

    append_events(conn, case.id, 1, &c.events).await?;
    apply_timer_changes(conn, case.id, c.created_at, &c.timers).await?;
    super::find::write_keys(conn, case.id, &c.find, false).await?;

    if let Some(idem) = &c.idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys \
             (user_id, idempotency_key, request_hash, case_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(idem.user_id)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(case.id)
        .bind(to_millis(c.created_at))
        .execute(&mut *conn)
        .await
        .map_err(reference_error)?;
    }
    Ok(CreateOutcome::Created(case))
}

fn unknown_owner(unit_id: i64) -> StoreError {
    StoreError::Invalid {
        what: "case",
        reason: format!("unknown owner unit id {unit_id}"),
    }
}

/// The path of the unit that is to own a case, checked here so that an unknown unit is a
/// clear error rather than a NOT NULL failure.
async fn owner_path(conn: &mut SqliteConnection, unit_id: i64) -> Result<String, StoreError> {
    sqlx::query_scalar("SELECT path FROM units WHERE id = ?")
        .bind(unit_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| unknown_owner(unit_id))
}

/// Applies a case update inside the caller's write transaction: the optimistic version check,
/// the new state, the events and the timer changes. On error the caller drops the transaction,
/// which rolls back whatever this wrote.
pub(super) async fn apply_update(
    conn: &mut SqliteConnection,
    u: &CaseUpdate,
) -> Result<CaseRecord, StoreError> {
    let owner_path = owner_path(conn, u.owner_unit_id).await?;

    // The version check and the write are one statement: no window between them.
    let row = sqlx::query(concat!(
        "UPDATE cases SET state = ?, owner_unit_id = ?, owner_unit_path = ?, \
         assignee_id = ?, first_contact_id = COALESCE(?, first_contact_id), closed = ?, \
         updated_at = ?, snapshot = ?, due_at = ?, version = version + ? \
         WHERE id = ? AND version = ? RETURNING ",
        case_columns!()
    ))
    .bind(&u.state)
    .bind(u.owner_unit_id)
    .bind(&owner_path)
    .bind(u.assignee_id)
    .bind(u.first_contact_id)
    .bind(u.closed)
    .bind(to_millis(u.updated_at))
    .bind(Json(&u.snapshot))
    .bind(u.due_at.map(to_millis))
    // The row's version counts the events (a transition may bring a callback's opening).
    .bind(i64::try_from(u.events.len().max(1)).unwrap_or(1))
    .bind(u.id)
    .bind(u.expected_version)
    .fetch_optional(&mut *conn)
    .await
    .map_err(reference_error)?;
    let Some(row) = row else {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = ?")
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

    let last_seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM case_events WHERE case_id = ?")
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

async fn case_by_id(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<Option<CaseRecord>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        case_columns!(),
        " FROM cases WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rows::case).transpose()?)
}

/// Appends `events` to a case's log with `seq` counting up from `first_seq`.
async fn append_events(
    conn: &mut SqliteConnection,
    case_id: i64,
    first_seq: i64,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    for (seq, e) in (first_seq..).zip(events) {
        sqlx::query(
            "INSERT INTO case_events \
             (case_id, seq, occurred_at, actor_id, action, clause, payload) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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

/// A foreign-key failure while writing a case or its events: SQLite does not say which
/// reference failed, so name the candidates.
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
