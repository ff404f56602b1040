//! Reading `[[conduct]]`: the conduct violations a person may record against another
//! (see `crate::conduct`). Every problem is a diagnostic at its place in the file.

use std::collections::HashSet;

use super::reader::{Ctx, Table};
use crate::conduct::ConductType;

/// Reads the top-level `[[conduct]]` tables.
pub(super) fn read_conduct(
    cx: &mut Ctx<'_>,
    root: &Table<'_, '_>,
    role_ids: &HashSet<String>,
) -> Vec<ConductType> {
    let mut ids = Vec::new();
    let mut out = Vec::new();
    for t in root.tables(cx, "conduct") {
        t.deny_unknown(cx, &["id", "label", "label_en", "recorded_by", "clause"]);
        let id = t.req_str(cx, "id");
        if let Some(id) = &id {
            super::load::check_identifier(cx, &id.value, &id.span, "conduct type");
        }
        let label = t.req_str(cx, "label");
        let label_en = t.str(cx, "label_en").map(|l| l.value);
        let clause = t.req_str(cx, "clause");
        let recorded_by = match t.str_list(cx, "recorded_by") {
            Some(l) if !l.value.is_empty() => {
                for r in &l.value {
                    // `*` would let anyone fine anyone: a conduct record needs an authority.
                    if !role_ids.contains(&r.value) {
                        cx.error(
                            &r.span,
                            format!(
                                "unknown role `{}` in `recorded_by`; declare it in a [[role]] table",
                                r.value
                            ),
                        );
                    }
                }
                l.value.into_iter().map(|r| r.value).collect()
            }
            Some(l) => {
                cx.error(&l.span, "`recorded_by` must name at least one role");
                Vec::new()
            }
            None => {
                cx.error(
                    &t.span,
                    "a conduct type needs `recorded_by`: the roles that may record it",
                );
                Vec::new()
            }
        };
        if let (Some(id), Some(label), Some(clause)) = (id, label, clause) {
            out.push(ConductType {
                id: id.value.clone(),
                label: label.value,
                label_en,
                recorded_by,
                clause: clause.value,
            });
            ids.push(id);
        }
    }
    super::load::check_unique(cx, "conduct type", ids.iter());
    out
}
