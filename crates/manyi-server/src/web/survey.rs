//! `/public/survey/{token}` — the customer's satisfaction survey, opened from the link in an
//! SMS or e-mail, without login: a phone-sized form in Chinese first (English by the language
//! switch), with the CSRF token and the per-address rate limit of the other public pages.
//! Unknown and forged tokens read "not found" (404); an expired link 410; a second answer 409.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::SignedDuration;
use minijinja::context;
use serde::Serialize;
use serde_json::{Map, Value};

use super::i18n::Lang;
use super::public::ClientAddr;
use super::session::{CsrfForm, Ctx};
use super::templates::{WebError, render_status, s};
use crate::AppState;
use crate::api::surveys::{AnswerError, answer, open_token, public_body};
use crate::json::ApiPath;

/// Survey pages opened or submitted per client address per hour.
const PER_ADDRESS_PER_HOUR: usize = 60;

#[derive(Serialize)]
struct QuestionView {
    id: String,
    label: String,
    kind: String,
    required: bool,
    options: Vec<(String, String)>,
    value: String,
    error: Option<String>,
}

fn questions(
    body: &crate::api::surveys::PublicSurvey,
    lang: Lang,
    typed: &Map<String, Value>,
    errors: &[manyi_core::engine::FieldError],
) -> Vec<QuestionView> {
    body.questions
        .iter()
        .map(|q| QuestionView {
            id: q.id.clone(),
            label: lang.pick(&q.label, q.label_en.as_deref()).to_owned(),
            kind: q.kind.clone(),
            required: q.required,
            options: q
                .options
                .iter()
                .map(|o| (o.code.clone(), o.label.clone()))
                .collect(),
            value: typed
                .get(&q.id)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            error: errors
                .iter()
                .find(|e| e.field == q.id)
                .map(|e| lang.message(&e.message_zh, &e.message).to_owned()),
        })
        .collect()
}

/// The intro line in the reader's language, if the policy gives one.
fn intro(body: &crate::api::surveys::PublicSurvey, lang: Lang) -> Option<String> {
    body.intro
        .as_deref()
        .map(|zh| lang.pick(zh, body.intro_en.as_deref()).to_owned())
}

/// Over the per-address limit of survey pages (counted in the database, shared by every
/// instance, like the other public pages).
async fn limited(state: &AppState, addr: Option<std::net::IpAddr>) -> Result<bool, WebError> {
    let Some(ip) = addr else { return Ok(false) };
    let allowed = super::public::allow(
        state,
        &format!("survey-ip:{ip}"),
        PER_ADDRESS_PER_HOUR,
        SignedDuration::from_hours(1),
    )
    .await?;
    Ok(!allowed)
}

/// A page that says one thing: thanks, already answered, expired.
fn notice(ctx: &Ctx, status: StatusCode, key: &str, token: &str) -> Result<Response, WebError> {
    render_status(
        status,
        ctx,
        None,
        "public_survey.html",
        context! { notice => key, here => format!("/public/survey/{token}") },
    )
}

/// `GET /public/survey/{token}`.
pub async fn form(
    ctx: Ctx,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, WebError> {
    if limited(&state, addr).await? {
        return Err(WebError::TooMany("pub.limited.ip"));
    }
    let opened = open_token(&state, &token).await?;
    if opened.record.answered_at.is_some() {
        return notice(&ctx, StatusCode::CONFLICT, "survey.already", &token);
    }
    if opened.now >= opened.record.expires_at {
        return notice(&ctx, StatusCode::GONE, "survey.expired", &token);
    }
    let body = public_body(&opened.record, &opened.rule, opened.party);
    render_status(
        StatusCode::OK,
        &ctx,
        None,
        "public_survey.html",
        context! {
            title => ctx.lang.pick(&body.title, body.title_en.as_deref()).to_owned(),
            intro => intro(&body, ctx.lang),
            party => ctx.lang.pick(&body.party_label, Some(&body.party_label_en)).to_owned(),
            case => body.case.clone(),
            questions => s(questions(&body, ctx.lang, &Map::new(), &[])),
            token => token.clone(),
            here => format!("/public/survey/{token}"),
        },
    )
}

/// `POST /public/survey/{token}`.
pub async fn submit(
    ctx: Ctx,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(token): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    if limited(&state, addr).await? {
        return Err(WebError::TooMany("pub.limited.ip"));
    }
    let opened = open_token(&state, &token).await?;
    let mut answers = Map::new();
    for q in opened.rule.questions_for(opened.party) {
        let v = form.text(&format!("q.{}", q.id));
        if !v.is_empty() {
            answers.insert(q.id.clone(), Value::from(v));
        }
    }
    match answer(&state, &opened, &answers).await {
        Ok(()) => notice(&ctx, StatusCode::OK, "survey.thanks", &token),
        Err(AnswerError::AlreadyAnswered) => {
            notice(&ctx, StatusCode::CONFLICT, "survey.already", &token)
        }
        Err(AnswerError::Expired) => notice(&ctx, StatusCode::GONE, "survey.expired", &token),
        Err(AnswerError::Invalid(errors)) => {
            let body = public_body(&opened.record, &opened.rule, opened.party);
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ctx,
                None,
                "public_survey.html",
                context! {
                    title => ctx.lang.pick(&body.title, body.title_en.as_deref()).to_owned(),
                    intro => intro(&body, ctx.lang),
                    party => ctx.lang.pick(&body.party_label, Some(&body.party_label_en)).to_owned(),
                    case => body.case.clone(),
                    questions => s(questions(&body, ctx.lang, &answers, &errors)),
                    token => token.clone(),
                    here => format!("/public/survey/{token}"),
                    invalid => true,
                },
            )
        }
        Err(AnswerError::App(e)) => Err(e.into()),
    }
}
