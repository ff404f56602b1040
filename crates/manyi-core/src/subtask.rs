//! What assistance between units ([`crate::assist`], ccb-counter 第二十条) and disputes between
//! units ([`crate::dispute`], 第二十一条) share. Both are sub-tasks that units take on a case:
//! declared by a rule of the case's kind, stepped through with free-text fields, refused once
//! the case is archived, and timed by a deadline timer named `<prefix>:<no>`.

use jiff::Timestamp;

use crate::case::{Case, PersonRef};
use crate::engine::{Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::Policy;

/// The longest free text of a sub-task step (a request, a reason, a ruling).
pub(crate) const MAX_TEXT: usize = 2_000;

/// The timer name of sub-task `no`: `<prefix>:<no>`.
pub(crate) fn timer_name(prefix: &str, no: u32) -> String {
    format!("{prefix}:{no}")
}

/// The sub-task number a timer name with this prefix refers to.
pub(crate) fn timer_no(prefix: &str, name: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.strip_prefix(':')?.parse().ok()
}

/// The refusal when the case's kind declares no such sub-task; `what_zh` / `what_en` name it.
pub(crate) fn no_rule(case: &Case, what_zh: &str, what_en: &str) -> Refusal {
    Refusal::new(
        RefusalReason::UnknownAction,
        None,
        format!("策略未规定“{}”类案件的{what_zh}", case.kind),
        format!("the policy has no {what_en} for case kind `{}`", case.kind),
    )
}

/// A required free-text field, trimmed, at most [`MAX_TEXT`] characters.
pub(crate) fn text(field: &str, value: &str, clause: &str) -> Result<String, Refusal> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_TEXT {
        return Err(Refusal::new(
            RefusalReason::ReasonRequired,
            Some(clause),
            format!("{field} 必须填写，且不超过 {MAX_TEXT} 字"),
            format!("`{field}` is required, at most {MAX_TEXT} characters"),
        ));
    }
    Ok(v.to_owned())
}

/// The actor as the case records a person.
pub(crate) fn person(actor: &Actor) -> PersonRef {
    PersonRef {
        id: actor.id,
        login: actor.login.clone(),
        name: actor.name.clone(),
    }
}

/// Refuses a step on an archived case, as every write to it is refused.
pub(crate) fn check_writable(policy: &Policy, case: &Case, now: Timestamp) -> Result<(), Refusal> {
    crate::archive::check_writable(
        policy.kind(&case.kind).and_then(|k| k.archive.as_ref()),
        case,
        now,
    )
}
