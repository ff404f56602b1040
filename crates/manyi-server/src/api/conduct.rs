//! `POST /api/v1/cases/{number}/conduct`: a person records another's conduct (jinbi-property
//! 第四条 礼仪, 第六条 规范用语) by a `[[conduct]]` type of the case's policy.
//!
//! `manyi_core::conduct::decide_record` decides; the shell writes, in one transaction, the
//! `conduct_recorded` event on the case's log, the `conduct` violation in the ledger (in the
//! recorded person's unit: whose jurisdiction it is) and the proposals of the `conduct:ID`
//! penalty rules. A refusal names the type's clause and changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use manyi_core::case::{Change, PersonRef};
use manyi_core::conduct::{self, ConductRecord};
use manyi_core::engine::Directory;
use manyi_core::org::UnitRef;
use manyi_store::{NewViolation, StoreError};
use serde::Deserialize;

use crate::AppState;
use crate::api::cases::{actor_of, case_of, update_for, visible_record};
use crate::api::violations::{CaseViolationBody, proposals_for, stack_rows, violations_of};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// `POST /api/v1/cases/{number}/conduct` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConductBody {
    /// The `[[conduct]]` type's id, e.g. `etiquette`.
    #[serde(rename = "type")]
    pub type_id: String,
    /// The login of the person whose conduct it was.
    pub person: String,
    /// What happened.
    pub description: String,
}

fn invalid(field: &str, value: &str, rule_zh: &str, rule_en: &str) -> AppError {
    AppError::Invalid {
        detail: format!("{field} = {value:?}: {rule_en} / {rule_zh}"),
        fields: Vec::new(),
    }
}

/// Records the conduct; answers 201 with the violation and its penalty proposals.
pub async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<ConductBody>,
) -> Result<(StatusCode, axum::Json<CaseViolationBody>), AppError> {
    let login = body.person.trim();
    let person_user = state
        .store
        .user_by_login(login)
        .await?
        .ok_or_else(|| invalid("person", login, "没有此用户", "no such user"))?;
    let person = PersonRef {
        id: person_user.id,
        login: person_user.login.clone(),
        name: person_user.name.clone(),
    };
    for _attempt in 0..3 {
        let record = visible_record(&state, &user.0, &number).await?;
        let case = case_of(&record)?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let mut directory = Directory::default();
        for u in state.store.list_units().await? {
            directory.add_unit(UnitRef::from_path(
                u.id, &u.code, &u.name, &u.level, &u.path,
            ));
        }
        let actor = actor_of(&user.0, &directory)?;
        let person_unit = directory
            .unit(person_user.unit_id)
            .cloned()
            .ok_or_else(|| AppError::Internal("the person's unit is missing".into()))?;
        let now = state.clock.now();
        let event = conduct::decide_record(
            &policy,
            &case,
            &actor,
            &ConductRecord {
                type_id: body.type_id.trim(),
                person: &person,
                person_unit: &person_unit,
                description: &body.description,
            },
            now,
        )
        .map_err(AppError::Refused)?;
        let (_, mut update) = update_for(&record, &case, &event, now)?;
        let Change::ViolationsRecorded {
            violations,
            description,
            ..
        } = &event.change
        else {
            return Err(AppError::Internal("not a conduct event".into()));
        };
        let mut rows = Vec::new();
        for v in violations {
            let mut detail = serde_json::to_value(v)
                .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?;
            // What the ledger shows beside the violation: what happened, and who saw it.
            if let Some(obj) = detail.as_object_mut() {
                if let Some(d) = description {
                    obj.insert("description".into(), d.clone().into());
                }
                obj.insert("recorded_by".into(), actor.login.clone().into());
            }
            rows.push(NewViolation {
                event_index: 0,
                kind: v.kind.clone(),
                rule: v.rule.clone(),
                clause: v.clause.clone(),
                occurred_at: now,
                due_at: None,
                unit_id: person_unit.id,
                person_ids: v.liable_persons.iter().map(|p| p.id).collect(),
                detail,
                penalties: proposals_for(&state, &policy, &case, v).await?,
            });
        }
        stack_rows(&state, &policy, record.id, &mut rows).await?;
        update.violations = rows;
        match state.store.update_case(update).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        // The newest conduct violation on the case is the one just written.
        let body = violations_of(&state, &record)
            .await?
            .violations
            .into_iter()
            .filter(|v| v.violation.kind == manyi_core::penalties::CONDUCT)
            .max_by_key(|v| v.violation.id)
            .ok_or_else(|| AppError::Internal("the conduct violation is missing".into()))?;
        return Ok((StatusCode::CREATED, axum::Json(body)));
    }
    Err(StoreError::Conflict.into())
}
