//! The violations ledger and the penalty ledger: records, the columns both backends select,
//! and their decoders.
//!
//! A violation is written in the same transaction as the case event that recorded it
//! ([`crate::CaseUpdate::violations`]), with the penalty proposals it gave. A penalty row then
//! moves through its steps — proposed → decided → appealed → appeal decided — each step one
//! conditional update ([`crate::Store::penalty_step`]) naming who, when and why, so two people
//! deciding at once cannot both win and a second appeal finds the row already appealed.
//! Violations are append-only (the database refuses UPDATE and DELETE).
//!
//! The statements are spelt here once for both backends: constants with `$n` placeholders,
//! which PostgreSQL and sqlx's SQLite driver both bind by number, and `QueryBuilder` functions
//! generic over the backend for the filtered lists. The backends only run them.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::StoreError;
use crate::error::is_foreign_key_violation;
use crate::records::Visibility;
use crate::rows::RowExt;
use crate::time::to_millis;
use crate::tree::subtree_range;

/// A violation to record with a case update.
#[derive(Debug, Clone, PartialEq)]
pub struct NewViolation {
    /// The index, in the update's `events`, of the event that recorded the violation.
    pub event_index: usize,
    /// e.g. `deadline_breach`.
    pub kind: String,
    /// The rule broken, e.g. the clock's id.
    pub rule: String,
    pub clause: String,
    pub occurred_at: Timestamp,
    /// The deadline that passed, for a deadline breach.
    pub due_at: Option<Timestamp>,
    /// The unit that owned the case when it happened: whose jurisdiction it is in.
    pub unit_id: i64,
    /// The liable persons (user ids).
    pub person_ids: Vec<i64>,
    /// The violation as the domain recorded it (liable persons and units). Personal data.
    pub detail: Value,
    /// The penalty proposals it gives, one per liable person and rule.
    pub penalties: Vec<NewPenalty>,
}

/// A penalty proposal to record with its violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPenalty {
    /// The penalty rule's id in the case's policy version.
    pub rule: String,
    pub clause: String,
    pub person_id: i64,
    /// The range the decision must fall in, in fen (`min == max` for a fixed amount).
    pub min_fen: i64,
    pub max_fen: i64,
    pub items: i64,
    pub discipline_referral: bool,
    pub requires_substantiation: bool,
}

/// A recorded violation.
#[derive(Debug, Clone, PartialEq)]
pub struct ViolationRecord {
    pub id: i64,
    /// `None` for conduct recorded without a case (`POST /api/v1/conduct`).
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    /// The policy version whose rule was broken: its penalty rules propose the fines.
    pub policy_id: i64,
    /// The `seq` of the event that recorded it (`None` without a case).
    pub event_seq: Option<i64>,
    pub kind: String,
    pub rule: String,
    pub clause: String,
    pub occurred_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub unit_id: i64,
    pub unit_code: String,
    pub person_ids: Vec<i64>,
    /// Personal data: never logged.
    pub detail: Value,
}

/// A penalty and how far it has gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyRecord {
    pub id: i64,
    pub violation_id: i64,
    /// `None` when the violation has no case.
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    /// The violation's policy version, whose penalty rule `rule` is.
    pub policy_id: i64,
    pub rule: String,
    pub clause: String,
    pub person_id: i64,
    pub unit_id: i64,
    pub unit_code: String,
    pub min_fen: i64,
    pub max_fen: i64,
    pub items: i64,
    pub discipline_referral: bool,
    pub requires_substantiation: bool,
    pub proposed_at: Timestamp,
    /// `proposed`, `decided`, `appealed` or `appeal_decided`.
    pub status: String,
    pub decided_amount_fen: Option<i64>,
    pub decided_reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<Timestamp>,
    pub appeal_reason: Option<String>,
    pub appealed_at: Option<Timestamp>,
    pub appeal_amount_fen: Option<i64>,
    pub appeal_decision_reason: Option<String>,
    pub appeal_decided_by: Option<i64>,
    pub appeal_decided_at: Option<Timestamp>,
}

impl PenaltyRecord {
    /// The amount in force: the appeal's decision, else the first decision.
    pub fn amount_fen(&self) -> Option<i64> {
        self.appeal_amount_fen.or(self.decided_amount_fen)
    }
}

/// Which violations or penalties a ledger query returns. Every `Some` narrows it; oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Only those in this unit subtree (a unit path such as `/1/5/`).
    pub unit_subtree: Option<String>,
    /// Only those against this person.
    pub person_id: Option<i64>,
    /// Only those this person may see: in their unit's subtree, or against them.
    pub visible_to: Option<Visibility>,
    /// Inclusive (violations: when they happened; penalties: when proposed).
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    /// Penalties only: `proposed`, `decided`, `appealed`, `appeal_decided`.
    pub status: Option<String>,
    pub case_id: Option<i64>,
    /// Clamped to `1..=10_000`.
    pub limit: u32,
}

impl Default for LedgerFilter {
    fn default() -> Self {
        LedgerFilter {
            unit_subtree: None,
            person_id: None,
            visible_to: None,
            from: None,
            to: None,
            status: None,
            case_id: None,
            limit: 1000,
        }
    }
}

/// One step of a penalty, applied only if the penalty is where the step starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PenaltyStep {
    /// proposed → decided.
    Decide {
        amount_fen: i64,
        reason: String,
        by: i64,
        at: Timestamp,
    },
    /// decided → appealed (by the penalised person).
    Appeal { reason: String, at: Timestamp },
    /// appealed → appeal_decided.
    DecideAppeal {
        amount_fen: i64,
        reason: String,
        by: i64,
        at: Timestamp,
    },
}

impl PenaltyStep {
    pub(crate) fn starts_from(&self) -> &'static str {
        match self {
            PenaltyStep::Decide { .. } => "proposed",
            PenaltyStep::Appeal { .. } => "decided",
            PenaltyStep::DecideAppeal { .. } => "appealed",
        }
    }
}

fn ledger_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 10_000))
}

/// The violation columns, selected from `violations v LEFT JOIN cases c JOIN units u` (a
/// violation recorded without a case has no case row).
macro_rules! violation_select {
    () => {
        "SELECT v.id, v.case_id, c.number AS case_number, v.policy_id, v.event_seq, v.kind, \
                v.rule, v.clause, v.occurred_at, v.due_at, v.unit_id, u.code AS unit_code, \
                v.person_ids, v.detail \
         FROM violations v LEFT JOIN cases c ON c.id = v.case_id \
         JOIN units u ON u.id = v.unit_id \
         WHERE 1 = 1"
    };
}

/// The penalty columns, selected from `penalties p JOIN violations pv LEFT JOIN cases c JOIN
/// units u` (a penalty of a violation without a case has no case row).
macro_rules! penalty_select {
    () => {
        "SELECT p.id, p.violation_id, p.case_id, c.number AS case_number, pv.policy_id, \
                p.rule, p.clause, \
                p.person_id, p.unit_id, u.code AS unit_code, p.min_fen, p.max_fen, p.items, \
                p.discipline_referral, p.requires_substantiation, p.proposed_at, p.status, \
                p.decided_amount_fen, p.decided_reason, p.decided_by, p.decided_at, \
                p.appeal_reason, p.appealed_at, p.appeal_amount_fen, p.appeal_decision_reason, \
                p.appeal_decided_by, p.appeal_decided_at \
         FROM penalties p JOIN violations pv ON pv.id = p.violation_id \
         LEFT JOIN cases c ON c.id = p.case_id JOIN units u ON u.id = p.unit_id \
         WHERE 1 = 1"
    };
}

/// Binds: case id, event seq, kind, rule, clause, occurred at, due at, unit id, person ids
/// (JSON), detail (JSON), case id again (for its policy version).
pub(crate) const INSERT_VIOLATION: &str = "INSERT INTO violations (case_id, event_seq, kind, \
     rule, clause, occurred_at, due_at, unit_id, person_ids, detail, policy_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             (SELECT policy_id FROM cases WHERE id = $11)) RETURNING id";

/// Binds: policy id, kind, rule, clause, occurred at, unit id, person ids (JSON), detail
/// (JSON). A violation recorded without a case (conduct): no case, no event.
pub(crate) const INSERT_CASELESS_VIOLATION: &str = "INSERT INTO violations (case_id, \
     event_seq, policy_id, kind, rule, clause, occurred_at, due_at, unit_id, person_ids, \
     detail) VALUES (NULL, NULL, $1, $2, $3, $4, $5, NULL, $6, $7, $8) RETURNING id";

/// Binds: id.
pub(crate) const VIOLATION_BY_ID: &str = concat!(violation_select!(), " AND v.id = $1");

/// Binds: violation id, user id.
pub(crate) const INSERT_VIOLATION_PERSON: &str = "INSERT INTO violation_persons \
     (violation_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Binds: violation id, case id, rule, clause, person id, unit id, min fen, max fen, items,
/// discipline referral, requires substantiation, proposed at.
pub(crate) const INSERT_PENALTY: &str = "INSERT INTO penalties (violation_id, case_id, rule, \
     clause, person_id, unit_id, min_fen, max_fen, items, discipline_referral, \
     requires_substantiation, proposed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Binds: id.
pub(crate) const PENALTY_BY_ID: &str = concat!(penalty_select!(), " AND p.id = $1");

/// Binds: id.
pub(crate) const PENALTY_EXISTS: &str = "SELECT id FROM penalties WHERE id = $1";

// The penalty steps, each a conditional update from the status bound last
// ([`PenaltyStep::starts_from`]), after the penalty's id.

/// Binds: amount, reason, by, at, id, from.
pub(crate) const DECIDE_PENALTY: &str = "UPDATE penalties SET status = 'decided', \
     decided_amount_fen = $1, decided_reason = $2, decided_by = $3, decided_at = $4 \
     WHERE id = $5 AND status = $6";
/// Binds: reason, at, id, from.
pub(crate) const APPEAL_PENALTY: &str = "UPDATE penalties SET status = 'appealed', \
     appeal_reason = $1, appealed_at = $2 WHERE id = $3 AND status = $4";
/// Binds: amount, reason, by, at, id, from.
pub(crate) const DECIDE_APPEAL: &str = "UPDATE penalties SET status = 'appeal_decided', \
     appeal_amount_fen = $1, appeal_decision_reason = $2, appeal_decided_by = $3, \
     appeal_decided_at = $4 WHERE id = $5 AND status = $6";

/// The statement that records violation `v`, found by an update whose events start at
/// `first_seq`, returning its `id` ([`INSERT_VIOLATION`]).
pub(crate) fn insert_violation<'a, DB>(
    case_id: i64,
    first_seq: i64,
    v: &'a NewViolation,
) -> Result<Query<'static, DB, <DB as Database>::Arguments>, StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Json<&'a Vec<i64>>: Encode<'t, DB> + Type<DB>,
    for<'t> Json<&'a Value>: Encode<'t, DB> + Type<DB>,
{
    Ok(sqlx::query(INSERT_VIOLATION)
        .bind(case_id)
        .bind(event_seq(first_seq, v)?)
        .bind(&v.kind)
        .bind(&v.rule)
        .bind(&v.clause)
        .bind(to_millis(v.occurred_at))
        .bind(v.due_at.map(to_millis))
        .bind(v.unit_id)
        .bind(Json(&v.person_ids))
        .bind(Json(&v.detail))
        .bind(case_id))
}

/// The statement that proposes penalty `p` for violation `violation_id` of `v`
/// ([`INSERT_PENALTY`]).
pub(crate) fn insert_penalty<DB>(
    violation_id: i64,
    case_id: Option<i64>,
    v: &NewViolation,
    p: &NewPenalty,
) -> Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(INSERT_PENALTY)
        .bind(violation_id)
        .bind(case_id)
        .bind(&p.rule)
        .bind(&p.clause)
        .bind(p.person_id)
        .bind(v.unit_id)
        .bind(p.min_fen)
        .bind(p.max_fen)
        .bind(p.items)
        .bind(p.discipline_referral)
        .bind(p.requires_substantiation)
        .bind(to_millis(v.occurred_at))
}

/// The conditional update of penalty `id` that `step` makes ([`DECIDE_PENALTY`],
/// [`APPEAL_PENALTY`], [`DECIDE_APPEAL`]).
pub(crate) fn penalty_step<DB>(
    id: i64,
    step: &PenaltyStep,
) -> Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
{
    match step {
        PenaltyStep::Decide {
            amount_fen,
            reason,
            by,
            at,
        } => sqlx::query(DECIDE_PENALTY)
            .bind(*amount_fen)
            .bind(reason)
            .bind(*by)
            .bind(to_millis(*at)),
        PenaltyStep::Appeal { reason, at } => sqlx::query(APPEAL_PENALTY)
            .bind(reason)
            .bind(to_millis(*at)),
        PenaltyStep::DecideAppeal {
            amount_fen,
            reason,
            by,
            at,
        } => sqlx::query(DECIDE_APPEAL)
            .bind(*amount_fen)
            .bind(reason)
            .bind(*by)
            .bind(to_millis(*at)),
    }
    .bind(id)
    .bind(step.starts_from())
}

fn invalid(reason: &str) -> StoreError {
    StoreError::Invalid {
        what: "violation",
        reason: reason.to_owned(),
    }
}

/// A ledger write's error: a reference to a case event, unit or user that does not exist is
/// invalid input.
pub(crate) fn reference_error(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        invalid("refers to an unknown case event, unit or user")
    } else {
        e.into()
    }
}

/// The `seq` of the event that recorded `v`, the update's events starting at `first_seq`.
pub(crate) fn event_seq(first_seq: i64, v: &NewViolation) -> Result<i64, StoreError> {
    let index = i64::try_from(v.event_index).map_err(|_| invalid("event index"))?;
    Ok(first_seq + index)
}

/// A penalty step that changed nothing: the penalty is in another status if it `exists`,
/// else it is unknown.
pub(crate) fn step_refused(id: i64, exists: bool) -> StoreError {
    if exists {
        StoreError::Conflict
    } else {
        StoreError::NotFound {
            what: "penalty",
            key: id.to_string(),
        }
    }
}

/// Adds the filter's conditions: `person` is the condition "is against the person bound next"
/// for the table queried, as (text before the bind, text after), `at` its time column.
fn push_filter<DB>(
    q: &mut QueryBuilder<DB>,
    f: &LedgerFilter,
    person: (&str, &str),
    at: &str,
) -> Result<(), StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    if let Some(prefix) = &f.unit_subtree {
        let (lo, hi) = subtree_range(prefix)?;
        q.push(" AND u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
    }
    if let Some(id) = f.person_id {
        q.push(format!(" AND {}", person.0)).push_bind(id);
        q.push(person.1);
    }
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        q.push(" AND ((u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
        q.push(format!(") OR {}", person.0)).push_bind(v.user_id);
        q.push(format!("{})", person.1));
    }
    if let Some(from) = f.from {
        q.push(format!(" AND {at} >= ")).push_bind(to_millis(from));
    }
    if let Some(to) = f.to {
        q.push(format!(" AND {at} < ")).push_bind(to_millis(to));
    }
    if let Some(case_id) = f.case_id {
        q.push(" AND c.id = ").push_bind(case_id);
    }
    Ok(())
}

/// The violations `f` selects, oldest first.
pub(crate) fn list_violations<DB>(f: &LedgerFilter) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(violation_select!());
    push_filter(
        &mut q,
        f,
        (
            "v.id IN (SELECT violation_id FROM violation_persons WHERE user_id = ",
            ")",
        ),
        "v.occurred_at",
    )?;
    q.push(" ORDER BY v.occurred_at, v.id LIMIT ")
        .push_bind(ledger_limit(f.limit));
    Ok(q)
}

/// The penalties `f` selects, oldest proposal first.
pub(crate) fn list_penalties<DB>(f: &LedgerFilter) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(penalty_select!());
    push_filter(&mut q, f, ("p.person_id = ", ""), "p.proposed_at")?;
    if let Some(status) = &f.status {
        q.push(" AND p.status = ").push_bind(status.clone());
    }
    q.push(" ORDER BY p.proposed_at, p.id LIMIT ")
        .push_bind(ledger_limit(f.limit));
    Ok(q)
}

pub(crate) fn violation(row: &impl RowExt) -> Result<ViolationRecord, sqlx::Error> {
    let ids = row.json("person_ids")?;
    Ok(ViolationRecord {
        id: row.int("id")?,
        case_id: row.opt_int("case_id")?,
        case_number: row.opt_text("case_number")?,
        policy_id: row.int("policy_id")?,
        event_seq: row.opt_int("event_seq")?,
        kind: row.text("kind")?,
        rule: row.text("rule")?,
        clause: row.text("clause")?,
        occurred_at: row.instant("occurred_at")?,
        due_at: row.opt_instant("due_at")?,
        unit_id: row.int("unit_id")?,
        unit_code: row.text("unit_code")?,
        person_ids: ids
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default(),
        detail: row.json("detail")?,
    })
}

pub(crate) fn penalty(row: &impl RowExt) -> Result<PenaltyRecord, sqlx::Error> {
    Ok(PenaltyRecord {
        id: row.int("id")?,
        violation_id: row.int("violation_id")?,
        case_id: row.opt_int("case_id")?,
        case_number: row.opt_text("case_number")?,
        policy_id: row.int("policy_id")?,
        rule: row.text("rule")?,
        clause: row.text("clause")?,
        person_id: row.int("person_id")?,
        unit_id: row.int("unit_id")?,
        unit_code: row.text("unit_code")?,
        min_fen: row.int("min_fen")?,
        max_fen: row.int("max_fen")?,
        items: row.int("items")?,
        discipline_referral: row.flag("discipline_referral")?,
        requires_substantiation: row.flag("requires_substantiation")?,
        proposed_at: row.instant("proposed_at")?,
        status: row.text("status")?,
        decided_amount_fen: row.opt_int("decided_amount_fen")?,
        decided_reason: row.opt_text("decided_reason")?,
        decided_by: row.opt_int("decided_by")?,
        decided_at: row.opt_instant("decided_at")?,
        appeal_reason: row.opt_text("appeal_reason")?,
        appealed_at: row.opt_instant("appealed_at")?,
        appeal_amount_fen: row.opt_int("appeal_amount_fen")?,
        appeal_decision_reason: row.opt_text("appeal_decision_reason")?,
        appeal_decided_by: row.opt_int("appeal_decided_by")?,
        appeal_decided_at: row.opt_instant("appeal_decided_at")?,
    })
}
