//! The violations ledger and the penalty ledger over HTTP.
//!
//! - `GET /api/v1/violations?unit=&person=&case=&from=&to=`: recorded violations.
//! - `GET /api/v1/penalties?unit=&person=&case=&from=&to=&status=`: penalties and their steps;
//!   `GET /api/v1/penalties.csv?…` the same as CSV.
//! - `POST /api/v1/penalties/{id}/decide {amount, reason}`: an authorised person sets the
//!   amount inside the rule's range.
//! - `POST /api/v1/penalties/{id}/appeal {reason}`: the penalised person appeals, once.
//! - `POST /api/v1/penalties/{id}/appeal/decide {amount, reason}`: a second authorised person
//!   decides the appeal.
//!
//! Lists are jurisdiction-scoped like cases: a user sees what happened in their unit's subtree
//! and what is held against them; an admin sees everything. The checks of a step are
//! `manyi_core::penalties`'; the store applies a step only if the penalty is still where the
//! step starts from. Penalties are recorded decisions, never wage deductions.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use manyi_core::case::PersonRef;
use manyi_core::org::{Actor, UnitRef};
use manyi_core::penalties::{self, Penalty, PenaltyStatus, Proposal};
use manyi_core::values::Money;
use manyi_store::{
    LedgerFilter, PenaltyRecord, PenaltyStep, StoreError, User, ViolationRecord, Visibility,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::api::cases::{case_of, timestamp};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// The query of the ledger lists.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// A unit code: only what happened in its subtree.
    pub unit: Option<String>,
    /// A login: only what is held against this person.
    pub person: Option<String>,
    /// A case number: only what was recorded on this case.
    pub case: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai), inclusive.
    pub from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai), exclusive.
    pub to: Option<String>,
    /// Penalties only: `proposed`, `decided`, `appealed`, `appeal_decided`.
    pub status: Option<String>,
    /// At most this many rows (default 1000, at most 10000).
    pub limit: Option<u32>,
}

#[derive(Serialize)]
pub struct PersonBody {
    pub login: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct ViolationBody {
    pub id: i64,
    /// `null` for conduct recorded without a case (`POST /api/v1/conduct`).
    pub case: Option<String>,
    pub kind: String,
    pub rule: String,
    pub clause: String,
    pub occurred_at: String,
    pub due: Option<String>,
    /// The unit that owned the case when it happened.
    pub unit: String,
    pub liable_persons: Value,
    pub liable_units: Value,
    /// A recorded conduct violation's description (`api::conduct`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who recorded a conduct violation (login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
}

#[derive(Serialize)]
pub struct AmountRange {
    pub min_fen: i64,
    pub max_fen: i64,
    /// `30.00 元` or `50.00–1000.00 元`.
    pub text: String,
}

#[derive(Serialize)]
pub struct DecisionBody {
    pub amount_fen: i64,
    /// In yuan, e.g. `30.00`.
    pub amount: String,
    pub reason: String,
    pub by: Option<PersonBody>,
    pub at: String,
}

#[derive(Serialize)]
pub struct AppealBody {
    pub reason: String,
    pub at: String,
}

#[derive(Serialize)]
pub struct PenaltyBody {
    pub id: i64,
    pub violation_id: i64,
    /// `null` when the violation has no case.
    pub case: Option<String>,
    pub rule: String,
    pub clause: String,
    pub person: Option<PersonBody>,
    pub unit: String,
    pub range: AmountRange,
    pub items: i64,
    pub discipline_referral: bool,
    pub requires_substantiation: bool,
    pub proposed_at: String,
    pub status: String,
    pub decision: Option<DecisionBody>,
    pub appeal: Option<AppealBody>,
    pub appeal_decision: Option<DecisionBody>,
    /// The amount in force (the appeal's decision, else the first decision), in fen.
    pub amount_fen: Option<i64>,
    /// A recorded decision, never a wage deduction.
    pub note: &'static str,
}

#[derive(Serialize)]
pub struct ViolationList {
    pub items: Vec<ViolationBody>,
}

#[derive(Serialize)]
pub struct PenaltyList {
    pub items: Vec<PenaltyBody>,
}

/// `POST …/decide` and `POST …/appeal/decide`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// Fen as an integer, or yuan as a string (`"30"`, `"30.00"`, `"¥30"`).
    pub amount: Value,
    pub reason: String,
}

/// `POST …/appeal`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub reason: String,
}

pub(crate) const NOTE: &str =
    "记录在案的处理决定，不是自动扣薪 / a recorded decision, never a wage deduction";

async fn filter_of(
    state: &AppState,
    user: &CurrentUser,
    q: &LedgerQuery,
) -> Result<LedgerFilter, AppError> {
    let mut f = LedgerFilter {
        limit: q.limit.unwrap_or(1000).clamp(1, 10_000),
        ..LedgerFilter::default()
    };
    if !user.is_admin() {
        f.visible_to = Some(Visibility {
            unit_path: user.0.unit_path.clone(),
            user_id: user.0.id,
        });
    }
    if let Some(code) = &q.unit {
        let unit = state
            .store
            .unit_by_code(code)
            .await?
            .ok_or_else(|| AppError::BadRequest(format!("`unit` = {code:?}: no such unit")))?;
        f.unit_subtree = Some(unit.path);
    }
    if let Some(login) = &q.person {
        let found = state.store.user_by_login(login).await?;
        // An unknown login matches nothing rather than everything.
        f.person_id = Some(found.map_or(-1, |u| u.id));
    }
    if let Some(number) = &q.case {
        let found = state.store.case_by_number(number).await?;
        // An unknown case matches nothing rather than everything.
        f.case_id = Some(found.map_or(-1, |c| c.id));
    }
    if let Some(s) = &q.from {
        f.from = Some(parse_instant("from", s)?);
    }
    if let Some(s) = &q.to {
        f.to = Some(parse_instant("to", s)?);
    }
    if let Some(s) = &q.status {
        if PenaltyStatus::parse(s).is_none() {
            return Err(AppError::BadRequest(format!(
                "`status` = {s:?}: one of proposed, decided, appealed, appeal_decided"
            )));
        }
        f.status = Some(s.clone());
    }
    Ok(f)
}

pub(crate) fn parse_instant(name: &str, s: &str) -> Result<jiff::Timestamp, AppError> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(manyi_core::china_tz()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "`{name}` = {s:?} is neither an RFC 3339 instant nor a YYYY-MM-DD date"
            ))
        })
}

fn query_of(
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<LedgerQuery, AppError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| AppError::BadRequest(e.body_text()))
}

/// `GET /api/v1/violations`.
pub async fn list_violations(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<ViolationList>, AppError> {
    let q = query_of(query)?;
    if q.status.is_some() {
        return Err(AppError::BadRequest(
            "`status` filters penalties, not violations".into(),
        ));
    }
    let f = filter_of(&state, &user, &q).await?;
    let items = state
        .store
        .list_violations(&f)
        .await?
        .into_iter()
        .map(violation_body)
        .collect();
    Ok(axum::Json(ViolationList { items }))
}

pub(crate) fn violation_body(v: ViolationRecord) -> ViolationBody {
    ViolationBody {
        id: v.id,
        case: v.case_number,
        kind: v.kind,
        rule: v.rule,
        clause: v.clause,
        occurred_at: timestamp(v.occurred_at),
        due: v.due_at.map(timestamp),
        unit: v.unit_code,
        liable_persons: v.detail.get("liable_persons").cloned().unwrap_or_default(),
        liable_units: v.detail.get("liable_units").cloned().unwrap_or_default(),
        description: v
            .detail
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        recorded_by: v
            .detail
            .get("recorded_by")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The people a page of penalties names, by id.
pub(crate) async fn people(state: &AppState) -> Result<HashMap<i64, User>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

pub(crate) fn person_body(people: &HashMap<i64, User>, id: Option<i64>) -> Option<PersonBody> {
    let u = people.get(&id?)?;
    Some(PersonBody {
        login: u.login.clone(),
        name: u.name.clone(),
    })
}

fn decision(
    people: &HashMap<i64, User>,
    amount: Option<i64>,
    reason: Option<&String>,
    by: Option<i64>,
    at: Option<jiff::Timestamp>,
) -> Option<DecisionBody> {
    let amount_fen = amount?;
    Some(DecisionBody {
        amount_fen,
        amount: Money::from_fen(amount_fen).to_string(),
        reason: reason.cloned().unwrap_or_default(),
        by: person_body(people, by),
        at: at.map(timestamp).unwrap_or_default(),
    })
}

pub(crate) fn penalty_body(p: PenaltyRecord, people: &HashMap<i64, User>) -> PenaltyBody {
    let range = AmountRange {
        min_fen: p.min_fen,
        max_fen: p.max_fen,
        text: if p.min_fen == p.max_fen {
            format!("{} 元", Money::from_fen(p.min_fen))
        } else {
            format!(
                "{}–{} 元",
                Money::from_fen(p.min_fen),
                Money::from_fen(p.max_fen)
            )
        },
    };
    PenaltyBody {
        id: p.id,
        violation_id: p.violation_id,
        amount_fen: p.amount_fen(),
        case: p.case_number,
        rule: p.rule,
        clause: p.clause,
        person: person_body(people, Some(p.person_id)),
        unit: p.unit_code,
        range,
        items: p.items,
        discipline_referral: p.discipline_referral,
        requires_substantiation: p.requires_substantiation,
        proposed_at: timestamp(p.proposed_at),
        status: p.status,
        decision: decision(
            people,
            p.decided_amount_fen,
            p.decided_reason.as_ref(),
            p.decided_by,
            p.decided_at,
        ),
        appeal: p.appeal_reason.map(|reason| AppealBody {
            reason,
            at: p.appealed_at.map(timestamp).unwrap_or_default(),
        }),
        appeal_decision: decision(
            people,
            p.appeal_amount_fen,
            p.appeal_decision_reason.as_ref(),
            p.appeal_decided_by,
            p.appeal_decided_at,
        ),
        note: NOTE,
    }
}

/// `GET /api/v1/penalties`.
pub async fn list_penalties(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<PenaltyList>, AppError> {
    let q = query_of(query)?;
    let f = filter_of(&state, &user, &q).await?;
    let records = state.store.list_penalties(&f).await?;
    let people = people(&state).await?;
    let items = records
        .into_iter()
        .map(|p| penalty_body(p, &people))
        .collect();
    Ok(axum::Json(PenaltyList { items }))
}

/// `GET /api/v1/penalties.csv`: the same rows as CSV (UTF-8 with a byte-order mark, so that
/// spreadsheet programs read the Chinese text right).
pub async fn penalties_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let q = query_of(query)?;
    let f = filter_of(&state, &user, &q).await?;
    let records = state.store.list_penalties(&f).await?;
    let people = people(&state).await?;
    let login = |id: Option<i64>| {
        id.and_then(|id| people.get(&id))
            .map(|u| u.login.clone())
            .unwrap_or_default()
    };
    let name = |id: i64| people.get(&id).map(|u| u.name.clone()).unwrap_or_default();
    let yuan = |fen: Option<i64>| {
        fen.map(|f| Money::from_fen(f).to_string())
            .unwrap_or_default()
    };
    let at = |t: Option<jiff::Timestamp>| t.map(timestamp).unwrap_or_default();
    let mut out = String::from("\u{feff}");
    out.push_str(
        "id,case,rule,clause,person,person_name,unit,min_yuan,max_yuan,items,status,\
         amount_yuan,decided_by,decided_at,decision_reason,appeal_reason,appealed_at,\
         appeal_decided_by,appeal_decided_at,appeal_amount_yuan,appeal_decision_reason,\
         discipline_referral,proposed_at\r\n",
    );
    for p in &records {
        let row = [
            p.id.to_string(),
            p.case_number.clone().unwrap_or_default(),
            p.rule.clone(),
            p.clause.clone(),
            login(Some(p.person_id)),
            name(p.person_id),
            p.unit_code.clone(),
            yuan(Some(p.min_fen)),
            yuan(Some(p.max_fen)),
            p.items.to_string(),
            p.status.clone(),
            yuan(p.amount_fen()),
            login(p.decided_by),
            at(p.decided_at),
            p.decided_reason.clone().unwrap_or_default(),
            p.appeal_reason.clone().unwrap_or_default(),
            at(p.appealed_at),
            login(p.appeal_decided_by),
            at(p.appeal_decided_at),
            yuan(p.appeal_amount_fen),
            p.appeal_decision_reason.clone().unwrap_or_default(),
            p.discipline_referral.to_string(),
            timestamp(p.proposed_at),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"penalties.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// One CSV cell (RFC 4180). Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
/// first) is prefixed with `'`: reasons are typed by people.
pub(crate) fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// What a step needs: the penalty (visible to `user`), its rule, the case, and `user` as an
/// actor.
struct StepContext {
    record: PenaltyRecord,
    penalty: Penalty,
    rule: penalties::PenaltyRule,
    /// `None` for the penalty of a violation recorded without a case.
    case: Option<manyi_core::case::Case>,
    actor: Actor,
}

async fn step_context(state: &AppState, user: &User, id: i64) -> Result<StepContext, AppError> {
    let not_found = || AppError::NotFound(format!("no penalty {id}"));
    let record = state.store.penalty_by_id(id).await?.ok_or_else(not_found)?;
    let unit = state
        .store
        .unit_by_id(record.unit_id)
        .await?
        .ok_or_else(|| {
            AppError::Internal(format!("unit {} of a penalty is missing", record.unit_id))
        })?;
    let may_see = user.roles.iter().any(|r| r == "admin")
        || record.person_id == user.id
        || unit.path.starts_with(&user.unit_path);
    if !may_see {
        return Err(not_found());
    }
    let case = match record.case_id {
        Some(case_id) => {
            let case_record = state.store.case_by_id(case_id).await?.ok_or_else(|| {
                AppError::Internal(format!("case {case_id} of a penalty is missing"))
            })?;
            Some(case_of(&case_record)?)
        }
        None => None,
    };
    // The violation's policy version (the case's, for a violation on a case).
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let rule = policy.penalty(&record.rule).cloned().ok_or_else(|| {
        AppError::Internal(format!(
            "penalty rule `{}` is not in the violation's policy version",
            record.rule
        ))
    })?;
    let person_of = |u: User| PersonRef {
        id: u.id,
        login: u.login,
        name: u.name,
    };
    let person = state
        .store
        .user_by_id(record.person_id)
        .await?
        .map(person_of)
        .ok_or_else(|| AppError::Internal("the penalised user is missing".into()))?;
    let decided_by = match record.decided_by {
        Some(id) => state.store.user_by_id(id).await?.map(person_of),
        None => None,
    };
    let status = PenaltyStatus::parse(&record.status)
        .ok_or_else(|| AppError::Internal(format!("penalty status `{}`", record.status)))?;
    let penalty = Penalty {
        proposal: Proposal {
            rule: record.rule.clone(),
            clause: record.clause.clone(),
            person,
            min_fen: record.min_fen,
            max_fen: record.max_fen,
            items: u32::try_from(record.items).unwrap_or(1),
            discipline_referral: record.discipline_referral,
            requires_substantiation: record.requires_substantiation,
        },
        status,
        decided_by,
    };
    let actor_unit =
        state.store.unit_by_id(user.unit_id).await?.ok_or_else(|| {
            AppError::Internal(format!("unit {} of a user is missing", user.unit_id))
        })?;
    let actor = Actor {
        id: user.id,
        login: user.login.clone(),
        name: user.name.clone(),
        unit: UnitRef::from_path(
            actor_unit.id,
            &actor_unit.code,
            &actor_unit.name,
            &actor_unit.level,
            &actor_unit.path,
        ),
        roles: user.roles.clone(),
    };
    Ok(StepContext {
        record,
        penalty,
        rule,
        case,
        actor,
    })
}

/// An amount as the API takes it: fen as an integer, or yuan as a string.
pub(crate) fn amount_of(v: &Value) -> Result<i64, AppError> {
    let bad = || AppError::Invalid {
        detail: "`amount` is fen as an integer (3000) or yuan as a string (\"30.00\")".into(),
        fields: Vec::new(),
    };
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => Money::parse(s).map(Money::fen).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

async fn apply_step(
    state: &AppState,
    ctx: &StepContext,
    step: PenaltyStep,
) -> Result<axum::Json<PenaltyBody>, AppError> {
    let record = match state.store.penalty_step(ctx.record.id, step).await {
        Ok(r) => r,
        Err(StoreError::Conflict) => {
            return Err(AppError::Conflict(
                "the penalty was decided or appealed by someone else meanwhile; reload it".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(
        penalty_id = record.id,
        status = %record.status,
        "penalty step recorded"
    );
    let people = people(state).await?;
    Ok(axum::Json(penalty_body(record, &people)))
}

/// `POST /api/v1/penalties/{id}/decide`.
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<axum::Json<PenaltyBody>, AppError> {
    let ctx = step_context(&state, &user.0, id).await?;
    let amount = amount_of(&req.amount)?;
    let now = state.clock.now();
    let d = match &ctx.case {
        Some(case) => penalties::decide(
            &ctx.penalty,
            &ctx.rule,
            case,
            amount,
            &req.reason,
            &ctx.actor,
            now,
        ),
        None => penalties::decide_without_case(
            &ctx.penalty,
            &ctx.rule,
            amount,
            &req.reason,
            &ctx.actor,
            now,
        ),
    }
    .map_err(AppError::Refused)?;
    let step = PenaltyStep::Decide {
        amount_fen: d.amount_fen,
        reason: d.reason,
        by: d.by.id,
        at: d.at,
    };
    apply_step(&state, &ctx, step).await
}

/// `POST /api/v1/penalties/{id}/appeal`.
pub async fn appeal(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AppealRequest>,
) -> Result<axum::Json<PenaltyBody>, AppError> {
    let ctx = step_context(&state, &user.0, id).await?;
    let now = state.clock.now();
    let a =
        penalties::appeal(&ctx.penalty, &req.reason, &ctx.actor, now).map_err(AppError::Refused)?;
    let step = PenaltyStep::Appeal {
        reason: a.reason,
        at: a.at,
    };
    apply_step(&state, &ctx, step).await
}

/// `POST /api/v1/penalties/{id}/appeal/decide`.
pub async fn decide_appeal(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<axum::Json<PenaltyBody>, AppError> {
    let ctx = step_context(&state, &user.0, id).await?;
    let amount = amount_of(&req.amount)?;
    let now = state.clock.now();
    let d = penalties::decide_appeal(
        &ctx.penalty,
        &ctx.rule,
        amount,
        &req.reason,
        &ctx.actor,
        now,
    )
    .map_err(AppError::Refused)?;
    let step = PenaltyStep::DecideAppeal {
        amount_fen: d.amount_fen,
        reason: d.reason,
        by: d.by.id,
        at: d.at,
    };
    apply_step(&state, &ctx, step).await
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_are_defused() {
        assert_eq!(csv_cell("态度生硬"), "态度生硬");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
