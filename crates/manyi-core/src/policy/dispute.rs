//! Reading `[kind.<id>.dispute]` (see `crate::dispute`).

use std::collections::HashSet;

use super::reader::{Ctx, Table};
use crate::calendar::Duration;
use crate::dispute::DisputeRule;

/// The default time to carry a decision out: 第二十一条 gives none; CLAUSES.md A4 reads 及时 as one
/// working day.
const DEFAULT_WITHIN: Duration = Duration::WorkingDays(1);

pub(super) fn read_dispute(
    cx: &mut Ctx<'_>,
    kind: &Table<'_, '_>,
    role_ids: &HashSet<String>,
) -> Option<DisputeRule> {
    let t = kind.table(cx, "dispute")?;
    t.deny_unknown(
        cx,
        &[
            "comply_within",
            "raise_roles",
            "decide_roles",
            "on_decide",
            "clause",
        ],
    );
    let within = match t.str(cx, "comply_within") {
        Some(w) => match w.value.parse::<Duration>() {
            Ok(d) => Some(d),
            Err(e) => {
                cx.error(&w.span, format!("`dispute.comply_within`: {e}"));
                None
            }
        },
        None => Some(DEFAULT_WITHIN),
    };
    let roles = |cx: &mut Ctx<'_>, key: &str| -> Vec<String> {
        match t.str_list(cx, key) {
            Some(list) => {
                if list.value.is_empty() {
                    cx.error(
                        &list.span,
                        format!("`dispute.{key}` must name at least one role"),
                    );
                }
                for r in &list.value {
                    if !role_ids.contains(&r.value) {
                        cx.error(
                            &r.span,
                            format!("unknown role `{}` in `dispute.{key}`", r.value),
                        );
                    }
                }
                list.value.into_iter().map(|r| r.value).collect()
            }
            None => {
                cx.error(
                    &t.span,
                    format!("missing required key `{key}` in `dispute`"),
                );
                Vec::new()
            }
        }
    };
    let restart_on_decide = match t.str(cx, "on_decide") {
        None => false,
        Some(v) if v.value == "keep" => false,
        Some(v) if v.value == "restart" => true,
        Some(v) => {
            cx.error(
                &v.span,
                format!("`dispute.on_decide` is restart or keep, not `{}`", v.value),
            );
            false
        }
    };
    let raise_roles = roles(cx, "raise_roles");
    let decide_roles = roles(cx, "decide_roles");
    let clause = t.req_str(cx, "clause");
    Some(DisputeRule {
        comply_within: within?,
        raise_roles,
        decide_roles,
        restart_on_decide,
        clause: clause?.value,
    })
}
