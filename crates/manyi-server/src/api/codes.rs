//! `GET /api/v1/stats/codes`: statistics by coded classification.
//!
//! Counts the cases registered in a period, within the caller's jurisdiction, by the value of a
//! `code` field rolled up to a level of its code list (`manyi_core::codes::count_by_level`). The
//! rows are the active policy version's list; a value that list does not know (recorded under
//! another version) is counted apart as `unmatched`, cases without the field as `uncoded`.

use axum::extract::{Query, State};
use manyi_core::codes::{self, CodeCount, CodeList};
use manyi_core::policy::FieldType;
use manyi_store::{CaseFilter, Visibility};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::cases::{case_of, parse_instant, timestamp};
use crate::auth::CurrentUser;
use crate::error::AppError;

/// At most this many cases are examined per request (`complete` says whether all were).
const SCAN_LIMIT: usize = 100_000;

/// `GET /api/v1/stats/codes` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesQuery {
    /// A field of type `code`.
    pub field: String,
    /// The policy id; optional when one active policy has such a field.
    pub policy: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai): registered from (inclusive) …
    pub from: Option<String>,
    /// … to (exclusive).
    pub to: Option<String>,
    /// The level of the list to count by (1 = top); default 1.
    pub level: Option<u8>,
}

#[derive(Serialize)]
pub struct ListRef {
    pub id: String,
    pub label: String,
    pub version: String,
    pub clause: Option<String>,
}

#[derive(Serialize)]
pub struct CodesBody {
    pub field: String,
    pub policy: String,
    pub codelist: ListRef,
    pub level: u8,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Cases counted (in the period, in the caller's jurisdiction, under the policy).
    pub total: u64,
    pub counts: Vec<CodeCount>,
    /// Cases with no value in the field.
    pub uncoded: u64,
    /// Values that are not codes of this version of the list at this level.
    pub unmatched: u64,
    pub complete: bool,
}

/// `GET /api/v1/stats/codes?field=cause_code&from=2026-01-01&to=2026-04-01&level=1`.
pub async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<CodesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<CodesBody>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let user = user.0;
    // The list: the field's in the active policy that has it.
    let mut found: Vec<(String, CodeList)> = Vec::new();
    for record in state.store.active_policies().await? {
        if q.policy.as_ref().is_some_and(|p| p != &record.name) {
            continue;
        }
        let compiled = state.policies.get(&state.store, record.id).await?;
        let list = compiled
            .kinds
            .iter()
            .find_map(|k| match &k.field(&q.field)?.field_type {
                FieldType::Code { list } => Some((**list).clone()),
                _ => None,
            });
        if let Some(list) = list {
            found.push((compiled.id.clone(), list));
        }
    }
    let (policy_id, list) = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(AppError::BadRequest(format!(
                "field={}: no active policy{} has a field of type code with that id / 没有启用的策略含此代码字段",
                q.field,
                q.policy
                    .as_ref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default()
            )));
        }
        _ => {
            let ids: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
            return Err(AppError::BadRequest(format!(
                "field={}: several policies have it ({}); add policy= / 多个策略含此字段，请指定 policy",
                q.field,
                ids.join(", ")
            )));
        }
    };
    let level = q.level.unwrap_or(1);
    if level == 0 || level > list.depth() {
        return Err(AppError::BadRequest(format!(
            "level={level}: list {} version {} has levels 1..={} / 层级超出代码表范围",
            list.id,
            list.version,
            list.depth()
        )));
    }
    let from = q
        .from
        .as_deref()
        .map(|s| parse_instant("from", s))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|s| parse_instant("to", s))
            .transpose()?;

    let mut filter = CaseFilter {
        created_from: from,
        created_to: to,
        limit: 500,
        ..CaseFilter::default()
    };
    if !user.roles.iter().any(|r| r == "admin") {
        filter.visible_to = Some(Visibility {
            unit_path: user.unit_path.clone(),
            user_id: user.id,
        });
    }
    let mut values: Vec<String> = Vec::new();
    let (mut total, mut uncoded, mut scanned) = (0u64, 0u64, 0usize);
    let mut complete = true;
    'pages: loop {
        let page = state.store.list_cases(&filter).await?;
        for record in &page.items {
            scanned += 1;
            if scanned > SCAN_LIMIT {
                complete = false;
                break 'pages;
            }
            let compiled = state.policies.get(&state.store, record.policy_id).await?;
            if compiled.id != policy_id {
                continue;
            }
            let case = case_of(record)?;
            total += 1;
            match case.fields.get(&q.field).and_then(|v| v.as_str()) {
                Some(code) => values.push(code.to_owned()),
                None => uncoded += 1,
            }
        }
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    let (counts, unmatched) =
        codes::count_by_level(&list, level, values.iter().map(String::as_str));
    Ok(axum::Json(CodesBody {
        field: q.field,
        policy: policy_id,
        codelist: ListRef {
            id: list.id.clone(),
            label: list.label.clone(),
            version: list.version.clone(),
            clause: list.clause.clone(),
        },
        level,
        from: from.map(timestamp),
        to: to.map(timestamp),
        total,
        counts,
        uncoded,
        unmatched,
        complete,
    }))
}
