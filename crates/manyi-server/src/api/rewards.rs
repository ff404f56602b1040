//! The rewards ledger over HTTP (ccb-counter 第三十二条: annual individual and collective
//! awards), the mirror image of penalties.
//!
//! - `POST /api/v1/rewards {policy, rule, period, person | unit, basis}`: a nomination by a
//!   holder of the rule's `proposed_by` roles.
//! - `POST /api/v1/rewards/{id}/decide {granted, amount?, reason}`: a holder of `decided_by`,
//!   neither the recipient nor the proposer, grants inside the range or declines, with a reason.
//! - `GET /api/v1/rewards?period=&status=&unit=` and `GET /api/v1/rewards.csv?…`.
//!
//! Lists are scoped like the penalty ledger: a user sees their unit's subtree and their own
//! awards; an admin sees all. The checks are `manyi_core::rewards`'.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use manyi_core::org::{Actor, UnitRef};
use manyi_core::rewards::{self, RewardRule};
use manyi_core::values::Money;
use manyi_store::{NewReward, RewardDecision, RewardFilter, RewardRecord, StoreError, Visibility};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::api::cases::timestamp;
use crate::api::penalties::{NOTE, PersonBody, amount_of, csv_cell, people, person_body};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};
use crate::policies::Compiled;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    pub policy: String,
    pub rule: String,
    /// A year, e.g. `2026`.
    pub period: String,
    /// A login, for an individual award.
    #[serde(default)]
    pub person: Option<String>,
    /// A unit code, for a collective award.
    #[serde(default)]
    pub unit: Option<String>,
    pub basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    pub granted: bool,
    /// Fen as an integer or yuan as a string; required when granted (unless the rule gives no
    /// money).
    #[serde(default)]
    pub amount: Option<Value>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardQuery {
    pub period: Option<String>,
    pub status: Option<String>,
    pub unit: Option<String>,
}

#[derive(Serialize)]
pub struct RewardBody {
    pub id: i64,
    pub policy: String,
    pub rule: String,
    pub clause: String,
    pub period: String,
    /// `person` or `unit`.
    pub recipient: &'static str,
    pub person: Option<PersonBody>,
    pub unit: String,
    pub basis: String,
    pub proposed_by: Option<PersonBody>,
    pub proposed_at: String,
    pub range: crate::api::penalties::AmountRange,
    /// `proposed`, `granted`, `declined`.
    pub status: String,
    pub amount_fen: Option<i64>,
    pub reason: Option<String>,
    pub decided_by: Option<PersonBody>,
    pub decided_at: Option<String>,
    pub note: &'static str,
}

#[derive(Serialize)]
pub struct RewardList {
    pub items: Vec<RewardBody>,
}

fn body(r: RewardRecord, people: &std::collections::HashMap<i64, manyi_store::User>) -> RewardBody {
    let text = if r.max_fen == 0 {
        "—".to_owned()
    } else {
        format!(
            "{}–{} 元",
            Money::from_fen(r.min_fen),
            Money::from_fen(r.max_fen)
        )
    };
    RewardBody {
        id: r.id,
        recipient: if r.person_id.is_some() {
            "person"
        } else {
            "unit"
        },
        person: person_body(people, r.person_id),
        unit: r.unit_code,
        basis: r.basis,
        proposed_by: person_body(people, Some(r.proposed_by)),
        proposed_at: timestamp(r.proposed_at),
        range: crate::api::penalties::AmountRange {
            min_fen: r.min_fen,
            max_fen: r.max_fen,
            text,
        },
        status: r.status,
        amount_fen: r.amount_fen,
        reason: r.decision_reason,
        decided_by: person_body(people, r.decided_by),
        decided_at: r.decided_at.map(timestamp),
        policy: r.policy,
        rule: r.rule,
        clause: r.clause,
        period: r.period,
        note: NOTE,
    }
}

async fn actor_of(state: &AppState, user: &manyi_store::User) -> Result<Actor, AppError> {
    let unit =
        state.store.unit_by_id(user.unit_id).await?.ok_or_else(|| {
            AppError::Internal(format!("unit {} of a user is missing", user.unit_id))
        })?;
    Ok(Actor {
        id: user.id,
        login: user.login.clone(),
        name: user.name.clone(),
        unit: UnitRef::from_path(unit.id, &unit.code, &unit.name, &unit.level, &unit.path),
        roles: user.roles.clone(),
    })
}

fn unknown(field: &str, message: String, message_zh: String) -> AppError {
    AppError::Invalid {
        detail: message.clone(),
        fields: vec![manyi_core::engine::FieldError {
            field: field.into(),
            code: "unknown".into(),
            message,
            message_zh,
        }],
    }
}

/// The active version of `policy` and its rule `rule`.
async fn rule_of(
    state: &AppState,
    policy: &str,
    rule: &str,
) -> Result<(Arc<Compiled>, RewardRule), AppError> {
    let active = state.store.active_policies().await?;
    let record = active.iter().find(|p| p.name == policy).ok_or_else(|| {
        unknown(
            "policy",
            format!("no active policy `{policy}`"),
            format!("没有已启用的策略“{policy}”"),
        )
    })?;
    let compiled = state.policies.compile(record)?;
    let found = compiled.reward(rule).cloned().ok_or_else(|| {
        let known: Vec<&str> = compiled.rewards.iter().map(|r| r.id.as_str()).collect();
        unknown(
            "rule",
            format!(
                "policy {policy} has no reward `{rule}`; known: {}",
                known.join(", ")
            ),
            format!("策略 {policy} 没有奖励“{rule}”"),
        )
    })?;
    Ok((compiled, found))
}

/// `POST /api/v1/rewards`.
pub async fn propose(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<ProposeRequest>,
) -> Result<Response, AppError> {
    let (compiled, rule) = rule_of(&state, &req.policy, &req.rule).await?;
    let actor = actor_of(&state, &user.0).await?;
    let (person_id, unit_id) = match (&req.person, &req.unit) {
        (Some(login), None) => {
            let u = state.store.user_by_login(login).await?.ok_or_else(|| {
                unknown(
                    "person",
                    format!("no user `{login}`"),
                    format!("没有用户“{login}”"),
                )
            })?;
            (Some(u.id), u.unit_id)
        }
        (None, Some(code)) => {
            let u = state.store.unit_by_code(code).await?.ok_or_else(|| {
                unknown(
                    "unit",
                    format!("no unit `{code}`"),
                    format!("没有机构“{code}”"),
                )
            })?;
            (None, u.id)
        }
        _ => {
            return Err(AppError::BadRequest(
                "give exactly one of `person` (a login) or `unit` (a unit code)".into(),
            ));
        }
    };
    rewards::check_proposal(
        &compiled,
        &rule,
        &actor,
        req.period.trim(),
        &req.basis,
        person_id,
    )
    .map_err(AppError::Refused)?;
    let record = state
        .store
        .insert_reward(NewReward {
            policy: req.policy.clone(),
            rule: rule.id.clone(),
            clause: rule.clause.clone(),
            period: req.period.trim().to_owned(),
            person_id,
            unit_id,
            basis: req.basis.trim().to_owned(),
            proposed_by: actor.id,
            proposed_at: state.clock.now(),
            min_fen: rule.min_fen,
            max_fen: rule.max_fen,
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::Conflict(format!(
                "{}: {} already has a `{}` proposal for {}",
                rule.clause,
                req.person
                    .as_deref()
                    .or(req.unit.as_deref())
                    .unwrap_or_default(),
                rule.id,
                req.period.trim()
            )),
            other => other.into(),
        })?;
    tracing::info!(reward_id = record.id, "reward proposed");
    let people = people(&state).await?;
    Ok((StatusCode::CREATED, axum::Json(body(record, &people))).into_response())
}

/// `POST /api/v1/rewards/{id}/decide`.
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<axum::Json<RewardBody>, AppError> {
    let not_found = || AppError::NotFound(format!("no reward {id}"));
    let record = state.store.reward_by_id(id).await?.ok_or_else(not_found)?;
    let unit = state
        .store
        .unit_by_id(record.unit_id)
        .await?
        .ok_or_else(not_found)?;
    let may_see = user.is_admin()
        || record.person_id == Some(user.0.id)
        || unit.path.starts_with(&user.0.unit_path);
    if !may_see {
        return Err(not_found());
    }
    let (compiled, rule) = rule_of(&state, &record.policy, &record.rule).await?;
    let actor = actor_of(&state, &user.0).await?;
    let amount = req.amount.as_ref().map(amount_of).transpose()?;
    let amount = rewards::check_decision(
        &compiled,
        &rule,
        &record.status,
        record.person_id,
        record.proposed_by,
        &actor,
        req.granted,
        amount,
        &req.reason,
    )
    .map_err(AppError::Refused)?;
    let decided = state
        .store
        .decide_reward(
            id,
            RewardDecision {
                granted: req.granted,
                amount_fen: amount,
                reason: req.reason.trim().to_owned(),
                by: actor.id,
                at: state.clock.now(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict => {
                AppError::Conflict("the reward was decided by someone else meanwhile".into())
            }
            other => other.into(),
        })?;
    tracing::info!(reward_id = decided.id, status = %decided.status, "reward decided");
    let people = people(&state).await?;
    Ok(axum::Json(body(decided, &people)))
}

async fn list_of(
    state: &AppState,
    user: &CurrentUser,
    query: Result<Query<RewardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Vec<RewardBody>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let mut f = RewardFilter {
        period: q.period,
        ..RewardFilter::default()
    };
    if let Some(s) = q.status {
        if !["proposed", "granted", "declined"].contains(&s.as_str()) {
            return Err(AppError::BadRequest(format!(
                "`status` = {s:?}: one of proposed, granted, declined"
            )));
        }
        f.status = Some(s);
    }
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
    let people = people(state).await?;
    Ok(state
        .store
        .list_rewards(&f)
        .await?
        .into_iter()
        .map(|r| body(r, &people))
        .collect())
}

/// `GET /api/v1/rewards`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<RewardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<RewardList>, AppError> {
    Ok(axum::Json(RewardList {
        items: list_of(&state, &user, query).await?,
    }))
}

/// `GET /api/v1/rewards.csv`: UTF-8 with BOM, formula-like cells defused.
pub async fn csv(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<RewardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let items = list_of(&state, &user, query).await?;
    let mut out = String::from(
        "\u{feff}id,policy,rule,clause,period,recipient,person,unit,basis,proposed_by,\
         proposed_at,range,status,amount_yuan,reason,decided_by,decided_at\r\n",
    );
    for r in items {
        let login =
            |p: &Option<PersonBody>| p.as_ref().map(|p| p.login.clone()).unwrap_or_default();
        let cells = [
            r.id.to_string(),
            r.policy,
            r.rule,
            r.clause,
            r.period,
            r.recipient.to_owned(),
            login(&r.person),
            r.unit,
            r.basis,
            login(&r.proposed_by),
            r.proposed_at,
            r.range.text,
            r.status,
            r.amount_fen
                .map(|f| Money::from_fen(f).to_string())
                .unwrap_or_default(),
            r.reason.unwrap_or_default(),
            login(&r.decided_by),
            r.decided_at.unwrap_or_default(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rewards.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
