//! `/api/v1/cases/{number}/callback/…`: 回访 — record an attempt, a verdict, or a waiver.
//!
//! The shell around [`manyi_core::callback`]: load the case and its policy version, let the
//! core decide, append the event with the new current state in one store transaction (again
//! on the fresh state after a concurrent change), answer with the case. The case JSON carries
//! the callback record ([`CallbackBody`]).

use axum::extract::State;
use manyi_core::callback::{
    self, AttemptInput, CallbackRecord, CallbackStatus, Party, Verdict, VerdictInput,
};
use manyi_core::case::{Case, Event};
use manyi_core::engine::{Directory, FieldError, Refusal, RefusalReason};
use manyi_core::org::Actor;
use manyi_core::policy::{CaseKind, Policy};
use manyi_store::{StoreError, User};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::AppState;
use crate::api::cases::{
    CaseBody, actor_of, body_of, case_of, directory_for, may_see, timestamp, update_for,
};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// `POST …/callback/attempts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptRequest {
    /// `customer` (default) or `subject` (with `also_subject`).
    #[serde(default)]
    pub party: Option<String>,
    pub channel: String,
    pub reached: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST …/callback/verdict` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictRequest {
    #[serde(default)]
    pub party: Option<String>,
    /// `satisfied`, `basically_satisfied` or `dissatisfied` (满意 / 基本满意 / 不满意).
    pub verdict: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST …/callback/waive` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiveRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The callback record of a case, as the API shows it.
#[derive(Serialize)]
pub struct CallbackBody {
    pub label: String,
    pub clause: String,
    /// `none` (not owed yet), `pending`, `done` or `waived`: the current round.
    pub status: String,
    pub channels: Vec<String>,
    /// The caller may record attempts and verdicts now.
    pub may_record: bool,
    /// The caller may waive it now.
    pub may_waive: bool,
    pub rounds: Vec<RoundBody>,
}

#[derive(Serialize)]
pub struct RoundBody {
    pub round: u32,
    pub status: CallbackStatus,
    pub opened_at: String,
    pub resolved_by: Option<String>,
    pub parties: Vec<Party>,
    pub attempts: Vec<AttemptBody>,
    pub verdicts: Vec<VerdictBody>,
    pub waiver: Option<WaiverBody>,
}

#[derive(Serialize)]
pub struct AttemptBody {
    pub at: String,
    pub by: String,
    pub by_name: String,
    pub party: Party,
    pub channel: String,
    pub reached: bool,
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct VerdictBody {
    pub at: String,
    pub by: String,
    pub by_name: String,
    pub party: Party,
    pub verdict: Verdict,
    pub verdict_label: String,
    pub channel: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct WaiverBody {
    pub at: String,
    pub by: String,
    pub by_name: String,
    pub reason: String,
}

fn round_body(r: &CallbackRecord) -> RoundBody {
    RoundBody {
        round: r.round,
        status: r.status,
        opened_at: timestamp(r.opened_at),
        resolved_by: r.resolved_by.as_ref().map(|p| p.login.clone()),
        parties: r.parties.clone(),
        attempts: r
            .attempts
            .iter()
            .map(|a| AttemptBody {
                at: timestamp(a.at),
                by: a.by.login.clone(),
                by_name: a.by.name.clone(),
                party: a.party,
                channel: a.channel.clone(),
                reached: a.reached,
                note: a.note.clone(),
            })
            .collect(),
        verdicts: r
            .verdicts
            .iter()
            .map(|v| VerdictBody {
                at: timestamp(v.at),
                by: v.by.login.clone(),
                by_name: v.by.name.clone(),
                party: v.party,
                verdict: v.verdict,
                verdict_label: v.verdict.label_zh().to_owned(),
                channel: v.channel.clone(),
                note: v.note.clone(),
            })
            .collect(),
        waiver: r.waiver.as_ref().map(|w| WaiverBody {
            at: timestamp(w.at),
            by: w.by.login.clone(),
            by_name: w.by.name.clone(),
            reason: w.reason.clone(),
        }),
    }
}

/// The callback part of the case JSON; `None` when the kind declares no callback.
pub fn body(
    policy: &Policy,
    kind: Option<&CaseKind>,
    case: &Case,
    actor: Option<&Actor>,
) -> Option<CallbackBody> {
    let rule = kind?.callback.as_ref()?;
    let status = match case.callbacks.last().map(|c| c.status) {
        None => "none",
        Some(CallbackStatus::Pending) => "pending",
        Some(CallbackStatus::Done) => "done",
        Some(CallbackStatus::Waived) => "waived",
    };
    let may = |waive: bool| {
        actor.is_some_and(|a| callback::check_actor(policy, case, a, waive).is_ok())
            && (waive || !case.closed)
    };
    Some(CallbackBody {
        label: rule.label.clone(),
        clause: rule.clause.clone(),
        status: status.to_owned(),
        channels: rule.channels.clone(),
        may_record: may(false),
        // A waiver stands in for a callback that is owed: not on a closed case, nor before
        // the case was resolved.
        may_waive: may(true) && status == "pending",
        rounds: case.callbacks.iter().map(round_body).collect(),
    })
}

fn invalid(field: &str, code: &str, en: String, zh: String) -> AppError {
    AppError::Refused(Refusal {
        reason: RefusalReason::InvalidFields,
        clause: None,
        message_zh: format!("{field}：{zh}"),
        message: format!("{field}: {en}"),
        fields: vec![FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: en,
            message_zh: zh,
        }],
    })
}

fn party_of(party: Option<&str>) -> Result<Party, AppError> {
    match party {
        None => Ok(Party::Customer),
        Some(p) => Party::parse(p).ok_or_else(|| {
            invalid(
                "party",
                "choice.unknown",
                format!("unknown party `{p}`; expected customer or subject"),
                format!("回访对象“{p}”无效，应为 customer（投诉人）或 subject（被投诉人）"),
            )
        }),
    }
}

/// What a callback request decides, given what the shell loaded.
pub enum Action {
    Attempt(AttemptInput),
    Verdict(VerdictInput),
    Waive(Option<String>),
}

impl Action {
    fn decide(
        &self,
        policy: &Policy,
        case: &Case,
        actor: &Actor,
        directory: &Directory,
        calendar: &manyi_core::calendar::CalendarView<'_>,
        now: jiff::Timestamp,
    ) -> Result<Event, Refusal> {
        match self {
            Action::Attempt(input) => {
                callback::decide_attempt(policy, case, input, actor, calendar, now)
            }
            Action::Verdict(input) => {
                callback::decide_verdict(policy, case, input, actor, directory, calendar, now)
            }
            Action::Waive(reason) => {
                callback::decide_waiver(policy, case, reason.as_deref(), actor, calendar, now)
            }
        }
    }
}

impl AttemptRequest {
    pub fn into_action(self) -> Result<Action, AppError> {
        Ok(Action::Attempt(AttemptInput {
            party: party_of(self.party.as_deref())?,
            channel: self.channel.trim().to_owned(),
            reached: self.reached,
            note: self.note,
        }))
    }
}

impl VerdictRequest {
    pub fn into_action(self) -> Result<Action, AppError> {
        let verdict = Verdict::parse(self.verdict.trim()).ok_or_else(|| {
            invalid(
                "verdict",
                "choice.unknown",
                format!(
                    "unknown verdict `{}`; expected satisfied, basically_satisfied or dissatisfied",
                    self.verdict
                ),
                format!("回访结论“{}”无效，应为满意、基本满意或不满意", self.verdict),
            )
        })?;
        Ok(Action::Verdict(VerdictInput {
            party: party_of(self.party.as_deref())?,
            verdict,
            channel: self
                .channel
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            note: self.note,
        }))
    }
}

/// Takes a callback action as `user` on case `number`; returns the case after it.
pub async fn act_as(
    state: &AppState,
    user: &User,
    number: &str,
    action: &Action,
) -> Result<CaseBody, AppError> {
    for _attempt in 0..3 {
        let record = state
            .store
            .case_by_number(number)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no case {number}")))?;
        if !may_see(user, &record) {
            return Err(AppError::NotFound(format!("no case {number}")));
        }
        let case = case_of(&record)?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let directory = directory_for(state, None, &Map::new()).await?;
        let actor = actor_of(user, &directory)?;
        let now = state.clock.now();
        let calendars = crate::calendar::OrgCalendars::load(state).await?;
        let event = action
            .decide(
                &policy,
                &case,
                &actor,
                &directory,
                &calendars.view(&case.owner_unit),
                now,
            )
            .map_err(AppError::Refused)?;
        let (next, update) = update_for(&record, &case, &event, now)?;
        let wrote_timers = !update.timers.is_empty();
        match state.store.update_case(update).await {
            Ok(_) => {
                if wrote_timers {
                    state.timers_changed.notify_one();
                }
                return Ok(body_of(state, &next, &policy, Some(&actor)));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// `POST /api/v1/cases/{number}/callback/attempts`.
pub async fn attempt(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<AttemptRequest>,
) -> Result<axum::Json<CaseBody>, AppError> {
    let action = req.into_action()?;
    Ok(axum::Json(act_as(&state, &user.0, &number, &action).await?))
}

/// `POST /api/v1/cases/{number}/callback/verdict`.
pub async fn verdict(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<VerdictRequest>,
) -> Result<axum::Json<CaseBody>, AppError> {
    let action = req.into_action()?;
    Ok(axum::Json(act_as(&state, &user.0, &number, &action).await?))
}

/// `POST /api/v1/cases/{number}/callback/waive`.
pub async fn waive(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(req): ApiJson<WaiveRequest>,
) -> Result<axum::Json<CaseBody>, AppError> {
    let action = Action::Waive(req.reason);
    Ok(axum::Json(act_as(&state, &user.0, &number, &action).await?))
}
