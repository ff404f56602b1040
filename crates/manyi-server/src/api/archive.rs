//! Archived cases: the read gate, the read log, `GET /api/v1/archive` and
//! `GET /api/v1/cases/{number}/reads`.
//!
//! ccb-counter 第二十二条, regional-complaint 四(四), lawfirm 三(一). Whether a case is archived is
//! derived at read time (`manyi_core::archive::entry`: closed, and the policy's period has
//! passed), so there is no archiving job: every instance agrees at every instant. Reading an
//! archived case is need-to-know (the policy's reader roles, or its first-contact owner) and
//! every attempt, granted or refused, is logged in the append-only `case_reads` table.

use axum::extract::{Query, State};
use manyi_core::archive::{self, ArchiveEntry};
use manyi_core::case::Case;
use manyi_store::{CaseFilter, CaseRecord, NewCaseRead, User, Visibility};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::cases::{case_of, timestamp, visible_case};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::ApiPath;
use crate::policies::Compiled;

/// Where a read came from, as the log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Api,
    Web,
}

impl Interface {
    fn as_str(self) -> &'static str {
        match self {
            Interface::Api => "api",
            Interface::Web => "web",
        }
    }
}

/// The archive entry of `case` now, under its policy version.
pub fn entry_of(state: &AppState, policy: &Compiled, case: &Case) -> Option<ArchiveEntry> {
    let rule = policy.kind(&case.kind)?.archive.as_ref()?;
    archive::entry(rule, case, state.clock.now())
}

/// The gate in front of every read of a case the user may otherwise see: for an archived case,
/// checks need-to-know, logs the attempt, and refuses (403, naming the clause) when not allowed.
pub async fn gate_read(
    state: &AppState,
    user: &User,
    record: &CaseRecord,
    case: &Case,
    interface: Interface,
    what: &str,
) -> Result<(), AppError> {
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let Some(rule) = policy.kind(&case.kind).and_then(|k| k.archive.as_ref()) else {
        return Ok(());
    };
    let now = state.clock.now();
    if archive::entry(rule, case, now).is_none() {
        return Ok(());
    }
    let verdict = archive::may_read(rule, case, user.id, &user.roles);
    state
        .store
        .log_case_read(&NewCaseRead {
            case_id: record.id,
            user_id: user.id,
            at: now,
            interface: interface.as_str().to_owned(),
            what: what.to_owned(),
            granted: verdict.is_ok(),
        })
        .await?;
    verdict.map_err(AppError::Refused)
}

/// The archive part of a case's JSON.
#[derive(Serialize)]
pub struct ArchiveBody {
    pub reference: String,
    pub year: i16,
    pub archived_at: String,
    pub clause: String,
}

impl From<ArchiveEntry> for ArchiveBody {
    fn from(e: ArchiveEntry) -> Self {
        ArchiveBody {
            reference: e.reference,
            year: e.year,
            archived_at: timestamp(e.archived_at),
            clause: e.clause,
        }
    }
}

/// `GET /api/v1/archive` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveQuery {
    /// The year the cases were filed under (closed in).
    pub year: i16,
}

/// One entry of the archive listing: no field contents (they are read case by case, logged).
#[derive(Serialize)]
pub struct ArchiveItem {
    pub number: String,
    pub kind: String,
    pub state: String,
    pub owner_unit: String,
    pub reference: String,
    pub year: i16,
    pub archived_at: String,
    pub clause: String,
}

/// `GET /api/v1/archive?year=2026`: the archived cases of that year the user may read.
///
/// Archiving being derived, this walks the user's closed cases (newest first, by pages) and
/// keeps those archived under the year; fine for a yearly file, not meant as a search.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ArchiveQuery>,
) -> Result<axum::Json<Vec<ArchiveItem>>, AppError> {
    if !(2000..=2200).contains(&q.year) {
        return Err(AppError::BadRequest(format!(
            "year={}: expected a year such as 2026 / 年份应如 2026",
            q.year
        )));
    }
    let user = user.0;
    let mut filter = CaseFilter {
        closed: Some(true),
        limit: 500,
        ..CaseFilter::default()
    };
    if !user.roles.iter().any(|r| r == "admin") {
        filter.visible_to = Some(Visibility {
            unit_path: user.unit_path.clone(),
            user_id: user.id,
        });
    }
    let mut items = Vec::new();
    loop {
        let page = state.store.list_cases(&filter).await?;
        for record in &page.items {
            let case = case_of(record)?;
            let policy = state.policies.get(&state.store, record.policy_id).await?;
            let Some(rule) = policy.kind(&case.kind).and_then(|k| k.archive.as_ref()) else {
                continue;
            };
            let Some(entry) = archive::entry(rule, &case, state.clock.now()) else {
                continue;
            };
            if entry.year != q.year || archive::may_read(rule, &case, user.id, &user.roles).is_err()
            {
                continue;
            }
            items.push(ArchiveItem {
                number: case.number.clone(),
                kind: case.kind.clone(),
                state: case.state.clone(),
                owner_unit: case.owner_unit.code.clone(),
                reference: entry.reference,
                year: entry.year,
                archived_at: timestamp(entry.archived_at),
                clause: entry.clause,
            });
        }
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    items.sort_by(|a, b| a.reference.cmp(&b.reference));
    Ok(axum::Json(items))
}

/// One logged read.
#[derive(Serialize)]
pub struct ReadBody {
    pub login: String,
    pub at: String,
    pub interface: String,
    pub what: String,
    pub granted: bool,
}

/// `GET /api/v1/cases/{number}/reads`: who read the archived case, when and how. For the
/// archive's reader roles (not the first-contact owner: the log is for whoever keeps the file).
pub async fn reads(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
) -> Result<axum::Json<Vec<ReadBody>>, AppError> {
    let (record, case) = visible_case(&state, &user.0, &number).await?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let rule = policy.kind(&case.kind).and_then(|k| k.archive.as_ref());
    let allowed = user.0.roles.iter().any(|r| r == "admin")
        || rule.is_some_and(|r| user.0.roles.iter().any(|role| r.readers.contains(role)));
    if !allowed {
        return Err(AppError::Forbidden(format!(
            "{}只有档案查阅角色可以查看案件{number}的查阅记录 / only the archive's reader roles may see who read case {number}",
            rule.map(|r| format!("{}: ", r.clause)).unwrap_or_default()
        )));
    }
    let reads = state.store.case_reads(record.id).await?;
    Ok(axum::Json(
        reads
            .into_iter()
            .map(|r| ReadBody {
                login: r.login,
                at: timestamp(r.at),
                interface: r.interface,
                what: r.what,
                granted: r.granted,
            })
            .collect(),
    ))
}
