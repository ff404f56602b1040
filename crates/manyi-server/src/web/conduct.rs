//! The case page's conduct form (jinbi-property 第四条 礼仪, 第六条 规范用语): a person the
//! policy's `[[conduct]]` types allow records another person's conduct on the case.
//!
//! `api::conduct::record` decides and writes (the page decides nothing); this module offers
//! the form only to the roles some type admits, and turns a refusal into a message beside the
//! field it is about, naming the clause, with what was typed kept.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use manyi_core::engine::{Refusal, RefusalReason};
use manyi_core::policy::Policy;
use manyi_store::User;
use serde::Serialize;

use super::case_page::{PageState, RefusalView, page, without_clause};
use super::forms::Choice;
use super::i18n::{Lang, tr, tr_with};
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, percent_encode, redirect};
use crate::AppState;
use crate::api::conduct::ConductBody;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// A recording that was refused: what was typed, and why (beside `field`, or above the form
/// when `field` is empty).
#[derive(Default)]
pub(super) struct ConductAttempt {
    pub(super) type_id: String,
    pub(super) person: String,
    pub(super) description: String,
    pub(super) message: String,
    pub(super) clause: Option<String>,
    /// `type`, `person`, `description`, or "" (the whole form).
    pub(super) field: &'static str,
}

/// The form as the template shows it.
#[derive(Serialize)]
pub(super) struct ConductForm {
    types: Vec<Choice>,
    people: Vec<Choice>,
    type_id: String,
    person: String,
    description: String,
    message: Option<String>,
    clause: Option<String>,
    field: &'static str,
}

/// The conduct form for `user` on a case of `policy`, or `None` when no `[[conduct]]` type
/// admits any of their roles (the form is then not shown at all).
pub(super) async fn form(
    state: &AppState,
    user: &User,
    policy: &Policy,
    attempt: Option<ConductAttempt>,
    lang: Lang,
) -> Result<Option<ConductForm>, AppError> {
    let types: Vec<Choice> = policy
        .conduct
        .iter()
        .filter(|t| t.recorded_by.iter().any(|r| user.roles.contains(r)))
        .map(|t| Choice {
            code: t.id.clone(),
            label: format!(
                "{}（{}）",
                lang.pick(&t.label, t.label_en.as_deref()),
                t.clause
            ),
        })
        .collect();
    if types.is_empty() {
        return Ok(None);
    }
    // Suggestions: the people the recorder may record against (their unit's subtree).
    let people = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.id != user.id && u.unit_path.starts_with(&user.unit_path))
        .map(|u| Choice {
            code: u.login,
            label: u.name,
        })
        .collect();
    let a = attempt.unwrap_or_default();
    Ok(Some(ConductForm {
        types,
        people,
        type_id: a.type_id,
        person: a.person,
        description: a.description,
        message: (!a.message.is_empty()).then_some(a.message),
        clause: a.clause,
        field: a.field,
    }))
}

/// The field a refusal of `conduct::decide_record` is about: its messages start with the
/// field's name (`person = …`, `description：…`, `type = …`).
fn field_of(r: &Refusal) -> &'static str {
    let message = without_clause(&r.message, r.clause.as_deref());
    match r.reason {
        RefusalReason::SelfDecision => "person",
        RefusalReason::ReasonRequired => "description",
        _ if message.starts_with("person") => "person",
        _ if message.starts_with("description") => "description",
        _ if message.starts_with("type") => "type",
        _ => "",
    }
}

/// `POST /cases/{number}/conduct`: `type`, `person`, `description`.
pub async fn record(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut typed = ConductAttempt {
        type_id: form.text("type"),
        person: form.text("person"),
        description: form.get("description").unwrap_or("").to_owned(),
        ..ConductAttempt::default()
    };
    let body = ConductBody {
        type_id: typed.type_id.clone(),
        person: typed.person.clone(),
        description: typed.description.clone(),
    };
    let result = crate::api::conduct::record(
        State(state.clone()),
        CurrentUser(user.user.clone()),
        ApiPath(number.clone()),
        ApiJson(body),
    )
    .await;
    let status = match result {
        Ok(_) => {
            return Ok(redirect(&format!(
                "/cases/{}?conduct=1#violations",
                percent_encode(&number)
            )));
        }
        Err(AppError::Refused(r)) => {
            let message = lang.message(&r.message_zh, &r.message);
            typed.message = without_clause(message, r.clause.as_deref()).to_owned();
            typed.clause = r.clause.clone();
            typed.field = field_of(&r);
            match r.reason {
                // As the API answers them (`crate::error`).
                RefusalReason::RoleNotAllowed
                | RefusalReason::OutsideJurisdiction
                | RefusalReason::SelfDecision => StatusCode::FORBIDDEN,
                RefusalReason::InvalidFields | RefusalReason::ReasonRequired => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::CONFLICT,
            }
        }
        // The only invalid input `record` reports itself: a login nobody has.
        Err(AppError::Invalid { .. }) => {
            typed.message = tr_with(lang, "conduct.no_person", &[("login", &typed.person)]);
            typed.field = "person";
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(AppError::Conflict(_)) => {
            typed.message = tr(lang, "case.conflict").to_owned();
            StatusCode::CONFLICT
        }
        Err(e) => return Err(e.into()),
    };
    // A refusal about no one field (a role without the right, a busy case) is also said at
    // the top of the page: a user the form is hidden from still learns why.
    let refusal = typed.field.is_empty().then(|| RefusalView {
        action: "conduct".into(),
        message: typed.message.clone(),
        clause: typed.clause.clone(),
        errors: Vec::new(),
    });
    let ps = PageState {
        refusal,
        conduct_attempt: Some(typed),
        status: Some(status),
        ..PageState::default()
    };
    page(&ctx, &user, &state, &number, ps).await
}
