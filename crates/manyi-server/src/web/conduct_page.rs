//! `/conduct/new`: conduct recorded without a case (issue 5) — a supervisor's daily review
//! sees a teller without a badge, a lobby manager hears rude words at the counter.
//!
//! The form is generated from the active policies' `[[conduct]]` types that admit one of the
//! user's roles, each shown with its clause; a user no type admits is told so (403) and the
//! ledger does not link here. `api::caseless_conduct::record_as` decides and writes (the page
//! decides nothing); an error comes back beside the field it names, with the clause, and what
//! was typed is kept. A hidden idempotency key makes a double-clicked submit record once.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use manyi_core::engine::{Refusal, RefusalReason};
use manyi_store::{Idempotency, User};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, tr, tr_with};
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, redirect, render_status, s};
use crate::AppState;
use crate::api::caseless_conduct::{CaselessConductBody, record_as};
use crate::auth::{CurrentUser, random_token, token_hash};
use crate::error::AppError;

/// One conduct type the user may record.
#[derive(Serialize)]
struct TypeOption {
    /// `policy/type`.
    code: String,
    label: String,
    clause: String,
}

/// The conduct types of the active policies that admit one of `user`'s roles.
async fn types_for(state: &AppState, user: &User, lang: Lang) -> Result<Vec<TypeOption>, AppError> {
    let mut out = Vec::new();
    for record in state.store.active_policies().await? {
        let policy = state.policies.get(&state.store, record.id).await?;
        for t in &policy.conduct {
            if t.recorded_by.iter().any(|r| user.roles.contains(r)) {
                out.push(TypeOption {
                    code: format!("{}/{}", record.name, t.id),
                    label: lang.pick(&t.label, t.label_en.as_deref()).to_owned(),
                    clause: t.clause.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Whether `user` may record some conduct type (the ledger links to the form only then).
pub(super) async fn may_record(state: &AppState, user: &User) -> Result<bool, AppError> {
    Ok(!types_for(state, user, Lang::Zh).await?.is_empty())
}

/// What was typed, with the errors beside its fields and one above the form.
#[derive(Serialize, Default)]
struct FormState {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    error: Option<String>,
    /// The clause a refusal named.
    clause: Option<String>,
}

const FIELDS: [&str; 5] = ["type", "person", "observed_on", "description", "idem"];

impl FormState {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn field(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// An error of `record_as`, beside the field it names or above the form.
    fn app_error(&mut self, lang: Lang, e: AppError) -> Result<(), WebError> {
        match e {
            AppError::Invalid { detail, fields } => {
                if fields.is_empty() {
                    self.error = Some(detail);
                }
                for f in fields {
                    // `policy` is chosen with the type on this form.
                    let name = if f.field == "policy" {
                        "type"
                    } else {
                        &f.field
                    };
                    self.field(name, lang.message(&f.message_zh, &f.message).to_owned());
                }
            }
            AppError::Refused(r) => {
                let message =
                    without_clause(lang.message(&r.message_zh, &r.message), &r).to_owned();
                self.clause = r.clause.clone();
                match field_of(&r, &message) {
                    Some(name) => self.field(name, message),
                    None => self.error = Some(message),
                }
            }
            AppError::Conflict(_) => self.error = Some(tr(lang, "case.conflict").to_owned()),
            other => return Err(other.into()),
        }
        Ok(())
    }
}

/// A refusal's message without the `CLAUSE: ` the engine puts first: the page shows the
/// clause beside it.
fn without_clause<'a>(message: &'a str, r: &Refusal) -> &'a str {
    r.clause
        .as_deref()
        .and_then(|c| message.strip_prefix(c))
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

/// The field a refusal of `decide_record_without_case` is about: its messages start with the
/// field's name.
fn field_of(r: &Refusal, message: &str) -> Option<&'static str> {
    match r.reason {
        RefusalReason::SelfDecision => Some("person"),
        RefusalReason::ReasonRequired => Some("description"),
        _ => ["person", "description", "type", "observed_on"]
            .into_iter()
            .find(|f| message.starts_with(f)),
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// Set after a recording: the violation's id.
    #[serde(default)]
    recorded: Option<i64>,
}

async fn form_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    mut f: FormState,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let types = types_for(state, &user.user, lang).await?;
    let status = if types.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        status
    };
    if f.value("idem").is_empty() {
        f.values.insert("idem".into(), random_token(16));
    }
    // Suggestions: the people the recorder may record against (their unit's subtree).
    let people: Vec<(String, String)> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.id != user.user.id && u.unit_path.starts_with(&user.user.unit_path))
        .map(|u| (u.login, u.name))
        .collect();
    let today = state
        .clock
        .now()
        .to_zoned_datetime(manyi_core::china_tz())
        .date()
        .to_string();
    render_status(
        status,
        ctx,
        Some(user),
        "conduct_new.html",
        context! {
            active => "dashboard",
            types => s(types),
            people,
            form => s(&f),
            today,
            notice,
        },
    )
}

/// `GET /conduct/new`.
pub async fn form(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<NewQuery>,
) -> Result<Response, WebError> {
    let notice = q
        .recorded
        .map(|id| tr_with(ctx.lang, "cnew.recorded", &[("id", &id.to_string())]));
    form_page(
        &ctx,
        &user,
        &state,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /conduct/new`: `type` (`policy/type`), `person`, `observed_on`, `description`, `idem`.
pub async fn submit(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut f = FormState {
        values: FIELDS
            .iter()
            .map(|n| ((*n).to_owned(), form.text(n)))
            .collect(),
        ..FormState::default()
    };
    // The description as typed (line breaks kept).
    f.values.insert(
        "description".into(),
        form.get("description").unwrap_or("").to_owned(),
    );
    let Some((policy, type_id)) = f.value("type").split_once('/') else {
        f.field("type", tr(lang, "cnew.choose_type"));
        return form_page(
            &ctx,
            &user,
            &state,
            f,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let body = CaselessConductBody {
        policy: policy.to_owned(),
        type_id: type_id.to_owned(),
        person: f.value("person").to_owned(),
        unit: None,
        description: f.value("description").to_owned(),
        observed_on: Some(f.value("observed_on").to_owned()).filter(|d| !d.is_empty()),
    };
    let key = f.value("idem").trim().to_owned();
    let idempotency = (!key.is_empty() && key.len() <= 200).then(|| Idempotency {
        user_id: user.user.id,
        key,
        request_hash: token_hash(&format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            body.policy,
            body.type_id,
            body.person,
            body.description,
            body.observed_on.as_deref().unwrap_or("")
        )),
    });
    let status = match record_as(&state, &CurrentUser(user.user.clone()), &body, idempotency).await
    {
        Ok((_, done)) => {
            return Ok(redirect(&format!(
                "/conduct/new?recorded={}",
                done.0.violation.id
            )));
        }
        Err(e) => {
            let status = match &e {
                AppError::Refused(r)
                    if matches!(
                        r.reason,
                        RefusalReason::RoleNotAllowed
                            | RefusalReason::OutsideJurisdiction
                            | RefusalReason::SelfDecision
                    ) =>
                {
                    StatusCode::FORBIDDEN
                }
                AppError::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            f.app_error(lang, e)?;
            status
        }
    };
    form_page(&ctx, &user, &state, f, None, status).await
}
