//! Reading `[kind.<id>.assist]` (see `crate::assist`).

use std::collections::HashSet;

use super::reader::{Ctx, Table};
use crate::assist::AssistRule;
use crate::calendar::Duration;

/// The default time to answer: ccb 第二十条 says only 及时; CLAUSES.md A4 reads it as one
/// working day.
const DEFAULT_WITHIN: Duration = Duration::WorkingDays(1);

pub(super) fn read_assist(
    cx: &mut Ctx<'_>,
    kind: &Table<'_, '_>,
    role_ids: &HashSet<String>,
) -> Option<AssistRule> {
    let t = kind.table(cx, "assist")?;
    t.deny_unknown(cx, &["within", "request_roles", "answer_roles", "clause"]);
    let within = match t.str(cx, "within") {
        Some(w) => match w.value.parse::<Duration>() {
            Ok(d) => Some(d),
            Err(e) => {
                cx.error(&w.span, format!("`assist.within`: {e}"));
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
                        format!("`assist.{key}` must name at least one role"),
                    );
                }
                for r in &list.value {
                    if !role_ids.contains(&r.value) {
                        cx.error(
                            &r.span,
                            format!("unknown role `{}` in `assist.{key}`", r.value),
                        );
                    }
                }
                list.value.into_iter().map(|r| r.value).collect()
            }
            None => {
                cx.error(&t.span, format!("missing required key `{key}` in `assist`"));
                Vec::new()
            }
        }
    };
    let request_roles = roles(cx, "request_roles");
    let answer_roles = roles(cx, "answer_roles");
    let clause = t.req_str(cx, "clause");
    Some(AssistRule {
        within: within?,
        request_roles,
        answer_roles,
        clause: clause?.value,
    })
}
