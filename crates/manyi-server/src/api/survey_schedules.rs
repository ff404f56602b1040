//! Routine surveys started by a schedule (sht-bigcustomer 5.1.3 "大客户服务质量常态调查",
//! csg-custservice 2.1.8): the scheduler's due-check ([`run_due`]), and the API the service
//! department reads them through:
//!
//! - `GET /api/v1/survey-schedules`: every schedule of the active policies the caller may see
//!   (an administrator, or a holder of the survey's `issue_roles`), with its state: last run,
//!   next run, or "period not configured" (CLAUSES.md A16: never silently passing);
//! - `PUT /api/v1/survey-schedules/{policy}/{kind}/{id}`: the organisation's period for a
//!   schedule whose policy leaves it to configuration (administrators);
//! - `GET /api/v1/survey-schedules/{policy}/{kind}/{id}/rounds/{round}`: the surveys a round
//!   issued with their SMS / e-mail texts, in the caller's jurisdiction.
//!
//! A round runs once per period across every instance: `Store::run_survey_round` claims it by
//! its unique key in the transaction that records its surveys (see docs/OPERATIONS.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use jiff::Timestamp;
use manyi_core::engine::FieldError;
use manyi_core::survey::{self, Party, SurveyRule};
use manyi_core::survey_schedule::{
    self as sched, Candidate, Customers, Period, PeriodSetting, ScheduleRule, ScheduleState,
};
use manyi_store::{NewRound, NewRoundSurvey, NewSurvey, RoundRecord, SUBJECT, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::api::cases::{case_of, timestamp};
use crate::auth::{CurrentUser, random_token, token_hash};
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};
use crate::policies::Compiled;

/// The most cases one round reads: a round is one transaction.
const MAX_ROUND_CASES: u32 = 100_000;

/// A schedule of an active policy.
struct Found {
    policy: Arc<Compiled>,
    kind: String,
    rule: SurveyRule,
    schedule: ScheduleRule,
}

impl Found {
    fn key(&self) -> String {
        sched::schedule_key(&self.policy.id, &self.kind, &self.schedule.id)
    }
}

async fn schedules(state: &AppState) -> Result<Vec<Found>, AppError> {
    let mut out = Vec::new();
    for record in state.store.active_policies().await? {
        let policy = state.policies.get(&state.store, record.id).await?;
        for kind in &policy.kinds {
            let Some(rule) = &kind.survey else { continue };
            for schedule in &rule.schedules {
                out.push(Found {
                    policy: policy.clone(),
                    kind: kind.id.clone(),
                    rule: rule.clone(),
                    schedule: schedule.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The configured periods, by schedule key.
async fn configured(state: &AppState) -> Result<BTreeMap<String, Period>, AppError> {
    Ok(state
        .store
        .survey_schedule_periods()
        .await?
        .into_iter()
        .filter_map(|(k, p)| Period::parse(&p).map(|p| (k, p)))
        .collect())
}

/// What the scheduler's due-check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundsReport {
    /// Rounds this instance ran.
    pub ran: usize,
    /// Rounds another instance ran first.
    pub lost: usize,
    /// Surveys issued by the rounds this instance ran.
    pub issued: usize,
}

/// Runs every round that is due: called by the scheduler on each tick. A schedule whose period
/// is not configured runs nothing (its state says so).
pub async fn run_due(state: &AppState) -> Result<RoundsReport, AppError> {
    let now = state.clock.now();
    let periods = configured(state).await?;
    let mut report = RoundsReport::default();
    for found in schedules(state).await? {
        let key = found.key();
        let period = sched::effective_period(found.schedule.period, periods.get(&key).copied());
        let last: Vec<String> = state
            .store
            .survey_rounds(&key, 1)
            .await?
            .into_iter()
            .map(|r| r.round_key)
            .collect();
        let ScheduleState::Due { round } = sched::state(period, &last, now) else {
            continue;
        };
        match run_round(state, &found, &key, round, now).await? {
            Some(r) => {
                report.ran += 1;
                report.issued += usize::try_from(r.issued).unwrap_or(0);
                tracing::info!(
                    schedule = %key,
                    round = %r.round_key,
                    issued = r.issued,
                    clause = %found.schedule.clause,
                    "survey round ran"
                );
            }
            None => report.lost += 1,
        }
    }
    Ok(report)
}

/// The origin of links issued without a request.
fn origin(state: &AppState) -> String {
    state
        .config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| "http://localhost".into())
}

/// Issues the round's surveys and records them with the round, in one transaction; `None`
/// when another instance ran the round first.
async fn run_round(
    state: &AppState,
    found: &Found,
    key: &str,
    round: sched::Round,
    now: Timestamp,
) -> Result<Option<RoundRecord>, AppError> {
    let ids = state
        .store
        .closed_case_ids(&found.kind, round.from, round.to, key, MAX_ROUND_CASES)
        .await?;
    let mut records = state.store.cases_by_ids(&ids).await?;
    records.sort_by_key(|r| r.id);
    // Only the cases of this policy: another policy may have a kind of the same name.
    let mut mine = Vec::new();
    for r in records {
        let policy = state.policies.get(&state.store, r.policy_id).await?;
        if policy.id == found.policy.id {
            mine.push((r, policy));
        }
    }
    let candidates: Vec<Candidate> = mine
        .iter()
        .map(|(r, _)| Candidate {
            unit_id: r.owner_unit_id,
            number: r.number.clone(),
        })
        .collect();
    let origin = origin(state);
    let mut surveys = Vec::new();
    for i in sched::pick(found.schedule.customers, &round.key, &candidates) {
        let (record, policy) = &mine[i];
        let case = case_of(record)?;
        // The case's own policy version asks the questions its link opens (as for a link
        // issued by hand); the active one's survey if that version had none.
        let rule = policy
            .kind(&case.kind)
            .and_then(|k| k.survey.as_ref())
            .unwrap_or(&found.rule);
        // The complainant always; the person complained about too when the survey says
        // `also_subject` and the case names them (lawfirm-complaint 三(二)(三)): a link of
        // their own, with their invitation and questions, counted apart — as a survey issued
        // on a case.
        let mut parties = vec![Party::Customer];
        if rule.also_subject
            && matches!(
                survey::check_party(&policy.policy, rule, &case, Party::Subject),
                Ok(Some(_))
            )
        {
            parties.push(Party::Subject);
        }
        for party in parties {
            surveys.push(round_survey(rule, record.id, &case, party, &origin, now));
        }
    }
    Ok(state
        .store
        .run_survey_round(NewRound {
            schedule_key: key.to_owned(),
            round_key: round.key,
            period_from: round.from,
            period_to: round.to,
            ran_at: now,
            surveys,
        })
        .await?)
}

/// One link of a round: a new token for `party` about case `case` (stored as `case_id`), its
/// text, and the party row when it is not the complainant.
fn round_survey(
    rule: &SurveyRule,
    case_id: i64,
    case: &manyi_core::case::Case,
    party: Party,
    origin: &str,
    now: Timestamp,
) -> NewRoundSurvey {
    let token = random_token(32);
    let expires = survey::expires_at(rule, now);
    let link = format!("{origin}/public/survey/{token}");
    let expires_text = timestamp(expires);
    let day = expires_text.get(..10).unwrap_or(&expires_text);
    let (message_zh, message_en) =
        survey::message(rule, party, &case.number, &case.fields, &link, day);
    NewRoundSurvey {
        survey: NewSurvey {
            token_hash: token_hash(&token),
            case_id,
            kind: case.kind.clone(),
            unit_id: case.owner_unit.id,
            handler_id: case.assignee.as_ref().map(|a| a.id),
            category: case
                .fields
                .get("category")
                .and_then(Value::as_str)
                .map(str::to_owned),
            issued_by: None,
            issued_at: now,
            expires_at: expires,
        },
        party: (party == Party::Subject).then(|| SUBJECT.to_owned()),
        message_zh,
        message_en,
    }
}

/// A round that ran, as the API shows it.
#[derive(Serialize)]
pub struct RoundView {
    pub round: String,
    pub from: String,
    pub to: String,
    pub ran_at: String,
    pub issued: i64,
}

/// A schedule and its state.
#[derive(Serialize)]
pub struct ScheduleView {
    /// `<policy>/<kind>/<id>`.
    pub key: String,
    pub policy: String,
    pub kind: String,
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub clause: String,
    /// `monthly`, `quarterly`, or null while not configured.
    pub period: Option<String>,
    /// `policy` (the policy fixes it) or `configuration` (the organisation sets it).
    pub period_from: String,
    /// `closed_in_period` or `sample`.
    pub customers: String,
    pub sample_per_unit: Option<u32>,
    /// `not_configured`, `due` (runs on the scheduler's next tick) or `up_to_date`.
    pub state: String,
    /// The round due now, while `state` is `due`.
    pub due_round: Option<String>,
    pub last_run: Option<RoundView>,
    /// When the next round falls due (`up_to_date`).
    pub next_run: Option<String>,
    /// The state in words.
    pub message_zh: String,
    pub message: String,
}

fn round_view(r: &RoundRecord) -> RoundView {
    RoundView {
        round: r.round_key.clone(),
        from: timestamp(r.period_from),
        to: timestamp(r.period_to),
        ran_at: timestamp(r.ran_at),
        issued: r.issued,
    }
}

fn is_admin(user: &User) -> bool {
    user.roles.iter().any(|r| r == "admin")
}

/// The service department: an administrator or a holder of the survey's `issue_roles`.
fn may_see(user: &User, rule: &SurveyRule) -> bool {
    is_admin(user) || user.roles.iter().any(|r| rule.issue_roles.contains(r))
}

async fn view(
    state: &AppState,
    found: &Found,
    periods: &BTreeMap<String, Period>,
    now: Timestamp,
) -> Result<ScheduleView, AppError> {
    let key = found.key();
    let period = sched::effective_period(found.schedule.period, periods.get(&key).copied());
    let last = state.store.survey_rounds(&key, 1).await?;
    let ran: Vec<String> = last.iter().map(|r| r.round_key.clone()).collect();
    let st = sched::state(period, &ran, now);
    let last_run = last.first().map(round_view);
    let last_text = last_run
        .as_ref()
        .map(|r| (r.round.clone(), r.ran_at.clone(), r.issued));
    let (state_word, due_round, next_run, zh, en) = match &st {
        ScheduleState::NotConfigured => (
            "not_configured",
            None,
            None,
            "周期未配置：规定未给出调查周期，须由本单位配置（monthly / quarterly），配置前不会自动调查"
                .to_owned(),
            "period not configured: the regulation gives no period; the organisation must set one (monthly / quarterly) — until then no round runs"
                .to_owned(),
        ),
        ScheduleState::Due { round } => (
            "due",
            Some(round.key.clone()),
            None,
            format!("{} 轮待执行（调度器下次运行时发出）", round.key),
            format!("round {} is due (the scheduler runs it on its next tick)", round.key),
        ),
        ScheduleState::UpToDate { next_run } => {
            let next = timestamp(*next_run);
            let (zh_last, en_last) = match &last_text {
                Some((round, at, n)) => (
                    format!("上次：{round} 轮，{at} 发出 {n} 份"),
                    format!("last: round {round}, {n} issued at {at}"),
                ),
                None => (String::new(), String::new()),
            };
            (
                "up_to_date",
                None,
                Some(next.clone()),
                format!("{zh_last}；下次：{next}"),
                format!("{en_last}; next: {next}"),
            )
        }
    };
    let (customers, sample) = match found.schedule.customers {
        Customers::ClosedInPeriod => ("closed_in_period", None),
        Customers::SamplePerUnit(n) => ("sample", Some(n)),
    };
    Ok(ScheduleView {
        key,
        policy: found.policy.id.clone(),
        kind: found.kind.clone(),
        id: found.schedule.id.clone(),
        label: found.schedule.label.clone(),
        label_en: found.schedule.label_en.clone(),
        clause: found.schedule.clause.clone(),
        period: period.map(|p| p.keyword().to_owned()),
        period_from: match found.schedule.period {
            PeriodSetting::Fixed(_) => "policy",
            PeriodSetting::Configured => "configuration",
        }
        .to_owned(),
        customers: customers.to_owned(),
        sample_per_unit: sample,
        state: state_word.to_owned(),
        due_round,
        last_run,
        next_run,
        message_zh: zh,
        message: en,
    })
}

/// The schedules `user` may see, with their state: the API's and the results page's.
pub async fn views_for(state: &AppState, user: &User) -> Result<Vec<ScheduleView>, AppError> {
    let now = state.clock.now();
    let periods = configured(state).await?;
    let mut out = Vec::new();
    for found in schedules(state).await? {
        if may_see(user, &found.rule) {
            out.push(view(state, &found, &periods, now).await?);
        }
    }
    Ok(out)
}

#[derive(Serialize)]
pub struct SchedulesBody {
    pub schedules: Vec<ScheduleView>,
}

/// `GET /api/v1/survey-schedules`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<SchedulesBody>, AppError> {
    Ok(axum::Json(SchedulesBody {
        schedules: views_for(&state, &user.0).await?,
    }))
}

/// The schedule at `{policy}/{kind}/{id}` of an active policy, if `user` may see it.
async fn find(
    state: &AppState,
    user: &User,
    (policy, kind, id): &(String, String, String),
) -> Result<Found, AppError> {
    schedules(state)
        .await?
        .into_iter()
        .find(|f| f.policy.id == *policy && f.kind == *kind && f.schedule.id == *id)
        .filter(|f| may_see(user, &f.rule))
        .ok_or_else(|| AppError::NotFound(format!("no survey schedule {policy}/{kind}/{id}")))
}

/// `PUT /api/v1/survey-schedules/{policy}/{kind}/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodRequest {
    /// `monthly`, `quarterly`, or null to clear it.
    pub period: Option<String>,
}

/// `PUT /api/v1/survey-schedules/{policy}/{kind}/{id}`: the organisation sets the period of a
/// schedule whose policy leaves it to configuration. Administrators only.
pub async fn set_period(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(path): ApiPath<(String, String, String)>,
    ApiJson(req): ApiJson<PeriodRequest>,
) -> Result<axum::Json<ScheduleView>, AppError> {
    let found = find(&state, &user.0, &path).await?;
    if !is_admin(&user.0) {
        return Err(AppError::Forbidden(
            "only an administrator sets a survey schedule's period (organisation configuration)"
                .into(),
        ));
    }
    let invalid = |value: &str, en: String, zh: String| AppError::Invalid {
        detail: en.clone(),
        fields: vec![FieldError {
            field: "period".into(),
            code: value.to_owned(),
            message: en,
            message_zh: zh,
        }],
    };
    if let PeriodSetting::Fixed(p) = found.schedule.period {
        return Err(invalid(
            "period.fixed",
            format!(
                "the policy fixes the period of `{}` ({}, clause {}): it is not configurable",
                found.key(),
                p.keyword(),
                found.schedule.clause
            ),
            format!("策略已规定该调查的周期（{}），不可配置", p.keyword()),
        ));
    }
    let period = match req.period.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => match Period::parse(p) {
            Some(p) => Some(p),
            None => {
                return Err(invalid(
                    "period.unknown",
                    format!("`period` is `monthly` or `quarterly` (or null to clear), not `{p}`"),
                    format!("周期“{p}”无效，应为 monthly 或 quarterly"),
                ));
            }
        },
    };
    let now = state.clock.now();
    state
        .store
        .set_survey_schedule_period(
            &found.key(),
            period.map(Period::keyword),
            Some(user.0.id),
            now,
        )
        .await?;
    let periods = configured(&state).await?;
    Ok(axum::Json(view(&state, &found, &periods, now).await?))
}

/// One survey a round issued.
#[derive(Serialize)]
pub struct InvitationView {
    pub case: String,
    /// To whom the link is addressed: `customer` (the complainant) or `subject` (the person
    /// complained about, when the kind's survey says `also_subject`).
    pub party: Party,
    pub expires_at: String,
    pub answered: bool,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Serialize)]
pub struct RoundBody {
    pub round: RoundView,
    pub invitations: Vec<InvitationView>,
}

/// `GET /api/v1/survey-schedules/{policy}/{kind}/{id}/rounds/{round}`: the surveys the round
/// issued in the caller's jurisdiction (an administrator: all), with their texts to send.
pub async fn round(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((policy, kind, id, round_key)): ApiPath<(String, String, String, String)>,
) -> Result<axum::Json<RoundBody>, AppError> {
    let found = find(&state, &user.0, &(policy, kind, id)).await?;
    let not_found = || AppError::NotFound(format!("no round {round_key} of {}", found.key()));
    let record = state
        .store
        .survey_rounds(&found.key(), 1000)
        .await?
        .into_iter()
        .find(|r| r.round_key == round_key)
        .ok_or_else(not_found)?;
    let admin = is_admin(&user.0);
    let invitations = state
        .store
        .survey_round_invitations(record.id)
        .await?
        .into_iter()
        .filter(|i| admin || i.unit_path.starts_with(&user.0.unit_path))
        .map(|i| InvitationView {
            case: i.case_number,
            party: match i.party.as_deref() {
                Some(SUBJECT) => Party::Subject,
                _ => Party::Customer,
            },
            expires_at: timestamp(i.expires_at),
            answered: i.answered,
            message_zh: i.message_zh,
            message_en: i.message_en,
        })
        .collect();
    Ok(axum::Json(RoundBody {
        round: round_view(&record),
        invitations,
    }))
}
