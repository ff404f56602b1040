//! The rewards ledger (ccb-counter 第三十二条: 每年评选先进工作者和先进集体): records, columns and
//! decoder. The mirror image of penalties: a reward is proposed for a person or a unit for a
//! period (a year) under a `[[reward]]` rule, then decided once — granted with an amount inside
//! the rule's range, or declined — by an authorised person with a reason. One proposal per
//! rule, period and recipient (the database refuses a second).

use jiff::Timestamp;

use crate::records::Visibility;
use crate::rows::RowExt;

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

pub(crate) use reward_select;

/// The key that makes a reward unique: one per rule, period and recipient.
pub(crate) fn recipient_key(r: &NewReward) -> String {
    match r.person_id {
        Some(p) => format!("person:{p}"),
        None => format!("unit:{}", r.unit_id),
    }
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
