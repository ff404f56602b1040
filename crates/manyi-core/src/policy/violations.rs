//! Reading and checking the policy sections of `crate::violations` and `crate::soft`: the
//! validity gate, record completeness and repeat complaints of a kind; soft guards on
//! transitions; how penalties stack; the new violation selectors. Every problem is a
//! diagnostic at its place in the file, like the rest of the loader.

use std::collections::{HashMap, HashSet};

use super::reader::{At, Ctx, Table};
use super::{CaseKind, FieldType, Span, State};
use crate::deadlines::Liable;
use crate::penalties::{Stacking, ViolationSelector};
use crate::soft::SoftRule;
use crate::violations::{KindChecks, RecordRule, RepeatRule, ValidityGate};

/// Reads `liable = [...]`: first_contact, assignee, role:ROLE, parent_role:ROLE (and
/// owner_unit where a unit may answer).
pub(super) fn read_liable(
    cx: &mut Ctx<'_>,
    list: &[At<String>],
    role_ids: &HashSet<String>,
    units_allowed: bool,
) -> Vec<Liable> {
    list.iter()
        .filter_map(|l| match Liable::parse(&l.value) {
            Some(Liable::Role(r) | Liable::ParentRole(r)) if !role_ids.contains(&r) => {
                cx.error(&l.span, format!("unknown role `{r}` in `liable`"));
                None
            }
            Some(Liable::OwnerUnit) if !units_allowed => {
                cx.error(
                    &l.span,
                    "a penalty falls on persons: liable is first_contact, assignee, role:ROLE or parent_role:ROLE",
                );
                None
            }
            Some(parsed) => Some(parsed),
            None => {
                cx.error(
                    &l.span,
                    format!(
                        "`{}`: liable is first_contact, assignee, owner_unit, role:ROLE or parent_role:ROLE",
                        l.value
                    ),
                );
                None
            }
        })
        .collect()
}

fn check_field<'f>(
    cx: &mut Ctx<'_>,
    f: &At<String>,
    fields: &HashMap<&str, &'f FieldType>,
    what: &str,
) -> Option<&'f FieldType> {
    let found = fields.get(f.value.as_str()).copied();
    if found.is_none() {
        cx.error(&f.span, format!("unknown field `{}` in {what}", f.value));
    }
    found
}

/// The kind-level rules: `validity`, `record_completeness`, `repeat_complaint`.
pub(super) fn read_checks(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    fields: &HashMap<&str, &FieldType>,
    states: &[State],
    role_ids: &HashSet<String>,
) -> KindChecks {
    KindChecks {
        validity: t
            .table(cx, "validity")
            .and_then(|v| read_validity(cx, &v, fields, states)),
        record: t
            .table(cx, "record_completeness")
            .and_then(|r| read_record(cx, &r, fields, states, role_ids)),
        repeat: t
            .table(cx, "repeat_complaint")
            .and_then(|r| read_repeat(cx, &r, fields, role_ids)),
    }
}

fn read_validity(
    cx: &mut Ctx<'_>,
    v: &Table<'_, '_>,
    fields: &HashMap<&str, &FieldType>,
    states: &[State],
) -> Option<ValidityGate> {
    v.deny_unknown(
        cx,
        &[
            "field",
            "invalid",
            "reason_field",
            "explanation_field",
            "invalid_state",
            "clause",
        ],
    );
    let field = v.req_str(cx, "field");
    let invalid = v
        .str(cx, "invalid")
        .map_or_else(|| "invalid".to_owned(), |a| a.value);
    if let Some(f) = &field {
        match check_field(cx, f, fields, "`validity.field`") {
            Some(FieldType::Choice { options }) if !options.iter().any(|o| o.code == invalid) => {
                cx.error(
                    &f.span,
                    format!(
                        "the choice field `{}` has no option `{invalid}` (the invalid judgement)",
                        f.value
                    ),
                );
            }
            Some(FieldType::Choice { .. }) => {}
            Some(other) => cx.error(
                &f.span,
                format!(
                    "`validity.field` `{}` must be a choice field, not {}",
                    f.value,
                    other.keyword()
                ),
            ),
            None => {}
        }
    }
    let reason = v.req_str(cx, "reason_field");
    let explanation = v.req_str(cx, "explanation_field");
    for f in [&reason, &explanation].into_iter().flatten() {
        check_field(cx, f, fields, "`validity`");
    }
    let state = v.req_str(cx, "invalid_state");
    if let Some(s) = &state {
        match states.iter().find(|st| st.id == s.value) {
            Some(st) if !st.is_final => cx.error(
                &s.span,
                format!(
                    "`invalid_state` `{}` must be a final state: an invalid complaint is closed",
                    s.value
                ),
            ),
            Some(_) => {}
            None => cx.error(
                &s.span,
                format!("unknown state `{}` in `invalid_state`", s.value),
            ),
        }
    }
    let clause = v.req_str(cx, "clause");
    Some(ValidityGate {
        field: field?.value,
        invalid,
        reason_field: reason?.value,
        explanation_field: explanation?.value,
        invalid_state: state?.value,
        clause: clause?.value,
    })
}

fn read_record(
    cx: &mut Ctx<'_>,
    r: &Table<'_, '_>,
    fields: &HashMap<&str, &FieldType>,
    states: &[State],
    role_ids: &HashSet<String>,
) -> Option<RecordRule> {
    r.deny_unknown(cx, &["fields", "states", "liable", "clause"]);
    let list = match r.str_list(cx, "fields") {
        Some(l) if !l.value.is_empty() => l.value,
        Some(l) => {
            cx.error(
                &l.span,
                "`record_completeness.fields` must name at least one field",
            );
            Vec::new()
        }
        None => {
            cx.error(&r.span, "missing required key `fields` in `record_completeness`: the record fields to fill by closing");
            Vec::new()
        }
    };
    for f in &list {
        check_field(cx, f, fields, "`record_completeness.fields`");
    }
    let at: Vec<At<String>> = r
        .str_list(cx, "states")
        .map(|l| l.value)
        .unwrap_or_default();
    for s in &at {
        match states.iter().find(|st| st.id == s.value) {
            Some(st) if st.is_final => {}
            Some(_) => cx.error(
                &s.span,
                format!(
                    "`{}` is not a final state: completeness is checked at closing",
                    s.value
                ),
            ),
            None => cx.error(
                &s.span,
                format!(
                    "unknown state `{}` in `record_completeness.states`",
                    s.value
                ),
            ),
        }
    }
    let liable_list = r.str_list(cx, "liable").map(|l| l.value);
    let liable = match &liable_list {
        Some(l) => read_liable(cx, l, role_ids, true),
        None => vec![Liable::FirstContact],
    };
    let clause = r.req_str(cx, "clause")?;
    Some(RecordRule {
        fields: list.into_iter().map(|f| f.value).collect(),
        states: at.into_iter().map(|s| s.value).collect(),
        liable,
        clause: clause.value,
    })
}

fn read_repeat(
    cx: &mut Ctx<'_>,
    r: &Table<'_, '_>,
    fields: &HashMap<&str, &FieldType>,
    role_ids: &HashSet<String>,
) -> Option<RepeatRule> {
    r.deny_unknown(cx, &["key", "liable", "clause"]);
    let key = match r.str_list(cx, "key") {
        Some(l) if !l.value.is_empty() => l.value,
        Some(l) => {
            cx.error(
                &l.span,
                "`repeat_complaint.key` must name at least one field",
            );
            Vec::new()
        }
        None => {
            cx.error(&r.span, "missing required key `key` in `repeat_complaint`: the fields that make two complaints the same matter (e.g. [\"customer_phone\", \"category\"])");
            Vec::new()
        }
    };
    for f in &key {
        check_field(cx, f, fields, "`repeat_complaint.key`");
    }
    let liable = match r.str_list(cx, "liable") {
        Some(l) => read_liable(cx, &l.value, role_ids, true),
        None => vec![Liable::FirstContact],
    };
    let clause = r.req_str(cx, "clause")?;
    if key.is_empty() {
        return None;
    }
    Some(RepeatRule {
        key: key.into_iter().map(|f| f.value).collect(),
        liable,
        clause: clause.value,
    })
}

/// `soft = true`, `soft_requires = [...]` and `override_by = [...]` on a transition.
pub(super) fn read_soft(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    has_condition: bool,
    requires: &[At<String>],
    role_ids: &HashSet<String>,
) -> Option<SoftRule> {
    let soft = t.bool(cx, "soft").unwrap_or(false);
    let soft_requires: Vec<At<String>> = t
        .str_list(cx, "soft_requires")
        .map(|l| l.value)
        .unwrap_or_default();
    for f in &soft_requires {
        if !requires.iter().any(|r| r.value == f.value) {
            cx.error(
                &f.span,
                format!(
                    "`soft_requires` names `{}`, which is not in this transition's `requires`",
                    f.value
                ),
            );
        }
    }
    let override_by = t.str_list(cx, "override_by");
    if !soft && soft_requires.is_empty() {
        if let Some(l) = &override_by {
            cx.error(
                &l.span,
                "`override_by` is only for a soft rule: add `soft = true` or `soft_requires`",
            );
        }
        return None;
    }
    if soft && !has_condition && t.get("when").is_none() {
        cx.error(
            &t.span,
            "`soft = true` makes the `when` condition a 原则上 rule: add a `when`",
        );
    }
    let roles = match override_by {
        Some(l) if !l.value.is_empty() => {
            for r in &l.value {
                if r.value != "*" && !role_ids.contains(&r.value) {
                    cx.error(
                        &r.span,
                        format!("unknown role `{}` in `override_by`", r.value),
                    );
                }
            }
            l.value.into_iter().map(|r| r.value).collect()
        }
        Some(l) => {
            cx.error(&l.span, "`override_by` must name at least one role");
            Vec::new()
        }
        None => {
            cx.error(
                &t.span,
                "a soft rule needs `override_by`: the roles that may override it with a reason",
            );
            Vec::new()
        }
    };
    Some(SoftRule {
        override_by: roles,
        when: soft,
        requires: soft_requires.into_iter().map(|f| f.value).collect(),
    })
}

/// `stacking = "stack"` (default) or `"highest"` with `group = "…"` (CLAUSES.md A22).
pub(super) fn read_stacking(cx: &mut Ctx<'_>, pt: &Table<'_, '_>) -> Stacking {
    let group = pt.str(cx, "group");
    match pt.str(cx, "stacking") {
        None => {
            if let Some(g) = &group {
                cx.error(
                    &g.span,
                    "`group` is for `stacking = \"highest\"`: tiers of one sentence",
                );
            }
            Stacking::Stack
        }
        Some(s) => {
            match s.value.as_str() {
                "stack" => Stacking::Stack,
                "highest" => match group {
                    Some(g) if !g.value.trim().is_empty() => Stacking::Highest { group: g.value },
                    _ => {
                        cx.error(&s.span, "`stacking = \"highest\"` needs `group`: the tiers that replace each other");
                        Stacking::Stack
                    }
                },
                other => {
                    cx.error(
                        &s.span,
                        format!("`stacking` is stack or highest, not `{other}`"),
                    );
                    Stacking::Stack
                }
            }
        }
    }
}

/// Checks a `record`, `repeat` or `recusal` selector against the kinds.
pub(super) fn check_selector(
    cx: &mut Ctx<'_>,
    span: &Span,
    sel: &ViolationSelector,
    kinds: &[CaseKind],
) {
    match sel {
        ViolationSelector::Record(field) => {
            let ok = kinds
                .iter()
                .filter_map(|k| k.checks.record.as_ref())
                .any(|r| field.as_ref().is_none_or(|f| r.fields.contains(f)));
            if !ok {
                cx.error(
                    span,
                    match field {
                        Some(f) => format!("no kind's `record_completeness` lists the field `{f}`"),
                        None => "no kind declares `record_completeness`".to_owned(),
                    },
                );
            }
        }
        ViolationSelector::Repeat => {
            if !kinds.iter().any(|k| k.checks.repeat.is_some()) {
                cx.error(span, "no kind declares `repeat_complaint`");
            }
        }
        ViolationSelector::Recusal => {
            if !kinds.iter().any(|k| k.subject_field.is_some()) {
                cx.error(span, "no kind declares a `subject_field` (回避)");
            }
        }
        ViolationSelector::Assist(_) => {
            if !kinds.iter().any(|k| k.assist.is_some()) {
                cx.error(
                    span,
                    "no kind declares `[kind.<id>.assist]` (assistance between units)",
                );
            }
        }
        ViolationSelector::Dispute => {
            if !kinds.iter().any(|k| k.dispute.is_some()) {
                cx.error(
                    span,
                    "no kind declares `[kind.<id>.dispute]` (disputes between units)",
                );
            }
        }
        // Checked against the `[[conduct]]` types by the caller.
        ViolationSelector::Clock(_)
        | ViolationSelector::Upheld { .. }
        | ViolationSelector::Conduct(_) => {}
    }
}

/// The `[[reward]]` rules (ccb-counter 第三十二条).
pub(super) fn read_rewards(
    cx: &mut Ctx<'_>,
    root: &Table<'_, '_>,
    role_ids: &HashSet<String>,
) -> Vec<crate::rewards::RewardRule> {
    use crate::rewards::{Recipient, RewardRule};
    let mut ids = Vec::new();
    let mut rules = Vec::new();
    for rt in root.tables(cx, "reward") {
        rt.deny_unknown(
            cx,
            &[
                "id",
                "label",
                "recipient",
                "period",
                "amount",
                "proposed_by",
                "decided_by",
                "clause",
            ],
        );
        let id = rt.req_str(cx, "id");
        let label = rt.req_str(cx, "label");
        let clause = rt.req_str(cx, "clause");
        let recipient = match rt.req_str(cx, "recipient") {
            Some(r) => {
                match r.value.as_str() {
                    "person" => Some(Recipient::Person),
                    "unit" => Some(Recipient::Unit),
                    other => {
                        cx.error(
                        &r.span,
                        format!("`recipient` is person (先进工作者) or unit (先进集体), not `{other}`"),
                    );
                        None
                    }
                }
            }
            None => None,
        };
        if let Some(p) = rt.str(cx, "period")
            && p.value != "yearly"
        {
            cx.error(
                &p.span,
                format!(
                    "`period` is yearly (the only period so far), not `{}`",
                    p.value
                ),
            );
        }
        let amount = match rt.get("amount") {
            Some(v) => super::load::read_amount(cx, v),
            None => Some((0, 0)),
        };
        let mut roles = |key: &str| match rt.str_list(cx, key) {
            Some(l) if !l.value.is_empty() => {
                for r in &l.value {
                    if !role_ids.contains(&r.value) {
                        cx.error(&r.span, format!("unknown role `{}` in `{key}`", r.value));
                    }
                }
                l.value.into_iter().map(|r| r.value).collect()
            }
            _ => {
                cx.error(
                    &rt.span,
                    format!("a reward needs `{key}`: at least one role"),
                );
                Vec::new()
            }
        };
        let proposed_by = roles("proposed_by");
        let decided_by = roles("decided_by");
        if let (Some(id), Some(label), Some(clause), Some(recipient), Some((min_fen, max_fen))) =
            (id, label, clause, recipient, amount)
        {
            rules.push(RewardRule {
                id: id.value.clone(),
                label: label.value,
                recipient,
                min_fen,
                max_fen,
                proposed_by,
                decided_by,
                clause: clause.value,
            });
            ids.push(id);
        }
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].iter().any(|x| x.value == id.value) {
            cx.error(&id.span, format!("duplicate reward `{}`", id.value));
        }
    }
    rules
}
