//! Assistance between units (协助): ccb-counter 第二十条.
//!
//! The unit that owns a case asks another unit for help (需其他营业网点或分、支行配合): a sub-task
//! with its own deadline on the working-day calendar. The requested unit accepts, refuses (with
//! a reason) or completes it with a result; ownership of the case never moves (the accepting
//! unit keeps it). A refusal (推诿) or a missed deadline (拖延) is a violation citing the clause,
//! against the requested unit. Each step is one case event carrying the assistance's new state
//! ([`crate::case::Change::Assistance`]), so the case's log is the whole story; the deadline is
//! a timer row named `assist:<no>` that the scheduler fires through [`decide_overdue`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarView, Duration};
use crate::case::{Case, Change, Event, PersonRef};
use crate::deadlines::Violation;
use crate::engine::{Refusal, RefusalReason};
use crate::org::{Actor, UnitRef};
use crate::policy::Policy;
use crate::subtask;

/// `[kind.<id>.assist]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssistRule {
    /// The time the requested unit has (A4: 及时 read as 1 working day unless set).
    pub within: Duration,
    /// Roles (in the owning unit's subtree) that may ask for help.
    pub request_roles: Vec<String>,
    /// Roles (in the requested unit's subtree) that may accept, refuse and complete.
    pub answer_roles: Vec<String>,
    pub clause: String,
}

/// Where an assistance request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistStatus {
    Requested,
    Accepted,
    Refused,
    Completed,
}

impl AssistStatus {
    pub fn is_open(self) -> bool {
        matches!(self, AssistStatus::Requested | AssistStatus::Accepted)
    }
}

/// One assistance request on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assist {
    /// 1, 2, 3 … within the case.
    pub no: u32,
    /// The unit that asked (owned the case then).
    pub from_unit: UnitRef,
    /// The unit asked to help.
    pub to_unit: UnitRef,
    pub requested_by: PersonRef,
    pub requested_at: Timestamp,
    pub due: Timestamp,
    /// What is asked for (资料, 核实 …).
    pub request: String,
    pub status: AssistStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<PersonRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the requested unit provided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The deadline passed while it was open (recorded once, as a violation).
    #[serde(default)]
    pub overdue: bool,
    pub clause: String,
}

/// The timer name of an assistance's deadline.
pub fn timer_name(no: u32) -> String {
    subtask::timer_name("assist", no)
}

/// The assistance number a timer name refers to.
pub fn timer_no(name: &str) -> Option<u32> {
    subtask::timer_no("assist", name)
}

/// What the requested unit answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Refuse { reason: String },
    Complete { result: String },
}

fn rule_of<'p>(policy: &'p Policy, case: &Case) -> Result<&'p AssistRule, Refusal> {
    policy
        .kind(&case.kind)
        .and_then(|k| k.assist.as_ref())
        .ok_or_else(|| subtask::no_rule(case, "协助办理", "assistance"))
}

/// The owning unit asks `to_unit` for help.
pub fn decide_request(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    to_unit: &UnitRef,
    request: &str,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let rule = rule_of(policy, case)?;
    let clause = rule.clause.as_str();
    subtask::check_writable(policy, case, now)?;
    if case.closed {
        return Err(Refusal::new(
            RefusalReason::WrongState,
            Some(clause),
            "已结案的案件不能再请求协助".into(),
            "a closed case cannot ask for assistance".into(),
        ));
    }
    if !case.owner_unit.is_within(actor.unit.id) {
        return Err(Refusal::new(
            RefusalReason::OutsideJurisdiction,
            Some(clause),
            format!("只有受理机构{}可以请求协助", case.owner_unit.name),
            format!(
                "only the owning unit {} may ask for assistance",
                case.owner_unit.code
            ),
        ));
    }
    if !rule.request_roles.iter().any(|r| actor.has_role(r)) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!("只有{}可以请求协助", rule.request_roles.join("、")),
            format!(
                "only {} may ask for assistance",
                rule.request_roles.join(", ")
            ),
        ));
    }
    if to_unit.id == case.owner_unit.id {
        return Err(Refusal::new(
            RefusalReason::InvalidFields,
            Some(clause),
            format!("unit = {}：不能请求本机构协助", to_unit.code),
            format!(
                "unit = {}: a unit cannot ask itself for assistance",
                to_unit.code
            ),
        ));
    }
    let request = subtask::text("request", request, clause)?;
    let due = calendar.add(now, rule.within).map_err(|e| {
        Refusal::new(
            RefusalReason::ConditionError,
            Some(clause),
            format!("无法计算协助期限：{e}"),
            format!("the assistance deadline cannot be computed: {e}"),
        )
    })?;
    let assist = Assist {
        no: u32::try_from(case.assists.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        from_unit: case.owner_unit.clone(),
        to_unit: to_unit.clone(),
        requested_by: subtask::person(actor),
        requested_at: now,
        due: due.due,
        request,
        status: AssistStatus::Requested,
        answered_by: None,
        answered_at: None,
        reason: None,
        result: None,
        overdue: false,
        clause: clause.to_owned(),
    };
    Ok(event(
        subtask::person(actor),
        "assist_request",
        assist,
        None,
        now,
    ))
}

fn event(
    actor: PersonRef,
    action: &str,
    assist: Assist,
    violation: Option<Violation>,
    now: Timestamp,
) -> Event {
    Event {
        at: now,
        actor,
        action: action.to_owned(),
        clause: Some(assist.clause.clone()),
        change: Change::Assistance {
            assist: Box::new(assist),
            violation,
        },
        clocks: Vec::new(),
    }
}

/// Whether `actor` answers for the requested unit: an answer role, in that unit or above it
/// (its jurisdiction covers the requested unit, as it would a case owned there).
pub fn may_answer(rule: &AssistRule, assist: &Assist, actor: &Actor) -> bool {
    assist.to_unit.is_within(actor.unit.id) && rule.answer_roles.iter().any(|r| actor.has_role(r))
}

/// The requested unit accepts, refuses (with a reason: recorded as a violation) or completes.
pub fn decide_answer(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    no: u32,
    answer: &Answer,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let rule = rule_of(policy, case)?;
    let clause = rule.clause.as_str();
    subtask::check_writable(policy, case, now)?;
    let Some(current) = case.assists.iter().find(|a| a.no == no) else {
        return Err(Refusal::new(
            RefusalReason::UnknownAction,
            Some(clause),
            format!("案件{}没有第 {no} 号协助请求", case.number),
            format!("case {} has no assistance request {no}", case.number),
        ));
    };
    if !may_answer(rule, current, actor) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!(
                "只有被请求机构{}的{}可以答复协助请求",
                current.to_unit.name,
                rule.answer_roles.join("、")
            ),
            format!(
                "only {} of the requested unit {} may answer",
                rule.answer_roles.join(", "),
                current.to_unit.code
            ),
        ));
    }
    let wrong_state = || {
        Refusal::new(
            RefusalReason::WrongState,
            Some(clause),
            format!("第 {no} 号协助请求已{}", status_zh(current.status)),
            format!("assistance request {no} is already {:?}", current.status).to_lowercase(),
        )
    };
    let mut next = current.clone();
    next.answered_by = Some(subtask::person(actor));
    next.answered_at = Some(now);
    let mut violation = None;
    let action = match answer {
        Answer::Accept => {
            if current.status != AssistStatus::Requested {
                return Err(wrong_state());
            }
            next.status = AssistStatus::Accepted;
            "assist_accept"
        }
        Answer::Refuse { reason } => {
            if !current.status.is_open() {
                return Err(wrong_state());
            }
            let reason = subtask::text("reason", reason, clause)?;
            next.status = AssistStatus::Refused;
            next.reason = Some(reason);
            // 不得推诿: a refusal is recorded against the requested unit and who refused.
            violation = Some(Violation {
                kind: "assistance_refused".into(),
                rule: timer_name(no),
                clause: clause.to_owned(),
                due: current.due,
                liable_persons: vec![subtask::person(actor)],
                liable_units: vec![current.to_unit.clone()],
            });
            "assist_refuse"
        }
        Answer::Complete { result } => {
            if !current.status.is_open() {
                return Err(wrong_state());
            }
            next.status = AssistStatus::Completed;
            next.result = Some(subtask::text("result", result, clause)?);
            "assist_complete"
        }
    };
    Ok(event(subtask::person(actor), action, next, violation, now))
}

/// The deadline of assistance `no` passed: a violation against the requested unit, once, if
/// it is still open. `None` when there is nothing to do (answered, or already recorded).
pub fn decide_overdue(case: &Case, no: u32, now: Timestamp) -> Option<Event> {
    let current = case.assists.iter().find(|a| a.no == no)?;
    if !current.status.is_open() || current.overdue || now < current.due {
        return None;
    }
    let mut next = current.clone();
    next.overdue = true;
    let violation = Violation {
        kind: "assistance_overdue".into(),
        rule: timer_name(no),
        clause: current.clause.clone(),
        due: current.due,
        liable_persons: current.answered_by.iter().cloned().collect(),
        liable_units: vec![current.to_unit.clone()],
    };
    Some(event(
        crate::deadlines::system_actor(),
        "assist_overdue",
        next,
        Some(violation),
        now,
    ))
}

fn status_zh(s: AssistStatus) -> &'static str {
    match s {
        AssistStatus::Requested => "提出",
        AssistStatus::Accepted => "接受",
        AssistStatus::Refused => "拒绝",
        AssistStatus::Completed => "完成",
    }
}
