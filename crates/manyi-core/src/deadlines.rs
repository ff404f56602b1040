//! Clocks on cases: the time limits of a regulation, running on the official calendar.
//!
//! A policy declares named clocks per case kind (`[[kind.complaint.clock]]`, see
//! `docs/POLICY.md`): what starts, stops, pauses and resumes each one (registration, entering or
//! leaving a state, taking an action), its limit (a duration, or one per level of the owning
//! unit: ccb-counter 第十九条's 1 / 2 / 3 / 5 working days), what a hand-up does (restart with
//! the new level's limit, or keep the running deadline), an early warning, and what a breach
//! does (record a violation against the liable persons and units, notify roles, hand up, set a
//! field).
//!
//! This module is pure like the rest of the core. [`advance`] updates a case's clocks for an
//! event; [`timer_plan`] says which timer rows the shell must (re)write for the changes; and
//! [`decide_timer`] decides what a due timer does. Each clock state records the deadline it
//! computed, with the calendar version used and whether it is provisional.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarView, Deadline, Duration};
use crate::case::{Case, Change, Event, FieldChange, Moved, PersonRef};
use crate::engine::{Directory, Refusal, RefusalReason};
use crate::org::UnitRef;
use crate::policy::{CaseKind, Policy};

/// What moves a clock: registration, entering or leaving a state, or taking an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Open,
    Enter(String),
    Leave(String),
    Action(String),
}

impl Trigger {
    /// `open`, `enter:STATE`, `leave:STATE`, `action:TRANSITION`.
    pub fn parse(s: &str) -> Option<Trigger> {
        if s == "open" {
            return Some(Trigger::Open);
        }
        let (word, arg) = s.split_once(':')?;
        let arg = arg.trim().to_owned();
        if arg.is_empty() {
            return None;
        }
        Some(match word.trim() {
            "enter" => Trigger::Enter(arg),
            "leave" => Trigger::Leave(arg),
            "action" => Trigger::Action(arg),
            _ => return None,
        })
    }
}

/// A clock's time limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    Fixed(Duration),
    /// One limit per level of the owning unit (ccb-counter 第十九条).
    ByLevel(BTreeMap<String, Duration>),
}

/// When to warn before the deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warn {
    /// At this percentage of the limit's clock time (e.g. 80).
    Percent(u8),
    /// This long (wall clock) before the due instant.
    Before(SignedDuration),
}

/// Who answers for a breach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liable {
    /// 首问负责人.
    FirstContact,
    Assignee,
    /// The owning unit itself (a collective liability).
    OwnerUnit,
    /// Every holder of this role in the owning unit (e.g. the outlet head).
    Role(String),
    /// `parent_role:ROLE`: every holder of the role in the owning unit's parent (ccb-counter
    /// 第三十三条(三): the head of the superior branch's service department).
    ParentRole(String),
}

impl Liable {
    pub fn parse(s: &str) -> Option<Liable> {
        Some(match s {
            "first_contact" => Liable::FirstContact,
            "assignee" => Liable::Assignee,
            "owner_unit" => Liable::OwnerUnit,
            _ => match s.strip_prefix("parent_role:") {
                Some(r) => Liable::ParentRole(r.to_owned()),
                None => Liable::Role(s.strip_prefix("role:")?.to_owned()),
            },
        })
    }
}

/// What a breach does.
#[derive(Debug, Clone, PartialEq)]
pub enum BreachAction {
    Violation {
        liable: Vec<Liable>,
    },
    Notify {
        roles: Vec<String>,
    },
    HandUp,
    SetField {
        field: String,
        value: serde_json::Value,
    },
}

/// A clock as the policy declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRule {
    pub id: String,
    pub label: String,
    pub clause: String,
    pub start: Vec<Trigger>,
    pub stop: Vec<Trigger>,
    pub pause: Vec<Trigger>,
    pub resume: Vec<Trigger>,
    pub limit: Limit,
    /// Restart with the new level's limit when the case is handed to another unit (true), or
    /// keep the running deadline (false).
    pub restart_on_hand_up: bool,
    /// The clause behind the hand-up behaviour.
    pub hand_up_clause: String,
    pub warn: Option<Warn>,
    pub breach: Vec<BreachAction>,
}

impl ClockRule {
    fn limit_for(&self, level: &str) -> Option<Duration> {
        match &self.limit {
            Limit::Fixed(d) => Some(*d),
            Limit::ByLevel(table) => table.get(level).copied(),
        }
    }

    fn notify_roles(&self) -> Vec<String> {
        self.breach
            .iter()
            .filter_map(|a| match a {
                BreachAction::Notify { roles } => Some(roles.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    Running,
    Paused,
    Stopped,
}

/// The state of one clock on one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockState {
    pub id: String,
    pub status: ClockStatus,
    /// Bumped at every (re)start and resume: a timer row of an older generation is stale.
    pub generation: u32,
    /// The level whose limit applies (for per-level limits).
    pub level: Option<String>,
    pub started_at: Timestamp,
    /// The computed deadline, with its calendar version and provisional flag.
    pub deadline: Deadline,
    pub warn_at: Option<Timestamp>,
    pub paused_at: Option<Timestamp>,
    pub warned: bool,
    pub breached_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    /// Completed pauses of this run, `(paused_at, resumed_at)`: with `started_at` and the
    /// limit they rebuild the deadline on a new calendar ([`recompute`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<(Timestamp, Timestamp)>,
}

impl ClockState {
    /// Overdue: running past its deadline (or breached and not yet stopped).
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status != ClockStatus::Stopped
            && (self.breached_at.is_some() || now >= self.deadline.due)
    }

    /// Stopped after the deadline had passed.
    pub fn met(&self) -> Option<bool> {
        (self.status == ClockStatus::Stopped).then(|| {
            self.breached_at.is_none() && self.stopped_at.is_some_and(|s| s <= self.deadline.due)
        })
    }
}

/// A violation of a rule, recorded in the case's log and, by the shell, in the violations ledger
/// (with the penalty proposals [`crate::penalties::propose`] gives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `deadline_breach`.
    pub kind: String,
    /// The clock (or rule) broken.
    pub rule: String,
    pub clause: String,
    pub due: Timestamp,
    pub liable_persons: Vec<PersonRef>,
    pub liable_units: Vec<UnitRef>,
}

/// What happens when an event occurs, for the clocks.
pub struct Occurrence<'a> {
    pub triggers: Vec<Trigger>,
    /// The owning unit after the event.
    pub owner: &'a UnitRef,
    /// The owning unit changed (hand-up or hand-across).
    pub owner_changed: bool,
}

/// The triggers of an event: registration, an action, leaving and entering states.
pub fn triggers_of(change: &Change, action: &str) -> Vec<Trigger> {
    match change {
        Change::Opened { state, .. } => vec![Trigger::Open, Trigger::Enter(state.clone())],
        Change::Transitioned { from, to, .. } => {
            let mut t = vec![Trigger::Action(action.to_owned())];
            if from != to {
                t.push(Trigger::Leave(from.clone()));
                t.push(Trigger::Enter(to.clone()));
            }
            t
        }
        Change::ClockWarned { .. }
        | Change::ClockBreached { .. }
        | Change::ClocksRecomputed { .. }
        | Change::ViolationsRecorded { .. }
        | Change::NoticeQueued { .. }
        | Change::RuleOverridden { .. }
        | Change::Noted { .. }
        | Change::Assistance { .. }
        | Change::Dispute { .. } => Vec::new(),
        Change::CallbackOpened { .. }
        | Change::CallbackAttempted { .. }
        | Change::CallbackVerdict { .. }
        | Change::CallbackWaived { .. } => crate::callback::triggers_of(change, action),
    }
}

fn refusal(rule: &ClockRule, zh: String, en: String) -> Refusal {
    Refusal {
        reason: RefusalReason::ConditionError,
        clause: Some(rule.clause.clone()),
        message_zh: format!("{}: {zh}", rule.clause),
        message: format!("{}: {en}", rule.clause),
        fields: Vec::new(),
    }
}

/// Starts a clock at `now` with the limit of the owning unit's level.
fn start(
    rule: &ClockRule,
    owner: &UnitRef,
    generation: u32,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<ClockState, Refusal> {
    let duration = rule.limit_for(&owner.level).ok_or_else(|| {
        refusal(
            rule,
            format!(
                "时限“{}”没有为机构级别“{}”规定期限",
                rule.label, owner.level
            ),
            format!(
                "clock `{}` has no limit for level `{}` of unit {}",
                rule.id, owner.level, owner.code
            ),
        )
    })?;
    let deadline = calendar.add(now, duration).map_err(|e| {
        refusal(
            rule,
            format!("无法计算期限：{e}"),
            format!("cannot compute the deadline of `{}`: {e}", rule.id),
        )
    })?;
    let warn_at = warn_instant(rule, calendar, now, &deadline);
    Ok(ClockState {
        id: rule.id.clone(),
        status: ClockStatus::Running,
        generation,
        level: matches!(rule.limit, Limit::ByLevel(_)).then(|| owner.level.clone()),
        started_at: now,
        deadline,
        warn_at,
        paused_at: None,
        warned: false,
        breached_at: None,
        stopped_at: None,
        pauses: Vec::new(),
    })
}

/// The warning instant: at a percentage of the limit, or a lead time before the due instant.
/// For a percentage, the instant where the remaining clock time (as the calendar measures it:
/// working time for working days) falls to the share left, found by bisection on
/// [`CalendarView::remaining`].
fn warn_instant(
    rule: &ClockRule,
    calendar: &CalendarView<'_>,
    start: Timestamp,
    deadline: &Deadline,
) -> Option<Timestamp> {
    match rule.warn? {
        Warn::Before(lead) => deadline.due.checked_sub(lead).ok().filter(|w| *w > start),
        Warn::Percent(p) => {
            // A percentage of the limit as the regulation states it: of N working days, N × 24 h
            // of working time (the part of the receipt day before the count starts is not
            // part of the limit); of N hours, N hours.
            let nominal = match deadline.duration {
                Duration::WorkingDays(n) | Duration::CalendarDays(n) => i64::from(n) * 86_400,
                Duration::Hours(n) | Duration::BusinessHours(n) => i64::from(n) * 3_600,
                Duration::Minutes(n) | Duration::BusinessMinutes(n) => i64::from(n) * 60,
            };
            let left_at_warning = nominal * i64::from(100 - p) / 100;
            // remaining(t) falls as t grows: find the first instant where it is at or below
            // the share left at the warning, to the second.
            let (mut lo, mut hi) = (start.as_second(), deadline.clock_end.as_second());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let t = Timestamp::from_second(mid).ok()?;
                if calendar.remaining(deadline, t).ok()?.as_secs() <= left_at_warning {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            Timestamp::from_second(lo).ok().filter(|w| *w > start)
        }
    }
}

/// Restarts every clock of `kind` that is running or paused, with `owner`'s limit from `now`
/// (a dispute decision that moves the case with `on_decide = "restart"`, ccb-counter
/// 第二十一条: the new owner gets its full time). Stopped clocks stay stopped. Returns the
/// clocks that changed, in rule order.
pub fn restart_active(
    kind: &CaseKind,
    clocks: &BTreeMap<String, ClockState>,
    owner: &UnitRef,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Vec<ClockState>, Refusal> {
    let mut changed = Vec::new();
    for rule in &kind.clocks {
        if let Some(before) = clocks.get(&rule.id)
            && before.status != ClockStatus::Stopped
        {
            changed.push(start(rule, owner, before.generation + 1, calendar, now)?);
        }
    }
    Ok(changed)
}

/// Updates the clocks of `case` for one event. Returns the clocks that changed (their new
/// state), in rule order.
pub fn advance(
    kind: &CaseKind,
    clocks: &BTreeMap<String, ClockState>,
    occurrence: &Occurrence<'_>,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Vec<ClockState>, Refusal> {
    let mut changed = Vec::new();
    for rule in &kind.clocks {
        let hit = |list: &[Trigger]| list.iter().any(|t| occurrence.triggers.contains(t));
        let before = clocks.get(&rule.id);
        let mut state = before.cloned();
        let next_generation = before.map_or(1, |c| c.generation + 1);
        let active =
            |s: &Option<ClockState>| s.as_ref().is_some_and(|c| c.status != ClockStatus::Stopped);
        if hit(&rule.stop)
            && active(&state)
            && let Some(c) = state.as_mut()
        {
            c.status = ClockStatus::Stopped;
            c.stopped_at = Some(now);
            c.paused_at = None;
        }
        if hit(&rule.pause)
            && let Some(c) = state.as_mut().filter(|c| c.status == ClockStatus::Running)
        {
            c.status = ClockStatus::Paused;
            c.paused_at = Some(now);
        }
        if hit(&rule.resume)
            && let Some(c) = state.as_mut().filter(|c| c.status == ClockStatus::Paused)
        {
            let paused_at = c.paused_at.unwrap_or(now);
            // The deadline moves by exactly the paused clock time.
            c.deadline = calendar.resume(&c.deadline, paused_at, now).map_err(|e| {
                refusal(
                    rule,
                    format!("无法恢复计时：{e}"),
                    format!("cannot resume `{}`: {e}", rule.id),
                )
            })?;
            c.status = ClockStatus::Running;
            c.paused_at = None;
            c.generation = next_generation;
            c.warn_at = warn_instant(rule, calendar, now, &c.deadline);
        }
        if hit(&rule.start) && !active(&state) {
            state = Some(start(
                rule,
                occurrence.owner,
                next_generation,
                calendar,
                now,
            )?);
        } else if occurrence.owner_changed && rule.restart_on_hand_up && active(&state) {
            // 第十九条 (as the policy says): the new level's limit runs from the hand-up.
            state = Some(start(
                rule,
                occurrence.owner,
                next_generation,
                calendar,
                now,
            )?);
        }
        if let Some(s) = state
            && before != Some(&s)
        {
            changed.push(s);
        }
    }
    Ok(changed)
}

/// What kind of timer row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    Warn,
    Breach,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Warn => "warn",
            TimerKind::Breach => "breach",
        }
    }

    pub fn parse(s: &str) -> Option<TimerKind> {
        match s {
            "warn" => Some(TimerKind::Warn),
            "breach" => Some(TimerKind::Breach),
            _ => None,
        }
    }
}

/// What the shell must do to the timer rows of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerInstruction {
    /// Cancel every pending timer of this clock.
    Cancel { clock: String },
    Schedule {
        clock: String,
        kind: TimerKind,
        generation: u32,
        due_at: Timestamp,
    },
}

/// The timer rows to write for clocks that changed from `before` to `changed`. A change of
/// only the warned/breached flags (a timer that fired) needs no new rows.
pub fn timer_plan(
    before: &BTreeMap<String, ClockState>,
    changed: &[ClockState],
) -> Vec<TimerInstruction> {
    let mut plan = Vec::new();
    for after in changed {
        let old = before.get(&after.id);
        let rescheduled = old.is_none_or(|o| {
            o.generation != after.generation
                || o.status != after.status
                || o.deadline.due != after.deadline.due
        });
        if !rescheduled {
            continue;
        }
        if old.is_some() {
            plan.push(TimerInstruction::Cancel {
                clock: after.id.clone(),
            });
        }
        if after.status == ClockStatus::Running {
            if let Some(w) = after
                .warn_at
                .filter(|w| !after.warned && *w < after.deadline.due)
            {
                plan.push(TimerInstruction::Schedule {
                    clock: after.id.clone(),
                    kind: TimerKind::Warn,
                    generation: after.generation,
                    due_at: w,
                });
            }
            if after.breached_at.is_none() {
                plan.push(TimerInstruction::Schedule {
                    clock: after.id.clone(),
                    kind: TimerKind::Breach,
                    generation: after.generation,
                    due_at: after.deadline.due,
                });
            }
        }
    }
    plan
}

/// The actor of events the system takes by itself (a deadline passing).
pub fn system_actor() -> PersonRef {
    PersonRef {
        id: 0,
        login: "system".into(),
        name: "系统".into(),
    }
}

/// Decides what a due timer does to `case`: `None` when the timer is stale (the clock was
/// stopped, paused or restarted since it was written, or already warned/breached).
#[allow(clippy::too_many_arguments)]
pub fn decide_timer(
    policy: &Policy,
    case: &Case,
    clock: &str,
    kind: TimerKind,
    generation: u32,
    directory: &Directory,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Option<Event>, Refusal> {
    let Some(case_kind) = policy.kind(&case.kind) else {
        return Ok(None);
    };
    let Some(rule) = case_kind.clocks.iter().find(|r| r.id == clock) else {
        return Ok(None);
    };
    let Some(state) = case.clocks.get(clock) else {
        return Ok(None);
    };
    if state.generation != generation || state.status != ClockStatus::Running {
        return Ok(None);
    }
    match kind {
        TimerKind::Warn => {
            // A warning that comes due only after the deadline (the server was down) would
            // announce what the breach already says.
            if state.warned || now >= state.deadline.due {
                return Ok(None);
            }
            let mut after = state.clone();
            after.warned = true;
            Ok(Some(Event {
                at: now,
                actor: system_actor(),
                action: "clock_warning".into(),
                clause: Some(rule.clause.clone()),
                change: Change::ClockWarned {
                    clock: clock.to_owned(),
                    due: state.deadline.due,
                    notify: rule.notify_roles(),
                },
                clocks: vec![after],
            }))
        }
        TimerKind::Breach => {
            if state.breached_at.is_some() {
                return Ok(None);
            }
            let mut violation = None;
            let mut owner = case.owner_unit.clone();
            let mut assignee = case.assignee.clone();
            let mut fields = case.fields.clone();
            for action in &rule.breach {
                match action {
                    BreachAction::Violation { liable } => {
                        violation = Some(liability(case, rule, state, liable, directory));
                    }
                    BreachAction::Notify { .. } => {}
                    BreachAction::HandUp => {
                        // At the top of the tree there is nowhere to go; the breach and its
                        // violation still stand.
                        if let Some(parent) = owner.parent().and_then(|p| directory.unit(p)) {
                            owner = parent.clone();
                            assignee = None;
                        }
                    }
                    BreachAction::SetField { field, value } => {
                        fields.insert(field.clone(), value.clone());
                    }
                }
            }
            let mut breached = state.clone();
            breached.breached_at = Some(now);
            let owner_changed = owner != case.owner_unit;
            let mut clocks = case.clocks.clone();
            clocks.insert(clock.to_owned(), breached.clone());
            // A hand-up by breach moves clocks as any hand-up does (e.g. restart with the
            // new level's limit), this clock included.
            let mut changed = if owner_changed {
                advance(
                    case_kind,
                    &clocks,
                    &Occurrence {
                        triggers: Vec::new(),
                        owner: &owner,
                        owner_changed: true,
                    },
                    calendar,
                    now,
                )?
            } else {
                Vec::new()
            };
            if !changed.iter().any(|c| c.id == clock) {
                changed.insert(0, breached);
            }
            let field_changes: Vec<FieldChange> = fields
                .iter()
                .filter(|(k, v)| case.fields.get(*k) != Some(*v))
                .map(|(k, v)| FieldChange {
                    field: k.clone(),
                    before: case.fields.get(k).cloned(),
                    after: Some(v.clone()),
                })
                .collect();
            Ok(Some(Event {
                at: now,
                actor: system_actor(),
                action: "clock_breached".into(),
                clause: Some(rule.clause.clone()),
                change: Change::ClockBreached {
                    clock: clock.to_owned(),
                    due: state.deadline.due,
                    violation,
                    notify: rule.notify_roles(),
                    owner_unit: owner_changed.then(|| Moved {
                        before: case.owner_unit.clone(),
                        after: owner,
                    }),
                    assignee: (assignee != case.assignee).then(|| Moved {
                        before: case.assignee.clone(),
                        after: assignee,
                    }),
                    fields: field_changes,
                },
                clocks: changed,
            }))
        }
    }
}

fn liability(
    case: &Case,
    rule: &ClockRule,
    state: &ClockState,
    liable: &[Liable],
    directory: &Directory,
) -> Violation {
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
    Violation {
        kind: "deadline_breach".into(),
        rule: rule.id.clone(),
        clause: rule.clause.clone(),
        due: state.deadline.due,
        liable_persons: persons,
        liable_units: units,
    }
}

/// Recomputes the running and paused clocks of `case` on `calendar` (new holiday data, or a
/// changed unit calendar): each deadline is rebuilt from its start, limit and pauses. Returns
/// an event when some deadline (or its provisional flag) changed; the changed clocks get a new
/// generation so that their timers are rescheduled. Clocks already breached are left alone: a
/// breach that happened stays a fact.
pub fn recompute(
    policy: &Policy,
    case: &Case,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Option<Event>, Refusal> {
    let Some(kind) = policy.kind(&case.kind) else {
        return Ok(None);
    };
    let mut changed = Vec::new();
    for rule in &kind.clocks {
        let Some(c) = case.clocks.get(&rule.id) else {
            continue;
        };
        if c.status == ClockStatus::Stopped || c.breached_at.is_some() {
            continue;
        }
        let rebuilt = calendar
            .replay(c.started_at, c.deadline.duration, &c.pauses)
            .map_err(|e| {
                refusal(
                    rule,
                    format!("无法重新计算期限：{e}"),
                    format!("cannot recompute `{}`: {e}", rule.id),
                )
            })?;
        if rebuilt.due == c.deadline.due
            && rebuilt.provisional == c.deadline.provisional
            && rebuilt.calendar_version == c.deadline.calendar_version
        {
            continue;
        }
        let mut next = c.clone();
        next.warn_at = warn_instant(rule, calendar, c.started_at, &rebuilt);
        next.deadline = rebuilt;
        next.generation += 1;
        changed.push(next);
    }
    if changed.is_empty() {
        return Ok(None);
    }
    Ok(Some(Event {
        at: now,
        actor: system_actor(),
        action: "deadlines_recomputed".into(),
        clause: None,
        change: Change::ClocksRecomputed {
            calendar_version: calendar.version().to_owned(),
        },
        clocks: changed,
    }))
}

/// The case's **due time**: the soonest deadline among its *running* clocks, `None` when no
/// clock runs or the case is closed. The store keeps it as the `due_at` column of the case row
/// (written with every snapshot), which lists and the dashboard order and count by.
///
/// - A **paused** clock does not count: while it waits (for the customer, an appraisal) it
///   cannot become late, and its deadline moves by the paused time when it resumes — the
///   resuming update writes the new due time.
/// - A **provisional** deadline (a day examined lies in a year whose official notice is not
///   loaded) counts as it stands: it is the best deadline known, and when the notice arrives
///   [`recompute`] changes it, and the update that records the change writes the new due time.
/// - A running clock already **breached** keeps its (past) deadline, so the case sorts first
///   and counts as overdue until the clock stops.
/// - Assistance and dispute deadlines (`assist:…`, `dispute:…` timers) are other units'
///   duties, not the case's clocks, and do not count.
pub fn due_at(case: &Case) -> Option<Timestamp> {
    if case.closed {
        return None;
    }
    case.clocks
        .values()
        .filter(|c| c.status == ClockStatus::Running)
        .map(|c| c.deadline.due)
        .min()
}

/// Remaining clock time of each running clock at `now` (negative when overdue), for display.
pub fn remaining(
    clocks: &BTreeMap<String, ClockState>,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> HashMap<String, SignedDuration> {
    clocks
        .values()
        .filter(|c| c.status == ClockStatus::Running)
        .filter_map(|c| {
            let left = if now <= c.deadline.due {
                calendar.remaining(&c.deadline, now).ok()?
            } else {
                -(now.duration_since(c.deadline.due))
            };
            Some((c.id.clone(), left))
        })
        .collect()
}
