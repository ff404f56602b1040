//! `POST /cases/{number}/callback` — the case page's 回访 forms (an attempt, a verdict, a
//! waiver), acted on through the same shell as the API (`api::callbacks::act_as`). A refusal
//! is shown on the case page with its clause; nothing changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use manyi_core::engine::RefusalReason;
use serde::Serialize;

use super::case_page::{PageState, RefusalView, page};
use super::i18n::{Lang, tr};
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, percent_encode, redirect};
use super::view;
use crate::AppState;
use crate::api::callbacks::{AttemptRequest, CallbackBody, VerdictRequest, act_as};
use crate::error::AppError;
use crate::json::ApiPath;

/// A channel as the forms offer it.
#[derive(Serialize)]
pub(super) struct ChannelChoice {
    code: String,
    label: String,
}

/// The channels the callback may use (the policy's list, or common ones when it sets none).
pub(super) fn channel_choices(cb: Option<&CallbackBody>, lang: Lang) -> Vec<ChannelChoice> {
    let Some(cb) = cb else {
        return Vec::new();
    };
    let codes: Vec<String> = if cb.channels.is_empty() {
        ["phone", "sms", "visit"].map(str::to_owned).to_vec()
    } else {
        cb.channels.clone()
    };
    codes
        .into_iter()
        .map(|code| ChannelChoice {
            label: view::channel_label(&code, lang),
            code,
        })
        .collect()
}

/// The parties of the current round (`customer`, and `subject` with `also_subject`).
pub(super) fn parties(cb: Option<&CallbackBody>) -> Vec<String> {
    cb.and_then(|c| c.rounds.last())
        .map(|r| {
            r.parties
                .iter()
                .map(|p| {
                    serde_json::to_value(p)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /cases/{number}/callback`.
pub async fn act(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let op = form.text("op");
    let note = Some(form.text("note")).filter(|n| !n.is_empty());
    let party = Some(form.text("party")).filter(|p| !p.is_empty());
    let action = match op.as_str() {
        "attempt" => AttemptRequest {
            party,
            channel: form.text("channel"),
            reached: form.get("reached").is_some(),
            note,
        }
        .into_action(),
        "verdict" => VerdictRequest {
            party,
            verdict: form.text("verdict"),
            channel: Some(form.text("channel")),
            note,
        }
        .into_action(),
        "waive" => Ok(crate::api::callbacks::Action::Waive(Some(
            form.text("reason"),
        ))),
        _ => Err(AppError::BadRequest(format!(
            "unknown callback form `{op}`"
        ))),
    };
    let result = match action {
        Ok(action) => act_as(&state, &user.user, &number, &action)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect(&format!(
            "/cases/{}?done={}",
            percent_encode(&number),
            percent_encode(tr(ctx.lang, &format!("callback.done.{op}")))
        ))),
        Err(AppError::Refused(r)) => {
            let lang = ctx.lang;
            let status = match r.reason {
                RefusalReason::RoleNotAllowed
                | RefusalReason::OutsideJurisdiction
                | RefusalReason::Recused
                | RefusalReason::NotIndependent => StatusCode::FORBIDDEN,
                RefusalReason::InvalidFields | RefusalReason::ReasonRequired => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::CONFLICT,
            };
            let ps = PageState {
                refusal: Some(RefusalView {
                    action: "callback".into(),
                    message: lang.message(&r.message_zh, &r.message).to_owned(),
                    clause: r.clause.clone(),
                    errors: r
                        .fields
                        .iter()
                        .map(|e| lang.message(&e.message_zh, &e.message).to_owned())
                        .collect(),
                }),
                status: Some(status),
                ..PageState::default()
            };
            page(&ctx, &user, &state, &number, ps).await
        }
        Err(e) => Err(e.into()),
    }
}
