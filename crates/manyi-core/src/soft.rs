//! Soft rules (原则上, CLAUSES.md A39): a guard that warns instead of refusing outright.
//!
//! A transition whose `when` is marked `soft = true` states what should happen "in principle"
//! (visit-abcd 4.2 原则上不能由本地区的负责业务员担任; law firm 2.7.5 原则上…书面). When its
//! condition is false, the action is refused with the rule's warning and clause — unless a
//! holder of one of its `override_by` roles overrides it with a reason. The override is logged
//! as its own event (`rule_overridden`) just before the transition it let through.

use jiff::Timestamp;

use crate::case::{Change, Event, PersonRef};
use crate::engine::{Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::Transition;

/// How a transition's guard is soft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftRule {
    /// Roles that may override the warning, with a reason.
    pub override_by: Vec<String>,
    /// `soft = true`: the `when` condition is the soft rule.
    pub when: bool,
    /// `soft_requires = [...]`: fields of `requires` that are required only in principle — left
    /// empty, they warn like a false soft `when` (the target state's `requires` stay hard).
    pub requires: Vec<String>,
}

/// What the user sends to override a soft rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub reason: String,
}

/// Decides whether `actor` may take `t` although its soft guard is false. `warning` is the
/// rule's text (its `refusal`, or the condition). Without an override: refused with the warning
/// (`soft_rule`); with one: the role and a reason are required. Ok: the event logging it.
pub fn check_override(
    t: &Transition,
    rule: &SoftRule,
    warning: &str,
    actor: &Actor,
    requested: Option<&Override>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let clause = Some(t.clause.as_str());
    let roles = rule.override_by.join("或");
    let Some(ov) = requested else {
        return Err(Refusal::new(
            RefusalReason::SoftRule,
            clause,
            format!("原则上{warning}（{roles}可说明理由后越过此规则）"),
            format!(
                "in principle: {warning} (a soft rule: {} may override it with a reason)",
                rule.override_by.join(" or ")
            ),
        ));
    };
    if !actor.has_any_role(&rule.override_by) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            clause,
            format!("只有{roles}可以越过此规则：{warning}"),
            format!(
                "only {} may override this rule: {warning}",
                rule.override_by.join(" or ")
            ),
        ));
    }
    if ov.reason.trim().is_empty() {
        return Err(Refusal::new(
            RefusalReason::ReasonRequired,
            clause,
            "越过“原则上”的规则必须说明理由".into(),
            "overriding a soft rule needs a reason".into(),
        ));
    }
    Ok(Event {
        at: now,
        actor: PersonRef {
            id: actor.id,
            login: actor.login.clone(),
            name: actor.name.clone(),
        },
        action: "rule_overridden".into(),
        clause: Some(t.clause.clone()),
        change: Change::RuleOverridden {
            transition: t.id.clone(),
            warning: warning.to_owned(),
            reason: ov.reason.trim().to_owned(),
        },
        clocks: Vec::new(),
    })
}
