//! `POST /api/v1/conduct`: conduct recorded without a case (issue 5). A supervisor's daily
//! review sees a teller without a badge, a lobby manager hears rude words at the counter
//! (jinbi-property 第四条 礼仪, 第六条 规范用语): no complaint case exists, yet the policy's
//! `[[conduct]]` type was broken and its `conduct:ID` penalty rules propose the fines.
//!
//! The rules are those of the case page's path (`api::conduct`): the type's `recorded_by`
//! roles, no recording of oneself, the person in the recorder's unit subtree, a description.
//! `manyi_core::conduct::decide_record_without_case` decides; the shell writes the violation
//! (no case, naming the active policy version) with its proposals in one transaction
//! (`Store::record_conduct`). An `Idempotency-Key` makes a retry return the first record.
//! Errors name the field, the value, the rule and, for a refusal, the clause.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use manyi_core::case::PersonRef;
use manyi_core::conduct::{self, ConductRecord};
use manyi_core::engine::{Directory, FieldError};
use manyi_core::org::UnitRef;
use manyi_core::penalties;
use manyi_store::{ConductOutcome, Idempotency, LedgerFilter, NewConduct, NewPenalty};
use serde::Deserialize;

use crate::AppState;
use crate::api::cases::actor_of;
use crate::api::penalties::{parse_instant, penalty_body, people, violation_body};
use crate::api::violations::{CaseViolationBody, role_directory};
use crate::auth::{CurrentUser, token_hash};
use crate::error::AppError;
use crate::json::{JsonBytes, parse_json};

/// `POST /api/v1/conduct` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaselessConductBody {
    /// The policy's name (its active version's `[[conduct]]` types apply), e.g.
    /// `jinbi-property`.
    pub policy: String,
    /// The `[[conduct]]` type's id, e.g. `etiquette`.
    #[serde(rename = "type")]
    pub type_id: String,
    /// The login of the person whose conduct it was.
    pub person: String,
    /// The person's unit code; optional, checked when given (it is where the violation is
    /// recorded: whose jurisdiction it is in).
    #[serde(default)]
    pub unit: Option<String>,
    /// What happened (the facts).
    pub description: String,
    /// When it was observed: `YYYY-MM-DD` (Asia/Shanghai) or an RFC 3339 instant; default now.
    #[serde(default)]
    pub observed_on: Option<String>,
}

/// A 422 naming `field`, its `value` and the rule broken.
pub(crate) fn invalid_field(
    field: &str,
    code: &str,
    value: &str,
    rule_zh: &str,
    rule_en: &str,
) -> AppError {
    AppError::Invalid {
        detail: format!("{field} = {value:?}: {rule_en} / {rule_zh}"),
        fields: vec![FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: format!("{field} = {value:?}: {rule_en}"),
            message_zh: format!("{field} = {value:?}：{rule_zh}"),
        }],
    }
}

/// The `Idempotency-Key` header of a request with body `body`, if any.
fn idempotency_of(
    headers: &HeaderMap,
    user_id: i64,
    body: &[u8],
) -> Result<Option<Idempotency>, AppError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            AppError::BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters".into())
        })?;
    Ok(Some(Idempotency {
        user_id,
        key: key.to_owned(),
        request_hash: token_hash(&String::from_utf8_lossy(body)),
    }))
}

/// `POST /api/v1/conduct`: 201 with the violation and its penalty proposals (200 for a
/// replayed `Idempotency-Key`).
pub async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    JsonBytes(bytes): JsonBytes,
) -> Result<(StatusCode, axum::Json<CaseViolationBody>), AppError> {
    let body: CaselessConductBody = parse_json(&bytes)?;
    let idempotency = idempotency_of(&headers, user.0.id, &bytes)?;
    record_as(&state, &user, &body, idempotency).await
}

/// [`record`] for an already parsed body (the web form calls it too).
pub(crate) async fn record_as(
    state: &AppState,
    user: &CurrentUser,
    body: &CaselessConductBody,
    idempotency: Option<Idempotency>,
) -> Result<(StatusCode, axum::Json<CaseViolationBody>), AppError> {
    let name = body.policy.trim();
    let policy_record = state.store.active_policy(name).await?.ok_or_else(|| {
        invalid_field(
            "policy",
            "unknown",
            name,
            "没有启用的此制度",
            "no active policy of this name",
        )
    })?;
    let policy = state.policies.get(&state.store, policy_record.id).await?;
    let login = body.person.trim();
    let person_user =
        state.store.user_by_login(login).await?.ok_or_else(|| {
            invalid_field("person", "unknown", login, "没有此用户", "no such user")
        })?;
    let mut directory = Directory::default();
    for u in state.store.list_units().await? {
        directory.add_unit(UnitRef::from_path(
            u.id, &u.code, &u.name, &u.level, &u.path,
        ));
    }
    let person_unit = directory
        .unit(person_user.unit_id)
        .cloned()
        .ok_or_else(|| AppError::Internal("the person's unit is missing".into()))?;
    if let Some(code) = body
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        && code != person_unit.code
    {
        return Err(invalid_field(
            "unit",
            "not_the_persons",
            code,
            &format!("{login} 所在机构是 {}", person_unit.code),
            &format!("{login} belongs to unit {}", person_unit.code),
        ));
    }
    let now = state.clock.now();
    let observed_at = match body.observed_on.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => parse_instant("observed_on", s).map_err(|_| {
            invalid_field(
                "observed_on",
                "format",
                s,
                "应为 YYYY-MM-DD 日期或 RFC 3339 时间",
                "a YYYY-MM-DD date or an RFC 3339 instant",
            )
        })?,
        _ => now,
    };
    let actor = actor_of(&user.0, &directory)?;
    let person = PersonRef {
        id: person_user.id,
        login: person_user.login.clone(),
        name: person_user.name.clone(),
    };
    let (violation, description) = conduct::decide_record_without_case(
        &policy,
        &actor,
        &ConductRecord {
            type_id: body.type_id.trim(),
            person: &person,
            person_unit: &person_unit,
            description: &body.description,
        },
        observed_at,
        now,
    )
    .map_err(AppError::Refused)?;

    // The proposals of the policy's `conduct:ID` rules, role liability in the person's unit
    // and its parent; stacked (A22) among themselves: there is no case to stack against.
    let mut units = vec![person_unit.id];
    units.extend(person_unit.parent());
    let roles = role_directory(state, &units).await?;
    let proposals: Vec<(usize, penalties::Proposal)> =
        penalties::propose_without_case(&policy.penalties, &violation, &roles, 1)
            .into_iter()
            .enumerate()
            .collect();
    let penalties: Vec<NewPenalty> = penalties::apply_stacking(&policy.penalties, proposals, &[])
        .into_iter()
        .map(|(_, p)| NewPenalty {
            rule: p.rule,
            clause: p.clause,
            person_id: p.person.id,
            min_fen: p.min_fen,
            max_fen: p.max_fen,
            items: i64::from(p.items),
            discipline_referral: p.discipline_referral,
            requires_substantiation: p.requires_substantiation,
        })
        .collect();
    let mut detail = serde_json::to_value(&violation)
        .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?;
    // What the ledger shows beside the violation: what happened, and who saw it.
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("description".into(), description.into());
        obj.insert("recorded_by".into(), actor.login.clone().into());
    }
    let outcome = state
        .store
        .record_conduct(NewConduct {
            policy_id: policy_record.id,
            kind: violation.kind.clone(),
            rule: violation.rule.clone(),
            clause: violation.clause.clone(),
            occurred_at: observed_at,
            unit_id: person_unit.id,
            person_ids: vec![person.id],
            detail,
            penalties,
            idempotency,
        })
        .await?;
    let (status, record) = match outcome {
        ConductOutcome::Created(v) => {
            tracing::info!(violation_id = v.id, "conduct recorded without a case");
            (StatusCode::CREATED, v)
        }
        ConductOutcome::Replayed(v) => (StatusCode::OK, v),
        ConductOutcome::KeyReused => {
            return Err(AppError::Conflict(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
    };
    // Its penalties were proposed when it happened: those of that instant, of this violation.
    let at_ms = record.occurred_at;
    let people = people(state).await?;
    let penalties = state
        .store
        .list_penalties(&LedgerFilter {
            from: Some(at_ms),
            to: Some(at_ms + jiff::SignedDuration::from_millis(1)),
            ..LedgerFilter::default()
        })
        .await?
        .into_iter()
        .filter(|p| p.violation_id == record.id)
        .map(|p| penalty_body(p, &people))
        .collect();
    Ok((
        status,
        axum::Json(CaseViolationBody {
            violation: violation_body(record),
            penalties,
        }),
    ))
}
