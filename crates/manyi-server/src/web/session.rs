//! Who is asking and in which language: the page context ([`Ctx`]), the signed-in user
//! ([`WebUser`]), CSRF protection ([`CsrfForm`]), and the log-in, log-out and language
//! routes.
//!
//! Sessions are the API's (`auth::login` opens them, the `manyi_session` cookie carries
//! them), so a session works on every instance. CSRF uses the double-submit pattern: a random
//! token in the `manyi_csrf` cookie must come back in the form's `csrf` field (or the
//! `X-CSRF-Token` header of htmx requests). A cross-site page can make the browser send the
//! cookie but cannot read it, so it cannot fill the field.

use std::convert::Infallible;

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::header::{REFERER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use manyi_store::User;
use minijinja::context;
use serde::Deserialize;

use super::i18n::{Lang, cookie};
use super::templates::{WebError, redirect, render, render_status};
use crate::AppState;
use crate::auth::{CurrentUser, LoginRequest, SESSION_COOKIE, random_token};
use crate::error::AppError;
use crate::json::ApiJson;

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "manyi_csrf";
/// The language cookie's name (`zh-CN` or `en`).
pub const LANG_COOKIE: &str = "lang";
/// The form field and the htmx header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
const CSRF_HEADER: &str = "x-csrf-token";

/// What every page needs to know about the request. Never rejects.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    /// The CSRF token to put in this page's forms.
    pub csrf: String,
    /// True when the browser had no CSRF cookie yet: the response sets it.
    csrf_is_new: bool,
    /// Mark cookies `Secure`.
    pub secure: bool,
    /// This request's path and query (where to come back to after logging in or switching
    /// the language).
    pub here: String,
    /// The request came from htmx (`HX-Request`).
    pub htmx: bool,
}

impl Ctx {
    /// The cookies this response must set (the CSRF cookie on a first visit).
    pub fn cookies(&self) -> Vec<String> {
        if self.csrf_is_new {
            vec![csrf_cookie(&self.csrf, self.secure)]
        } else {
            Vec::new()
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, Infallible> {
        let existing = cookie(&parts.headers, CSRF_COOKIE).filter(|t| is_token(t));
        let (csrf, csrf_is_new) = match existing {
            Some(t) => (t, false),
            None => (random_token(32), true),
        };
        // A signed-in user's own language comes first. The session's user is looked up once
        // here and left in the request for `WebUser`, so a page still reads it only once.
        let mut lang = Lang::of_request(&parts.headers);
        if let Some(session) = cookie(&parts.headers, SESSION_COOKIE) {
            let now = state.clock.now();
            let user = state
                .store
                .session_user(&crate::auth::token_hash(&session), now)
                .await
                .ok()
                .flatten();
            if let Some(own) = user
                .as_ref()
                .and_then(|u| u.lang.as_deref())
                .and_then(Lang::parse)
            {
                lang = own;
            }
            parts.extensions.insert(SessionUser(user));
        }
        Ok(Ctx {
            lang,
            csrf,
            csrf_is_new,
            secure: state.config.secure_cookies,
            here: here(parts),
            htmx: parts.headers.contains_key("hx-request"),
        })
    }
}

fn is_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

fn csrf_cookie(token: &str, secure: bool) -> String {
    format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Where this request should come back to: its own path for a GET, the page the form was on
/// for a POST.
fn here(parts: &Parts) -> String {
    if parts.method == axum::http::Method::GET {
        let pq = parts
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        return safe_next(&pq).unwrap_or_else(|| "/".into());
    }
    parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            // Only the path of the referring page: `http://host/path?q` → `/path?q`.
            let after_scheme = r.split_once("://").map_or(r, |(_, rest)| rest);
            after_scheme.find('/').map(|i| after_scheme[i..].to_owned())
        })
        .and_then(|p| safe_next(&p))
        .unwrap_or_else(|| "/".into())
}

/// A local path to redirect to, or `None` (an absolute URL, `//host`, or control characters
/// would make an open redirect).
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000;
    ok.then(|| next.to_owned())
}

/// The user of the request's session as `Ctx` found it (`None`: no valid session).
#[derive(Clone)]
struct SessionUser(Option<User>);

/// The signed-in user of a page. Without a valid session the request is sent to `/login`
/// (with "session expired" when it carried a session that is no longer valid).
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    /// The name of the user's unit (for the page header).
    pub unit_name: String,
}

impl WebUser {
    pub fn is_admin(&self) -> bool {
        self.user.roles.iter().any(|r| r == "admin")
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<WebUser, WebError> {
        let had_session = cookie(&parts.headers, SESSION_COOKIE).is_some();
        let known = parts
            .extensions
            .get::<SessionUser>()
            .filter(|_| {
                !parts
                    .headers
                    .contains_key(axum::http::header::AUTHORIZATION)
            })
            .map(|s| {
                s.0.clone()
                    .map(CurrentUser)
                    .ok_or(AppError::Unauthenticated)
            });
        let current = match known {
            Some(found) => found,
            None => CurrentUser::from_request_parts(parts, state).await,
        };
        match current {
            Ok(CurrentUser(user)) => {
                let unit_name = state
                    .store
                    .unit_by_id(user.unit_id)
                    .await?
                    .map_or_else(|| user.unit_code.clone(), |u| u.name);
                Ok(WebUser { user, unit_name })
            }
            Err(AppError::Unauthenticated) => Err(WebError::Login {
                next: here(parts),
                expired: had_session,
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// A posted form whose CSRF token was checked: every POST handler of the pages takes one,
/// so no form can skip the check. Fields keep their order and repeats (multi-choice).
#[derive(Debug, Clone, Default)]
pub struct CsrfForm(pub FormData);

/// The fields of a posted form.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<CsrfForm, WebError> {
        let headers = req.headers().clone();
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    WebError::App(AppError::PayloadTooLarge(state.config.body_limit))
                } else {
                    WebError::App(AppError::BadRequest(rejection.body_text()))
                }
            })?;
        let form = FormData(pairs);
        let submitted = form.get(CSRF_FIELD).map(str::to_owned).or_else(|| {
            headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        check_csrf(&headers, submitted.as_deref())?;
        Ok(CsrfForm(form))
    }
}

/// The submitted token must equal the cookie's.
pub(super) fn check_csrf(headers: &HeaderMap, submitted: Option<&str>) -> Result<(), WebError> {
    let expected = cookie(headers, CSRF_COOKIE).filter(|t| is_token(t));
    match (expected, submitted) {
        (Some(expected), Some(submitted)) if constant_time_eq(&expected, submitted) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

/// Compares without stopping at the first difference, so timing does not reveal a prefix.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    /// Set when a page found the session expired.
    expired: Option<String>,
    /// Set after logging out.
    out: Option<String>,
}

/// `GET /login`.
pub async fn login_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
    parts: axum::http::request::Parts,
) -> Result<Response, WebError> {
    let mut parts = parts;
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("/".into());
    // Already signed in: straight on.
    if cookie(&parts.headers, SESSION_COOKIE).is_some()
        && CurrentUser::from_request_parts(&mut parts, &state)
            .await
            .is_ok()
    {
        return Ok(redirect(&next));
    }
    let notice = if q.expired.is_some() {
        Some("login.expired")
    } else if q.out.is_some() {
        Some("login.logged_out")
    } else if next != "/" {
        Some("login.required")
    } else {
        None
    };
    render(
        &ctx,
        None,
        "login.html",
        context! { next, notice, login => "", error => None::<&str> },
    )
}

/// `POST /login`: the form's login and password go through the API's log-in, which opens the
/// session and sets its cookie; a failure shows the form again with the login kept.
pub async fn login_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let login = form.text("login");
    let password = form.get("password").unwrap_or("").to_owned();
    let next = safe_next(&form.text("next")).unwrap_or_else(|| "/".into());
    let request = LoginRequest {
        login: login.clone(),
        password,
    };
    match crate::auth::login(State(state), ApiJson(request)).await {
        Ok(api_response) => {
            let mut response = redirect(&next);
            for cookie in api_response.headers().get_all(SET_COOKIE) {
                response.headers_mut().append(SET_COOKIE, cookie.clone());
            }
            // A new CSRF token for the new session.
            if let Ok(v) = HeaderValue::from_str(&csrf_cookie(&random_token(32), ctx.secure)) {
                response.headers_mut().append(SET_COOKIE, v);
            }
            Ok(response)
        }
        Err(AppError::Forbidden(_)) => render_status(
            StatusCode::FORBIDDEN,
            &ctx,
            None,
            "login.html",
            context! { next, login, error => "login.failed", notice => None::<&str> },
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session (in the database) and clears its cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let api_response = crate::auth::logout(State(state), headers).await?;
    let mut response = redirect("/login?out=1");
    for cookie in api_response.headers().get_all(SET_COOKIE) {
        response.headers_mut().append(SET_COOKIE, cookie.clone());
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// `GET /lang?to=en&back=/path`: remembers the language in a cookie (a preference, not a
/// change of data) and goes back.
pub async fn set_lang(ctx: Ctx, Query(q): Query<LangQuery>) -> Response {
    let back = q
        .back
        .as_deref()
        .and_then(safe_next)
        .unwrap_or_else(|| "/".into());
    let lang = Lang::parse(&q.to).unwrap_or(ctx.lang);
    let mut response = redirect(&back);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
        lang.code(),
        if ctx.secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response.into_response()
}

/// `POST /account/lang` (`to`, `back`): the signed-in user's language, stored on the user (so
/// it follows them to any browser) and in the cookie (for the pages before signing in).
pub async fn set_user_lang(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&form.text("to")).unwrap_or(ctx.lang);
    let code = match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    };
    state.store.set_user_lang(user.user.id, Some(code)).await?;
    let back = safe_next(&form.text("back")).unwrap_or_else(|| "/".into());
    let mut response = redirect(&back);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
        lang.code(),
        if ctx.secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/cases/1"), Some("/cases/1".into()));
        assert_eq!(safe_next("//evil.example/"), None);
        assert_eq!(safe_next("https://evil.example/"), None);
        assert_eq!(safe_next("/\\evil"), None);
        assert_eq!(safe_next("/a\r\nSet-Cookie: x"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
