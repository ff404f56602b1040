//! Conduct violations recorded by a person (jinbi-property 第四条 礼仪, 第六条 规范用语).
//!
//! Most violations the engine detects itself from a case's events (a clock breach, a record
//! gap at closing). Conduct is not a case event: a supervisor sees an employee greet a
//! customer rudely and records it. A policy declares the types that may be recorded
//! (`[[conduct]]`: id, label, clause, the roles that may record it); an authorised person
//! records one against another person on a case, with a description. The record is a
//! `conduct` violation (`rule` = the type's id) on the case's log and in the violations
//! ledger, and the `[[penalty]]` rules with `violation = "conduct:ID"` propose its fines.
//!
//! Conduct seen with no complaint case (a supervisor's daily review finds a teller without a
//! badge) is recorded on its own: [`decide_record_without_case`] gives the violation, which
//! the shell writes to the ledger with no case, naming the policy version it came from.
//!
//! [`decide_record`] and [`decide_record_without_case`] are pure and apply the same rules:
//! they refuse (naming the type's clause, changing nothing) a role without the right,
//! recording against oneself, a person outside the recorder's jurisdiction, an empty
//! description and an unknown type; without a case, also a date observed in the future.

use jiff::Timestamp;

use crate::case::{Case, Change, Event, PersonRef};
use crate::deadlines::Violation;
use crate::engine::{Refusal, RefusalReason};
use crate::org::{Actor, UnitRef};
use crate::penalties::CONDUCT;
use crate::policy::Policy;

/// The longest description accepted (characters).
pub const MAX_DESCRIPTION: usize = 2_000;

/// A `[[conduct]]` type: a violation a person records.
#[derive(Debug, Clone, PartialEq)]
pub struct ConductType {
    /// What a penalty rule names (`violation = "conduct:ID"`) and the API takes as `type`.
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    /// The roles that may record it.
    pub recorded_by: Vec<String>,
    /// Named in the violation and in every refusal.
    pub clause: String,
}

/// What is recorded: against whom, of which type, what happened.
#[derive(Debug, Clone)]
pub struct ConductRecord<'a> {
    /// The `[[conduct]]` type's id.
    pub type_id: &'a str,
    /// The person whose conduct it was.
    pub person: &'a PersonRef,
    /// Their unit (whose role holders `role:ROLE` liability names).
    pub person_unit: &'a UnitRef,
    pub description: &'a str,
}

/// Decides the recording of `record` on `case` by `actor`: the event to append (a
/// `conduct_recorded` event carrying the violation and the description), or a refusal.
pub fn decide_record(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    record: &ConductRecord<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let ty = conduct_type(policy, record.type_id)?;
    let clause = ty.clause.as_str();
    crate::archive::check_writable(
        policy.kind(&case.kind).and_then(|k| k.archive.as_ref()),
        case,
        now,
    )?;
    if !actor.has_jurisdiction(&case.owner_unit, case.first_contact.id) {
        return Err(Refusal::new(
            RefusalReason::OutsideJurisdiction,
            Some(clause),
            "此案件不在您的管辖范围内".into(),
            "the case is outside your jurisdiction".into(),
        ));
    }
    let (violation, description) = check_record(ty, actor, record, now)?;
    Ok(Event {
        at: now,
        actor: PersonRef {
            id: actor.id,
            login: actor.login.clone(),
            name: actor.name.clone(),
        },
        action: "conduct_recorded".into(),
        clause: Some(clause.to_owned()),
        change: Change::ViolationsRecorded {
            violations: vec![violation],
            related_case: None,
            attempted: None,
            description: Some(description),
        },
        clocks: Vec::new(),
    })
}

/// The type `type_id` of `policy`, or the refusal naming the types it declares.
fn conduct_type<'p>(policy: &'p Policy, type_id: &str) -> Result<&'p ConductType, Refusal> {
    policy
        .conduct
        .iter()
        .find(|t| t.id == type_id)
        .ok_or_else(|| {
            let known: Vec<&str> = policy.conduct.iter().map(|t| t.id.as_str()).collect();
            Refusal::new(
                RefusalReason::InvalidFields,
                None,
                format!(
                    "type = {type_id:?}：本制度没有此违规类型（可选：{}）",
                    known.join("、")
                ),
                format!(
                    "type = {type_id:?}: the policy declares no such conduct type (declared: {})",
                    known.join(", ")
                ),
            )
        })
}

/// Decides conduct recorded without a case, observed at `observed_at`: the `conduct`
/// violation to write to the ledger (its `due` is when it was observed, its description
/// returned beside it), or a refusal. The same rules as on a case, without the case's.
pub fn decide_record_without_case(
    policy: &Policy,
    actor: &Actor,
    record: &ConductRecord<'_>,
    observed_at: Timestamp,
    now: Timestamp,
) -> Result<(Violation, String), Refusal> {
    let ty = conduct_type(policy, record.type_id)?;
    if observed_at > now {
        // Said in Beijing time, as the date was typed.
        let observed_at = crate::china_tz().to_datetime(observed_at);
        return Err(Refusal::new(
            RefusalReason::InvalidFields,
            Some(&ty.clause),
            format!("observed_on = {observed_at}：不能晚于现在"),
            format!("observed_on = {observed_at}: cannot be later than now"),
        ));
    }
    check_record(ty, actor, record, observed_at)
}

/// The checks every recording makes, and the violation at `at` with the trimmed description.
fn check_record(
    ty: &ConductType,
    actor: &Actor,
    record: &ConductRecord<'_>,
    at: Timestamp,
) -> Result<(Violation, String), Refusal> {
    let clause = ty.clause.as_str();
    if !ty.recorded_by.iter().any(|r| actor.has_role(r)) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!("只有{}可以登记“{}”", ty.recorded_by.join("、"), ty.label),
            format!("only {} may record `{}`", ty.recorded_by.join(", "), ty.id),
        ));
    }
    if record.person.id == actor.id {
        return Err(Refusal::new(
            RefusalReason::SelfDecision,
            Some(clause),
            "不能登记自己的违规行为".into(),
            "a person cannot record a violation against themselves".into(),
        ));
    }
    if !record.person_unit.is_within(actor.unit.id) {
        return Err(Refusal::new(
            RefusalReason::OutsideJurisdiction,
            Some(clause),
            format!("person = {}：不在您的管辖范围内", record.person.login),
            format!(
                "person = {}: outside your jurisdiction (your unit's subtree)",
                record.person.login
            ),
        ));
    }
    let description = record.description.trim();
    if description.is_empty() {
        return Err(Refusal::new(
            RefusalReason::ReasonRequired,
            Some(clause),
            "description：必须说明违规事实".into(),
            "description: say what happened".into(),
        ));
    }
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Refusal::new(
            RefusalReason::InvalidFields,
            Some(clause),
            format!("description：不得超过 {MAX_DESCRIPTION} 字"),
            format!("description: at most {MAX_DESCRIPTION} characters"),
        ));
    }
    let violation = Violation {
        kind: CONDUCT.to_owned(),
        rule: ty.id.clone(),
        clause: clause.to_owned(),
        due: at,
        liable_persons: vec![record.person.clone()],
        liable_units: vec![record.person_unit.clone()],
    };
    Ok((violation, description.to_owned()))
}
