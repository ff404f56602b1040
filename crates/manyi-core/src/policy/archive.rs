//! Reading `[kind.<id>.archive]`: the archive period and the reader roles.
//!
//! Kept apart from `load.rs` so that the archive section grows here (see `crate::archive`).

use std::collections::HashSet;

use super::reader::{Ctx, Table};
use crate::archive::ArchiveRule;
use crate::calendar::Duration;

/// Reads the kind's `archive` table, if any; every problem is a diagnostic at its place.
pub(super) fn read_archive(
    cx: &mut Ctx<'_>,
    kind: &Table<'_, '_>,
    role_ids: &HashSet<String>,
) -> Option<ArchiveRule> {
    let t = kind.table(cx, "archive")?;
    t.deny_unknown(cx, &["after", "readers", "first_contact", "clause"]);
    let after = t
        .req_str(cx, "after")
        .and_then(|a| match a.value.parse::<Duration>() {
            Ok(d @ (Duration::CalendarDays(_) | Duration::Hours(_) | Duration::Minutes(_))) => {
                Some(d)
            }
            Ok(other) => {
                cx.error(
                &a.span,
                format!(
                    "`archive.after` is {other}: use calendar days, hours or minutes (\"30 days\")"
                ),
            );
                None
            }
            Err(e) => {
                cx.error(&a.span, format!("`archive.after`: {e}"));
                None
            }
        });
    let readers = match t.str_list(cx, "readers") {
        Some(list) => {
            for r in &list.value {
                if !role_ids.contains(&r.value) {
                    cx.error(
                        &r.span,
                        format!("unknown role `{}` in `archive.readers`", r.value),
                    );
                }
            }
            list.value.into_iter().map(|r| r.value).collect()
        }
        None => Vec::new(),
    };
    let first_contact_reads = t.bool(cx, "first_contact").unwrap_or(true);
    if readers.is_empty() && !first_contact_reads {
        cx.error(
            &t.span,
            "an archive nobody may read: list `readers` or keep `first_contact = true`",
        );
    }
    let clause = t.req_str(cx, "clause");
    Some(ArchiveRule {
        after: after?,
        readers,
        first_contact_reads,
        clause: clause?.value,
    })
}
