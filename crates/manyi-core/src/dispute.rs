//! Disputes between units (服务争议): ccb-counter 第二十一条.
//!
//! 网点和网点、行和行之间的服务争议，由共同的上级行服务主管部门负责协调处理: a dispute between two units
//! (over responsibility, an assistance refusal …) goes to their **lowest common superior** in the
//! org tree, computed from the units' materialised paths ([`lowest_common_superior`]). Only a
//! holder of the policy's deciding role *in that unit* decides; the decision binds both: it may
//! move ownership of the case at once, and may order one party to act by a deadline. Not doing
//! so in time is a violation against that party. Each step is one case event
//! ([`crate::case::Change::Dispute`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarView, Duration};
use crate::case::{Case, Change, Event, Moved, PersonRef};
use crate::deadlines::Violation;
use crate::engine::{Refusal, RefusalReason};
use crate::org::{Actor, UnitId, UnitRef};
use crate::policy::Policy;
use crate::subtask;

/// `[kind.<id>.dispute]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DisputeRule {
    /// Roles of a party unit (or above it) that may raise a dispute and report compliance.
    pub raise_roles: Vec<String>,
    /// Roles that decide, held in the lowest common superior (服务主管部门).
    pub decide_roles: Vec<String>,
    /// The time an ordered party has to carry the decision out.
    pub comply_within: Duration,
    /// `on_decide = "restart"`: a decision that moves the case restarts its running clocks
    /// with the new owner's limit (like a clock's `on_hand_up = "restart"`); `"keep"` (the
    /// default) leaves them running as they were.
    pub restart_on_decide: bool,
    pub clause: String,
}

/// The lowest unit strictly above both `a` and `b` (共同的上级行): the deepest shared ancestor,
/// or that ancestor's parent when it is one of the two (a unit is not its own superior).
/// `None` when there is none (one of them is the root).
pub fn lowest_common_superior(a: &UnitRef, b: &UnitRef) -> Option<UnitId> {
    let chain = |u: &UnitRef| -> Vec<UnitId> {
        u.ancestors
            .iter()
            .copied()
            .chain(std::iter::once(u.id))
            .collect()
    };
    let (ca, cb) = (chain(a), chain(b));
    let shared = ca.iter().zip(&cb).take_while(|(x, y)| x == y).count();
    // The shared prefix, less any unit that is itself a party.
    ca[..shared]
        .iter()
        .rev()
        .find(|&&u| u != a.id && u != b.id)
        .copied()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    Raised,
    Decided,
    Complied,
}

/// What the common superior decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub by: PersonRef,
    pub at: Timestamp,
    pub ruling: String,
    /// The unit that owns the case from now on, if the decision moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_unit: Option<UnitRef>,
    /// The party ordered to act (provide the assistance, take the case …), and by when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_unit: Option<UnitRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub no: u32,
    /// The two parties: the owning unit when it was raised, and the other unit.
    pub parties: [UnitRef; 2],
    /// Their lowest common superior, which decides.
    pub decider_unit: UnitRef,
    pub about: String,
    pub raised_by: PersonRef,
    pub raised_at: Timestamp,
    pub status: DisputeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complied_by: Option<PersonRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complied_at: Option<Timestamp>,
    #[serde(default)]
    pub overdue: bool,
    pub clause: String,
}

/// The timer name of a decision's deadline.
pub fn timer_name(no: u32) -> String {
    subtask::timer_name("dispute", no)
}

pub fn timer_no(name: &str) -> Option<u32> {
    subtask::timer_no("dispute", name)
}

fn rule_of<'p>(policy: &'p Policy, case: &Case) -> Result<&'p DisputeRule, Refusal> {
    policy
        .kind(&case.kind)
        .and_then(|k| k.dispute.as_ref())
        .ok_or_else(|| subtask::no_rule(case, "争议处理", "disputes"))
}

fn event(
    actor: PersonRef,
    action: &str,
    dispute: Dispute,
    owner_unit: Option<Moved<UnitRef>>,
    violation: Option<Violation>,
    now: Timestamp,
) -> Event {
    Event {
        at: now,
        actor,
        action: action.to_owned(),
        clause: Some(dispute.clause.clone()),
        change: Change::Dispute {
            dispute: Box::new(dispute),
            owner_unit,
            violation,
        },
        clocks: Vec::new(),
    }
}

/// A party (someone of the owning unit or of `other`, or above one of them) raises a dispute
/// between the owning unit and `other`; it goes to their lowest common superior, `units`
/// resolving the id to the unit.
pub fn decide_raise(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    other: &UnitRef,
    about: &str,
    units: &dyn Fn(UnitId) -> Option<UnitRef>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let rule = rule_of(policy, case)?;
    let clause = rule.clause.as_str();
    subtask::check_writable(policy, case, now)?;
    let owner = &case.owner_unit;
    if other.id == owner.id {
        return Err(Refusal::new(
            RefusalReason::InvalidFields,
            Some(clause),
            format!("unit = {}：争议须发生在两个不同机构之间", other.code),
            format!(
                "unit = {}: a dispute is between two different units",
                other.code
            ),
        ));
    }
    let party = owner.is_within(actor.unit.id) || other.is_within(actor.unit.id);
    if !party || !rule.raise_roles.iter().any(|r| actor.has_role(r)) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!(
                "只有争议双方机构的{}可以提出争议",
                rule.raise_roles.join("、")
            ),
            format!(
                "only {} of one of the two units may raise a dispute",
                rule.raise_roles.join(", ")
            ),
        ));
    }
    let about = subtask::text("about", about, clause)?;
    let decider = lowest_common_superior(owner, other)
        .and_then(units)
        .ok_or_else(|| {
            Refusal::new(
                RefusalReason::NoParentUnit,
                Some(clause),
                format!("{}与{}没有共同的上级机构", owner.name, other.name),
                format!("{} and {} have no common superior", owner.code, other.code),
            )
        })?;
    let dispute = Dispute {
        no: u32::try_from(case.disputes.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        parties: [owner.clone(), other.clone()],
        decider_unit: decider,
        about,
        raised_by: subtask::person(actor),
        raised_at: now,
        status: DisputeStatus::Raised,
        decision: None,
        complied_by: None,
        complied_at: None,
        overdue: false,
        clause: clause.to_owned(),
    };
    Ok(event(
        subtask::person(actor),
        "dispute_raise",
        dispute,
        None,
        None,
        now,
    ))
}

/// What the decider rules: a ruling, and optionally the unit that owns the case from now on
/// and the party that must carry the decision out (by the rule's deadline).
pub struct Ruling<'a> {
    pub ruling: &'a str,
    pub owner_unit: Option<UnitRef>,
    pub ordered_unit: Option<UnitRef>,
    /// The new owner's working-day calendar, for clocks restarted by `on_decide = "restart"`
    /// (`None`: the decision's `calendar`).
    pub owner_calendar: Option<&'a CalendarView<'a>>,
}

pub fn decide_decision(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    no: u32,
    ruling: Ruling<'_>,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let rule = rule_of(policy, case)?;
    let clause = rule.clause.as_str();
    subtask::check_writable(policy, case, now)?;
    let current = find(case, no, clause)?;
    if actor.unit.id != current.decider_unit.id
        || !rule.decide_roles.iter().any(|r| actor.has_role(r))
    {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!(
                "争议由{}与{}共同的上级机构{}的{}协调处理",
                current.parties[0].name,
                current.parties[1].name,
                current.decider_unit.name,
                rule.decide_roles.join("、")
            ),
            format!(
                "the dispute is decided by {} of {}, the common superior of {} and {}",
                rule.decide_roles.join(", "),
                current.decider_unit.code,
                current.parties[0].code,
                current.parties[1].code
            ),
        ));
    }
    if current.status != DisputeStatus::Raised {
        return Err(Refusal::new(
            RefusalReason::WrongState,
            Some(clause),
            format!("第 {no} 号争议已经处理"),
            format!("dispute {no} is already decided"),
        ));
    }
    let is_party = |u: &UnitRef| current.parties.iter().any(|p| p.id == u.id);
    for (name, unit) in [
        ("owner_unit", &ruling.owner_unit),
        ("ordered_unit", &ruling.ordered_unit),
    ] {
        if let Some(u) = unit
            && !is_party(u)
        {
            return Err(Refusal::new(
                RefusalReason::InvalidFields,
                Some(clause),
                format!("{name} = {}：只能是争议双方之一", u.code),
                format!("{name} = {}: must be one of the two parties", u.code),
            ));
        }
    }
    let ruling_text = subtask::text("ruling", ruling.ruling, clause)?;
    let due = match &ruling.ordered_unit {
        Some(_) => Some(
            calendar
                .add(now, rule.comply_within)
                .map_err(|e| {
                    Refusal::new(
                        RefusalReason::ConditionError,
                        Some(clause),
                        format!("无法计算执行期限：{e}"),
                        format!("the deadline cannot be computed: {e}"),
                    )
                })?
                .due,
        ),
        None => None,
    };
    let mut next = current.clone();
    next.status = if ruling.ordered_unit.is_some() {
        DisputeStatus::Decided
    } else {
        // Nothing left to carry out: the ruling itself settles it.
        DisputeStatus::Complied
    };
    let moved = ruling
        .owner_unit
        .as_ref()
        .filter(|u| u.id != case.owner_unit.id)
        .map(|u| Moved {
            before: case.owner_unit.clone(),
            after: u.clone(),
        });
    // on_decide = "restart": the unit that takes the case gets its full time from now.
    let clocks = match (&moved, policy.kind(&case.kind)) {
        (Some(m), Some(kind)) if rule.restart_on_decide => crate::deadlines::restart_active(
            kind,
            &case.clocks,
            &m.after,
            ruling.owner_calendar.unwrap_or(calendar),
            now,
        )?,
        _ => Vec::new(),
    };
    next.decision = Some(Decision {
        by: subtask::person(actor),
        at: now,
        ruling: ruling_text,
        owner_unit: ruling.owner_unit,
        ordered_unit: ruling.ordered_unit,
        due,
    });
    let mut decided = event(
        subtask::person(actor),
        "dispute_decide",
        next,
        moved,
        None,
        now,
    );
    decided.clocks = clocks;
    Ok(decided)
}

fn find<'c>(case: &'c Case, no: u32, clause: &str) -> Result<&'c Dispute, Refusal> {
    case.disputes.iter().find(|d| d.no == no).ok_or_else(|| {
        Refusal::new(
            RefusalReason::UnknownAction,
            Some(clause),
            format!("案件{}没有第 {no} 号争议", case.number),
            format!("case {} has no dispute {no}", case.number),
        )
    })
}

/// The ordered party reports it carried the decision out.
pub fn decide_comply(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    no: u32,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let rule = rule_of(policy, case)?;
    let clause = rule.clause.as_str();
    subtask::check_writable(policy, case, now)?;
    let current = find(case, no, clause)?;
    let ordered = current
        .decision
        .as_ref()
        .and_then(|d| d.ordered_unit.as_ref());
    let Some(ordered) = ordered.filter(|_| current.status == DisputeStatus::Decided) else {
        return Err(Refusal::new(
            RefusalReason::WrongState,
            Some(clause),
            format!("第 {no} 号争议没有待执行的决定"),
            format!("dispute {no} has no decision waiting to be carried out"),
        ));
    };
    if !ordered.is_within(actor.unit.id) || !rule.raise_roles.iter().any(|r| actor.has_role(r)) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(clause),
            format!(
                "只有被责令的{}的{}可以报告执行",
                ordered.name,
                rule.raise_roles.join("、")
            ),
            format!(
                "only {} of {} may report carrying it out",
                rule.raise_roles.join(", "),
                ordered.code
            ),
        ));
    }
    let mut next = current.clone();
    next.status = DisputeStatus::Complied;
    next.complied_by = Some(subtask::person(actor));
    next.complied_at = Some(now);
    Ok(event(
        subtask::person(actor),
        "dispute_comply",
        next,
        None,
        None,
        now,
    ))
}

/// The decision's deadline passed and the ordered party has not reported carrying it out: a
/// violation against it, once.
pub fn decide_overdue(case: &Case, no: u32, now: Timestamp) -> Option<Event> {
    let current = case.disputes.iter().find(|d| d.no == no)?;
    let decision = current.decision.as_ref()?;
    let (ordered, due) = (decision.ordered_unit.as_ref()?, decision.due?);
    if current.status != DisputeStatus::Decided || current.overdue || now < due {
        return None;
    }
    let mut next = current.clone();
    next.overdue = true;
    let violation = Violation {
        kind: "dispute_decision_not_carried_out".into(),
        rule: timer_name(no),
        clause: current.clause.clone(),
        due,
        liable_persons: Vec::new(),
        liable_units: vec![ordered.clone()],
    };
    Some(event(
        crate::deadlines::system_actor(),
        "dispute_overdue",
        next,
        None,
        Some(violation),
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(id: UnitId, path: &str) -> UnitRef {
        UnitRef::from_path(id, &format!("U{id}"), "u", "x", path)
    }

    #[test]
    fn the_lowest_common_superior_is_strictly_above_both_units() {
        // 1 ─ 2 ─ 3 ─ {4, 5};  1 ─ 6 ─ 7
        let (o4, o5, b3, b2, o7) = (
            u(4, "/1/2/3/4/"),
            u(5, "/1/2/3/5/"),
            u(3, "/1/2/3/"),
            u(2, "/1/2/"),
            u(7, "/1/6/7/"),
        );
        assert_eq!(lowest_common_superior(&o4, &o5), Some(3));
        assert_eq!(lowest_common_superior(&o4, &o7), Some(1));
        // An outlet and its own branch: the branch is a party, so its parent decides.
        assert_eq!(lowest_common_superior(&o4, &b3), Some(2));
        assert_eq!(lowest_common_superior(&b3, &b2), Some(1));
        // Nobody is above the root.
        assert_eq!(lowest_common_superior(&u(1, "/1/"), &o4), None);
    }
}
