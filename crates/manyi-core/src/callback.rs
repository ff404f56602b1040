//! Callbacks (回访): asking the customer, after the case is resolved, whether they are satisfied.
//!
//! A kind's `[kind.<id>.callback]` section (see `docs/POLICY.md`) says which states open a
//! callback (`after`), who may do it (`roles`, never the person who resolved the case nor the
//! person complained about: an independent check, regional-complaint 4.3.1), which states may
//! not be entered until it is done or waived (`close`), who may waive it and what a
//! dissatisfied verdict does (reopen the case, or hand it up; lawfirm-complaint 三(三)).
//! Its time limit is an ordinary clock (id [`CLOCK_ID`]) so it warns and breaches like the
//! others.
//!
//! Like the engine, everything here is pure: [`decide_attempt`], [`decide_verdict`] and
//! [`decide_waiver`] return the event to append or a [`Refusal`] naming the clause;
//! [`follow_up`] says whether an event just decided opens a callback; [`check_close`] is the
//! engine's gate on `close` states. The record lives on the case ([`Case::callbacks`]), built
//! only from the log by [`apply`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::CalendarView;
use crate::case::{Case, Change, Event, Moved, PersonRef};
use crate::deadlines::{self, Occurrence, Trigger};
use crate::engine::{Directory, FieldError, Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::{CaseKind, Policy};

/// The id of the clock a callback section's `limit` declares.
pub const CLOCK_ID: &str = "callback";
/// The action names of callback events, usable as clock triggers (`action:callback_reopen`).
pub const ACTIONS: &[&str] = &[
    "callback_opened",
    "callback_attempt",
    "callback_verdict",
    "callback_done",
    "callback_reopen",
    "callback_waived",
];
/// Longest note or reason accepted, in characters.
const MAX_TEXT: usize = 2000;

/// What a dissatisfied verdict does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDissatisfied {
    /// The case goes back to this state for another round of handling.
    Reopen { to: String },
    /// The case goes up to the parent unit and back to this state.
    HandUp { to: String },
    /// Only recorded: the callback is done and the case may close.
    Record,
}

/// A kind's callback section, as the policy declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRule {
    pub label: String,
    pub clause: String,
    /// Entering one of these states opens a callback.
    pub after: Vec<String>,
    /// Who may call back (any one role).
    pub roles: Vec<String>,
    /// States that may not be entered while a callback is owed.
    pub close: Vec<String>,
    /// Who may waive it (with a reason).
    pub waive_roles: Vec<String>,
    /// The clause behind waivers (defaults to `clause`).
    pub waive_clause: String,
    /// Channels an attempt may use (empty: any).
    pub channels: Vec<String>,
    pub on_dissatisfied: OnDissatisfied,
    /// The person complained about is surveyed too (lawfirm-complaint 三(二)(三)).
    pub also_subject: bool,
    /// Whether the section declares a time limit (the clock [`CLOCK_ID`]).
    pub has_clock: bool,
}

/// Whose satisfaction is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The complainant (投诉人).
    Customer,
    /// The person complained about (被投诉人).
    Subject,
}

impl Party {
    pub fn parse(s: &str) -> Option<Party> {
        match s {
            "customer" => Some(Party::Customer),
            "subject" => Some(Party::Subject),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Party::Customer => "投诉人",
            Party::Subject => "被投诉人",
        }
    }
}

/// 满意 / 基本满意 / 不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Verdict {
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "satisfied" | "满意" => Some(Verdict::Satisfied),
            "basically_satisfied" | "basically" | "基本满意" => {
                Some(Verdict::BasicallySatisfied)
            }
            "dissatisfied" | "不满意" => Some(Verdict::Dissatisfied),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Satisfied => "satisfied",
            Verdict::BasicallySatisfied => "basically_satisfied",
            Verdict::Dissatisfied => "dissatisfied",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Satisfied => "满意",
            Verdict::BasicallySatisfied => "基本满意",
            Verdict::Dissatisfied => "不满意",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Owed: the case may not enter a `close` state.
    Pending,
    /// Every party's verdict is recorded (or a dissatisfied one sent the case back).
    Done,
    Waived,
}

/// One try to reach a party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub by: PersonRef,
    pub party: Party,
    pub channel: String,
    pub reached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A party's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    pub at: Timestamp,
    pub by: PersonRef,
    pub party: Party,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A waiver, with its mandatory reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    pub at: Timestamp,
    pub by: PersonRef,
    pub reason: String,
}

/// One callback round of a case (a reopened case owes a new one after its next resolution).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackRecord {
    pub round: u32,
    pub opened_at: Timestamp,
    /// Who resolved the case (took it into the `after` state): they may not call back.
    pub resolved_by: Option<PersonRef>,
    pub parties: Vec<Party>,
    pub status: CallbackStatus,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub verdicts: Vec<VerdictRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

impl CallbackRecord {
    /// Parties still to give their verdict.
    pub fn missing_parties(&self) -> Vec<Party> {
        self.parties
            .iter()
            .copied()
            .filter(|p| !self.verdicts.iter().any(|v| v.party == *p))
            .collect()
    }
}

/// The callback owed now, if any.
pub fn pending(case: &Case) -> Option<&CallbackRecord> {
    case.callbacks
        .last()
        .filter(|c| c.status == CallbackStatus::Pending)
}

/// What a user submits to record an attempt.
#[derive(Debug, Clone)]
pub struct AttemptInput {
    pub party: Party,
    pub channel: String,
    pub reached: bool,
    pub note: Option<String>,
}

/// What a user submits to record a verdict.
#[derive(Debug, Clone)]
pub struct VerdictInput {
    pub party: Party,
    pub verdict: Verdict,
    pub channel: Option<String>,
    pub note: Option<String>,
}

fn rule_of<'p>(
    policy: &'p Policy,
    case: &Case,
) -> Result<(&'p CaseKind, &'p CallbackRule), Refusal> {
    let kind = policy.kind(&case.kind).ok_or_else(|| {
        Refusal::new(
            RefusalReason::UnknownKind,
            None,
            format!("案件类型“{}”不在策略 {} 中", case.kind, policy.id),
            format!("case kind `{}` is not in policy {}", case.kind, policy.id),
        )
    })?;
    let rule = kind.callback.as_ref().ok_or_else(|| {
        Refusal::new(
            RefusalReason::UnknownAction,
            None,
            format!("{}的策略没有规定回访", kind.label),
            format!("the policy declares no callback for `{}`", kind.id),
        )
    })?;
    Ok((kind, rule))
}

/// Whether `actor` may call back (or, with `waive`, waive the callback of) `case` now.
/// Checks, in order: a callback section; jurisdiction; 回避; the role; independence from the
/// handler; that a callback is owed.
pub fn check_actor(
    policy: &Policy,
    case: &Case,
    actor: &Actor,
    waive: bool,
) -> Result<(), Refusal> {
    let (kind, rule) = rule_of(policy, case)?;
    let clause = Some(if waive {
        rule.waive_clause.as_str()
    } else {
        rule.clause.as_str()
    });
    if !actor.has_jurisdiction(&case.owner_unit, case.first_contact.id) {
        return Err(Refusal::new(
            RefusalReason::OutsideJurisdiction,
            None,
            format!(
                "案件由{}办理，不在您所在机构{}的辖区内",
                case.owner_unit.name, actor.unit.name
            ),
            format!(
                "the case is owned by {}, outside the jurisdiction of {}",
                case.owner_unit.code, actor.unit.code
            ),
        ));
    }
    if crate::engine::is_subject(kind, &case.fields, &actor.login) {
        return Err(crate::engine::recused(kind, &actor.name, &actor.login));
    }
    let roles = if waive {
        &rule.waive_roles
    } else {
        &rule.roles
    };
    if !actor.has_any_role(roles) {
        let what = if waive { "免除回访" } else { "回访" };
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            clause,
            format!(
                "只有{}可以{what}",
                crate::engine::role_labels(policy, roles, true)
            ),
            format!(
                "only {} may {}",
                crate::engine::role_labels(policy, roles, false),
                if waive {
                    "waive the callback"
                } else {
                    "do the callback"
                }
            ),
        ));
    }
    let owed = case.callbacks.last();
    let pending = owed.filter(|c| c.status == CallbackStatus::Pending);
    // Independence: whoever resolved the case, or handles it now, does not judge their own
    // work (regional-complaint 4.3.1: the HR/admin manager, not the complained department).
    let resolver = pending.and_then(|c| c.resolved_by.as_ref());
    let handler = case.assignee.as_ref();
    if let Some(p) = [resolver, handler]
        .into_iter()
        .flatten()
        .find(|p| p.id == actor.id)
    {
        return Err(Refusal::new(
            RefusalReason::NotIndependent,
            clause,
            format!("{}办理了本案，回访须由独立于办理人的人员进行", p.name),
            format!(
                "{} handled this case; the callback must be done by someone independent of the handler",
                p.login
            ),
        ));
    }
    // A waiver may also stand in for a callback that was never opened; a callback needs one.
    let owes =
        pending.is_some() || (waive && owed.is_none_or(|c| c.status == CallbackStatus::Pending));
    if !owes {
        return Err(Refusal::new(
            RefusalReason::WrongState,
            clause,
            "本案当前没有待进行的回访".into(),
            "no callback is owed on this case now".into(),
        ));
    }
    Ok(())
}

fn clean_text(
    field: &str,
    text: Option<&str>,
    required: bool,
    clause: &str,
) -> Result<Option<String>, Refusal> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let error = |code: &str, en: String, zh: String| {
        let mut r = Refusal::new(
            if required && code == "required" {
                RefusalReason::ReasonRequired
            } else {
                RefusalReason::InvalidFields
            },
            Some(clause),
            format!("{field}：{zh}"),
            format!("{field}: {en}"),
        );
        r.fields = vec![FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: en,
            message_zh: zh,
        }];
        r
    };
    match text {
        None if required => Err(error(
            "required",
            "a reason is required".into(),
            "必须填写理由".into(),
        )),
        Some(t) if t.chars().count() > MAX_TEXT => Err(error(
            "text.too_long",
            format!("at most {MAX_TEXT} characters"),
            format!("不得超过 {MAX_TEXT} 个字符"),
        )),
        t => Ok(t.map(str::to_owned)),
    }
}

fn check_channel(rule: &CallbackRule, channel: &str) -> Result<(), Refusal> {
    if channel.trim().is_empty()
        || (!rule.channels.is_empty() && !rule.channels.iter().any(|c| c == channel))
    {
        let allowed = rule.channels.join(", ");
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            Some(&rule.clause),
            format!(
                "回访方式“{channel}”不在允许范围内：{}",
                rule.channels.join("、")
            ),
            format!("callback channel `{channel}` is not allowed; allowed: {allowed}"),
        );
        r.fields = vec![FieldError {
            field: "channel".into(),
            code: "choice.unknown".into(),
            message: format!("unknown channel `{channel}`; allowed: {allowed}"),
            message_zh: format!("回访方式“{channel}”不在允许范围内"),
        }];
        return Err(r);
    }
    Ok(())
}

fn check_party(
    rule: &CallbackRule,
    record: Option<&CallbackRecord>,
    party: Party,
) -> Result<(), Refusal> {
    let known = record.map_or(party == Party::Customer || rule.also_subject, |r| {
        r.parties.contains(&party)
    });
    if !known {
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            Some(&rule.clause),
            format!("本案回访不包括{}", party.label_zh()),
            "this callback does not survey the person complained about".into(),
        );
        r.fields = vec![FieldError {
            field: "party".into(),
            code: "choice.unknown".into(),
            message: "party must be `customer` (or `subject` with also_subject)".into(),
            message_zh: "回访对象不在范围内".into(),
        }];
        return Err(r);
    }
    Ok(())
}

fn person_of(actor: &Actor) -> PersonRef {
    PersonRef {
        id: actor.id,
        login: actor.login.clone(),
        name: actor.name.clone(),
    }
}

/// Builds the event for `change`, moving the clocks it triggers.
#[expect(
    clippy::too_many_arguments,
    reason = "one private helper of the decide functions"
)]
fn event(
    kind: &CaseKind,
    case: &Case,
    actor: &Actor,
    action: &str,
    clause: &str,
    change: Change,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let (owner, owner_changed) = match &change {
        Change::CallbackVerdict {
            owner_unit: Some(m),
            ..
        } => (m.after.clone(), true),
        _ => (case.owner_unit.clone(), false),
    };
    let clocks = deadlines::advance(
        kind,
        &case.clocks,
        &Occurrence {
            triggers: deadlines::triggers_of(&change, action),
            owner: &owner,
            owner_changed,
        },
        calendar,
        now,
    )?;
    Ok(Event {
        at: now,
        actor: person_of(actor),
        action: action.to_owned(),
        clause: Some(clause.to_owned()),
        change,
        clocks,
    })
}

/// Records an attempt to reach a party (reached or not).
pub fn decide_attempt(
    policy: &Policy,
    case: &Case,
    input: &AttemptInput,
    actor: &Actor,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    check_actor(policy, case, actor, false)?;
    let (kind, rule) = rule_of(policy, case)?;
    check_party(rule, pending(case), input.party)?;
    check_channel(rule, &input.channel)?;
    let note = clean_text("note", input.note.as_deref(), false, &rule.clause)?;
    let change = Change::CallbackAttempted {
        party: input.party,
        channel: input.channel.clone(),
        reached: input.reached,
        note,
    };
    event(
        kind,
        case,
        actor,
        "callback_attempt",
        &rule.clause,
        change,
        calendar,
        now,
    )
}

/// Records a party's verdict; a dissatisfied one does what the policy says.
pub fn decide_verdict(
    policy: &Policy,
    case: &Case,
    input: &VerdictInput,
    actor: &Actor,
    directory: &Directory,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    check_actor(policy, case, actor, false)?;
    let (kind, rule) = rule_of(policy, case)?;
    let Some(record) = pending(case) else {
        // check_actor refuses this already; kept so that nothing below can panic.
        return Err(Refusal::new(
            RefusalReason::WrongState,
            Some(&rule.clause),
            "本案当前没有待进行的回访".into(),
            "no callback is owed on this case now".into(),
        ));
    };
    check_party(rule, Some(record), input.party)?;
    if record.verdicts.iter().any(|v| v.party == input.party) {
        return Err(Refusal::new(
            RefusalReason::WrongState,
            Some(&rule.clause),
            format!("{}的回访结论已记录", input.party.label_zh()),
            format!("the verdict of the {:?} is already recorded", input.party).to_lowercase(),
        ));
    }
    if let Some(c) = &input.channel {
        check_channel(rule, c)?;
    }
    let note = clean_text("note", input.note.as_deref(), false, &rule.clause)?;
    let dissatisfied = input.verdict == Verdict::Dissatisfied;
    let mut reopen = None;
    let mut owner_unit = None;
    let mut assignee = None;
    if dissatisfied {
        let (to, hand_up) = match &rule.on_dissatisfied {
            OnDissatisfied::Reopen { to } => (Some(to), false),
            OnDissatisfied::HandUp { to } => (Some(to), true),
            OnDissatisfied::Record => (None, false),
        };
        if let Some(to) = to {
            reopen = (&case.state != to).then(|| Moved {
                before: case.state.clone(),
                after: to.clone(),
            });
            if hand_up
                && let Some(parent) = case.owner_unit.parent().and_then(|p| directory.unit(p))
            {
                owner_unit = Some(Moved {
                    before: case.owner_unit.clone(),
                    after: parent.clone(),
                });
                assignee = case.assignee.is_some().then(|| Moved {
                    before: case.assignee.clone(),
                    after: None,
                });
            }
        }
    }
    let others_missing = record
        .missing_parties()
        .into_iter()
        .any(|p| p != input.party);
    // A dissatisfied party that sends the case back ends this round: the next resolution
    // opens a new one.
    let complete = !others_missing || reopen.is_some() || owner_unit.is_some();
    let change = Change::CallbackVerdict {
        party: input.party,
        verdict: input.verdict,
        channel: input.channel.clone(),
        note,
        complete,
        reopen,
        owner_unit,
        assignee,
    };
    event(
        kind,
        case,
        actor,
        "callback_verdict",
        &rule.clause,
        change,
        calendar,
        now,
    )
}

/// Waives the callback owed (or one never opened), with a mandatory reason, by a `waive_roles`
/// holder.
pub fn decide_waiver(
    policy: &Policy,
    case: &Case,
    reason: Option<&str>,
    actor: &Actor,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let (kind, rule) = rule_of(policy, case)?;
    // The reason is checked first: a waiver without one is never valid, whoever asks.
    let reason = clean_text("reason", reason, true, &rule.waive_clause)?.unwrap_or_default();
    check_actor(policy, case, actor, true)?;
    let change = Change::CallbackWaived { reason };
    event(
        kind,
        case,
        actor,
        "callback_waived",
        &rule.waive_clause,
        change,
        calendar,
        now,
    )
}

/// The event that opens a callback when `event` (just decided and applied: `after` is the case
/// with it) took the case into an `after` state, unless one is already owed.
pub fn follow_up(policy: &Policy, after: &Case, event: &Event) -> Option<Event> {
    let rule = policy.kind(&after.kind)?.callback.as_ref()?;
    let entered = match &event.change {
        Change::Transitioned { from, to, .. } => from != to && rule.after.contains(to),
        Change::Opened { state, .. } => rule.after.contains(state),
        _ => false,
    };
    if !entered || pending(after).is_some() {
        return None;
    }
    let mut parties = vec![Party::Customer];
    if rule.also_subject {
        parties.push(Party::Subject);
    }
    Some(Event {
        at: event.at,
        actor: deadlines::system_actor(),
        action: "callback_opened".into(),
        clause: Some(rule.clause.clone()),
        change: Change::CallbackOpened {
            round: after.callbacks.last().map_or(1, |c| c.round + 1),
            resolved_by: Some(event.actor.clone()),
            parties,
        },
        clocks: Vec::new(),
    })
}

/// The engine's gate: entering a `close` state is refused while a callback is owed, or when
/// none was ever done or waived.
pub fn check_close(kind: &CaseKind, case: &Case, target: &str) -> Result<(), Refusal> {
    let Some(rule) = &kind.callback else {
        return Ok(());
    };
    if !rule.close.iter().any(|s| s == target) {
        return Ok(());
    }
    match case.callbacks.last().map(|c| c.status) {
        Some(CallbackStatus::Done | CallbackStatus::Waived) => Ok(()),
        _ => Err(Refusal::new(
            RefusalReason::CallbackOwed,
            Some(&rule.clause),
            format!(
                "{}尚未完成或经批准免除，不能进入“{}”",
                rule.label,
                kind.state(target).map_or(target, |s| s.label.as_str())
            ),
            format!("the callback is neither done nor waived: `{target}` may not be entered yet"),
        )),
    }
}

/// Clock triggers of callback events: the action, `callback_done` when the callback is
/// complete, and for a reopening verdict `callback_reopen` with leaving and entering states.
pub(crate) fn triggers_of(change: &Change, action: &str) -> Vec<Trigger> {
    let mut t = vec![Trigger::Action(action.to_owned())];
    match change {
        Change::CallbackVerdict {
            complete, reopen, ..
        } => {
            if *complete {
                t.push(Trigger::Action("callback_done".into()));
            }
            if let Some(m) = reopen {
                t.push(Trigger::Action("callback_reopen".into()));
                t.push(Trigger::Leave(m.before.clone()));
                t.push(Trigger::Enter(m.after.clone()));
            }
        }
        Change::CallbackWaived { .. } => t.push(Trigger::Action("callback_done".into())),
        _ => {}
    }
    t
}

/// Folds a callback event into the case (the case's `updated_at` and `version` are the
/// caller's). Returns the state the case was expected to be in, for a reopening verdict.
pub(crate) fn apply(case: &mut Case, event: &Event) -> Result<(), crate::case::ReplayError> {
    let by = event.actor.clone();
    match &event.change {
        Change::CallbackOpened {
            round,
            resolved_by,
            parties,
        } => case.callbacks.push(CallbackRecord {
            round: *round,
            opened_at: event.at,
            resolved_by: resolved_by.clone(),
            parties: parties.clone(),
            status: CallbackStatus::Pending,
            attempts: Vec::new(),
            verdicts: Vec::new(),
            waiver: None,
        }),
        Change::CallbackAttempted {
            party,
            channel,
            reached,
            note,
        } => {
            if let Some(c) = case.callbacks.last_mut() {
                c.attempts.push(Attempt {
                    at: event.at,
                    by,
                    party: *party,
                    channel: channel.clone(),
                    reached: *reached,
                    note: note.clone(),
                });
            }
        }
        Change::CallbackVerdict {
            party,
            verdict,
            channel,
            note,
            complete,
            reopen,
            owner_unit,
            assignee,
        } => {
            if let Some(m) = reopen {
                if case.state != m.before {
                    return Err(crate::case::ReplayError::StateMismatch {
                        index: 0,
                        from: m.before.clone(),
                        actual: case.state.clone(),
                    });
                }
                case.state = m.after.clone();
                case.closed = false;
            }
            if let Some(m) = owner_unit {
                case.owner_unit = m.after.clone();
            }
            if let Some(m) = assignee {
                case.assignee = m.after.clone();
            }
            if let Some(c) = case.callbacks.last_mut() {
                c.verdicts.push(VerdictRecord {
                    at: event.at,
                    by,
                    party: *party,
                    verdict: *verdict,
                    channel: channel.clone(),
                    note: note.clone(),
                });
                if *complete {
                    c.status = CallbackStatus::Done;
                }
            }
        }
        Change::CallbackWaived { reason } => {
            let waiver = Waiver {
                at: event.at,
                by,
                reason: reason.clone(),
            };
            match case
                .callbacks
                .last_mut()
                .filter(|c| c.status == CallbackStatus::Pending)
            {
                Some(c) => {
                    c.status = CallbackStatus::Waived;
                    c.waiver = Some(waiver);
                }
                None => {
                    let round = case.callbacks.last().map_or(1, |c| c.round + 1);
                    case.callbacks.push(CallbackRecord {
                        round,
                        opened_at: event.at,
                        resolved_by: None,
                        parties: Vec::new(),
                        status: CallbackStatus::Waived,
                        attempts: Vec::new(),
                        verdicts: Vec::new(),
                        waiver: Some(waiver),
                    });
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The compliance-matrix rows of a kind's callback section: (clause, element, enforcement).
pub fn explain(kind: &CaseKind) -> Vec<(String, String, String)> {
    let Some(rule) = &kind.callback else {
        return Vec::new();
    };
    let mut how = format!(
        "callback opens on entering {}; done by {}, never the handler who resolved it nor the \
         person complained about; verdict 满意/基本满意/不满意",
        rule.after.join("|"),
        rule.roles.join("/")
    );
    if rule.also_subject {
        how.push_str("; the person complained about is surveyed too");
    }
    how.push_str(&match &rule.on_dissatisfied {
        OnDissatisfied::Reopen { to } => format!("; dissatisfied → reopens to {to}"),
        OnDissatisfied::HandUp { to } => format!("; dissatisfied → hands up, back to {to}"),
        OnDissatisfied::Record => "; dissatisfied is recorded".to_owned(),
    });
    if !rule.close.is_empty() {
        how.push_str(&format!(
            "; {} refused until the callback is done or waived",
            rule.close.join("|")
        ));
    }
    let mut rows = vec![(rule.clause.clone(), format!("{} / callback", kind.id), how)];
    if !rule.waive_roles.is_empty() {
        rows.push((
            rule.waive_clause.clone(),
            format!("{} / callback waiver", kind.id),
            format!(
                "callback waived only by {}, with a reason",
                rule.waive_roles.join("/")
            ),
        ));
    }
    rows
}
