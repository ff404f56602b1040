//! The case engine: a policy's rules applied to a case.
//!
//! [`decide_create`] and [`decide_transition`] are pure: given the policy, the case, the actor,
//! the submitted input and the time, they return the event to append, or a [`Refusal`] that
//! names the rule and its clause ("第十七条: only 网点负责人 may take 上报上级"). They never
//! touch storage; the shell appends what they return.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::calendar::CalendarView;
use crate::case::{Case, Change, Event, FieldChange, Moved, PersonRef};
use crate::deadlines;
use crate::org::{Actor, UnitId, UnitRef};
use crate::policy::{CaseKind, Effect, Field, FieldType, Policy, TaxonomyNode, Transition};
use crate::values;

/// The units and people a decision may need to look up (hand-up targets, `person` and `unit`
/// fields). The shell fills it before calling the engine, which stays free of IO.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    units: HashMap<UnitId, UnitRef>,
    unit_codes: HashMap<String, UnitId>,
    people: HashMap<String, PersonRef>,
    /// (unit, role) → the people holding the role in that unit, for liability on breaches.
    members: HashMap<(UnitId, String), Vec<PersonRef>>,
}

impl Directory {
    pub fn add_unit(&mut self, unit: UnitRef) {
        self.unit_codes.insert(unit.code.clone(), unit.id);
        self.units.insert(unit.id, unit);
    }

    pub fn add_person(&mut self, person: PersonRef) {
        self.people.insert(person.login.clone(), person);
    }

    /// Records that `person` holds `role` in unit `unit`.
    pub fn add_member(&mut self, unit: UnitId, role: &str, person: PersonRef) {
        self.members
            .entry((unit, role.to_owned()))
            .or_default()
            .push(person);
    }

    /// The people holding `role` in unit `unit` (not its subtree).
    pub fn members_with_role(&self, unit: UnitId, role: &str) -> &[PersonRef] {
        self.members
            .get(&(unit, role.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    pub fn unit(&self, id: UnitId) -> Option<&UnitRef> {
        self.units.get(&id)
    }

    pub fn unit_by_code(&self, code: &str) -> Option<&UnitRef> {
        self.unit_codes.get(code).and_then(|id| self.units.get(id))
    }

    pub fn person(&self, login: &str) -> Option<&PersonRef> {
        self.people.get(login)
    }
}

/// Why an action was refused. Nothing changes when an action is refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub reason: RefusalReason,
    /// The clause of the rule that refuses, when a rule does.
    pub clause: Option<String>,
    /// A plain message in Chinese, naming the rule.
    pub message_zh: String,
    /// The same in English.
    pub message: String,
    /// Per-field problems, for [`RefusalReason::InvalidFields`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// The kind of refusal; the shell maps it to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    UnknownKind,
    UnknownAction,
    /// The case is not in a state the transition starts from.
    WrongState,
    /// The actor lacks the role (or is not the first-contact owner) the rule requires.
    RoleNotAllowed,
    /// The case is outside the actor's jurisdiction.
    OutsideJurisdiction,
    /// The rule's CEL condition is false.
    ConditionFailed,
    /// The condition could not be evaluated (a policy problem, reported, never ignored).
    ConditionError,
    /// One or more fields are missing or invalid.
    InvalidFields,
    /// A hand-up from the top of the tree.
    NoParentUnit,
    /// 回避: the person the case is about may not act on it or be assigned to it.
    Recused,
    /// A penalty amount outside the range its rule sets.
    OutOfRange,
    /// A decision or appeal without the reason it needs.
    ReasonRequired,
    /// The penalised person deciding their own penalty, or the first decider reviewing their
    /// own decision.
    SelfDecision,
    /// The rule needs a complaint found substantiated (经调查情况属实) and this one is not.
    NotSubstantiated,
    /// A penalty may be appealed once.
    AlreadyAppealed,
    /// 回访 by the person who handled the case: a callback must be independent of the handler.
    NotIndependent,
    /// A `close` state entered while the callback is neither done nor waived.
    CallbackOwed,
    /// A soft rule (原则上) warns: the action needs an authorised override with a reason.
    SoftRule,
    /// The case is archived (read-only).
    Archived,
}

/// A problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    /// A stable machine code, e.g. `required`, `phone.format`, `resident_id.checksum`.
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

impl Refusal {
    pub(crate) fn new(
        reason: RefusalReason,
        clause: Option<&str>,
        zh: String,
        en: String,
    ) -> Refusal {
        let prefix = |s: String| match clause {
            Some(c) => format!("{c}: {s}"),
            None => s,
        };
        Refusal {
            reason,
            clause: clause.map(str::to_owned),
            message_zh: prefix(zh),
            message: prefix(en),
            fields: Vec::new(),
        }
    }

    fn invalid(fields: Vec<FieldError>, clause: Option<&str>) -> Refusal {
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            clause,
            format!("{} 个字段有误", fields.len()),
            format!(
                "{} field{} invalid",
                fields.len(),
                if fields.len() == 1 { " is" } else { "s are" }
            ),
        );
        r.fields = fields;
        r
    }
}

/// What a user submits to register a case.
#[derive(Debug, Clone, Default)]
pub struct CreateInput {
    pub kind: String,
    pub channel: String,
    pub fields: Map<String, Value>,
}

/// What a user submits to take a transition.
#[derive(Debug, Clone, Default)]
pub struct TransitionInput {
    pub action: String,
    pub fields: Map<String, Value>,
    pub note: Option<String>,
}

/// Decides a registration. The actor becomes the first-contact owner; the case is owned by the
/// actor's unit and assigned to the actor (within their authority they handle it themselves,
/// ccb-counter 第十七条).
pub fn decide_create(
    policy: &Policy,
    policy_version: i64,
    input: &CreateInput,
    actor: &Actor,
    directory: &Directory,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    let kind = policy.kind(&input.kind).ok_or_else(|| {
        let mut r = Refusal::new(
            RefusalReason::UnknownKind,
            None,
            format!("策略 {} 中没有案件类型“{}”", policy.id, input.kind),
            format!("policy {} has no case kind `{}`", policy.id, input.kind),
        );
        r.fields = vec![field_error(
            "kind",
            "unknown",
            format!(
                "unknown case kind; known: {}",
                policy
                    .kinds
                    .iter()
                    .map(|k| k.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "未知的案件类型".into(),
        )];
        r
    })?;
    if !actor.has_any_role(&kind.create_roles) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            kind.clause.as_deref(),
            format!(
                "只有{}可以登记{}",
                role_labels(policy, &kind.create_roles, true),
                kind.label
            ),
            format!(
                "only {} may register a {}",
                role_labels(policy, &kind.create_roles, false),
                kind.id
            ),
        ));
    }
    let mut errors = Vec::new();
    if !kind.channels.is_empty() && !kind.channels.contains(&input.channel) {
        errors.push(field_error(
            "channel",
            "choice.unknown",
            format!(
                "unknown channel `{}`; allowed: {}",
                input.channel,
                kind.channels.join(", ")
            ),
            format!(
                "渠道“{}”不在允许范围内：{}",
                input.channel,
                kind.channels.join("、")
            ),
        ));
    }
    let (mut fields, field_errors) = validate_fields(kind, &input.fields, directory);
    errors.extend(field_errors);
    for field in kind.fields.iter().filter(|f| f.required) {
        if is_empty(fields.get(&field.id)) && !errors.iter().any(|e| e.field == field.id) {
            errors.push(required_error(field, field.clause.as_deref()));
        }
    }
    if let Some(state) = kind.state(&kind.initial) {
        for id in &state.requires {
            if let Some(field) = kind.field(id)
                && is_empty(fields.get(id))
                && !errors.iter().any(|e| &e.field == id)
            {
                errors.push(required_error(field, state.clause.as_deref()));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::invalid(errors, None));
    }
    fields.retain(|_, v| !v.is_null());
    // The registering user is assigned the case: not if it is about them (回避).
    if is_subject(kind, &fields, &actor.login) {
        return Err(recused(kind, &actor.name, &actor.login));
    }
    let me = person_of(actor);
    let change = Change::Opened {
        kind: kind.id.clone(),
        policy_id: policy.id.clone(),
        policy_version,
        state: kind.initial.clone(),
        channel: input.channel.clone(),
        owner_unit: actor.unit.clone(),
        assignee: Some(me.clone()),
        fields,
    };
    let clocks = deadlines::advance(
        kind,
        &BTreeMap::new(),
        &deadlines::Occurrence {
            triggers: deadlines::triggers_of(&change, "open"),
            owner: &actor.unit,
            owner_changed: false,
        },
        calendar,
        now,
    )?;
    Ok(Event {
        at: now,
        actor: me,
        action: "open".into(),
        clause: kind.clause.clone(),
        change,
        clocks,
    })
}

/// Decides a transition on `case` under `policy` (the version the case was opened with).
pub fn decide_transition(
    policy: &Policy,
    case: &Case,
    input: &TransitionInput,
    actor: &Actor,
    directory: &Directory,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Event, Refusal> {
    decide_transition_with(policy, case, input, None, actor, directory, calendar, now)
        .map(|d| d.event)
}

/// A decided transition, with the event logging a soft rule's override when there was one.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub event: Event,
    /// `rule_overridden`, to append before `event` (`crate::soft`).
    pub overridden: Option<Event>,
}

/// [`decide_transition`], with an override of a soft rule (原则上) the user asked for.
#[allow(clippy::too_many_arguments)]
pub fn decide_transition_with(
    policy: &Policy,
    case: &Case,
    input: &TransitionInput,
    override_request: Option<&crate::soft::Override>,
    actor: &Actor,
    directory: &Directory,
    calendar: &CalendarView<'_>,
    now: Timestamp,
) -> Result<Decided, Refusal> {
    let mut overridden = None;
    let kind = policy.kind(&case.kind).ok_or_else(|| {
        Refusal::new(
            RefusalReason::UnknownKind,
            None,
            format!("案件类型“{}”不在策略 {} 中", case.kind, policy.id),
            format!("case kind `{}` is not in policy {}", case.kind, policy.id),
        )
    })?;
    let Some(t) = kind.transition(&input.action) else {
        let known: Vec<&str> = kind.transitions.iter().map(|t| t.id.as_str()).collect();
        return Err(Refusal::new(
            RefusalReason::UnknownAction,
            None,
            format!("没有操作“{}”；可用：{}", input.action, known.join("、")),
            format!(
                "no action `{}` in {}; known: {}",
                input.action,
                kind.id,
                known.join(", ")
            ),
        ));
    };
    crate::archive::check_writable(kind.archive.as_ref(), case, now)?;
    let clause = Some(t.clause.as_str());
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
    if is_subject(kind, &case.fields, &actor.login) {
        return Err(recused(kind, &actor.name, &actor.login));
    }
    let from_ok = match &t.from {
        Some(_) => t.leaves(&case.state),
        None => !case.closed,
    };
    if !from_ok {
        let state_label = |id: &str| kind.state(id).map_or(id.to_owned(), |s| s.label.clone());
        let allowed = t.from.as_ref().map_or_else(
            || "任一未结状态".to_owned(),
            |f| {
                f.iter()
                    .map(|s| state_label(s))
                    .collect::<Vec<_>>()
                    .join("、")
            },
        );
        return Err(Refusal::new(
            RefusalReason::WrongState,
            clause,
            format!(
                "案件处于“{}”状态，不能{}（仅限：{allowed}）",
                state_label(&case.state),
                t.label
            ),
            format!(
                "`{}` is not allowed from state `{}` (allowed from: {})",
                t.id,
                case.state,
                t.from
                    .as_ref()
                    .map_or_else(|| "any open state".to_owned(), |f| f.join(", "))
            ),
        ));
    }
    if !actor.has_any_role(&t.roles) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            clause,
            format!("只有{}可以{}", role_labels(policy, &t.roles, true), t.label),
            format!(
                "only {} may take `{}`",
                role_labels(policy, &t.roles, false),
                t.id
            ),
        ));
    }
    if t.first_contact_only && actor.id != case.first_contact.id {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            clause,
            format!("只有首问负责人{}可以{}", case.first_contact.name, t.label),
            format!(
                "only the first-contact owner ({}) may take `{}`",
                case.first_contact.login, t.id
            ),
        ));
    }

    // CLAUSES.md A20: the handler (承办人, the assignee) investigates and resolves.
    if t.handler_only && case.assignee.as_ref().map(|a| a.id) != Some(actor.id) {
        let (zh, en) = match &case.assignee {
            Some(h) => (
                format!("只有承办人{}可以{}", h.name, t.label),
                format!("only the handler ({}) may take `{}`", h.login, t.id),
            ),
            None => (
                format!("本案尚未指定承办人，不能{}", t.label),
                format!("the case has no handler yet: `{}` needs one", t.id),
            ),
        };
        return Err(Refusal::new(RefusalReason::RoleNotAllowed, clause, zh, en));
    }

    // Fields: validate the input, merge it with the case, then apply `set` effects.
    let (input_fields, errors) = validate_fields(kind, &input.fields, directory);
    if !errors.is_empty() {
        return Err(Refusal::invalid(errors, clause));
    }
    let mut fields = case.fields.clone();
    for (k, v) in &input_fields {
        if v.is_null() {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    for effect in &t.effects {
        if let Effect::SetField { field, value } = effect {
            fields.insert(field.clone(), value.clone());
        }
    }

    if let Some(condition) = &t.condition {
        let view = CaseView::new(case, &fields);
        let actor_view = ActorView::new(actor, case);
        match condition.evaluate(&view, &actor_view, &input_fields) {
            Ok(true) => {}
            Ok(false) if t.soft.as_ref().is_some_and(|s| s.when) => {
                let warning = t
                    .refusal
                    .clone()
                    .unwrap_or_else(|| format!("应满足：{}", condition.source()));
                if let Some(rule) = &t.soft {
                    overridden = Some(crate::soft::check_override(
                        t,
                        rule,
                        &warning,
                        actor,
                        override_request,
                        now,
                    )?);
                }
            }
            Ok(false) => {
                let zh = t
                    .refusal
                    .clone()
                    .unwrap_or_else(|| format!("不满足{}的条件：{}", t.label, condition.source()));
                return Err(Refusal::new(
                    RefusalReason::ConditionFailed,
                    clause,
                    zh,
                    format!(
                        "the condition of `{}` is not met: {}",
                        t.id,
                        condition.source()
                    ),
                ));
            }
            Err(e) => {
                return Err(Refusal::new(
                    RefusalReason::ConditionError,
                    clause,
                    format!("策略条件无法求值：{e}"),
                    e.to_string(),
                ));
            }
        }
    }

    let mut errors = Vec::new();
    // Fields required only in principle (`soft_requires`): their absence warns.
    let mut soft_missing = Vec::new();
    for id in &t.requires {
        if let Some(field) = kind.field(id)
            && is_empty(fields.get(id))
        {
            if t.soft.as_ref().is_some_and(|s| s.requires.contains(id)) {
                soft_missing.push(field.label.clone());
            } else {
                errors.push(required_error(field, clause));
            }
        }
    }
    if let Some(target) = kind.state(t.target(&case.state)) {
        for id in &target.requires {
            if let Some(field) = kind.field(id)
                && is_empty(fields.get(id))
                && !errors.iter().any(|e| &e.field == id)
            {
                errors.push(required_error(field, target.clause.as_deref().or(clause)));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::invalid(errors, clause));
    }
    if let (Some(rule), false) = (&t.soft, soft_missing.is_empty()) {
        // One override covers the whole action: its warning names everything it let through.
        let mut warning = format!("应填写{}", soft_missing.join("、"));
        if let Some(Event {
            change: Change::RuleOverridden { warning: w, .. },
            ..
        }) = &overridden
        {
            warning = format!("{w}；{warning}");
        }
        overridden = Some(crate::soft::check_override(
            t,
            rule,
            &warning,
            actor,
            override_request,
            now,
        )?);
    }
    crate::violations::check_validity(kind, &fields, t.target(&case.state))?;

    // Ownership and assignment effects.
    let mut owner = case.owner_unit.clone();
    let mut assignee = case.assignee.clone();
    let mut intake = case.first_contact.clone();
    for effect in &t.effects {
        match effect {
            Effect::HandUp => {
                let parent = owner
                    .parent()
                    .and_then(|p| directory.unit(p))
                    .ok_or_else(|| {
                        Refusal::new(
                            RefusalReason::NoParentUnit,
                            clause,
                            format!("{}已是最高一级机构，无法再上报", owner.name),
                            format!("{} has no parent unit to hand up to", owner.code),
                        )
                    })?;
                owner = parent.clone();
                assignee = None;
            }
            Effect::HandAcrossTo(code) => {
                owner = directory
                    .unit_by_code(code)
                    .cloned()
                    .ok_or_else(|| unknown_unit(code, None, clause))?;
                assignee = None;
            }
            Effect::HandAcrossFromField(field) => {
                let code = fields
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                owner = directory
                    .unit_by_code(code)
                    .cloned()
                    .ok_or_else(|| unknown_unit(code, Some(field), clause))?;
                assignee = None;
            }
            Effect::AssignActor => assignee = Some(person_of(actor)),
            Effect::AssignFromField(field) => {
                let login = fields
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assignee = directory.person(login).cloned();
            }
            Effect::Unassign => assignee = None,
            Effect::HandIntakeToActor => intake = person_of(actor),
            Effect::HandIntakeFromField(field) => {
                let login = fields
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                intake = directory.person(login).cloned().ok_or_else(|| {
                    Refusal::invalid(
                        vec![FieldError {
                            field: field.clone(),
                            code: "person.unknown".into(),
                            message: format!(
                                "{field} = {login:?}: no such person to hand the intake to"
                            ),
                            message_zh: format!("{field} = {login:?}：没有此人员，无法移交首问"),
                        }],
                        clause,
                    )
                })?;
            }
            Effect::SetField { .. } => {}
        }
    }

    // 回避: whoever the case is about, as it stands after this action, neither acts on it nor
    // is assigned to it.
    if is_subject(kind, &fields, &actor.login) {
        return Err(recused(kind, &actor.name, &actor.login));
    }
    if let Some(a) = &assignee
        && is_subject(kind, &fields, &a.login)
    {
        return Err(recused(kind, &a.name, &a.login));
    }
    // The intake is handed over so that the subject does not keep it: never to the subject
    // (nor "handed" back to a subject who holds it).
    let hands_intake = t.effects.iter().any(|e| {
        matches!(
            e,
            Effect::HandIntakeToActor | Effect::HandIntakeFromField(_)
        )
    });
    if hands_intake && is_subject(kind, &fields, &intake.login) {
        return Err(recused(kind, &intake.name, &intake.login));
    }

    let target = t.target(&case.state).to_owned();
    crate::callback::check_close(kind, case, &target)?;
    let closed = kind.state(&target).is_some_and(|s| s.is_final);
    let field_changes = diff_fields(&case.fields, &fields);
    let owner_changed = owner != case.owner_unit;
    let change = Change::Transitioned {
        from: case.state.clone(),
        to: target,
        closed,
        fields: field_changes,
        owner_unit: owner_changed.then(|| Moved {
            before: case.owner_unit.clone(),
            after: owner.clone(),
        }),
        assignee: (assignee != case.assignee).then(|| Moved {
            before: case.assignee.clone(),
            after: assignee,
        }),
        intake_owner: (intake.id != case.first_contact.id).then(|| Moved {
            before: case.first_contact.clone(),
            after: intake,
        }),
        note: input.note.clone().filter(|n| !n.trim().is_empty()),
    };
    let clocks = deadlines::advance(
        kind,
        &case.clocks,
        &deadlines::Occurrence {
            triggers: deadlines::triggers_of(&change, &t.id),
            owner: &owner,
            owner_changed,
        },
        calendar,
        now,
    )?;
    Ok(Decided {
        event: Event {
            at: now,
            actor: person_of(actor),
            action: t.id.clone(),
            clause: Some(t.clause.clone()),
            change,
            clocks,
        },
        overridden,
    })
}

/// The transitions `actor` could take on `case` now, judged on state, role and jurisdiction
/// (conditions and fields are checked when the action is submitted).
pub fn available_transitions<'p>(
    kind: &'p CaseKind,
    case: &Case,
    actor: &Actor,
) -> Vec<&'p Transition> {
    if !actor.has_jurisdiction(&case.owner_unit, case.first_contact.id) {
        return Vec::new();
    }
    kind.transitions
        .iter()
        .filter(|t| match &t.from {
            Some(_) => t.leaves(&case.state),
            None => !case.closed,
        })
        .filter(|t| actor.has_any_role(&t.roles))
        .filter(|t| !t.first_contact_only || actor.id == case.first_contact.id)
        .filter(|t| !t.handler_only || case.assignee.as_ref().is_some_and(|a| a.id == actor.id))
        .filter(|_| !is_subject(kind, &case.fields, &actor.login))
        .filter(|t| crate::callback::check_close(kind, case, t.target(&case.state)).is_ok())
        .collect()
}

/// Whether `login` is the person the case is about (its kind's `subject_field`).
pub(crate) fn is_subject(kind: &CaseKind, fields: &BTreeMap<String, Value>, login: &str) -> bool {
    kind.subject_field
        .as_deref()
        .and_then(|f| fields.get(f))
        .and_then(Value::as_str)
        .is_some_and(|subject| subject == login)
}

/// The refusal of anything the subject of a complaint would do or be given on it (回避).
pub(crate) fn recused(kind: &CaseKind, name: &str, login: &str) -> Refusal {
    Refusal::new(
        RefusalReason::Recused,
        Some(&kind.recusal_clause),
        format!("回避：{name}是本案被投诉人，不得办理、审批、回访或被指派本案"),
        format!(
            "recusal: {login} is the person this case is about and may not act on it or be \
             assigned to it"
        ),
    )
}

fn person_of(actor: &Actor) -> PersonRef {
    PersonRef {
        id: actor.id,
        login: actor.login.clone(),
        name: actor.name.clone(),
    }
}

fn unknown_unit(code: &str, field: Option<&str>, clause: Option<&str>) -> Refusal {
    let mut r = Refusal::new(
        RefusalReason::InvalidFields,
        clause,
        format!("未知的机构代码“{code}”"),
        format!("unknown unit code `{code}`"),
    );
    if let Some(field) = field {
        r.fields = vec![field_error(
            field,
            "unit.unknown",
            format!("unknown unit code `{code}`"),
            format!("未知的机构代码“{code}”"),
        )];
    }
    r
}

pub(crate) fn role_labels(policy: &Policy, roles: &[String], zh: bool) -> String {
    roles
        .iter()
        .map(|r| match policy.role(r) {
            Some(role) if zh => role.label.clone(),
            _ => r.clone(),
        })
        .collect::<Vec<_>>()
        .join(if zh { "或" } else { " or " })
}

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn field_error(field: &str, code: &str, message: String, message_zh: String) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message,
        message_zh,
    }
}

fn required_error(field: &Field, clause: Option<&str>) -> FieldError {
    let by = clause.map(|c| format!(" ({c})")).unwrap_or_default();
    field_error(
        &field.id,
        "required",
        format!(
            "{} is required{by}",
            field.label_en.as_deref().unwrap_or(&field.id)
        ),
        format!("{}为必填项{by}", field.label),
    )
}

fn diff_fields(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    for (k, v) in after {
        if before.get(k) != Some(v) {
            changes.push(FieldChange {
                field: k.clone(),
                before: before.get(k).cloned(),
                after: Some(v.clone()),
            });
        }
    }
    for (k, v) in before {
        if !after.contains_key(k) {
            changes.push(FieldChange {
                field: k.clone(),
                before: Some(v.clone()),
                after: None,
            });
        }
    }
    changes
}

/// Validates submitted fields against the kind: unknown fields, types and formats. Returns the
/// canonical values (e.g. a phone number without spaces, money in fen) and every error.
/// `null` clears a field.
pub fn validate_fields(
    kind: &CaseKind,
    input: &Map<String, Value>,
    directory: &Directory,
) -> (BTreeMap<String, Value>, Vec<FieldError>) {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (id, value) in input {
        let Some(field) = kind.field(id) else {
            errors.push(field_error(
                id,
                "unknown",
                format!("{} has no field `{id}`", kind.id),
                format!("{}没有字段“{id}”", kind.label),
            ));
            continue;
        };
        if value.is_null() {
            out.insert(id.clone(), Value::Null);
            continue;
        }
        match validate_value(field, value, directory) {
            Ok(v) => {
                out.insert(id.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

fn validate_value(
    field: &Field,
    value: &Value,
    directory: &Directory,
) -> Result<Value, FieldError> {
    let id = field.id.as_str();
    let type_error = |expected: &str, expected_zh: &str| {
        field_error(
            id,
            "type",
            format!("{id} must be {expected}"),
            format!("{}应为{expected_zh}", field.label),
        )
    };
    let text = || value.as_str().map(str::trim);
    let from_value_error = |e: values::ValueError| {
        field_error(
            id,
            e.code(),
            format!("{id}: {e}"),
            format!("{}：{}", field.label, e.message_zh()),
        )
    };
    match &field.field_type {
        FieldType::Text { max_len } | FieldType::LongText { max_len } => {
            let s = text().ok_or_else(|| type_error("a string", "文本"))?;
            let len = s.chars().count();
            if len > *max_len {
                return Err(field_error(
                    id,
                    "text.too_long",
                    format!("{id} has {len} characters; at most {max_len} are allowed"),
                    format!("{}有 {len} 个字，最多 {max_len} 个", field.label),
                ));
            }
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Choice { options } => {
            let s = text().ok_or_else(|| type_error("one option code", "一个选项"))?;
            check_option(field, options, s)?;
            Ok(Value::String(s.to_owned()))
        }
        FieldType::MultiChoice { options } => {
            let items = value
                .as_array()
                .ok_or_else(|| type_error("a list of option codes", "选项列表"))?;
            let mut codes = Vec::new();
            for item in items {
                let s = item
                    .as_str()
                    .ok_or_else(|| type_error("a list of option codes", "选项列表"))?;
                check_option(field, options, s)?;
                if !codes.contains(&s) {
                    codes.push(s);
                }
            }
            Ok(Value::from(codes))
        }
        FieldType::Taxonomy { nodes } => {
            let s = text().ok_or_else(|| type_error("a taxonomy code", "分类代码"))?;
            if TaxonomyNode::find(nodes, s).is_none() {
                return Err(field_error(
                    id,
                    "taxonomy.unknown",
                    format!("{id}: unknown code `{s}`"),
                    format!("{}：未知的分类代码“{s}”", field.label),
                ));
            }
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Code { list } => {
            let s = text().ok_or_else(|| type_error("a code", "代码"))?;
            crate::codes::check(list, id, &field.label, s)
                .map_err(|(en, zh)| field_error(id, "code.unknown", en, zh))?;
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Integer { min, max } => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| type_error("an integer", "整数"))?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                let range = format!(
                    "{}..{}",
                    min.map_or(String::new(), |m| m.to_string()),
                    max.map_or(String::new(), |m| m.to_string())
                );
                return Err(field_error(
                    id,
                    "integer.range",
                    format!("{id} = {n} is outside {range}"),
                    format!("{}（{n}）超出范围 {range}", field.label),
                ));
            }
            Ok(Value::from(n))
        }
        FieldType::Money => {
            // Accepts fen as an integer, or yuan as a string ("12.50", "¥12.50").
            let money = match value {
                Value::Number(n) => n
                    .as_i64()
                    .map(values::Money::from_fen)
                    .ok_or_else(|| type_error("an amount in fen or a yuan string", "金额"))?,
                Value::String(s) => values::Money::parse(s).map_err(from_value_error)?,
                _ => return Err(type_error("an amount in fen or a yuan string", "金额")),
            };
            Ok(Value::from(money.fen()))
        }
        FieldType::Date => {
            let s = text().ok_or_else(|| type_error("a date", "日期"))?;
            let d = values::parse_date(s).map_err(from_value_error)?;
            Ok(Value::String(d.to_string()))
        }
        FieldType::DateTime => {
            let s = text().ok_or_else(|| type_error("a date-time", "日期时间"))?;
            let t = values::parse_datetime(s).map_err(from_value_error)?;
            Ok(Value::String(
                t.to_zoned_datetime(crate::china_tz())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string(),
            ))
        }
        FieldType::Phone => {
            let s = text().ok_or_else(|| type_error("a phone number", "电话号码"))?;
            let p = values::PhoneNumber::parse(s).map_err(from_value_error)?;
            Ok(Value::String(p.to_string()))
        }
        FieldType::ResidentId => {
            let s = text().ok_or_else(|| type_error("a resident ID number", "身份证号码"))?;
            let r = values::ResidentId::parse(s).map_err(from_value_error)?;
            Ok(Value::String(r.to_string()))
        }
        FieldType::CreditCode => {
            let s = text()
                .ok_or_else(|| type_error("a unified social credit code", "统一社会信用代码"))?;
            let c = values::SocialCreditCode::parse(s).map_err(from_value_error)?;
            Ok(Value::String(c.to_string()))
        }
        FieldType::Email => {
            let s = text().ok_or_else(|| type_error("an e-mail address", "电子邮箱"))?;
            let e = values::Email::parse(s).map_err(from_value_error)?;
            Ok(Value::String(e.to_string()))
        }
        FieldType::Person => {
            let s = text().ok_or_else(|| type_error("a user login", "用户名"))?;
            if directory.person(s).is_none() {
                return Err(field_error(
                    id,
                    "person.unknown",
                    format!("{id}: no user `{s}`"),
                    format!("{}：没有用户“{s}”", field.label),
                ));
            }
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Unit => {
            let s = text().ok_or_else(|| type_error("a unit code", "机构代码"))?;
            if directory.unit_by_code(s).is_none() {
                return Err(field_error(
                    id,
                    "unit.unknown",
                    format!("{id}: no unit `{s}`"),
                    format!("{}：没有机构“{s}”", field.label),
                ));
            }
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Attachment => {
            let s = text().ok_or_else(|| type_error("an attachment reference", "附件编号"))?;
            if s.is_empty() || s.len() > 200 {
                return Err(type_error("an attachment reference", "附件编号"));
            }
            Ok(Value::String(s.to_owned()))
        }
    }
}

fn check_option(
    field: &Field,
    options: &[crate::policy::ChoiceOption],
    code: &str,
) -> Result<(), FieldError> {
    if options.iter().any(|o| o.code == code) {
        return Ok(());
    }
    let codes: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
    Err(field_error(
        &field.id,
        "choice.unknown",
        format!(
            "{}: unknown option `{code}`; allowed: {}",
            field.id,
            codes.join(", ")
        ),
        format!(
            "{}：选项“{code}”不存在，可选：{}",
            field.label,
            options
                .iter()
                .map(|o| o.label.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ),
    ))
}

/// What a CEL condition sees as `case`.
#[derive(Serialize)]
struct CaseView<'a> {
    number: &'a str,
    kind: &'a str,
    state: &'a str,
    channel: &'a str,
    owner_unit: UnitView<'a>,
    first_contact: &'a str,
    assignee: Option<&'a str>,
    fields: &'a BTreeMap<String, Value>,
}

#[derive(Serialize)]
struct UnitView<'a> {
    code: &'a str,
    level: &'a str,
}

impl<'a> CaseView<'a> {
    fn new(case: &'a Case, fields: &'a BTreeMap<String, Value>) -> Self {
        CaseView {
            number: &case.number,
            kind: &case.kind,
            state: &case.state,
            channel: &case.channel,
            owner_unit: UnitView {
                code: &case.owner_unit.code,
                level: &case.owner_unit.level,
            },
            first_contact: &case.first_contact.login,
            assignee: case.assignee.as_ref().map(|a| a.login.as_str()),
            fields,
        }
    }
}

/// What a CEL condition sees as `actor`.
#[derive(Serialize)]
struct ActorView<'a> {
    login: &'a str,
    roles: &'a [String],
    unit: UnitView<'a>,
    is_first_contact: bool,
}

impl<'a> ActorView<'a> {
    fn new(actor: &'a Actor, case: &Case) -> Self {
        ActorView {
            login: &actor.login,
            roles: &actor.roles,
            unit: UnitView {
                code: &actor.unit.code,
                level: &actor.unit.level,
            },
            is_first_contact: actor.id == case.first_contact.id,
        }
    }
}
