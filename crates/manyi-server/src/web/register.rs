//! `/cases/new` — register a complaint taken by phone or at the counter.
//!
//! The form is generated from the policy's fields for the kind (`forms::registration_fields`);
//! the registration goes through `api::cases::create_as` like the API's, with the form's
//! idempotency key, so a double-clicked submit registers one case. On an error the form comes
//! back with everything typed and each message beside its field; on success the browser is
//! sent (303) to the case page.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use manyi_core::engine::{self, Directory, FieldError};
use manyi_core::policy::CaseKind;
use manyi_store::{Idempotency, User};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::forms::{self, Input, Typed};
use super::i18n::Lang;
use super::session::{CsrfForm, Ctx, FormData, WebUser};
use super::templates::{
    WebError, html_response, redirect, render, render_status, render_string, s,
};
use super::view;
use crate::AppState;
use crate::api::cases::{CreateRequest, Created, create_as};
use crate::auth::{random_token, token_hash};
use crate::error::AppError;
use crate::policies::Compiled;

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    policy: String,
    #[serde(default)]
    kind: String,
}

#[derive(Serialize)]
struct KindChoice {
    policy: String,
    policy_title: String,
    kind: String,
    label: String,
}

/// The active version of policy `name` and its kind `kind`.
pub async fn active_kind(
    state: &AppState,
    name: &str,
    kind: &str,
) -> Result<Option<(Arc<Compiled>, usize)>, AppError> {
    let Some(record) = state.store.active_policy(name).await? else {
        return Ok(None);
    };
    let policy = state.policies.compile(&record)?;
    let index = policy.kinds.iter().position(|k| k.id == kind);
    Ok(index.map(|i| (policy, i)))
}

/// `GET /cases/new`: the kinds the user may register, or the form for one.
pub async fn form(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<NewQuery>,
) -> Result<Response, WebError> {
    if q.policy.is_empty() || q.kind.is_empty() {
        let mut choices = Vec::new();
        for record in state.store.active_policies().await? {
            let policy = state.policies.compile(&record)?;
            for kind in &policy.kinds {
                // Only what the user's roles may register; the engine decides again on submit.
                if kind
                    .create_roles
                    .iter()
                    .any(|r| user.user.roles.contains(r))
                {
                    choices.push(KindChoice {
                        policy: policy.id.clone(),
                        policy_title: policy.title.clone(),
                        kind: kind.id.clone(),
                        label: view::kind_label(Some(kind), &kind.id, ctx.lang),
                    });
                }
            }
        }
        return render(
            &ctx,
            Some(&user),
            "register_choose.html",
            context! { active => "register", choices => s(choices) },
        );
    }
    let (policy, index) = active_kind(&state, &q.policy, &q.kind)
        .await?
        .ok_or_else(|| AppError::NotFound("no such active policy or kind".into()))?;
    let kind = &policy.kinds[index];
    let page = RegisterPage {
        policy: &policy,
        kind,
        typed: Typed::default(),
        errors: Vec::new(),
        channel: kind.channels.first().cloned().unwrap_or_default(),
        idem: random_token(16),
        notice: None,
    };
    render(&ctx, Some(&user), "register.html", page.context(ctx.lang))
}

/// What the register form shows.
struct RegisterPage<'a> {
    policy: &'a Compiled,
    kind: &'a CaseKind,
    typed: Typed,
    errors: Vec<FieldError>,
    channel: String,
    idem: String,
    notice: Option<&'static str>,
}

impl RegisterPage<'_> {
    fn context(&self, lang: Lang) -> minijinja::Value {
        let fields = forms::registration_fields(self.kind);
        let mut shown: Vec<&str> = fields.iter().map(|(f, _)| f.id.as_str()).collect();
        shown.push("channel");
        let (by_field, other) = forms::errors_by_field(&self.errors, &shown, lang);
        let inputs: Vec<Input> = fields
            .iter()
            .map(|(f, required)| forms::input(f, *required, &self.typed, &by_field, lang))
            .collect();
        let (required, optional): (Vec<Input>, Vec<Input>) =
            inputs.into_iter().partition(|i| i.required);
        let channels: Vec<forms::Choice> = self
            .kind
            .channels
            .iter()
            .map(|c| forms::Choice {
                code: c.clone(),
                label: view::channel_label(c, lang),
            })
            .collect();
        context! {
            active => "register",
            policy => self.policy.id.clone(),
            policy_title => self.policy.title.clone(),
            kind => self.kind.id.clone(),
            kind_label => view::kind_label(Some(self.kind), &self.kind.id, lang),
            channels => s(channels),
            channel => self.channel.clone(),
            channel_error => by_field.get("channel").cloned(),
            required => s(required),
            optional_open => optional_has_content(&optional),
            optional => s(optional),
            idem => self.idem.clone(),
            error_count => self.errors.len(),
            other_errors => other,
            notice => self.notice,
        }
    }
}

fn optional_has_content(optional: &[Input]) -> bool {
    optional
        .iter()
        .any(|i| i.error.is_some() || i.values.iter().any(|v| !v.trim().is_empty()))
}

/// The request hash of an idempotent registration: the same form sent twice hashes the same.
fn request_hash(req: &CreateRequest) -> String {
    let fields: BTreeMap<&String, &Value> = req.fields.iter().collect();
    token_hash(
        &json!({
            "policy": req.policy,
            "kind": req.kind,
            "channel": req.channel,
            "fields": fields,
        })
        .to_string(),
    )
}

/// The idempotency key of a form, if it carries a usable one.
pub fn idempotency(user: &User, key: &str, req: &CreateRequest) -> Option<Idempotency> {
    let key = key.trim();
    (!key.is_empty() && key.len() <= 200 && key.chars().all(|c| c.is_ascii_graphic())).then(|| {
        Idempotency {
            user_id: user.id,
            key: key.to_owned(),
            request_hash: request_hash(req),
        }
    })
}

/// What became of a registration from a form.
pub enum Outcome {
    Created(Box<Created>),
    /// Field errors (or a refusal without fields, as one error) to show in the form.
    Invalid(Vec<FieldError>),
    /// The key was used before with different content.
    KeyReused,
}

/// Registers a case from a posted form, as `user`.
pub async fn register_from_form(
    state: &AppState,
    user: &User,
    policy: &Compiled,
    kind: &CaseKind,
    form: &FormData,
    channel: String,
    only: Option<&[&str]>,
) -> Result<(Outcome, Typed), AppError> {
    let shown: Vec<&str> = match only {
        Some(ids) => ids.to_vec(),
        None => forms::registration_fields(kind)
            .iter()
            .map(|(f, _)| f.id.as_str())
            .collect(),
    };
    let (fields, typed) = forms::fields_from_form(kind, form, &shown);
    let req = CreateRequest {
        policy: Some(policy.id.clone()),
        kind: kind.id.clone(),
        channel,
        fields,
    };
    let idem = idempotency(user, &form.text("idem"), &req);
    let outcome = match create_as(state, user, &req, idem).await {
        Ok(created) => Outcome::Created(Box::new(created)),
        Err(AppError::Refused(r)) if !r.fields.is_empty() => Outcome::Invalid(r.fields),
        Err(AppError::Refused(r)) => Outcome::Invalid(vec![FieldError {
            field: String::new(),
            code: "refused".into(),
            message: r.message,
            message_zh: r.message_zh,
        }]),
        Err(AppError::Invalid { fields, .. }) => Outcome::Invalid(fields),
        Err(AppError::Conflict(_)) => Outcome::KeyReused,
        Err(e) => return Err(e),
    };
    Ok((outcome, typed))
}

/// `POST /cases/new`.
pub async fn submit(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let (policy, index) = active_kind(&state, &form.text("policy"), &form.text("kind"))
        .await?
        .ok_or_else(|| AppError::NotFound("no such active policy or kind".into()))?;
    let kind = &policy.kinds[index];
    let channel = form.text("channel");
    let (outcome, typed) = register_from_form(
        &state,
        &user.user,
        &policy,
        kind,
        &form,
        channel.clone(),
        None,
    )
    .await?;
    let (errors, notice, idem) = match outcome {
        Outcome::Created(created) => {
            let flag = if created.new { "created" } else { "replayed" };
            return Ok(redirect(&format!(
                "/cases/{}?{flag}=1",
                super::templates::percent_encode(&created.record.number)
            )));
        }
        // No case was made: the same key stays valid for the corrected form.
        Outcome::Invalid(errors) => (errors, None, form.text("idem")),
        Outcome::KeyReused => (Vec::new(), Some("reg.key_reused"), random_token(16)),
    };
    let page = RegisterPage {
        policy: &policy,
        kind,
        typed,
        errors,
        channel,
        idem,
        notice,
    };
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ctx,
        Some(&user),
        "register.html",
        page.context(ctx.lang),
    )
}

/// `POST /cases/new/check` (htmx, as the user types): the engine's own validation of one
/// field, as the error element that sits beside the field.
pub async fn check_field(
    ctx: Ctx,
    _user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    check_field_for(&ctx, &state, &form).await
}

/// The live check of one field of a generated form (also used by the customers' page).
pub async fn check_field_for(
    ctx: &Ctx,
    state: &AppState,
    form: &FormData,
) -> Result<Response, WebError> {
    let (policy, index) = active_kind(state, &form.text("policy"), &form.text("kind"))
        .await?
        .ok_or_else(|| AppError::NotFound("no such active policy or kind".into()))?;
    let kind = &policy.kinds[index];
    let id = form.text("check");
    let value = form
        .get(&format!("{}{id}", forms::FIELD_PREFIX))
        .unwrap_or("")
        .to_owned();
    let Some(field) = kind.field(&id) else {
        return Err(AppError::BadRequest("no such field".into()).into());
    };
    let mut input = Map::new();
    if !value.trim().is_empty() {
        input.insert(field.id.clone(), Value::String(value.clone()));
    }
    let (_, errors) = engine::validate_fields(kind, &input, &Directory::default());
    let message = errors
        .first()
        .map(|e| ctx.lang.message(&e.message_zh, &e.message).to_owned());
    let html = render_string(
        ctx,
        None,
        "field_check.html",
        context! { id => field.id.clone(), message },
    )?;
    Ok(html_response(StatusCode::OK, ctx, html).into_response())
}
