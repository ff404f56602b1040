//! `/api/v1/cases/{number}/assists`: assistance between units (ccb-counter 第二十条).
//!
//! The owning unit asks another unit for help; that unit accepts, refuses (with a reason) or
//! completes. Each step is decided by `manyi_core::assist` and written like a transition: the
//! case event and the case's new state in one transaction, with the deadline's timer row and,
//! for a refusal, the violation in the ledger. The requested unit does not own the case and so
//! cannot read it: it sees the assistance requests addressed to it here (need-to-know).

use axum::extract::State;
use axum::http::StatusCode;
use manyi_core::assist::{self, Answer, Assist};
use manyi_core::case::{Case, Change, Event};
use manyi_core::org::Actor;
use manyi_store::{
    CaseRecord, FireOutcome, NewViolation, StoreError, TIMER_BREACH, TIMER_FOR_ASSIST, TimerChange,
    TimerRecord, User,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::cases::{actor_of, timestamp, update_for};
use crate::api::subtasks::{self, directory};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// `POST /api/v1/cases/{number}/assists` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The code of the unit asked to help.
    pub unit: String,
    /// What is asked for.
    pub request: String,
}

/// `POST …/assists/{no}/refuse` and `…/complete` bodies; `…/accept` takes `{}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
}

/// An assistance request as the API shows it.
#[derive(Serialize)]
pub struct AssistBody {
    pub case: String,
    pub no: u32,
    pub from_unit: String,
    pub to_unit: String,
    pub requested_by: String,
    pub requested_at: String,
    pub due: String,
    pub request: String,
    pub status: assist::AssistStatus,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub overdue: bool,
    pub clause: String,
}

pub(crate) fn body_of(case: &Case, a: &Assist) -> AssistBody {
    AssistBody {
        case: case.number.clone(),
        no: a.no,
        from_unit: a.from_unit.code.clone(),
        to_unit: a.to_unit.code.clone(),
        requested_by: a.requested_by.login.clone(),
        requested_at: timestamp(a.requested_at),
        due: timestamp(a.due),
        request: a.request.clone(),
        status: a.status,
        answered_by: a.answered_by.as_ref().map(|p| p.login.clone()),
        answered_at: a.answered_at.map(timestamp),
        reason: a.reason.clone(),
        result: a.result.clone(),
        overdue: a.overdue,
        clause: a.clause.clone(),
    }
}

/// The case, if the user may see it or is in a unit asked to help on it; 404 otherwise.
async fn case_for(
    state: &AppState,
    user: &User,
    number: &str,
) -> Result<(CaseRecord, Case), AppError> {
    subtasks::case_for(state, user, number, |case, unit_path| {
        case.assists
            .iter()
            .any(|a| a.to_unit.path().starts_with(unit_path))
    })
    .await
}

/// Writes a decided assistance event: the case update, its timer change, and the violation
/// it records. Returns the case after it, or `None` on a version conflict (decide again).
async fn write(
    state: &AppState,
    record: &CaseRecord,
    case: &Case,
    event: &Event,
) -> Result<Option<Case>, AppError> {
    let now = event.at;
    let (next, mut update) = update_for(record, case, event, now)?;
    let Change::Assistance { assist, violation } = &event.change else {
        return Err(AppError::Internal("not an assistance event".into()));
    };
    let timer = assist::timer_name(assist.no);
    if event.action == "assist_request" {
        update.timers.push(TimerChange::Schedule {
            clock: timer,
            kind: TIMER_BREACH.to_owned(),
            purpose: TIMER_FOR_ASSIST.to_owned(),
            generation: 1,
            due_at: assist.due,
        });
    } else if !assist.status.is_open() {
        update
            .timers
            .push(TimerChange::CancelClock { clock: timer });
    }
    update.violations =
        ledger_entries(state, record, case, event, assist, violation.as_ref()).await?;
    Ok(subtasks::write(state, update).await?.then_some(next))
}

/// The violation an assistance event records, against the requested unit (whose
/// jurisdiction it is in), through the existing violations ledger, with the penalty proposals
/// the policy's `assist` rules give (liability by role in the requested unit), stacked.
async fn ledger_entries(
    state: &AppState,
    record: &CaseRecord,
    case: &Case,
    event: &Event,
    assist: &Assist,
    violation: Option<&manyi_core::deadlines::Violation>,
) -> Result<Vec<NewViolation>, AppError> {
    let Some(v) = violation else {
        return Ok(Vec::new());
    };
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let penalties = crate::api::violations::proposals_for(state, &policy, case, v).await?;
    let mut rows = vec![NewViolation {
        event_index: 0,
        kind: v.kind.clone(),
        rule: v.rule.clone(),
        clause: v.clause.clone(),
        occurred_at: event.at,
        due_at: Some(v.due),
        unit_id: assist.to_unit.id,
        person_ids: v.liable_persons.iter().map(|p| p.id).collect(),
        detail: serde_json::to_value(v)
            .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?,
        penalties,
    }];
    crate::api::violations::stack_rows(state, &policy, record.id, &mut rows).await?;
    Ok(rows)
}

/// `POST /api/v1/cases/{number}/assists`: the owning unit asks another unit for help.
pub async fn request(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<RequestBody>,
) -> Result<(StatusCode, axum::Json<AssistBody>), AppError> {
    for _attempt in 0..3 {
        let (record, case) = case_for(&state, &user.0, &number).await?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory(&state).await?;
        let actor: Actor = actor_of(&user.0, &directory)?;
        let to_unit = directory
            .unit_by_code(req.unit.trim())
            .cloned()
            .ok_or_else(|| AppError::Invalid {
                detail: format!("unit = {:?}: no such unit / 没有此机构", req.unit),
                fields: Vec::new(),
            })?;
        let calendars = crate::calendar::OrgCalendars::load(&state).await?;
        let now = state.clock.now();
        let event = assist::decide_request(
            &policy,
            &case,
            &actor,
            &to_unit,
            &req.request,
            &calendars.view(&to_unit),
            now,
        )
        .map_err(AppError::Refused)?;
        if let Some(next) = write(&state, &record, &case, &event).await? {
            let a = next
                .assists
                .last()
                .ok_or_else(|| AppError::Internal("no assist".into()))?;
            return Ok((StatusCode::CREATED, axum::Json(body_of(&next, a))));
        }
    }
    Err(StoreError::Conflict.into())
}

async fn answer(
    state: &AppState,
    user: &User,
    number: &str,
    no: u32,
    answer: Answer,
) -> Result<axum::Json<AssistBody>, AppError> {
    for _attempt in 0..3 {
        let (record, case) = case_for(state, user, number).await?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory(state).await?;
        let actor = actor_of(user, &directory)?;
        let now = state.clock.now();
        let event = assist::decide_answer(&policy, &case, &actor, no, &answer, now)
            .map_err(AppError::Refused)?;
        if let Some(next) = write(state, &record, &case, &event).await? {
            let a = next
                .assists
                .iter()
                .find(|a| a.no == no)
                .ok_or_else(|| AppError::Internal("no assist".into()))?;
            return Ok(axum::Json(body_of(&next, a)));
        }
    }
    Err(StoreError::Conflict.into())
}

/// `POST /api/v1/cases/{number}/assists/{no}/accept`.
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, no)): ApiPath<(String, u32)>,
) -> Result<axum::Json<AssistBody>, AppError> {
    answer(&state, &user.0, &number, no, Answer::Accept).await
}

/// `POST /api/v1/cases/{number}/assists/{no}/refuse` — `{reason}`.
pub async fn refuse(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, no)): ApiPath<(String, u32)>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<axum::Json<AssistBody>, AppError> {
    let reason = body.reason.unwrap_or_default();
    answer(&state, &user.0, &number, no, Answer::Refuse { reason }).await
}

/// `POST /api/v1/cases/{number}/assists/{no}/complete` — `{result}`.
pub async fn complete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, no)): ApiPath<(String, u32)>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<axum::Json<AssistBody>, AppError> {
    let result = body.result.unwrap_or_default();
    answer(&state, &user.0, &number, no, Answer::Complete { result }).await
}

/// `GET /api/v1/cases/{number}/assists`: the case's requests; a requested unit sees only those
/// addressed to it.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
) -> Result<axum::Json<Vec<AssistBody>>, AppError> {
    let (record, case) = case_for(&state, &user.0, &number).await?;
    let u = &user.0;
    let whole = subtasks::sees_whole(u, &record);
    Ok(axum::Json(
        case.assists
            .iter()
            .filter(|a| whole || a.to_unit.path().starts_with(&u.unit_path))
            .map(|a| body_of(&case, a))
            .collect(),
    ))
}

/// Fires an assistance deadline timer (from the scheduler): a violation against the requested
/// unit if the request is still open. `None` on a version conflict (decide again).
pub(crate) async fn fire_overdue(
    state: &AppState,
    timer: &TimerRecord,
    record: &CaseRecord,
    case: &Case,
    no: u32,
    now: jiff::Timestamp,
) -> Result<Option<(FireOutcome, bool)>, AppError> {
    let Some(event) = assist::decide_overdue(case, no, now) else {
        return subtasks::fire(state, timer, now, None).await;
    };
    let (_, mut update) = update_for(record, case, &event, now)?;
    if let Change::Assistance { assist, violation } = &event.change {
        update.violations =
            ledger_entries(state, record, case, &event, assist, violation.as_ref()).await?;
    }
    subtasks::fire(state, timer, now, Some(update)).await
}
