//! `/api/v1/cases/{number}/disputes`: disputes between units (ccb-counter 第二十一条).
//!
//! A party raises a dispute with the owning unit's counterpart; it goes to the two units'
//! lowest common superior (`manyi_core::dispute::lowest_common_superior`), whose deciding role
//! rules; the ruling binds both (it may move the case, and may order a party to act by a
//! deadline, a timer `dispute:<no>` that records a violation if the order is not reported
//! carried out). Written like a transition: event, case state, timer and violation together.

use axum::extract::State;
use axum::http::StatusCode;
use manyi_core::case::{Case, Change, Event};
use manyi_core::dispute::{self, Dispute, Ruling};
use manyi_core::engine::Directory;
use manyi_core::org::UnitRef;
use manyi_store::{
    CaseRecord, FireOutcome, NewViolation, StoreError, TIMER_BREACH, TIMER_FOR_DISPUTE,
    TimerChange, TimerRecord, User,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::cases::{actor_of, timestamp, update_for};
use crate::api::subtasks::{self, directory};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseBody {
    /// The unit in dispute with the owning unit.
    pub unit: String,
    pub about: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub ruling: String,
    /// A party's code: it owns the case from now on.
    #[serde(default)]
    pub owner_unit: Option<String>,
    /// A party's code: it must carry the decision out by the deadline.
    #[serde(default)]
    pub ordered_unit: Option<String>,
}

#[derive(Serialize)]
pub struct DisputeBody {
    pub case: String,
    pub no: u32,
    pub parties: [String; 2],
    pub decider_unit: String,
    pub about: String,
    pub raised_by: String,
    pub raised_at: String,
    pub status: dispute::DisputeStatus,
    pub ruling: Option<String>,
    pub decided_by: Option<String>,
    pub owner_unit: Option<String>,
    pub ordered_unit: Option<String>,
    pub due: Option<String>,
    pub complied_by: Option<String>,
    pub overdue: bool,
    pub clause: String,
}

pub(crate) fn body_of(case: &Case, d: &Dispute) -> DisputeBody {
    let dec = d.decision.as_ref();
    DisputeBody {
        case: case.number.clone(),
        no: d.no,
        parties: [d.parties[0].code.clone(), d.parties[1].code.clone()],
        decider_unit: d.decider_unit.code.clone(),
        about: d.about.clone(),
        raised_by: d.raised_by.login.clone(),
        raised_at: timestamp(d.raised_at),
        status: d.status,
        ruling: dec.map(|x| x.ruling.clone()),
        decided_by: dec.map(|x| x.by.login.clone()),
        owner_unit: dec
            .and_then(|x| x.owner_unit.as_ref())
            .map(|u| u.code.clone()),
        ordered_unit: dec
            .and_then(|x| x.ordered_unit.as_ref())
            .map(|u| u.code.clone()),
        due: dec.and_then(|x| x.due).map(timestamp),
        complied_by: d.complied_by.as_ref().map(|p| p.login.clone()),
        overdue: d.overdue,
        clause: d.clause.clone(),
    }
}

fn unit(directory: &Directory, field: &str, code: &str) -> Result<UnitRef, AppError> {
    directory
        .unit_by_code(code.trim())
        .cloned()
        .ok_or_else(|| AppError::Invalid {
            detail: format!("{field} = {code:?}: no such unit / 没有此机构"),
            fields: Vec::new(),
        })
}

/// The case, if the user sees it or is in (or above) a unit party to one of its disputes.
async fn case_for(
    state: &AppState,
    user: &User,
    number: &str,
) -> Result<(CaseRecord, Case), AppError> {
    subtasks::case_for(state, user, number, |case, unit_path| {
        let party = |d: &Dispute| d.parties.iter().any(|p| p.path().starts_with(unit_path));
        case.disputes.iter().any(party)
    })
    .await
}

/// The violation a dispute event records (a decision not carried out in time), against the
/// ordered unit, with the penalty proposals the policy's `dispute` rules give (liability by
/// role in the ordered unit), stacked.
async fn ledger_entries(
    state: &AppState,
    record: &CaseRecord,
    case: &Case,
    event: &Event,
) -> Result<Vec<NewViolation>, AppError> {
    let Change::Dispute {
        violation: Some(v), ..
    } = &event.change
    else {
        return Ok(Vec::new());
    };
    let Some(unit) = v.liable_units.first() else {
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
        unit_id: unit.id,
        person_ids: v.liable_persons.iter().map(|p| p.id).collect(),
        detail: serde_json::to_value(v)
            .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?,
        penalties,
    }];
    crate::api::violations::stack_rows(state, &policy, record.id, &mut rows).await?;
    Ok(rows)
}

async fn write(
    state: &AppState,
    record: &CaseRecord,
    case: &Case,
    event: &Event,
) -> Result<Option<Case>, AppError> {
    let (next, mut update) = update_for(record, case, event, event.at)?;
    if let Change::Dispute { dispute: d, .. } = &event.change {
        let timer = dispute::timer_name(d.no);
        match d.decision.as_ref().and_then(|x| x.due) {
            Some(due) if event.action == "dispute_decide" => {
                update.timers.push(TimerChange::Schedule {
                    clock: timer,
                    kind: TIMER_BREACH.to_owned(),
                    purpose: TIMER_FOR_DISPUTE.to_owned(),
                    generation: 1,
                    due_at: due,
                });
            }
            _ if event.action == "dispute_comply" => {
                update
                    .timers
                    .push(TimerChange::CancelClock { clock: timer });
            }
            _ => {}
        }
    }
    update.violations = ledger_entries(state, record, case, event).await?;
    Ok(subtasks::write(state, update).await?.then_some(next))
}

fn respond(next: &Case, no: u32) -> Result<DisputeBody, AppError> {
    next.disputes
        .iter()
        .find(|d| d.no == no)
        .map(|d| body_of(next, d))
        .ok_or_else(|| AppError::Internal("dispute missing after write".into()))
}

/// `POST /api/v1/cases/{number}/disputes` — `{unit, about}` (201).
pub async fn raise(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<RaiseBody>,
) -> Result<(StatusCode, axum::Json<DisputeBody>), AppError> {
    for _attempt in 0..3 {
        let (record, case) = case_for(&state, &user.0, &number).await?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory(&state).await?;
        let actor = actor_of(&user.0, &directory)?;
        let other = unit(&directory, "unit", &req.unit)?;
        let lookup = |id| directory.unit(id).cloned();
        let event = dispute::decide_raise(
            &policy,
            &case,
            &actor,
            &other,
            &req.about,
            &lookup,
            state.clock.now(),
        )
        .map_err(AppError::Refused)?;
        if let Some(next) = write(&state, &record, &case, &event).await? {
            let no = next.disputes.len() as u32;
            return Ok((StatusCode::CREATED, axum::Json(respond(&next, no)?)));
        }
    }
    Err(StoreError::Conflict.into())
}

/// `POST /api/v1/cases/{number}/disputes/{no}/decide` — `{ruling, owner_unit?, ordered_unit?}`.
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, no)): ApiPath<(String, u32)>,
    ApiJson(req): ApiJson<DecideBody>,
) -> Result<axum::Json<DisputeBody>, AppError> {
    for _attempt in 0..3 {
        let (record, case) = case_for(&state, &user.0, &number).await?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory(&state).await?;
        let actor = actor_of(&user.0, &directory)?;
        let owner_unit = req
            .owner_unit
            .as_deref()
            .map(|c| unit(&directory, "owner_unit", c))
            .transpose()?;
        let ordered_unit = req
            .ordered_unit
            .as_deref()
            .map(|c| unit(&directory, "ordered_unit", c))
            .transpose()?;
        let calendars = crate::calendar::OrgCalendars::load(&state).await?;
        let view_unit = ordered_unit
            .clone()
            .unwrap_or_else(|| case.owner_unit.clone());
        let owner_view = owner_unit.as_ref().map(|u| calendars.view(u));
        let event = dispute::decide_decision(
            &policy,
            &case,
            &actor,
            no,
            Ruling {
                ruling: &req.ruling,
                owner_unit,
                ordered_unit,
                owner_calendar: owner_view.as_ref(),
            },
            &calendars.view(&view_unit),
            state.clock.now(),
        )
        .map_err(AppError::Refused)?;
        if let Some(next) = write(&state, &record, &case, &event).await? {
            return Ok(axum::Json(respond(&next, no)?));
        }
    }
    Err(StoreError::Conflict.into())
}

/// `POST /api/v1/cases/{number}/disputes/{no}/comply` — `{}`: the ordered party reports the
/// decision carried out.
pub async fn comply(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((number, no)): ApiPath<(String, u32)>,
) -> Result<axum::Json<DisputeBody>, AppError> {
    for _attempt in 0..3 {
        let (record, case) = case_for(&state, &user.0, &number).await?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory(&state).await?;
        let actor = actor_of(&user.0, &directory)?;
        let event = dispute::decide_comply(&policy, &case, &actor, no, state.clock.now())
            .map_err(AppError::Refused)?;
        if let Some(next) = write(&state, &record, &case, &event).await? {
            return Ok(axum::Json(respond(&next, no)?));
        }
    }
    Err(StoreError::Conflict.into())
}

/// `GET /api/v1/cases/{number}/disputes`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
) -> Result<axum::Json<Vec<DisputeBody>>, AppError> {
    let (record, case) = case_for(&state, &user.0, &number).await?;
    let u = &user.0;
    let whole = subtasks::sees_whole(u, &record);
    Ok(axum::Json(
        case.disputes
            .iter()
            .filter(|d| whole || d.parties.iter().any(|p| p.path().starts_with(&u.unit_path)))
            .map(|d| body_of(&case, d))
            .collect(),
    ))
}

/// Fires a decision's deadline (from the scheduler). `None` on a version conflict.
pub(crate) async fn fire_overdue(
    state: &AppState,
    timer: &TimerRecord,
    record: &CaseRecord,
    case: &Case,
    no: u32,
    now: jiff::Timestamp,
) -> Result<Option<(FireOutcome, bool)>, AppError> {
    let Some(event) = dispute::decide_overdue(case, no, now) else {
        return subtasks::fire(state, timer, now, None).await;
    };
    let (_, mut update) = update_for(record, case, &event, now)?;
    update.violations = ledger_entries(state, record, case, &event).await?;
    subtasks::fire(state, timer, now, Some(update)).await
}
