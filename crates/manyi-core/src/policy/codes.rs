//! Reading `[[codelist]]` and fields of `type = "code"` (see `crate::codes`).

use std::collections::HashMap;

use super::FieldType;
use super::reader::{Ctx, Table};
use crate::codes::{Code, CodeList};

/// Reads every `[[codelist]]`: duplicate lists and codes, a parent that is not declared before
/// its child, a list without codes — each an error at its place.
pub(super) fn read_codelists(cx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Vec<CodeList> {
    let mut lists: Vec<CodeList> = Vec::new();
    for t in root.tables(cx, "codelist") {
        t.deny_unknown(cx, &["id", "label", "version", "clause", "codes"]);
        let Some(id) = t.req_str(cx, "id") else {
            continue;
        };
        if lists.iter().any(|l| l.id == id.value) {
            cx.error(&id.span, format!("duplicate code list `{}`", id.value));
            continue;
        }
        let label = t
            .str(cx, "label")
            .map_or_else(|| id.value.clone(), |l| l.value);
        let version = t
            .req_str(cx, "version")
            .map(|v| v.value)
            .unwrap_or_default();
        let clause = t.str(cx, "clause").map(|c| c.value);
        let mut codes: Vec<Code> = Vec::new();
        let mut levels: HashMap<String, u8> = HashMap::new();
        for ct in t.tables(cx, "codes") {
            ct.deny_unknown(cx, &["code", "label", "parent"]);
            let (Some(code), Some(label)) = (ct.req_str(cx, "code"), ct.req_str(cx, "label"))
            else {
                continue;
            };
            if code.value.trim().is_empty() || code.value.len() > 64 {
                cx.error(&code.span, "a code is 1 to 64 characters");
                continue;
            }
            if levels.contains_key(&code.value) {
                cx.error(
                    &code.span,
                    format!("duplicate code `{}` in list `{}`", code.value, id.value),
                );
                continue;
            }
            let parent = ct.str(cx, "parent");
            let level = match &parent {
                None => 1,
                Some(p) => match levels.get(&p.value) {
                    Some(&l) if l < 8 => l + 1,
                    Some(_) => {
                        cx.error(&p.span, "a code list may be at most 8 levels deep");
                        continue;
                    }
                    None => {
                        cx.error(
                            &p.span,
                            format!(
                                "code `{}` names parent `{}`, which is not declared before it in list `{}`",
                                code.value, p.value, id.value
                            ),
                        );
                        continue;
                    }
                },
            };
            levels.insert(code.value.clone(), level);
            codes.push(Code {
                code: code.value,
                label: label.value,
                parent: parent.map(|p| p.value),
                level,
            });
        }
        if codes.is_empty() {
            cx.error(&t.span, format!("code list `{}` has no `codes`", id.value));
        }
        lists.push(CodeList {
            id: id.value,
            label,
            version,
            clause,
            codes,
        });
    }
    lists
}

/// The type of a `type = "code"` field: the list its `codelist` names.
pub(super) fn field_type(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    field_id: &str,
    lists: &[CodeList],
) -> Option<FieldType> {
    let Some(name) = t.str(cx, "codelist") else {
        cx.error(
            &t.span,
            format!("field `{field_id}` is of type code but names no `codelist`"),
        );
        return None;
    };
    match lists.iter().find(|l| l.id == name.value) {
        Some(list) => Some(FieldType::Code {
            list: Box::new(list.clone()),
        }),
        None => {
            let known: Vec<&str> = lists.iter().map(|l| l.id.as_str()).collect();
            cx.error(
                &name.span,
                format!(
                    "unknown code list `{}`; declared: {}",
                    name.value,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            );
            None
        }
    }
}
