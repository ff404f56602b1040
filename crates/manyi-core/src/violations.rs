//! Violations the engine detects by itself, and the validity gate.
//!
//! Besides clock breaches (`deadlines`), a regulation fines things a case shows when it is
//! closed or registered. Each rule is declared per kind in the policy (see `docs/POLICY.md`)
//! and cites its clause:
//!
//! - **record completeness** (`[kind.<id>.record_completeness]`, jinbi-property 第五条): the
//!   record fields that should be filled when the case closes. Closing is allowed; each gap is
//!   one violation (`record_incomplete`, rule = the field), which is what the 附则 fines per item.
//! - **upheld complaints** (ccb-counter 第三十三条): a case that closes with a `[[penalty]]`
//!   rule's `upheld:FIELD=CODE` matching and its substantiation recorded gives one
//!   `upheld_complaint` violation per selector, so the proposals appear.
//! - **repeat complaints** (`[kind.<id>.repeat_complaint]`, jinbi-property 第七条附则): a new case
//!   whose key fields (e.g. the phone and the building) equal those of an open case of the same
//!   kind is a `repeat_complaint` violation on the *first* case: its handlers left it unresolved.
//! - **recusal attempts** (CLAUSES.md A26): the refused attempt of the person a case is about is
//!   logged as a `recusal_attempt` violation against them.
//! - the **validity gate** (`[kind.<id>.validity]`, regional-complaint 四(一)2, pharma 2.2): a
//!   case judged invalid needs a reason and an explanation to the customer, and closes in the
//!   gate's state; the explanation is queued as a notice to the customer.
//!
//! Everything here is pure: the shell passes the cases, the directory and the time, and writes
//! the events and ledger rows these functions return.

use jiff::Timestamp;
use serde_json::Value;

use crate::case::{Case, Change, Event, PersonRef};
use crate::deadlines::{Liable, Violation, system_actor};
use crate::engine::{Directory, FieldError, Refusal, RefusalReason};
use crate::org::UnitRef;
use crate::penalties::{RECORD_INCOMPLETE, RECUSAL, REPEAT, UPHELD, ViolationSelector};
use crate::policy::{CaseKind, Policy};

/// The per-kind rules of this module, as the policy declares them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindChecks {
    pub validity: Option<ValidityGate>,
    pub record: Option<RecordRule>,
    pub repeat: Option<RepeatRule>,
}

/// `[kind.<id>.validity]`: a complaint is judged valid or invalid (有效/无效投诉).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidityGate {
    /// A choice field holding the judgement.
    pub field: String,
    /// The option code that means invalid (default `invalid`).
    pub invalid: String,
    /// Must be filled when the case is judged invalid: why (internal).
    pub reason_field: String,
    /// Must be filled when the case is judged invalid: the explanation addressed to the
    /// customer (婉转答复), queued as a notice.
    pub explanation_field: String,
    /// The final state an invalid case closes in; entering it requires the invalid judgement.
    pub invalid_state: String,
    pub clause: String,
}

/// `[kind.<id>.record_completeness]`: record fields that should be filled at closing.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRule {
    pub fields: Vec<String>,
    /// The final states it checks at; empty: every final state.
    pub states: Vec<String>,
    pub liable: Vec<Liable>,
    pub clause: String,
}

/// `[kind.<id>.repeat_complaint]`: what makes two complaints "the same matter".
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatRule {
    /// Fields that must all be filled and equal (e.g. the phone and the category).
    pub key: Vec<String>,
    /// Who answers for it, on the first case.
    pub liable: Vec<Liable>,
    pub clause: String,
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn field_error(kind: &CaseKind, field: &str, clause: &str, zh: &str, en: &str) -> FieldError {
    let label = kind.field(field).map_or(field, |f| f.label.as_str());
    FieldError {
        field: field.to_owned(),
        code: "required".into(),
        message: format!("{field} is required: {en} ({clause})"),
        message_zh: format!("{label}为必填项：{zh}（{clause}）"),
    }
}

/// The validity gate on a transition of `case` to `target` with the fields as they will be:
/// an invalid judgement needs the reason and the explanation and must close in the gate's
/// state; that state needs the invalid judgement. A refusal names the field and the clause.
pub fn check_validity(
    kind: &CaseKind,
    fields: &std::collections::BTreeMap<String, Value>,
    target: &str,
) -> Result<(), Refusal> {
    let Some(gate) = &kind.checks.validity else {
        return Ok(());
    };
    let judged_invalid = fields.get(&gate.field).and_then(Value::as_str) == Some(&gate.invalid);
    let clause = gate.clause.as_str();
    if target == gate.invalid_state && !judged_invalid {
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            Some(clause),
            "只有判定为无效投诉的案件才能按无效结案".into(),
            "only a complaint judged invalid may be closed as invalid".into(),
        );
        r.fields = vec![FieldError {
            field: gate.field.clone(),
            code: "validity.not_invalid".into(),
            message: format!("{} must be `{}` ({clause})", gate.field, gate.invalid),
            message_zh: format!("须判定为无效投诉（{clause}）"),
        }];
        return Err(r);
    }
    if !judged_invalid {
        return Ok(());
    }
    let mut errors = Vec::new();
    if is_empty(fields.get(&gate.reason_field)) {
        errors.push(field_error(
            kind,
            &gate.reason_field,
            clause,
            "判定投诉无效必须说明理由",
            "a complaint judged invalid needs a reason",
        ));
    }
    if is_empty(fields.get(&gate.explanation_field)) {
        errors.push(field_error(
            kind,
            &gate.explanation_field,
            clause,
            "无效投诉须以婉转的方式答复客户",
            "a complaint judged invalid needs an explanation to the customer",
        ));
    }
    if !errors.is_empty() {
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            Some(clause),
            format!("判定为无效投诉，{} 个字段必须填写", errors.len()),
            format!(
                "the complaint is judged invalid: {} field(s) must be filled",
                errors.len()
            ),
        );
        r.fields = errors;
        return Err(r);
    }
    if target != gate.invalid_state {
        return Err(Refusal::new(
            RefusalReason::ConditionFailed,
            Some(clause),
            "判定为无效的投诉应答复客户并结案".into(),
            format!(
                "a complaint judged invalid closes in `{}`",
                gate.invalid_state
            ),
        ));
    }
    Ok(())
}

/// The notice to the customer when `after` has just entered the gate's invalid state: the
/// explanation, recorded in the case's log (channels deliver it later).
pub fn invalid_notice(
    kind: &CaseKind,
    before: &Case,
    after: &Case,
    now: Timestamp,
) -> Option<Event> {
    let gate = kind.checks.validity.as_ref()?;
    if before.state == gate.invalid_state || after.state != gate.invalid_state {
        return None;
    }
    let text = after
        .fields
        .get(&gate.explanation_field)?
        .as_str()?
        .to_owned();
    Some(Event {
        at: now,
        actor: system_actor(),
        action: "notice".into(),
        clause: Some(gate.clause.clone()),
        change: Change::NoticeQueued {
            audience: "customer".into(),
            text,
        },
        clocks: Vec::new(),
    })
}

/// Whom `liable` names on `case`: persons (deduplicated) and units.
pub fn liable_on(
    liable: &[Liable],
    case: &Case,
    directory: &Directory,
) -> (Vec<PersonRef>, Vec<UnitRef>) {
    let mut persons: Vec<PersonRef> = Vec::new();
    let mut units = Vec::new();
    let mut add = |p: &PersonRef| {
        if !persons.iter().any(|x| x.id == p.id) {
            persons.push(p.clone());
        }
    };
    for l in liable {
        match l {
            Liable::FirstContact => add(&case.first_contact),
            Liable::Assignee => {
                if let Some(a) = &case.assignee {
                    add(a);
                }
            }
            Liable::OwnerUnit => units.push(case.owner_unit.clone()),
            Liable::Role(role) => {
                for p in directory.members_with_role(case.owner_unit.id, role) {
                    add(p);
                }
            }
            Liable::ParentRole(role) => {
                if let Some(parent) = case.owner_unit.parent() {
                    for p in directory.members_with_role(parent, role) {
                        add(p);
                    }
                }
            }
        }
    }
    (persons, units)
}

fn violation(
    kind: &str,
    rule: &str,
    clause: &str,
    now: Timestamp,
    who: (Vec<PersonRef>, Vec<UnitRef>),
) -> Violation {
    Violation {
        kind: kind.to_owned(),
        rule: rule.to_owned(),
        clause: clause.to_owned(),
        // Not a deadline: the instant it happened.
        due: now,
        liable_persons: who.0,
        liable_units: who.1,
    }
}

fn has_code(v: Option<&Value>, code: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == code,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(code)),
        _ => false,
    }
}

/// The violations a transition from `before` to `after` records by closing the case: upheld
/// complaints and record gaps. Nothing when the case was closed already or stays open.
/// `directory` holds the role holders of the owning unit and its parent.
pub fn on_close(
    policy: &Policy,
    before: &Case,
    after: &Case,
    directory: &Directory,
    now: Timestamp,
) -> Vec<Violation> {
    let mut out = Vec::new();
    if before.closed || !after.closed {
        return out;
    }
    let Some(kind) = policy.kind(&after.kind) else {
        return out;
    };
    let invalid = kind.checks.validity.as_ref().is_some_and(|g| {
        after.fields.get(&g.field).and_then(Value::as_str) == Some(&g.invalid)
            || after.state == g.invalid_state
    });
    // Upheld (经调查情况属实, CLAUSES.md A23): never for a complaint judged invalid.
    if !invalid {
        let mut seen: Vec<String> = Vec::new();
        for rule in &policy.penalties {
            let ViolationSelector::Upheld { field, code } = &rule.violation else {
                continue;
            };
            let key = format!("{field}={code}");
            if seen.contains(&key) || kind.field(field).is_none() {
                continue;
            }
            if !has_code(after.fields.get(field), code) {
                continue;
            }
            let substantiated = rule
                .substantiation
                .as_ref()
                .is_none_or(|s| after.fields.get(&s.field) == Some(&s.value));
            if !substantiated {
                continue;
            }
            seen.push(key.clone());
            // Liable: everyone the matching rules name (each rule proposes for its own list).
            let liable: Vec<Liable> = policy
                .penalties
                .iter()
                .filter(|r| r.violation == rule.violation)
                .flat_map(|r| r.liable.iter().cloned())
                .collect();
            let mut who = liable_on(&liable, after, directory);
            who.1.push(after.owner_unit.clone());
            out.push(violation(UPHELD, &key, &rule.clause, now, who));
        }
    }
    if let Some(record) = &kind.checks.record
        && (record.states.is_empty() || record.states.contains(&after.state))
    {
        for field in &record.fields {
            if is_empty(after.fields.get(field)) {
                let who = liable_on(&record.liable, after, directory);
                out.push(violation(
                    RECORD_INCOMPLETE,
                    field,
                    &record.clause,
                    now,
                    who,
                ));
            }
        }
    }
    out
}

/// The event that records `violations` on a case (what [`on_close`] found).
pub fn recorded(violations: Vec<Violation>, now: Timestamp) -> Option<Event> {
    let clause = violations.first()?.clause.clone();
    Some(Event {
        at: now,
        actor: system_actor(),
        action: "violations_recorded".into(),
        clause: Some(clause),
        change: Change::ViolationsRecorded {
            violations,
            related_case: None,
            attempted: None,
            description: None,
        },
        clocks: Vec::new(),
    })
}

/// The key of `fields` under `rule`, when every key field is filled.
/// The open case that `new` repeats, if any, among `open`: the same repeat key
/// ([`crate::find::repeat_key`]: same policy and kind, every key field filled and equal once
/// normalised), still open; the earliest registered. `open` is what the shell found (it may
/// include `new` itself and closed cases, which are skipped); cases registered in the same
/// instant go to the first of them in `open`, so pass it oldest first. The shell looks repeats up
/// through the index of repeat keys; this serves while old cases are still being keyed.
pub fn repeat_of<'a>(kind: &CaseKind, new: &Case, open: &'a [Case]) -> Option<&'a Case> {
    let key = crate::find::repeat_key(&new.policy_id, kind, &new.fields)?;
    open.iter()
        .filter(|c| {
            c.number != new.number
                && !c.closed
                && c.kind == new.kind
                && c.created_at <= new.created_at
                && crate::find::repeat_key(&c.policy_id, kind, &c.fields).as_ref() == Some(&key)
        })
        .min_by_key(|c| c.created_at)
}

/// The event on the `first` case recording that `new_number` repeats it (jinbi-property
/// 第七条附则: 引起投诉人再次投诉), with its violation.
pub fn repeat_event(
    kind: &CaseKind,
    first: &Case,
    new_number: &str,
    directory: &Directory,
    now: Timestamp,
) -> Option<Event> {
    let rule = kind.checks.repeat.as_ref()?;
    let who = liable_on(&rule.liable, first, directory);
    Some(Event {
        at: now,
        actor: system_actor(),
        action: "repeat_complaint".into(),
        clause: Some(rule.clause.clone()),
        change: Change::ViolationsRecorded {
            violations: vec![violation(REPEAT, "repeat", &rule.clause, now, who)],
            related_case: Some(new_number.to_owned()),
            attempted: None,
            description: None,
        },
        clocks: Vec::new(),
    })
}

/// The event logging a recused person's refused attempt to take `action` on `case` (回避):
/// the case does not move; the attempt is on the record, as a violation against them.
pub fn recusal_event(
    kind: &CaseKind,
    case: &Case,
    actor: &PersonRef,
    action: &str,
    now: Timestamp,
) -> Event {
    let mut v = violation(
        RECUSAL,
        action,
        &kind.recusal_clause,
        now,
        (vec![actor.clone()], Vec::new()),
    );
    v.liable_units = vec![case.owner_unit.clone()];
    Event {
        at: now,
        actor: actor.clone(),
        action: "recusal_attempt".into(),
        clause: Some(kind.recusal_clause.clone()),
        change: Change::ViolationsRecorded {
            violations: vec![v],
            related_case: None,
            attempted: Some(action.to_owned()),
            description: None,
        },
        clocks: Vec::new(),
    }
}
