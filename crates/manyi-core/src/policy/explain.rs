//! The compliance matrix (`manyi policy explain`): for each clause of the regulation, what in
//! the policy enforces it. Principle 1 of the product: every rule has a source clause, and an
//! organisation can see which clauses its system enforces.

use std::fmt::Write;

use serde::Serialize;

use super::{Effect, Policy};

/// One line of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceRow {
    pub clause: String,
    /// What carries the clause, e.g. `complaint / transition hand_up`.
    pub element: String,
    /// How it is enforced, in plain words.
    pub enforcement: String,
}

/// Every clause the policy cites, in the regulation's order, with what enforces it.
pub fn compliance_matrix(policy: &Policy) -> Vec<ComplianceRow> {
    let mut rows = Vec::new();
    let mut push = |clause: &Option<String>, element: String, enforcement: String| {
        if let Some(clause) = clause {
            rows.push(ComplianceRow {
                clause: clause.clone(),
                element,
                enforcement,
            });
        }
    };
    for level in &policy.levels {
        push(
            &level.clause,
            format!("level {}", level.id),
            format!("organisation level {}", level.label),
        );
    }
    for role in &policy.roles {
        push(
            &role.clause,
            format!("role {}", role.id),
            format!("role {}", role.label),
        );
    }
    for kind in &policy.kinds {
        push(
            &kind.clause,
            format!("{} (kind)", kind.id),
            format!(
                "case kind {}; registered by {} who becomes first-contact owner",
                kind.label,
                kind.create_roles.join("/")
            ),
        );
        push(
            &kind.numbering.clause,
            format!("{} numbering", kind.id),
            format!(
                "numbers `{}`, serial reset {}, unique and gap-free",
                kind.numbering.pattern(),
                match kind.numbering.reset() {
                    crate::numbering::Reset::Never => "never",
                    crate::numbering::Reset::Yearly => "yearly",
                    crate::numbering::Reset::Monthly => "monthly",
                    crate::numbering::Reset::Daily => "daily",
                }
            ),
        );
        for field in &kind.fields {
            let required = if field.required {
                "required at registration"
            } else {
                "optional"
            };
            push(
                &field.clause,
                format!("{} / field {}", kind.id, field.id),
                format!(
                    "field {} ({}), {required}",
                    field.label,
                    field.field_type.keyword()
                ),
            );
        }
        for state in &kind.states {
            let mut how = format!("state {}", state.label);
            if !state.requires.is_empty() {
                let _ = write!(how, "; requires {}", state.requires.join(", "));
            }
            push(
                &state.clause,
                format!("{} / state {}", kind.id, state.id),
                how,
            );
        }
        for c in &kind.clocks {
            let limit = match &c.limit {
                crate::deadlines::Limit::Fixed(d) => d.to_string(),
                crate::deadlines::Limit::ByLevel(t) => t
                    .iter()
                    .map(|(level, d)| format!("{level} {d}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let mut how = format!("time limit {} ({limit})", c.label);
            if c.restart_on_hand_up {
                let _ = write!(
                    how,
                    "; restarts at the new level on hand-up ({})",
                    c.hand_up_clause
                );
            }
            for b in &c.breach {
                let _ = write!(
                    how,
                    "; on breach: {}",
                    match b {
                        crate::deadlines::BreachAction::Violation { .. } =>
                            "records a violation".to_owned(),
                        crate::deadlines::BreachAction::Notify { roles } =>
                            format!("notifies {}", roles.join("/")),
                        crate::deadlines::BreachAction::HandUp => "hands up".to_owned(),
                        crate::deadlines::BreachAction::SetField { field, value } =>
                            format!("sets {field} = {value}"),
                    }
                );
            }
            push(
                &Some(c.clause.clone()),
                format!("{} / clock {}", kind.id, c.id),
                how,
            );
        }
        for t in &kind.transitions {
            let from = t
                .from
                .as_ref()
                .map_or_else(|| "any open state".to_owned(), |f| f.join("|"));
            let mut how = format!("{from} → {} by {}", t.to, t.roles.join("/"));
            if t.first_contact_only {
                how.push_str(" (first-contact owner only)");
            }
            if t.handler_only {
                how.push_str(" (handler only)");
            }
            if !t.requires.is_empty() {
                let _ = write!(how, "; requires {}", t.requires.join(", "));
            }
            if let Some(c) = &t.condition {
                let _ = write!(how, "; when {}", c.source());
            }
            if let Some(soft) = &t.soft {
                let _ = write!(
                    how,
                    " (原则上: a soft rule; {} may override it with a reason)",
                    soft.override_by.join("/")
                );
            }
            for e in &t.effects {
                let _ = write!(
                    how,
                    "; {}",
                    match e {
                        Effect::AssignActor => "assigns the actor".to_owned(),
                        Effect::AssignFromField(f) => format!("assigns the person in {f}"),
                        Effect::Unassign => "clears the assignee".to_owned(),
                        Effect::HandIntakeToActor => {
                            "hands the intake ownership to the actor".to_owned()
                        }
                        Effect::HandIntakeFromField(f) => {
                            format!("hands the intake ownership to the person in {f}")
                        }
                        Effect::HandUp => "hands up to the parent unit".to_owned(),
                        Effect::HandAcrossFromField(f) =>
                            format!("hands across to the unit in {f}"),
                        Effect::HandAcrossTo(u) => format!("hands across to unit {u}"),
                        Effect::SetField { field, value } => format!("sets {field} = {value}"),
                    }
                );
            }
            push(
                &Some(t.clause.clone()),
                format!("{} / transition {}", kind.id, t.id),
                how,
            );
        }
        if let Some(g) = &kind.checks.validity {
            push(
                &Some(g.clause.clone()),
                format!("{} validity", kind.id),
                format!(
                    "validity gate: {} = {} needs {} and {} (the explanation to the customer, \
                     queued as a notice) and closes in {}",
                    g.field, g.invalid, g.reason_field, g.explanation_field, g.invalid_state
                ),
            );
        }
        if let Some(r) = &kind.checks.record {
            push(
                &Some(r.clause.clone()),
                format!("{} record completeness", kind.id),
                format!(
                    "at closing, each empty field of {} records a violation (record:FIELD)",
                    r.fields.join(", ")
                ),
            );
        }
        if let Some(r) = &kind.checks.repeat {
            push(
                &Some(r.clause.clone()),
                format!("{} repeat complaint", kind.id),
                format!(
                    "a new case with the same {} as an open case records a violation (repeat) \
                     on the open case",
                    r.key.join(" + ")
                ),
            );
        }
        if let Some(subject) = &kind.subject_field {
            push(
                &Some(kind.recusal_clause.clone()),
                format!("{} recusal", kind.id),
                format!(
                    "回避: the person in {subject} takes no action on the case and is never \
                     assigned to it; an attempt is logged as a violation (recusal)"
                ),
            );
        }
        for (clause, element, how) in crate::callback::explain(kind)
            .into_iter()
            .chain(crate::survey::explain(kind))
        {
            push(&Some(clause), element, how);
        }
        if let Some(a) = &kind.assist {
            push(
                &Some(a.clause.clone()),
                format!("{} assist", kind.id),
                format!(
                    "协助: {} of the owning unit ask another unit for help, answered within {} by its {}; \
                     ownership stays; a refusal (with a reason) or a missed deadline is a violation against the requested unit",
                    a.request_roles.join("/"),
                    a.within,
                    a.answer_roles.join("/")
                ),
            );
        }
        if let Some(d) = &kind.dispute {
            push(
                &Some(d.clause.clone()),
                format!("{} dispute", kind.id),
                format!(
                    "争议: raised by {} of a party; decided by {} of the two units' lowest common superior; \
                     binds both (may move ownership, may order a party to act within {}); not carried out in time is a violation",
                    d.raise_roles.join("/"),
                    d.decide_roles.join("/"),
                    d.comply_within
                ),
            );
        }
        if let Some(a) = &kind.archive {
            push(
                &Some(a.clause.clone()),
                format!("{} archive", kind.id),
                crate::archive::explain(a),
            );
        }
    }
    for l in &policy.codelists {
        push(
            &l.clause,
            format!("codelist {} v{}", l.id, l.version),
            format!(
                "分类代码表 {}: {} codes, {} levels; code fields accept only these",
                l.label,
                l.codes.len(),
                l.depth()
            ),
        );
    }
    for c in &policy.conduct {
        push(
            &Some(c.clause.clone()),
            format!("conduct {}", c.id),
            format!(
                "conduct {} recorded against a person by {} (never against oneself), with a description; a violation conduct:{}",
                c.label,
                c.recorded_by.join("/"),
                c.id
            ),
        );
    }
    for p in &policy.penalties {
        let mut how = format!(
            "penalty {}: {} per {} on {}",
            p.label,
            p.amount_text(),
            match p.per {
                crate::penalties::Per::Instance => "instance",
                crate::penalties::Per::Item => "item",
            },
            p.violation
        );
        if p.is_range() {
            how.push_str("; amount decided within the range with a reason");
        }
        let _ = write!(how, "; decided by {}", p.decided_by.join("/"));
        if p.requires_substantiation {
            how.push_str("; only if substantiated (经调查情况属实)");
        }
        if let crate::penalties::Stacking::Highest { group } = &p.stacking {
            let _ = write!(
                how,
                "; tiers of group {group} replace each other (the highest applies, A22)"
            );
        }
        if p.discipline_referral {
            how.push_str("; disciplinary referral");
        }
        let _ = write!(
            how,
            "; one appeal, decided by {}",
            p.appeal_decided_by.join("/")
        );
        push(&Some(p.clause.clone()), format!("penalty {}", p.id), how);
    }
    for r in &policy.rewards {
        push(
            &Some(r.clause.clone()),
            format!("reward {}", r.id),
            format!(
                "reward {} to a {} per year, {}; proposed by {}, decided by {} with a reason",
                r.label,
                r.recipient.as_str(),
                r.amount_text(),
                r.proposed_by.join("/"),
                r.decided_by.join("/")
            ),
        );
    }
    // Stable sort: within a clause, rows keep their order in the file.
    rows.sort_by_key(|r| clause_order(&r.clause));
    rows
}

/// The matrix as an aligned text table.
pub fn render_matrix(policy: &Policy, rows: &[ComplianceRow]) -> String {
    let mut out = format!("{} — {}\n", policy.id, policy.title);
    if let Some(r) = &policy.regulation {
        let _ = writeln!(out, "regulation: {r}");
    }
    let _ = writeln!(out, "{} rules cite {} clauses\n", rows.len(), {
        let mut clauses: Vec<&str> = rows.iter().map(|r| r.clause.as_str()).collect();
        clauses.dedup();
        clauses.len()
    });
    let mut last = "";
    for row in rows {
        let clause = if row.clause == last { "" } else { &row.clause };
        last = &row.clause;
        let _ = writeln!(
            out,
            "{}  {}  {}",
            pad(clause, 14),
            pad(&row.element, 44),
            row.enforcement
        );
    }
    out
}

/// Pads to a terminal width, counting CJK characters as two columns so tables line up.
fn pad(s: &str, width: usize) -> String {
    let used: usize = s
        .chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(used)))
}

/// Sort key for clause references: `第十九条` sorts by 19, `第十九条第二款` after it; anything
/// else (e.g. `4.1.2`) by its numbers; unparseable text last, alphabetically.
fn clause_order(clause: &str) -> (String, Vec<u64>, String) {
    let mut numbers = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, numbers: &mut Vec<u64>| {
        if !current.is_empty() {
            if let Some(n) = chinese_number(current) {
                numbers.push(n);
            } else if let Ok(n) = current.parse() {
                numbers.push(n);
            }
            current.clear();
        }
    };
    for c in clause.chars() {
        if c.is_ascii_digit()
            || "零〇一二两俩三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰".contains(c)
        {
            current.push(c);
        } else {
            flush(&mut current, &mut numbers);
        }
    }
    flush(&mut current, &mut numbers);
    if numbers.is_empty() {
        numbers.push(u64::MAX);
    }
    // Group by the words before the first number ("第", "ISO ", "CLAUSES A"), so that clauses
    // of one source stay together, then order by number.
    let prefix: String = clause
        .chars()
        .take_while(|c| !c.is_ascii_digit() && !"一二三四五六七八九十壹俩两".contains(*c))
        .collect();
    (prefix, numbers, clause.to_owned())
}

/// Parses a Chinese numeral up to the thousands (十九 → 19, 二十三 → 23, 一百零五 → 105),
/// including the financial forms the seed's rewritten text uses (壹, 俩).
fn chinese_number(s: &str) -> Option<u64> {
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let digit = |c: char| -> Option<u64> {
        Some(match c {
            '零' | '〇' => 0,
            '一' | '壹' => 1,
            '二' | '两' | '俩' | '贰' => 2,
            '三' | '叁' => 3,
            '四' | '肆' => 4,
            '五' | '伍' => 5,
            '六' | '陆' => 6,
            '七' | '柒' => 7,
            '八' | '捌' => 8,
            '九' | '玖' => 9,
            _ => return None,
        })
    };
    let (mut total, mut pending) = (0u64, None::<u64>);
    for c in s.chars() {
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' => 1000,
            _ => {
                pending = Some(digit(c)?);
                continue;
            }
        };
        total += pending.take().unwrap_or(1) * unit;
    }
    Some(total + pending.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_clause_numbers_sort_numerically() {
        assert_eq!(chinese_number("十九"), Some(19));
        assert_eq!(chinese_number("二十三"), Some(23));
        assert_eq!(chinese_number("壹"), Some(1));
        assert_eq!(chinese_number("一百零五"), Some(105));
        let mut clauses = vec!["第二十条", "第十九条", "第十七条", "第九条"];
        clauses.sort_by_key(|c| clause_order(c));
        assert_eq!(clauses, ["第九条", "第十七条", "第十九条", "第二十条"]);
    }
}
