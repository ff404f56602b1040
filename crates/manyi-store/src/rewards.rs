//! The rewards ledger (ccb-counter 第三十二条: 每年评选先进工作者和先进集体): records, columns and
//! decoder. The mirror image of penalties: a reward is proposed for a person or a unit for a
//! period (a year) under a `[[reward]]` rule, then decided once — granted with an amount inside
//! the rule's range, or declined — by an authorised person with a reason. One proposal per
//! rule, period and recipient (the database refuses a second).

use jiff::Timestamp;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::StoreError;
use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::records::Visibility;
use crate::rows::RowExt;
use crate::time::to_millis;
use crate::tree::subtree_range;

/// A reward to propose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReward {
    /// The policy's id (its name), e.g. `ccb-counter`.
    pub policy: String,
    pub rule: String,
    pub clause: String,
    /// e.g. `2026`.
    pub period: String,
    /// The person rewarded; `None` for a collective award (the unit is the recipient).
    pub person_id: Option<i64>,
    /// The person's unit, or the unit rewarded.
    pub unit_id: i64,
    /// Why (事迹). May contain personal data: never logged.
    pub basis: String,
    pub proposed_by: i64,
    pub proposed_at: Timestamp,
    pub min_fen: i64,
    pub max_fen: i64,
}

/// The decision on a proposed reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardDecision {
    pub granted: bool,
    /// The amount, when granted (fen).
    pub amount_fen: Option<i64>,
    pub reason: String,
    pub by: i64,
    pub at: Timestamp,
}

/// A recorded reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRecord {
    pub id: i64,
    pub policy: String,
    pub rule: String,
    pub clause: String,
    pub period: String,
    pub person_id: Option<i64>,
    pub unit_id: i64,
    pub unit_code: String,
    pub basis: String,
    pub proposed_by: i64,
    pub proposed_at: Timestamp,
    pub min_fen: i64,
    pub max_fen: i64,
    /// `proposed`, `granted` or `declined`.
    pub status: String,
    pub amount_fen: Option<i64>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<Timestamp>,
}

/// Which rewards a query returns; oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RewardFilter {
    /// Only those in this unit subtree (a unit path such as `/1/5/`).
    pub unit_subtree: Option<String>,
    /// Only those this person may see: in their unit's subtree, or for them.
    pub visible_to: Option<Visibility>,
    pub period: Option<String>,
    /// `proposed`, `granted`, `declined`.
    pub status: Option<String>,
}

/// The reward columns, selected from `rewards r JOIN units u`.
macro_rules! reward_select {
    () => {
        "SELECT r.id, r.policy, r.rule, r.clause, r.period, r.person_id, r.unit_id, \
                u.code AS unit_code, r.basis, r.proposed_by, r.proposed_at, r.min_fen, \
                r.max_fen, r.status, r.amount_fen, r.decision_reason, r.decided_by, \
                r.decided_at \
         FROM rewards r JOIN units u ON u.id = r.unit_id WHERE 1 = 1"
    };
}

/// The key that makes a reward unique: one per rule, period and recipient.
pub(crate) fn recipient_key(r: &NewReward) -> String {
    match r.person_id {
        Some(p) => format!("person:{p}"),
        None => format!("unit:{}", r.unit_id),
    }
}

/// A write's error in the store's words: a second proposal for the same rule, period and
/// recipient is a duplicate named by `key`; an unknown unit or person is invalid input.
pub(crate) fn write_error(e: sqlx::Error, key: String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what: "reward",
            key,
        }
    } else if is_foreign_key_violation(&e) {
        StoreError::Invalid {
            what: "reward",
            reason: "refers to an unknown unit or user".to_owned(),
        }
    } else {
        e.into()
    }
}

/// The key a duplicate proposal is reported under.
pub(crate) fn proposal_key(r: &NewReward) -> String {
    format!("{} {} {}", r.rule, r.period, recipient_key(r))
}

// The statements, built once for both backends: `QueryBuilder` writes each backend's
// placeholders, and the values bound are integers and text, which both encode.

/// Inserts `r`, returning its id.
pub(crate) fn insert<DB>(r: &NewReward) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO rewards (policy, rule, clause, period, recipient, person_id, unit_id, \
         basis, proposed_by, proposed_at, min_fen, max_fen) VALUES (",
    );
    let mut s = q.separated(", ");
    s.push_bind(&r.policy)
        .push_bind(&r.rule)
        .push_bind(&r.clause)
        .push_bind(&r.period)
        .push_bind(recipient_key(r))
        .push_bind(r.person_id)
        .push_bind(r.unit_id)
        .push_bind(&r.basis)
        .push_bind(r.proposed_by)
        .push_bind(to_millis(r.proposed_at))
        .push_bind(r.min_fen)
        .push_bind(r.max_fen);
    q.push(") RETURNING id");
    q
}

/// The reward with this id.
pub(crate) fn by_id<DB>(id: i64) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(reward_select!());
    q.push(" AND r.id = ").push_bind(id);
    q
}

/// The rewards `f` selects, oldest proposal first.
pub(crate) fn list<DB>(f: &RewardFilter) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(reward_select!());
    if let Some(prefix) = &f.unit_subtree {
        let (lo, hi) = subtree_range(prefix)?;
        q.push(" AND u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
    }
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        q.push(" AND ((u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
        q.push(") OR r.person_id = ").push_bind(v.user_id);
        q.push(")");
    }
    if let Some(p) = &f.period {
        q.push(" AND r.period = ").push_bind(p.clone());
    }
    if let Some(s) = &f.status {
        q.push(" AND r.status = ").push_bind(s.clone());
    }
    q.push(" ORDER BY r.proposed_at, r.id LIMIT 10000");
    Ok(q)
}

/// Records decision `d` on reward `id` if it is still proposed.
pub(crate) fn decide<DB>(id: i64, d: &RewardDecision) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("UPDATE rewards SET status = ");
    q.push_bind(if d.granted { "granted" } else { "declined" });
    q.push(", amount_fen = ").push_bind(d.amount_fen);
    q.push(", decision_reason = ").push_bind(&d.reason);
    q.push(", decided_by = ").push_bind(d.by);
    q.push(", decided_at = ").push_bind(to_millis(d.at));
    q.push(" WHERE id = ").push_bind(id);
    q.push(" AND status = 'proposed'");
    q
}

/// The outcome of [`decide`]: the reward as it is now (`row`, read after the update in the
/// same transaction), unless it does not exist or was decided already (`updated` is 0).
pub(crate) fn decided(
    id: i64,
    row: Option<&impl RowExt>,
    updated: u64,
) -> Result<RewardRecord, StoreError> {
    let Some(row) = row else {
        return Err(StoreError::NotFound {
            what: "reward",
            key: id.to_string(),
        });
    };
    if updated == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(reward(row)?)
}

pub(crate) fn reward(row: &impl RowExt) -> Result<RewardRecord, sqlx::Error> {
    Ok(RewardRecord {
        id: row.int("id")?,
        policy: row.text("policy")?,
        rule: row.text("rule")?,
        clause: row.text("clause")?,
        period: row.text("period")?,
        person_id: row.opt_int("person_id")?,
        unit_id: row.int("unit_id")?,
        unit_code: row.text("unit_code")?,
        basis: row.text("basis")?,
        proposed_by: row.int("proposed_by")?,
        proposed_at: row.instant("proposed_at")?,
        min_fen: row.int("min_fen")?,
        max_fen: row.int("max_fen")?,
        status: row.text("status")?,
        amount_fen: row.opt_int("amount_fen")?,
        decision_reason: row.opt_text("decision_reason")?,
        decided_by: row.opt_int("decided_by")?,
        decided_at: row.opt_instant("decided_at")?,
    })
}
