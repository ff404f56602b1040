//! Loading and checking a policy file.
//!
//! [`load`] reads the TOML, builds the model and checks it as a whole (unknown states and
//! roles, unreachable states, dead ends, bad CEL, numbering without a serial …). It never stops
//! at the first problem: every diagnostic is collected, each with its `file:line:column`. A
//! [`Policy`] is returned only when there is no error.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::SignedDuration;

use toml::de::{DeTable, DeValue};

use super::reader::{At, Ctx, Table, to_json};
use super::{
    CaseKind, ChoiceOption, Diagnostic, Effect, Field, FieldType, Level, Policy, Role, Span, State,
    TaxonomyNode, Transition,
};
use crate::calendar::Duration;
use crate::deadlines::{BreachAction, ClockRule, Liable, Limit, Trigger, Warn};
use crate::expr::Condition;
use crate::numbering::{NumberingRule, Reset};
use crate::penalties::{PenaltyRule, Per, Substantiation, ViolationSelector};
use crate::values::Money;

/// The result of loading a policy file: the policy if it has no error, and every diagnostic.
#[derive(Debug)]
pub struct LoadOutcome {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

const DEFAULT_TEXT_LEN: usize = 200;
use super::STAY;
const DEFAULT_LONG_TEXT_LEN: usize = 20_000;
/// Recusal applies to every pack (CLAUSES.md A26) even where the regulation is silent.
const DEFAULT_RECUSAL_CLAUSE: &str = "CLAUSES A26";

/// Loads and checks the policy in `source`; `file` is the name used in diagnostics.
pub fn load(file: &str, source: &str) -> LoadOutcome {
    // Placeholders (CLAUSES.md A31) are checked with their provisional values, each a warning.
    let (filled, placeholders) = super::placeholder::fill(file, source);
    let source = filled.as_str();
    let mut cx = Ctx::new(file, source);
    cx.diagnostics.extend(placeholders);
    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    for e in &syntax_errors {
        let offset = e.span().map_or(0, |s| s.start);
        cx.error_at(offset, format!("TOML syntax: {}", e.message().trim()));
    }
    // A file that does not parse would give follow-on errors that only confuse.
    if !syntax_errors.is_empty() {
        return finish(cx, None);
    }
    let root = Table::root(&doc);
    root.deny_unknown(
        &mut cx,
        &[
            "policy", "level", "role", "kind", "penalty", "reward", "codelist", "conduct",
        ],
    );
    cx.codelists = super::codes::read_codelists(&mut cx, &root);

    let header = root.table(&mut cx, "policy");
    if header.is_none() && root.get("policy").is_none() {
        cx.error_at(0, "missing the [policy] table (id and title)");
    }
    let (id, title, regulation) = match &header {
        Some(h) => {
            h.deny_unknown(&mut cx, &["id", "title", "regulation", "description"]);
            let id = h.req_str(&mut cx, "id");
            if let Some(id) = &id
                && !is_identifier(&id.value, true)
            {
                cx.error(
                    &id.span,
                    format!(
                        "policy id `{}` must be lower-case letters, digits, `-` and `_`",
                        id.value
                    ),
                );
            }
            let title = h.req_str(&mut cx, "title");
            let regulation = h.str(&mut cx, "regulation");
            let _ = h.str(&mut cx, "description");
            (id, title, regulation)
        }
        None => (None, None, None),
    };

    let levels = read_levels(&mut cx, &root);
    let roles = read_roles(&mut cx, &root);
    let role_ids: HashSet<String> = roles.iter().map(|r| r.id.clone()).collect();
    let level_ids: Vec<String> = levels.iter().map(|l| l.id.clone()).collect();

    let mut kinds = Vec::new();
    match root.table(&mut cx, "kind") {
        Some(kind_table) => {
            for (kind_id, key_span, value) in kind_table.entries() {
                check_identifier(&mut cx, kind_id, &key_span, "case kind");
                if let Some(t) = Table::from_value(&mut cx, value, format!("kind.{kind_id}"))
                    && let Some(kind) = read_kind(&mut cx, kind_id, &t, &role_ids, &level_ids)
                {
                    kinds.push(kind);
                }
            }
        }
        None if root.get("kind").is_none() => {
            cx.error_at(
                0,
                "the policy declares no case kind: add a [kind.<id>] table",
            );
        }
        None => {}
    }

    let conduct = super::conduct::read_conduct(&mut cx, &root, &role_ids);
    let penalties = read_penalties(&mut cx, &root, &role_ids, &kinds, &conduct);
    let rewards = super::violations::read_rewards(&mut cx, &root, &role_ids);

    let policy = match (id, title) {
        (Some(id), Some(title)) => Some(Policy {
            id: id.value,
            title: title.value,
            regulation: regulation.map(|r| r.value),
            levels,
            roles,
            kinds,
            penalties,
            rewards,
            conduct,
            codelists: std::mem::take(&mut cx.codelists),
        }),
        _ => None,
    };
    finish(cx, policy)
}

fn finish(cx: Ctx<'_>, policy: Option<Policy>) -> LoadOutcome {
    let mut diagnostics = cx.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    LoadOutcome {
        policy: if has_errors { None } else { policy },
        diagnostics,
    }
}

fn is_identifier(s: &str, allow_dash: bool) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (allow_dash && c == '-')
        })
}

pub(super) fn check_identifier(cx: &mut Ctx<'_>, id: &str, span: &Span, what: &str) {
    if !is_identifier(id, false) {
        cx.error(
            span,
            format!("{what} id `{id}` must start with a-z and use only a-z, 0-9 and `_`"),
        );
    }
}

/// Reports ids seen twice in one list.
pub(super) fn check_unique<'a>(
    cx: &mut Ctx<'_>,
    what: &str,
    ids: impl Iterator<Item = &'a At<String>>,
) {
    let mut seen = HashMap::new();
    for id in ids {
        if let Some(first) = seen.insert(id.value.clone(), id.span.clone()) {
            let (line, _) = super::diag::line_column(cx.source, first.start);
            cx.error(
                &id.span,
                format!(
                    "duplicate {what} `{}` (first declared on line {line})",
                    id.value
                ),
            );
        }
    }
}

fn read_levels(cx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Vec<Level> {
    let mut ids = Vec::new();
    let mut levels = Vec::new();
    for t in root.tables(cx, "level") {
        t.deny_unknown(cx, &["id", "label", "label_en", "clause"]);
        let id = t.req_str(cx, "id");
        let label = t.req_str(cx, "label");
        let label_en = t.str(cx, "label_en").map(|a| a.value);
        let clause = t.str(cx, "clause").map(|a| a.value);
        if let (Some(id), Some(label)) = (id, label) {
            check_identifier(cx, &id.value, &id.span, "level");
            levels.push(Level {
                id: id.value.clone(),
                label: label.value,
                label_en,
                clause,
            });
            ids.push(id);
        }
    }
    check_unique(cx, "level", ids.iter());
    levels
}

fn read_roles(cx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Vec<Role> {
    let mut ids = Vec::new();
    let mut roles = Vec::new();
    for t in root.tables(cx, "role") {
        t.deny_unknown(cx, &["id", "label", "label_en", "clause"]);
        let id = t.req_str(cx, "id");
        let label = t.req_str(cx, "label");
        let label_en = t.str(cx, "label_en").map(|a| a.value);
        let clause = t.str(cx, "clause").map(|a| a.value);
        if let (Some(id), Some(label)) = (id, label) {
            check_identifier(cx, &id.value, &id.span, "role");
            roles.push(Role {
                id: id.value.clone(),
                label: label.value,
                label_en,
                clause,
            });
            ids.push(id);
        }
    }
    check_unique(cx, "role", ids.iter());
    roles
}

/// Checks that every listed role is declared (`*` means any role).
pub(super) fn check_roles(
    cx: &mut Ctx<'_>,
    roles: &[At<String>],
    declared: &HashSet<String>,
    place: &str,
) -> Vec<String> {
    for r in roles {
        if r.value != "*" && !declared.contains(&r.value) {
            cx.error(
                &r.span,
                format!(
                    "unknown role `{}` in {place}; declare it in a [[role]] table",
                    r.value
                ),
            );
        }
    }
    roles.iter().map(|r| r.value.clone()).collect()
}

fn read_kind(
    cx: &mut Ctx<'_>,
    kind_id: &str,
    t: &Table<'_, '_>,
    role_ids: &HashSet<String>,
    level_ids: &[String],
) -> Option<CaseKind> {
    t.deny_unknown(
        cx,
        &[
            "label",
            "label_en",
            "clause",
            "initial",
            "create_roles",
            "channels",
            "numbering",
            "field",
            "state",
            "transition",
            "clock",
            "subject_field",
            "recusal_clause",
            "callback",
            "survey",
            "validity",
            "record_completeness",
            "repeat_complaint",
            "archive",
            "assist",
            "dispute",
        ],
    );
    let label = t.req_str(cx, "label");
    let label_en = t.str(cx, "label_en").map(|a| a.value);
    let clause = t.str(cx, "clause").map(|a| a.value);
    let initial = t.req_str(cx, "initial");
    let create_roles = match t.str_list(cx, "create_roles") {
        Some(list) => {
            if list.value.is_empty() {
                cx.error(&list.span, "`create_roles` must name at least one role");
            }
            check_roles(cx, &list.value, role_ids, "`create_roles`")
        }
        None => {
            cx.error(
                &t.span,
                format!("missing required key `create_roles` in `kind.{kind_id}`"),
            );
            Vec::new()
        }
    };
    let channels: Vec<String> = match t.str_list(cx, "channels") {
        Some(l) => l.value.into_iter().map(|c| c.value).collect(),
        None => {
            cx.warn(
                &t.span,
                format!(
                    "`kind.{kind_id}` lists no `channels`: a case may arrive through any channel"
                ),
            );
            Vec::new()
        }
    };
    let numbering = read_numbering(cx, t, kind_id);

    // Fields.
    let mut field_ids = Vec::new();
    let mut fields = Vec::new();
    for ft in t.tables(cx, "field") {
        if let Some((id, field)) = read_field(cx, &ft) {
            field_ids.push(id);
            fields.push(field);
        }
    }
    check_unique(cx, "field", field_ids.iter());
    let field_types: HashMap<&str, &FieldType> = fields
        .iter()
        .map(|f| (f.id.as_str(), &f.field_type))
        .collect();

    // States.
    let mut states = Vec::new();
    let mut state_spans: HashMap<String, Span> = HashMap::new();
    if let Some(state_table) = t.table(cx, "state") {
        for (state_id, key_span, value) in state_table.entries() {
            check_identifier(cx, state_id, &key_span, "state");
            let Some(st) = Table::from_value(cx, value, format!("kind.{kind_id}.state.{state_id}"))
            else {
                continue;
            };
            st.deny_unknown(cx, &["label", "label_en", "final", "requires", "clause"]);
            let label = st.req_str(cx, "label");
            let requires = st
                .str_list(cx, "requires")
                .map(|l| l.value)
                .unwrap_or_default();
            check_fields_exist(cx, &requires, &field_types, "`requires`");
            state_spans.insert(state_id.to_owned(), key_span);
            states.push(State {
                id: state_id.to_owned(),
                label: label.map(|l| l.value).unwrap_or_default(),
                label_en: st.str(cx, "label_en").map(|a| a.value),
                is_final: st.bool(cx, "final").unwrap_or(false),
                requires: requires.into_iter().map(|r| r.value).collect(),
                clause: st.str(cx, "clause").map(|a| a.value),
            });
        }
    } else if t.get("state").is_none() {
        cx.error(
            &t.span,
            format!("`kind.{kind_id}` declares no states: add [kind.{kind_id}.state.<id>] tables"),
        );
    }
    let state_ids: HashSet<&str> = states.iter().map(|s| s.id.as_str()).collect();
    if let Some(initial) = &initial
        && !state_ids.contains(initial.value.as_str())
        && !states.is_empty()
    {
        cx.error(
            &initial.span,
            format!("unknown initial state `{}`", initial.value),
        );
    }
    if !states.is_empty() && !states.iter().any(|s| s.is_final) {
        cx.error(
            &t.span,
            format!(
                "`kind.{kind_id}` has no final state: mark the closing state with `final = true`"
            ),
        );
    }

    // Transitions.
    let mut transition_ids = Vec::new();
    let mut transitions = Vec::new();
    for tt in t.tables(cx, "transition") {
        if let Some((id, tr)) = read_transition(cx, &tt, &state_ids, role_ids, &field_types) {
            transition_ids.push(id);
            transitions.push(tr);
        }
    }
    check_unique(cx, "transition", transition_ids.iter());

    // Callback events are actions clocks may name (`action:callback_reopen`).
    let mut action_names: HashSet<&str> = transition_ids.iter().map(|t| t.value.as_str()).collect();
    if t.get("callback").is_some() {
        action_names.extend(crate::callback::ACTIONS);
    }
    let names = Names {
        states: &state_ids,
        transitions: &action_names,
        roles: role_ids,
        levels: level_ids,
        fields: &field_types,
    };
    let mut clocks = read_clocks(cx, t, &names);
    let callback = super::callback::read(cx, t, kind_id, &names, &states, &mut clocks);
    let survey = super::survey::read(cx, t, kind_id, &names, &states, &fields);

    // 回避: the subject field must be a `person` field of this kind.
    let subject_field = t.str(cx, "subject_field");
    if let Some(f) = &subject_field {
        match field_types.get(f.value.as_str()) {
            Some(FieldType::Person) => {}
            Some(other) => cx.error(
                &f.span,
                format!(
                    "`subject_field` `{}` must be a person field, not {}",
                    f.value,
                    other.keyword()
                ),
            ),
            None => cx.error(
                &f.span,
                format!("unknown field `{}` in `subject_field`", f.value),
            ),
        }
    }
    let recusal_clause = t
        .str(cx, "recusal_clause")
        .map_or_else(|| DEFAULT_RECUSAL_CLAUSE.to_owned(), |c| c.value);

    let checks = super::violations::read_checks(cx, t, &field_types, &states, role_ids);

    // Whole-graph checks: reachability and dead ends.
    if let Some(initial) = &initial
        && state_ids.contains(initial.value.as_str())
    {
        check_graph(cx, &states, &transitions, &initial.value, &state_spans);
    }

    Some(CaseKind {
        id: kind_id.to_owned(),
        label: label?.value,
        label_en,
        clause,
        initial: initial?.value,
        create_roles,
        channels,
        numbering: numbering?,
        fields,
        states,
        transitions,
        clocks,
        subject_field: subject_field.map(|f| f.value),
        recusal_clause,
        callback,
        survey,
        checks,
        archive: super::archive::read_archive(cx, t, role_ids),
        assist: super::assist::read_assist(cx, t, role_ids),
        dispute: super::dispute::read_dispute(cx, t, role_ids),
    })
}

/// The names a clock may refer to.
pub(super) struct Names<'a> {
    pub(super) states: &'a HashSet<&'a str>,
    pub(super) transitions: &'a HashSet<&'a str>,
    pub(super) roles: &'a HashSet<String>,
    pub(super) levels: &'a [String],
    pub(super) fields: &'a HashMap<&'a str, &'a FieldType>,
}

fn read_clocks(cx: &mut Ctx<'_>, t: &Table<'_, '_>, names: &Names<'_>) -> Vec<ClockRule> {
    let mut ids = Vec::new();
    let mut clocks = Vec::new();
    for ct in t.tables(cx, "clock") {
        ct.deny_unknown(
            cx,
            &[
                "id",
                "label",
                "clause",
                "start",
                "stop",
                "pause",
                "resume",
                "limit",
                "limit_by_level",
                "on_hand_up",
                "hand_up_clause",
                "warn_at",
                "warn_before",
                "breach",
            ],
        );
        let Some(id) = ct.req_str(cx, "id") else {
            continue;
        };
        check_identifier(cx, &id.value, &id.span, "clock");
        let label = ct.req_str(cx, "label");
        let clause = ct.req_str(cx, "clause");
        let mut triggers = |key: &str, required: bool| -> Vec<Trigger> {
            let Some(list) = ct.str_list(cx, key) else {
                if required {
                    cx.error(
                        &ct.span,
                        format!(
                            "clock `{}` needs `{key}` (e.g. [\"open\"], [\"enter:replied\"])",
                            id.value
                        ),
                    );
                }
                return Vec::new();
            };
            list.value
                .iter()
                .filter_map(|item| match Trigger::parse(&item.value) {
                    Some(trigger) => {
                        let known = match &trigger {
                            Trigger::Open => true,
                            Trigger::Enter(s) | Trigger::Leave(s) => {
                                names.states.contains(s.as_str())
                            }
                            Trigger::Action(a) => names.transitions.contains(a.as_str()),
                        };
                        if !known {
                            cx.error(
                                &item.span,
                                format!("`{}` names an unknown state or action", item.value),
                            );
                        }
                        Some(trigger)
                    }
                    None => {
                        cx.error(
                            &item.span,
                            format!(
                                "`{}` is not a trigger; use open, enter:STATE, leave:STATE or action:TRANSITION",
                                item.value
                            ),
                        );
                        None
                    }
                })
                .collect()
        };
        let start = triggers("start", true);
        let stop = triggers("stop", true);
        let pause = triggers("pause", false);
        let resume = triggers("resume", false);
        if !pause.is_empty() && resume.is_empty() {
            cx.error(
                &ct.span,
                format!(
                    "clock `{}` can pause but never resume: add `resume`",
                    id.value
                ),
            );
        }
        let duration = |cx: &mut Ctx<'_>, text: &At<String>| -> Option<Duration> {
            text.value
                .parse::<Duration>()
                .map_err(|e| cx.error(&text.span, e))
                .ok()
        };
        let limit = match (ct.str(cx, "limit"), ct.get("limit_by_level")) {
            (Some(text), None) => duration(cx, &text).map(Limit::Fixed),
            (None, Some(_)) => {
                let table = ct.table(cx, "limit_by_level");
                table.map(|lt| {
                    let mut by_level = BTreeMap::new();
                    for (level, key_span, _) in lt.entries() {
                        if !names.levels.iter().any(|l| l == level) {
                            cx.error(
                                &key_span,
                                format!("unknown level `{level}` in `limit_by_level`"),
                            );
                        }
                        if let Some(text) = lt.str(cx, level)
                            && let Some(d) = duration(cx, &text)
                        {
                            by_level.insert(level.to_owned(), d);
                        }
                    }
                    let missing: Vec<&str> = names
                        .levels
                        .iter()
                        .filter(|l| !by_level.contains_key(*l))
                        .map(String::as_str)
                        .collect();
                    if !missing.is_empty() {
                        cx.error(
                            &lt.span,
                            format!(
                                "`limit_by_level` of clock `{}` has no limit for level(s): {}",
                                id.value,
                                missing.join(", ")
                            ),
                        );
                    }
                    Limit::ByLevel(by_level)
                })
            }
            (Some(_), Some(_)) => {
                cx.error(
                    &ct.span,
                    "give either `limit` or `limit_by_level`, not both",
                );
                None
            }
            (None, None) => {
                cx.error(
                    &ct.span,
                    format!(
                        "clock `{}` needs a `limit` (e.g. \"2 workdays\") or a `limit_by_level` table",
                        id.value
                    ),
                );
                None
            }
        };
        let restart_on_hand_up = match ct.str(cx, "on_hand_up") {
            None => false,
            Some(w) if w.value == "keep" => false,
            Some(w) if w.value == "restart" => true,
            Some(w) => {
                cx.error(&w.span, "`on_hand_up` is \"restart\" or \"keep\"");
                false
            }
        };
        let hand_up_clause = ct.str(cx, "hand_up_clause").map(|c| c.value);
        let warn = match (ct.str(cx, "warn_at"), ct.str(cx, "warn_before")) {
            (Some(p), None) => match p
                .value
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<u8>().ok())
            {
                Some(n) if (1..=99).contains(&n) => Some(Warn::Percent(n)),
                _ => {
                    cx.error(
                        &p.span,
                        "`warn_at` is a percentage from 1% to 99%, e.g. \"80%\"",
                    );
                    None
                }
            },
            (None, Some(b)) => match duration(cx, &b) {
                Some(Duration::Hours(h)) => {
                    Some(Warn::Before(SignedDuration::from_hours(h.into())))
                }
                Some(Duration::Minutes(m)) => {
                    Some(Warn::Before(SignedDuration::from_mins(m.into())))
                }
                Some(_) => {
                    cx.error(&b.span, "`warn_before` is a number of hours or minutes");
                    None
                }
                None => None,
            },
            (Some(_), Some(_)) => {
                cx.error(&ct.span, "give either `warn_at` or `warn_before`, not both");
                None
            }
            (None, None) => None,
        };
        let breach = read_breach(cx, &ct, names, &id.value);
        ids.push(id.clone());
        if let (Some(label), Some(clause), Some(limit)) = (label, clause, limit) {
            clocks.push(ClockRule {
                id: id.value,
                label: label.value,
                hand_up_clause: hand_up_clause.unwrap_or_else(|| clause.value.clone()),
                clause: clause.value,
                start,
                stop,
                pause,
                resume,
                limit,
                restart_on_hand_up,
                warn,
                breach,
            });
        }
    }
    check_unique(cx, "clock", ids.iter());
    clocks
}

pub(super) fn read_breach(
    cx: &mut Ctx<'_>,
    ct: &Table<'_, '_>,
    names: &Names<'_>,
    clock: &str,
) -> Vec<BreachAction> {
    let mut actions = Vec::new();
    for bt in ct.tables(cx, "breach") {
        bt.deny_unknown(cx, &["op", "liable", "roles", "field", "value"]);
        let Some(op) = bt.req_str(cx, "op") else {
            continue;
        };
        let action = match op.value.as_str() {
            "violation" => {
                let liable = bt
                    .str_list(cx, "liable")
                    .map(|l| l.value)
                    .unwrap_or_default();
                if liable.is_empty() {
                    cx.error(
                        &bt.span,
                        format!("the violation of clock `{clock}` names no one `liable`"),
                    );
                }
                let liable = liable
                    .iter()
                    .filter_map(|l| match Liable::parse(&l.value) {
                        Some(Liable::Role(r) | Liable::ParentRole(r)) if !names.roles.contains(&r) => {
                            cx.error(&l.span, format!("unknown role `{r}` in `liable`"));
                            None
                        }
                        Some(parsed) => Some(parsed),
                        None => {
                            cx.error(
                                &l.span,
                                format!(
                                    "`{}`: liable is first_contact, assignee, owner_unit or role:ROLE",
                                    l.value
                                ),
                            );
                            None
                        }
                    })
                    .collect();
                Some(BreachAction::Violation { liable })
            }
            "notify" => {
                let roles = bt
                    .str_list(cx, "roles")
                    .map(|l| l.value)
                    .unwrap_or_default();
                for r in &roles {
                    if !names.roles.contains(&r.value) {
                        cx.error(&r.span, format!("unknown role `{}` in `roles`", r.value));
                    }
                }
                Some(BreachAction::Notify {
                    roles: roles.into_iter().map(|r| r.value).collect(),
                })
            }
            "hand_up" => Some(BreachAction::HandUp),
            "set" => {
                let field = bt.req_str(cx, "field");
                if let Some(f) = &field
                    && !names.fields.contains_key(f.value.as_str())
                {
                    cx.error(&f.span, format!("unknown field `{}`", f.value));
                }
                let value = bt.get("value").and_then(|v| to_json(v.get_ref()));
                match (field, value) {
                    (Some(field), Some(value)) => Some(BreachAction::SetField {
                        field: field.value,
                        value,
                    }),
                    _ => {
                        cx.error(&bt.span, "`set` needs a `field` and a `value`");
                        None
                    }
                }
            }
            other => {
                cx.error(
                    &op.span,
                    format!("unknown breach action `{other}`; expected violation, notify, hand_up or set"),
                );
                None
            }
        };
        actions.extend(action);
    }
    actions
}

fn read_numbering(cx: &mut Ctx<'_>, t: &Table<'_, '_>, kind_id: &str) -> Option<NumberingRule> {
    let Some(nt) = t.table(cx, "numbering") else {
        if t.get("numbering").is_none() {
            cx.error(
                &t.span,
                format!(
                    "missing required key `numbering` in `kind.{kind_id}` (e.g. numbering = {{ pattern = \"{{YYYY}}{{MM}}{{SEQ:4}}\", reset = \"monthly\" }})"
                ),
            );
        }
        return None;
    };
    nt.deny_unknown(cx, &["pattern", "reset", "clause"]);
    let pattern = nt.req_str(cx, "pattern");
    let reset = match nt.str(cx, "reset") {
        Some(word) => match Reset::parse(&word.value) {
            Some(r) => Some(r),
            None => {
                cx.error(
                    &word.span,
                    format!(
                        "unknown reset `{}`; use never, yearly, monthly or daily",
                        word.value
                    ),
                );
                None
            }
        },
        None => Some(Reset::Never),
    };
    let clause = nt.str(cx, "clause").map(|c| c.value);
    let (pattern, reset) = (pattern?, reset?);
    match NumberingRule::parse(&pattern.value, reset) {
        Ok(mut rule) => {
            rule.clause = clause;
            Some(rule)
        }
        Err(errors) => {
            for e in errors {
                let offset = string_content_offset(
                    cx.source,
                    &pattern.span,
                    &pattern.value,
                    1,
                    e.offset + 1,
                );
                cx.error_at(offset, format!("numbering: {}", e.message));
            }
            None
        }
    }
}

fn read_field(cx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<(At<String>, Field)> {
    t.deny_unknown(
        cx,
        &[
            "id", "label", "label_en", "type", "required", "personal", "max_len", "min", "max",
            "options", "taxonomy", "clause", "codelist",
        ],
    );
    let id = t.req_str(cx, "id")?;
    check_identifier(cx, &id.value, &id.span, "field");
    let label = t.req_str(cx, "label");
    let type_word = t.req_str(cx, "type")?;
    let max_len = t.int(cx, "max_len").and_then(|n| {
        usize::try_from(n.value)
            .ok()
            .filter(|&n| n > 0)
            .or_else(|| {
                cx.error(&n.span, "`max_len` must be a positive integer");
                None
            })
    });
    let options = |cx: &mut Ctx<'_>| -> Vec<ChoiceOption> {
        let options = read_options(cx, t);
        if options.is_empty() {
            cx.error(
                &t.span,
                format!("field `{}` is a choice but lists no `options`", id.value),
            );
        }
        options
    };
    let field_type = match type_word.value.as_str() {
        "text" => FieldType::Text {
            max_len: max_len.unwrap_or(DEFAULT_TEXT_LEN),
        },
        "long_text" => FieldType::LongText {
            max_len: max_len.unwrap_or(DEFAULT_LONG_TEXT_LEN),
        },
        "choice" => FieldType::Choice {
            options: options(cx),
        },
        "multi_choice" => FieldType::MultiChoice {
            options: options(cx),
        },
        "taxonomy" => {
            let nodes = match t.get("taxonomy") {
                Some(v) => read_taxonomy(cx, v, 0),
                None => Vec::new(),
            };
            if nodes.is_empty() {
                cx.error(
                    &t.span,
                    format!(
                        "field `{}` is a taxonomy but has no `taxonomy` tree",
                        id.value
                    ),
                );
            }
            FieldType::Taxonomy { nodes }
        }
        "integer" => FieldType::Integer {
            min: t.int(cx, "min").map(|a| a.value),
            max: t.int(cx, "max").map(|a| a.value),
        },
        "money" => FieldType::Money,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "phone" => FieldType::Phone,
        "resident_id" => FieldType::ResidentId,
        "credit_code" => FieldType::CreditCode,
        "email" => FieldType::Email,
        "person" => FieldType::Person,
        "unit" => FieldType::Unit,
        "attachment" => FieldType::Attachment,
        "code" => {
            let lists = std::mem::take(&mut cx.codelists);
            let field_type = super::codes::field_type(cx, t, &id.value, &lists);
            cx.codelists = lists;
            field_type?
        }
        other => {
            cx.error(
                &type_word.span,
                format!(
                    "unknown field type `{other}`; expected one of: {}",
                    FieldType::KEYWORDS.join(", ")
                ),
            );
            return None;
        }
    };
    let personal_default = matches!(
        field_type,
        FieldType::Phone | FieldType::ResidentId | FieldType::Email
    );
    let field = Field {
        id: id.value.clone(),
        label: label.map(|l| l.value).unwrap_or_default(),
        label_en: t.str(cx, "label_en").map(|a| a.value),
        field_type,
        required: t.bool(cx, "required").unwrap_or(false),
        personal: t.bool(cx, "personal").unwrap_or(personal_default),
        clause: t.str(cx, "clause").map(|a| a.value),
    };
    Some((id, field))
}

/// `options = ["a", "b"]` (code = label) or `options = [{ code = "a", label = "甲" }]`.
fn read_options(cx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Vec<ChoiceOption> {
    let Some(value) = t.get("options") else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        cx.error(&value.span(), "`options` must be a list");
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut options = Vec::new();
    for item in items.iter() {
        let option = match item.get_ref() {
            DeValue::String(s) => Some(ChoiceOption {
                code: s.to_string(),
                label: s.to_string(),
            }),
            DeValue::Table(_) => Table::from_value(cx, item, "option".into()).and_then(|ot| {
                ot.deny_unknown(cx, &["code", "label"]);
                let code = ot.req_str(cx, "code")?;
                let label = ot
                    .str(cx, "label")
                    .map_or_else(|| code.value.clone(), |l| l.value);
                Some(ChoiceOption {
                    code: code.value,
                    label,
                })
            }),
            other => {
                cx.error(
                    &item.span(),
                    format!(
                        "an option must be a string or {{ code, label }}, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        };
        if let Some(option) = option {
            if !seen.insert(option.code.clone()) {
                cx.error(&item.span(), format!("duplicate option `{}`", option.code));
            }
            options.push(option);
        }
    }
    options
}

fn read_taxonomy(
    cx: &mut Ctx<'_>,
    value: &toml::Spanned<DeValue<'_>>,
    depth: usize,
) -> Vec<TaxonomyNode> {
    let DeValue::Array(items) = value.get_ref() else {
        cx.error(
            &value.span(),
            "`taxonomy` must be a list of { code, label, children }",
        );
        return Vec::new();
    };
    if depth > 8 {
        cx.error(&value.span(), "a taxonomy may be at most 8 levels deep");
        return Vec::new();
    }
    items
        .iter()
        .filter_map(|item| {
            let nt = Table::from_value(cx, item, "taxonomy node".into())?;
            nt.deny_unknown(cx, &["code", "label", "children"]);
            let code = nt.req_str(cx, "code")?;
            let label = nt.req_str(cx, "label")?;
            let children = nt
                .get("children")
                .map(|c| read_taxonomy(cx, c, depth + 1))
                .unwrap_or_default();
            Some(TaxonomyNode {
                code: code.value,
                label: label.value,
                children,
            })
        })
        .collect()
}

fn check_fields_exist(
    cx: &mut Ctx<'_>,
    fields: &[At<String>],
    known: &HashMap<&str, &FieldType>,
    place: &str,
) {
    for f in fields {
        if !known.contains_key(f.value.as_str()) {
            cx.error(&f.span, format!("unknown field `{}` in {place}", f.value));
        }
    }
}

fn read_transition(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    states: &HashSet<&str>,
    role_ids: &HashSet<String>,
    fields: &HashMap<&str, &FieldType>,
) -> Option<(At<String>, Transition)> {
    t.deny_unknown(
        cx,
        &[
            "id",
            "label",
            "label_en",
            "from",
            "to",
            "roles",
            "first_contact_only",
            "handler_only",
            "requires",
            "when",
            "effects",
            "clause",
            "refusal",
            "soft",
            "soft_requires",
            "override_by",
        ],
    );
    let id = t.req_str(cx, "id")?;
    check_identifier(cx, &id.value, &id.span, "transition");
    let label = t.req_str(cx, "label");
    let clause = t.req_str(cx, "clause");
    let from = t.str_list(cx, "from");
    let from = match from {
        Some(list) if list.value.len() == 1 && list.value[0].value == "*" => None,
        Some(list) => {
            for s in &list.value {
                if !states.contains(s.value.as_str()) {
                    cx.error(
                        &s.span,
                        format!(
                            "unknown state `{}` in `from` of transition `{}`",
                            s.value, id.value
                        ),
                    );
                }
            }
            Some(list.value.into_iter().map(|s| s.value).collect())
        }
        None => {
            cx.error(
                &t.span,
                format!(
                    "missing required key `from` in transition `{}` (a list of states, or \"*\")",
                    id.value
                ),
            );
            None
        }
    };
    let to = t.req_str(cx, "to");
    // `to = "*"`: the case stays in the state it is in (a note, a review, a repeat call).
    if let Some(to) = &to
        && to.value != STAY
        && !states.contains(to.value.as_str())
    {
        cx.error(
            &to.span,
            format!(
                "unknown state `{}` in `to` of transition `{}`",
                to.value, id.value
            ),
        );
    }
    let roles = match t.str_list(cx, "roles") {
        Some(list) => {
            if list.value.is_empty() {
                cx.error(&list.span, "`roles` must name at least one role (or \"*\")");
            }
            check_roles(
                cx,
                &list.value,
                role_ids,
                &format!("transition `{}`", id.value),
            )
        }
        None => {
            cx.error(
                &t.span,
                format!("missing required key `roles` in transition `{}`", id.value),
            );
            Vec::new()
        }
    };
    let requires = t
        .str_list(cx, "requires")
        .map(|l| l.value)
        .unwrap_or_default();
    check_fields_exist(
        cx,
        &requires,
        fields,
        &format!("`requires` of transition `{}`", id.value),
    );

    let condition = t
        .str(cx, "when")
        .and_then(|when| match Condition::compile(&when.value) {
            Ok(c) => Some(c),
            Err(errors) => {
                for e in errors {
                    let offset =
                        string_content_offset(cx.source, &when.span, &when.value, e.line, e.column);
                    cx.error_at(offset, format!("CEL: {}", e.message));
                }
                None
            }
        });
    let effects = read_effects(cx, t, fields, &id.value);
    let soft = super::violations::read_soft(cx, t, condition.is_some(), &requires, role_ids);
    let transition = Transition {
        id: id.value.clone(),
        label: label.map(|l| l.value).unwrap_or_default(),
        label_en: t.str(cx, "label_en").map(|a| a.value),
        from,
        to: to?.value,
        roles,
        first_contact_only: t.bool(cx, "first_contact_only").unwrap_or(false),
        handler_only: t.bool(cx, "handler_only").unwrap_or(false),
        requires: requires.into_iter().map(|r| r.value).collect(),
        condition,
        effects,
        // A missing clause is already an error (the policy will not load); keeping the
        // transition avoids follow-on "unreachable" noise in the graph checks.
        clause: clause.map(|c| c.value).unwrap_or_default(),
        refusal: t.str(cx, "refusal").map(|a| a.value),
        soft,
    };
    Some((id, transition))
}

fn read_effects(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    fields: &HashMap<&str, &FieldType>,
    transition: &str,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    for et in t.tables(cx, "effects") {
        et.deny_unknown(cx, &["op", "to", "field", "unit", "value"]);
        let Some(op) = et.req_str(cx, "op") else {
            continue;
        };
        let field_of = |cx: &mut Ctx<'_>, want: Option<&str>| -> Option<String> {
            let f = et.req_str(cx, "field")?;
            match fields.get(f.value.as_str()) {
                None => {
                    cx.error(
                        &f.span,
                        format!(
                            "unknown field `{}` in an effect of transition `{transition}`",
                            f.value
                        ),
                    );
                    None
                }
                Some(ty) if want.is_some_and(|w| ty.keyword() != w) => {
                    cx.error(
                        &f.span,
                        format!(
                            "field `{}` is of type {}, but `{}` needs a {} field",
                            f.value,
                            ty.keyword(),
                            op.value,
                            want.unwrap_or_default()
                        ),
                    );
                    None
                }
                Some(_) => Some(f.value),
            }
        };
        let effect = match op.value.as_str() {
            "hand_up" => Some(Effect::HandUp),
            "hand_intake" => match (et.str(cx, "to"), et.get("field")) {
                (Some(to), None) if to.value == "actor" => Some(Effect::HandIntakeToActor),
                (None, Some(_)) => field_of(cx, Some("person")).map(Effect::HandIntakeFromField),
                _ => {
                    cx.error(
                        &et.span,
                        "`hand_intake` takes either to = \"actor\", or field = \"<a person field>\"",
                    );
                    None
                }
            },
            "assign" => match (et.str(cx, "to"), et.get("field")) {
                (Some(to), None) if to.value == "actor" => Some(Effect::AssignActor),
                (Some(to), None) if to.value == "none" => Some(Effect::Unassign),
                (None, Some(_)) => field_of(cx, Some("person")).map(Effect::AssignFromField),
                _ => {
                    cx.error(
                        &et.span,
                        "`assign` takes either to = \"actor\" | \"none\", or field = \"<a person field>\"",
                    );
                    None
                }
            },
            "hand_across" => match (et.str(cx, "unit"), et.get("field")) {
                (Some(unit), None) => Some(Effect::HandAcrossTo(unit.value)),
                (None, Some(_)) => field_of(cx, Some("unit")).map(Effect::HandAcrossFromField),
                _ => {
                    cx.error(
                        &et.span,
                        "`hand_across` takes either unit = \"<unit code>\", or field = \"<a unit field>\"",
                    );
                    None
                }
            },
            "set" => {
                let field = field_of(cx, None);
                let value = match et.get("value") {
                    Some(v) => to_json(v.get_ref()),
                    None => {
                        cx.error(&et.span, "`set` needs a `value`");
                        None
                    }
                };
                match (field, value) {
                    (Some(field), Some(value)) => Some(Effect::SetField { field, value }),
                    _ => None,
                }
            }
            other => {
                cx.error(
                    &op.span,
                    format!(
                        "unknown effect `{other}`; expected hand_up, hand_across, assign, hand_intake or set"
                    ),
                );
                None
            }
        };
        effects.extend(effect);
    }
    effects
}

/// Reachability from the initial state, and non-final states with no way out.
fn check_graph(
    cx: &mut Ctx<'_>,
    states: &[State],
    transitions: &[Transition],
    initial: &str,
    spans: &HashMap<String, Span>,
) {
    let final_states: HashSet<&str> = states
        .iter()
        .filter(|s| s.is_final)
        .map(|s| s.id.as_str())
        .collect();
    let successors = |state: &str| -> Vec<&str> {
        transitions
            .iter()
            .filter(|t| match &t.from {
                Some(from) => from.iter().any(|f| f == state),
                None => !final_states.contains(state),
            })
            .map(|t| t.to.as_str())
            .filter(|to| *to != STAY)
            .collect()
    };
    let mut reached = BTreeSet::from([initial]);
    let mut queue = vec![initial];
    while let Some(state) = queue.pop() {
        for next in successors(state) {
            if reached.insert(next) {
                queue.push(next);
            }
        }
    }
    for state in states {
        let span = spans.get(&state.id).cloned().unwrap_or(0..0);
        if !reached.contains(state.id.as_str()) {
            cx.error(
                &span,
                format!(
                    "state `{}` is unreachable from the initial state `{initial}`",
                    state.id
                ),
            );
        }
        if !state.is_final && successors(&state.id).is_empty() {
            cx.error(
                &span,
                format!(
                    "state `{}` has no way out and is not final: add a transition from it, or mark it `final = true`",
                    state.id
                ),
            );
        }
    }
}

/// Maps a (line, column) inside a string value's text to a byte offset in the file, so that
/// an error inside a CEL expression or a numbering pattern points at the right character.
/// Escapes inside a basic string can shift the column by their extra characters.
fn string_content_offset(
    source: &str,
    span: &Span,
    content: &str,
    line: usize,
    column: usize,
) -> usize {
    let raw = source.get(span.start..).unwrap_or("");
    let mut start = span.start
        + if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3 + usize::from(raw[3..].starts_with('\n'))
        } else {
            1
        };
    // Find the byte offset of (line, column) inside the content.
    let mut inner = 0;
    for (i, l) in content.split('\n').enumerate() {
        if i + 1 == line {
            inner += l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(l.len(), |(b, _)| b);
            break;
        }
        inner += l.len() + 1;
    }
    start += inner;
    start.min(span.end.max(span.start))
}

/// Reads the `[[penalty]]` rules (the fine schedule) and checks what they name against the
/// kinds: clocks, choice fields and options, roles, the substantiation field.
fn read_penalties(
    cx: &mut Ctx<'_>,
    root: &Table<'_, '_>,
    role_ids: &HashSet<String>,
    kinds: &[CaseKind],
    conduct: &[crate::conduct::ConductType],
) -> Vec<PenaltyRule> {
    let mut ids = Vec::new();
    let mut rules = Vec::new();
    for pt in root.tables(cx, "penalty") {
        pt.deny_unknown(
            cx,
            &[
                "id",
                "label",
                "violation",
                "amount",
                "per",
                "liable",
                "requires_substantiation",
                "substantiation",
                "discipline_referral",
                "decided_by",
                "appeal_decided_by",
                "stacking",
                "group",
                "clause",
            ],
        );
        let id = pt.req_str(cx, "id");
        if let Some(id) = &id {
            check_identifier(cx, &id.value, &id.span, "penalty");
        }
        let label = pt.req_str(cx, "label");
        let clause = pt.req_str(cx, "clause");
        let violation = pt.req_str(cx, "violation").and_then(|v| {
            let Some(sel) = ViolationSelector::parse(&v.value) else {
                cx.error(
                    &v.span,
                    format!(
                        "`{}` is not a violation; use clock:CLOCK, upheld:FIELD=CODE, record, record:FIELD, repeat, recusal, assist, assist:refused, assist:overdue, dispute or conduct:ID",
                        v.value
                    ),
                );
                return None;
            };
            match &sel {
                ViolationSelector::Clock(c) => {
                    if !kinds.iter().any(|k| k.clocks.iter().any(|r| &r.id == c)) {
                        cx.error(&v.span, format!("no kind declares a clock `{c}`"));
                    }
                }
                ViolationSelector::Upheld { field, code } => {
                    let found = kinds.iter().filter_map(|k| k.field(field)).any(|f| {
                        matches!(&f.field_type, FieldType::Choice { options } | FieldType::MultiChoice { options }
                            if options.iter().any(|o| &o.code == code))
                    });
                    if !found {
                        cx.error(
                            &v.span,
                            format!("no kind has a choice field `{field}` with the option `{code}`"),
                        );
                    }
                }
                ViolationSelector::Conduct(c) => {
                    if !conduct.iter().any(|t| &t.id == c) {
                        cx.error(&v.span, format!("no `[[conduct]]` type `{c}` is declared"));
                    }
                }
                other => super::violations::check_selector(cx, &v.span, other, kinds),
            }
            Some(sel)
        });
        let amount = match pt.get("amount") {
            None => {
                cx.error(
                    &pt.span,
                    "a penalty needs an `amount`: yuan (30, \"12.50\") or a range [50, 1000]",
                );
                None
            }
            Some(v) => read_amount(cx, v),
        };
        let per = match pt.str(cx, "per") {
            None => Some(Per::Instance),
            Some(p) => match p.value.as_str() {
                "instance" => Some(Per::Instance),
                "item" => Some(Per::Item),
                other => {
                    cx.error(&p.span, format!("`per` is instance or item, not `{other}`"));
                    None
                }
            },
        };
        let liable_list = pt
            .str_list(cx, "liable")
            .map(|l| l.value)
            .unwrap_or_default();
        let liable = super::violations::read_liable(cx, &liable_list, role_ids, false);
        let stacking = super::violations::read_stacking(cx, &pt);
        let requires_substantiation = pt.bool(cx, "requires_substantiation").unwrap_or(false);
        let substantiation = pt.table(cx, "substantiation").and_then(|st| {
            st.deny_unknown(cx, &["field", "value"]);
            let field = st.req_str(cx, "field")?;
            if !kinds.iter().any(|k| k.field(&field.value).is_some()) {
                cx.error(&field.span, format!("unknown field `{}`", field.value));
            }
            let Some(value) = st.get("value").and_then(|v| to_json(v.get_ref())) else {
                cx.error(&st.span, "`substantiation` needs a `value`");
                return None;
            };
            Some(Substantiation {
                field: field.value,
                value,
            })
        });
        if requires_substantiation && substantiation.is_none() && pt.get("substantiation").is_none()
        {
            cx.error(
                &pt.span,
                "`requires_substantiation = true` needs `substantiation = { field = \"…\", value = \"…\" }`: how a case records 经调查情况属实",
            );
        }
        let discipline_referral = pt.bool(cx, "discipline_referral").unwrap_or(false);
        let decided_by = match pt.str_list(cx, "decided_by") {
            Some(l) if !l.value.is_empty() => check_roles(cx, &l.value, role_ids, "`decided_by`"),
            Some(l) => {
                cx.error(&l.span, "`decided_by` must name at least one role");
                Vec::new()
            }
            None => {
                cx.error(
                    &pt.span,
                    "a penalty needs `decided_by`: the roles that decide it",
                );
                Vec::new()
            }
        };
        let appeal_decided_by = match pt.str_list(cx, "appeal_decided_by") {
            Some(l) => check_roles(cx, &l.value, role_ids, "`appeal_decided_by`"),
            None => decided_by.clone(),
        };
        if let (
            Some(id),
            Some(label),
            Some(clause),
            Some(violation),
            Some((min_fen, max_fen)),
            Some(per),
        ) = (id, label, clause, violation, amount, per)
        {
            rules.push(PenaltyRule {
                id: id.value.clone(),
                label: label.value,
                violation,
                min_fen,
                max_fen,
                per,
                liable,
                requires_substantiation,
                substantiation,
                discipline_referral,
                decided_by,
                appeal_decided_by,
                stacking,
                clause: clause.value,
            });
            ids.push(id);
        }
    }
    check_unique(cx, "penalty", ids.iter());
    rules
}

/// An amount in yuan — an integer or a string such as `"12.50"` — or a range `[min, max]`,
/// as fen.
pub(super) fn read_amount(cx: &mut Ctx<'_>, v: &toml::Spanned<DeValue<'_>>) -> Option<(i64, i64)> {
    let one = |cx: &mut Ctx<'_>, v: &toml::Spanned<DeValue<'_>>| -> Option<i64> {
        let fen = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .and_then(|y| y.checked_mul(100)),
            DeValue::String(s) => Money::parse(s).ok().map(Money::fen),
            _ => None,
        };
        match fen {
            Some(f) if f >= 0 => Some(f),
            _ => {
                cx.error(
                    &v.span(),
                    "an amount is a non-negative number of yuan: 30 or \"12.50\"",
                );
                None
            }
        }
    };
    match v.get_ref() {
        DeValue::Array(items) => {
            if items.len() != 2 {
                cx.error(&v.span(), "a range is two amounts: [min, max] in yuan");
                return None;
            }
            let (min, max) = (one(cx, &items[0]), one(cx, &items[1]));
            let (min, max) = (min?, max?);
            if min > max {
                cx.error(&v.span(), "the range's minimum is above its maximum");
                return None;
            }
            Some((min, max))
        }
        _ => one(cx, v).map(|f| (f, f)),
    }
}
