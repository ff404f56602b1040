//! `/account/password` — the signed-in user changes their own password.
//!
//! The current password is verified with Argon2 like the log-in does; the new one must follow
//! the API's rule (`api::org::check_password`) and be typed twice. Errors are shown beside
//! their fields; passwords are never put back into the form. A changed password ends the
//! user's other sessions (someone who knew the old password is signed out everywhere);
//! the session that changed it stays.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::i18n::tr;
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, render, render_status, s};
use crate::AppState;
use crate::auth::{hash_password, verify_password};

/// `GET /account/password`.
pub async fn password_form(ctx: Ctx, user: WebUser) -> Result<Response, WebError> {
    render(
        &ctx,
        Some(&user),
        "account_password.html",
        context! { active => "account", errors => s(HashMap::<String, String>::new()), done => false },
    )
}

/// `POST /account/password`: `current`, `new`, `confirm`.
pub async fn password_submit(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let current = form.get("current").unwrap_or("");
    let new = form.get("new").unwrap_or("");
    let confirm = form.get("confirm").unwrap_or("");
    let mut errors: HashMap<&str, String> = HashMap::new();
    // The stored hash, read again (not the one of the session's user row).
    let stored = state
        .store
        .user_by_login(&user.user.login)
        .await?
        .and_then(|u| u.password_hash);
    let current_ok = stored
        .as_deref()
        .is_some_and(|phc| verify_password(current, phc));
    if current.is_empty() {
        errors.insert("current", tr(lang, "account.required").to_owned());
    } else if !current_ok {
        errors.insert("current", tr(lang, "account.current_wrong").to_owned());
    }
    if let Err(crate::error::AppError::Invalid { fields, .. }) =
        crate::api::org::check_password(new)
    {
        let message = fields
            .first()
            .map(|f| lang.message(&f.message_zh, &f.message).to_owned())
            .unwrap_or_else(|| tr(lang, "account.too_short").to_owned());
        errors.insert("new", message);
    } else if new == current && current_ok {
        errors.insert("new", tr(lang, "account.same").to_owned());
    }
    if confirm != new {
        errors.insert("confirm", tr(lang, "account.mismatch").to_owned());
    }
    if !errors.is_empty() {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ctx,
            Some(&user),
            "account_password.html",
            context! { active => "account", errors => s(errors), done => false },
        );
    }
    let hash = hash_password(new)?;
    state
        .store
        .set_password_hash(&user.user.login, &hash)
        .await?;
    let keep = super::i18n::cookie(&headers, crate::auth::SESSION_COOKIE)
        .map(|session| crate::auth::token_hash(&session))
        .unwrap_or_default();
    let ended = state
        .store
        .delete_other_sessions(user.user.id, &keep)
        .await?;
    tracing::info!(
        user_id = user.user.id,
        other_sessions_ended = ended,
        "password changed"
    );
    render(
        &ctx,
        Some(&user),
        "account_password.html",
        context! { active => "account", errors => s(HashMap::<String, String>::new()), done => true },
    )
}
