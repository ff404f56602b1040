//! Reading `[kind.<id>.callback]` (回访): which states open a callback, who may do it and waive
//! it, which states wait for it, what a dissatisfied verdict does, and its time limit, which
//! becomes an ordinary clock (id `callback`) so that it warns and breaches like the others.

use jiff::SignedDuration;

use super::State;
use super::load::{Names, check_roles, read_breach};
use super::reader::{Ctx, Table};
use crate::calendar::Duration;
use crate::callback::{CLOCK_ID, CallbackRule, OnDissatisfied};
use crate::deadlines::{ClockRule, Limit, Trigger, Warn};

/// Reads the kind's callback section, if any; its limit is appended to `clocks`.
pub(super) fn read(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    kind_id: &str,
    names: &Names<'_>,
    states: &[State],
    clocks: &mut Vec<ClockRule>,
) -> Option<CallbackRule> {
    let ct = t.table(cx, "callback")?;
    ct.deny_unknown(
        cx,
        &[
            "label",
            "clause",
            "after",
            "roles",
            "close",
            "waive_roles",
            "waive_clause",
            "channels",
            "on_dissatisfied",
            "also_subject",
            "limit",
            "warn_at",
            "warn_before",
            "breach",
        ],
    );
    let label = ct
        .str(cx, "label")
        .map_or_else(|| "回访".to_owned(), |l| l.value);
    let clause = ct.req_str(cx, "clause");
    let state_list = |cx: &mut Ctx<'_>, key: &str, required: bool| -> Vec<String> {
        let Some(list) = ct.str_list(cx, key) else {
            if required {
                cx.error(
                    &ct.span,
                    format!("`kind.{kind_id}.callback` needs `{key}` (a list of states)"),
                );
            }
            return Vec::new();
        };
        if required && list.value.is_empty() {
            cx.error(&list.span, format!("`{key}` must name at least one state"));
        }
        for s in &list.value {
            if !names.states.contains(s.value.as_str()) {
                cx.error(
                    &s.span,
                    format!("unknown state `{}` in callback `{key}`", s.value),
                );
            }
        }
        list.value.into_iter().map(|s| s.value).collect()
    };
    let after = state_list(cx, "after", true);
    let close = state_list(cx, "close", false);
    let role_list = |cx: &mut Ctx<'_>, key: &str| -> Option<Vec<String>> {
        let list = ct.str_list(cx, key)?;
        if list.value.is_empty() {
            cx.error(&list.span, format!("`{key}` must name at least one role"));
        }
        Some(check_roles(
            cx,
            &list.value,
            names.roles,
            &format!("callback `{key}`"),
        ))
    };
    let roles = role_list(cx, "roles").unwrap_or_else(|| {
        cx.error(
            &ct.span,
            format!("`kind.{kind_id}.callback` needs `roles`: who may call back"),
        );
        Vec::new()
    });
    let waive_roles = role_list(cx, "waive_roles").unwrap_or_default();
    let waive_clause = ct.str(cx, "waive_clause").map(|c| c.value);
    let channels = ct
        .str_list(cx, "channels")
        .map(|l| l.value.into_iter().map(|c| c.value).collect())
        .unwrap_or_default();
    let also_subject = ct.bool(cx, "also_subject").unwrap_or(false);

    let on_dissatisfied = match ct.table(cx, "on_dissatisfied") {
        None => OnDissatisfied::Record,
        Some(ot) => {
            ot.deny_unknown(cx, &["op", "to"]);
            let to = ot.str(cx, "to");
            if let Some(to) = &to {
                match states.iter().find(|s| s.id == to.value) {
                    None => cx.error(
                        &to.span,
                        format!("unknown state `{}` in `on_dissatisfied`", to.value),
                    ),
                    Some(s) if s.is_final || close.contains(&s.id) => cx.error(
                        &to.span,
                        format!(
                            "`on_dissatisfied` sends the case back to `{}`, which closes it",
                            to.value
                        ),
                    ),
                    Some(_) => {}
                }
            }
            match (ot.req_str(cx, "op"), to) {
                (Some(op), to) if op.value == "record" => {
                    if let Some(to) = to {
                        cx.error(&to.span, "`op = \"record\"` takes no `to`");
                    }
                    OnDissatisfied::Record
                }
                (Some(op), Some(to)) if op.value == "reopen" => {
                    OnDissatisfied::Reopen { to: to.value }
                }
                (Some(op), Some(to)) if op.value == "hand_up" => {
                    OnDissatisfied::HandUp { to: to.value }
                }
                (Some(op), None) if op.value == "reopen" || op.value == "hand_up" => {
                    cx.error(
                        &ot.span,
                        format!("`on_dissatisfied` `{}` needs `to` (a state)", op.value),
                    );
                    OnDissatisfied::Record
                }
                (Some(op), _) => {
                    cx.error(
                        &op.span,
                        format!(
                            "unknown `on_dissatisfied` op `{}`; expected reopen, hand_up or record",
                            op.value
                        ),
                    );
                    OnDissatisfied::Record
                }
                (None, _) => OnDissatisfied::Record,
            }
        }
    };

    // The time limit, as a clock: it starts when an `after` state is entered and stops when
    // the callback is done or waived.
    let limit = ct.str(cx, "limit").and_then(|text| {
        text.value
            .parse::<Duration>()
            .map_err(|e| cx.error(&text.span, e))
            .ok()
    });
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
        (None, Some(b)) => match b.value.parse::<Duration>() {
            Ok(Duration::Hours(h)) => Some(Warn::Before(SignedDuration::from_hours(h.into()))),
            Ok(Duration::Minutes(m)) => Some(Warn::Before(SignedDuration::from_mins(m.into()))),
            _ => {
                cx.error(&b.span, "`warn_before` is a number of hours or minutes");
                None
            }
        },
        (Some(_), Some(_)) => {
            cx.error(&ct.span, "give either `warn_at` or `warn_before`, not both");
            None
        }
        (None, None) => None,
    };
    let breach = read_breach(cx, &ct, names, CLOCK_ID);
    if limit.is_none() && (warn.is_some() || !breach.is_empty()) {
        cx.error(
            &ct.span,
            "a callback `warn_at`/`warn_before`/`breach` needs a `limit` (e.g. \"3 workdays\")",
        );
    }
    let clause = clause?.value;
    if let Some(limit) = limit {
        if let Some(other) = clocks.iter().find(|c| c.id == CLOCK_ID) {
            cx.error(
                &ct.span,
                format!(
                    "the callback's limit is the clock `{CLOCK_ID}`, but `kind.{kind_id}` already declares a clock `{}`",
                    other.id
                ),
            );
        }
        clocks.push(ClockRule {
            id: CLOCK_ID.to_owned(),
            label: format!("{label}时限"),
            clause: clause.clone(),
            start: after.iter().map(|s| Trigger::Enter(s.clone())).collect(),
            stop: vec![Trigger::Action("callback_done".into())],
            pause: Vec::new(),
            resume: Vec::new(),
            limit: Limit::Fixed(limit),
            restart_on_hand_up: false,
            hand_up_clause: clause.clone(),
            warn,
            breach,
        });
    }
    Some(CallbackRule {
        label,
        waive_clause: waive_clause.unwrap_or_else(|| clause.clone()),
        clause,
        after,
        roles,
        close,
        waive_roles,
        channels,
        on_dissatisfied,
        also_subject,
        has_clock: limit.is_some(),
    })
}
