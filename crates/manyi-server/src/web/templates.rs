//! Rendering: the template environment (templates embedded in the binary, HTML autoescape on),
//! the page responses, and the one error story of the pages ([`WebError`]).
//!
//! Templates see `lang`, `csrf`, `user` and `here` on every page, and call `t("key")` for
//! every string (see `i18n`).

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State, context};

use super::i18n::{self, Lang};
use super::session::{Ctx, WebUser};
use crate::error::AppError;

/// Every template, embedded at build time.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "account_password.html",
        include_str!("../../templates/account_password.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "workspace.html",
        include_str!("../../templates/workspace.html"),
    ),
    (
        "register.html",
        include_str!("../../templates/register.html"),
    ),
    (
        "register_choose.html",
        include_str!("../../templates/register_choose.html"),
    ),
    (
        "field_check.html",
        include_str!("../../templates/field_check.html"),
    ),
    ("case.html", include_str!("../../templates/case.html")),
    (
        "public_survey.html",
        include_str!("../../templates/public_survey.html"),
    ),
    (
        "case_callback.html",
        include_str!("../../templates/case_callback.html"),
    ),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    (
        "public_base.html",
        include_str!("../../templates/public_base.html"),
    ),
    (
        "public_complaint.html",
        include_str!("../../templates/public_complaint.html"),
    ),
    (
        "public_done.html",
        include_str!("../../templates/public_done.html"),
    ),
    (
        "public_track.html",
        include_str!("../../templates/public_track.html"),
    ),
    (
        "admin_base.html",
        include_str!("../../templates/admin_base.html"),
    ),
    (
        "admin_org.html",
        include_str!("../../templates/admin_org.html"),
    ),
    (
        "admin_users.html",
        include_str!("../../templates/admin_users.html"),
    ),
    (
        "admin_user_edit.html",
        include_str!("../../templates/admin_user_edit.html"),
    ),
    (
        "admin_policies.html",
        include_str!("../../templates/admin_policies.html"),
    ),
    (
        "admin_policy_diff.html",
        include_str!("../../templates/admin_policy_diff.html"),
    ),
    (
        "admin_calendar.html",
        include_str!("../../templates/admin_calendar.html"),
    ),
    (
        "survey_results.html",
        include_str!("../../templates/survey_results.html"),
    ),
    ("rewards.html", include_str!("../../templates/rewards.html")),
    (
        "conduct_new.html",
        include_str!("../../templates/conduct_new.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates escape every value (MiniJinja's default callback); said here so
        // that nobody has to look it up.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for (name, source) in TEMPLATES {
            // A template that does not parse is a bug caught by the tests (`templates_parse`);
            // at run time the page then answers 500 with the error logged.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env.add_function("t", translate);
        env.add_filter("qs", query_escape);
        env.add_global("asset_v", super::assets::version());
        env
    })
}

/// `t("key")` or `t("key", n=3)`: the text of `key` in the page's language.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = lang_of(state);
    let mut out = i18n::tr(lang, key).to_owned();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(out)
}

fn lang_of(state: &State) -> Lang {
    match state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
    {
        Some(code) => Lang::parse(&code).unwrap_or(Lang::Zh),
        None => Lang::Zh,
    }
}

/// A serialisable value for a template context.
pub fn s<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Percent-encodes a value for a query string.
fn query_escape(value: &str) -> String {
    percent_encode(value)
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders a template to a string with the page's common context.
pub fn render_string(
    ctx: &Ctx,
    user: Option<&WebUser>,
    template: &str,
    page: Value,
) -> Result<String, WebError> {
    let user_value = user.map(|u| {
        context! {
            login => u.user.login.clone(),
            name => u.user.name.clone(),
            unit => u.unit_name.clone(),
            is_admin => u.is_admin(),
        }
    });
    let full = context! {
        lang => ctx.lang.code(),
        csrf => ctx.csrf.clone(),
        here => ctx.here.clone(),
        user => user_value,
        ..page
    };
    env()
        .get_template(template)
        .and_then(|t| t.render(full))
        .map_err(|e| WebError::App(AppError::Internal(template_error(template, &e))))
}

fn template_error(template: &str, e: &Error) -> String {
    let mut message = format!("template {template}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

/// A page (200).
pub fn render(
    ctx: &Ctx,
    user: Option<&WebUser>,
    template: &str,
    page: Value,
) -> Result<Response, WebError> {
    render_status(StatusCode::OK, ctx, user, template, page)
}

/// A page with another status (a form shown again with its errors, a refusal).
pub fn render_status(
    status: StatusCode,
    ctx: &Ctx,
    user: Option<&WebUser>,
    template: &str,
    page: Value,
) -> Result<Response, WebError> {
    let html = render_string(ctx, user, template, page)?;
    Ok(html_response(status, ctx, html))
}

/// HTML with the headers every page gets.
pub fn html_response(status: StatusCode, ctx: &Ctx, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(headers);
    for cookie in ctx.cookies() {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
    response
}

fn security_headers(headers: &mut axum::http::HeaderMap) {
    // Pages carry personal data: never stored by the browser or a proxy.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
}

/// 303 See Other (Post/Redirect/Get).
pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, v);
    }
    response
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// An error of the shared shell (store, engine, permissions).
    App(AppError),
    /// Not signed in (or the session expired): go to the log-in page, then come back.
    Login { next: String, expired: bool },
    /// A form without a valid CSRF token: 403.
    Csrf,
    /// A customer page's rate limit: 429 with the message of `key`.
    TooMany(&'static str),
    /// Not allowed, with the message of `key`: 403.
    Forbidden(&'static str),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

impl From<manyi_store::StoreError> for WebError {
    fn from(e: manyi_store::StoreError) -> Self {
        WebError::App(e.into())
    }
}

/// What the error page shows, attached to the response by [`WebError`] and rendered by
/// [`render_error_pages`], which knows the request's language.
#[derive(Debug, Clone)]
struct ErrorPage {
    title: &'static str,
    detail: Detail,
}

#[derive(Debug, Clone)]
enum Detail {
    Key(&'static str),
    /// A message the shell made in both languages (or one text for both).
    Text {
        zh: String,
        en: String,
    },
    RequestId(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            WebError::Login { next, expired } => {
                let mut to = format!("/login?next={}", percent_encode(&next));
                if expired {
                    to.push_str("&expired=1");
                }
                let mut response = redirect(&to);
                if expired {
                    // The stale session cookie is of no use any more.
                    response.headers_mut().append(
                        SET_COOKIE,
                        HeaderValue::from_static(
                            "manyi_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                        ),
                    );
                }
                // htmx follows a redirect inside the page; ask it to load the log-in page.
                if let Ok(v) = HeaderValue::from_str(&to) {
                    response.headers_mut().insert("hx-redirect", v);
                }
                return response;
            }
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    title: "error.forbidden",
                    detail: Detail::Key("error.csrf"),
                },
            ),
            WebError::TooMany(key) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorPage {
                    title: "error.too_many",
                    detail: Detail::Key(key),
                },
            ),
            WebError::Forbidden(key) => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    title: "error.forbidden",
                    detail: Detail::Key(key),
                },
            ),
            WebError::App(e) => app_error_page(e),
        };
        let mut response = status.into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("60"));
        }
        response.extensions_mut().insert(page);
        response
    }
}

fn text(s: String) -> Detail {
    Detail::Text {
        zh: s.clone(),
        en: s,
    }
}

fn app_error_page(e: AppError) -> (StatusCode, ErrorPage) {
    use StatusCode as S;
    let page = |title, detail| ErrorPage { title, detail };
    match e {
        // Existence is never revealed: every 404 reads the same.
        AppError::NotFound(_) => (
            S::NOT_FOUND,
            page("error.not_found", Detail::Key("error.not_found.detail")),
        ),
        AppError::Unauthenticated => (
            S::UNAUTHORIZED,
            page("login.required", Detail::Key("login.required")),
        ),
        AppError::Forbidden(d) => (S::FORBIDDEN, page("error.forbidden", text(d))),
        AppError::BadRequest(d) => (S::BAD_REQUEST, page("error.bad_request", text(d))),
        AppError::Conflict(d) => (S::CONFLICT, page("error.conflict", text(d))),
        AppError::Gone(d) => (S::GONE, page("error.conflict", text(d))),
        AppError::PayloadTooLarge(limit) => (
            S::PAYLOAD_TOO_LARGE,
            page(
                "error.bad_request",
                text(format!("the body exceeds the limit of {limit} bytes")),
            ),
        ),
        AppError::UnsupportedMediaType(d) => (
            S::UNSUPPORTED_MEDIA_TYPE,
            page("error.bad_request", text(d)),
        ),
        AppError::Invalid { detail, fields } => {
            let zh = std::iter::once(detail.clone())
                .chain(fields.iter().map(|f| f.message_zh.clone()))
                .collect::<Vec<_>>()
                .join("；");
            let en = std::iter::once(detail)
                .chain(fields.iter().map(|f| f.message.clone()))
                .collect::<Vec<_>>()
                .join("; ");
            (
                S::UNPROCESSABLE_ENTITY,
                page("error.bad_request", Detail::Text { zh, en }),
            )
        }
        AppError::InvalidPolicy(ds) => (
            S::UNPROCESSABLE_ENTITY,
            page(
                "error.bad_request",
                text(
                    ds.iter()
                        .map(|d| d.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
        ),
        AppError::Refused(r) => {
            let status = match r.reason {
                manyi_core::engine::RefusalReason::RoleNotAllowed
                | manyi_core::engine::RefusalReason::OutsideJurisdiction => S::FORBIDDEN,
                manyi_core::engine::RefusalReason::InvalidFields => S::UNPROCESSABLE_ENTITY,
                _ => S::CONFLICT,
            };
            (
                status,
                page(
                    "case.refused",
                    Detail::Text {
                        zh: r.message_zh,
                        en: r.message,
                    },
                ),
            )
        }
        AppError::Unavailable => (
            S::SERVICE_UNAVAILABLE,
            page("error.unavailable", Detail::Key("error.unavailable.detail")),
        ),
        AppError::Internal(message) => {
            let request_id = crate::auth::random_token(8);
            // Logged once, here, like the API's internal errors; no personal data in it.
            tracing::error!(%request_id, error = %message, "internal error on a page");
            (
                S::INTERNAL_SERVER_ERROR,
                page("error.internal", Detail::RequestId(request_id)),
            )
        }
    }
}

/// Middleware: turns a [`WebError`]'s bare response into the error page, in the request's
/// language.
pub async fn render_error_pages(request: Request, next: Next) -> Response {
    let lang = Lang::of_request(request.headers());
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let (zh_detail, en_detail) = match &page.detail {
        Detail::Key(key) => (
            i18n::tr(Lang::Zh, key).to_owned(),
            i18n::tr(Lang::En, key).to_owned(),
        ),
        Detail::Text { zh, en } => (zh.clone(), en.clone()),
        Detail::RequestId(id) => (
            i18n::tr_with(Lang::Zh, "error.internal.detail", &[("id", id)]),
            i18n::tr_with(Lang::En, "error.internal.detail", &[("id", id)]),
        ),
    };
    let detail = match lang {
        Lang::Zh => zh_detail,
        Lang::En => en_detail,
    };
    let status = response.status();
    let ctx = context! {
        lang => lang.code(),
        status => status.as_u16(),
        title => page.title,
        detail,
    };
    let html = env()
        .get_template("error.html")
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page does not render");
            format!("{} {}", status.as_u16(), i18n::tr(lang, page.title))
        });
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(&mut parts.headers);
    Response::from_parts(parts, axum::body::Body::from(html))
}

/// The pages' fallback: 404.
pub async fn not_found() -> WebError {
    WebError::App(AppError::NotFound("no such page".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// Every `t("key")` of every template is in the translation table.
    #[test]
    fn every_template_key_is_translated() {
        let mut missing = Vec::new();
        for (name, source) in TEMPLATES {
            let mut rest = *source;
            while let Some(i) = rest.find("t(\"") {
                // Skip identifiers that merely end in `t(` (e.g. `select(`).
                let before = rest[..i].chars().last();
                rest = &rest[i + 3..];
                let Some(end) = rest.find('"') else { break };
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let key = &rest[..end];
                if !i18n::has(key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from i18n: {missing:#?}");
    }

    /// The case page's conduct form: shown only when given, a refusal beside its field with
    /// the clause, what was typed kept (escaped).
    #[test]
    fn the_conduct_form_shows_a_refusal_beside_its_field() {
        let t = env().get_template("case.html").expect("case.html");
        let conduct = context! {
            types => vec![
                context! { code => "etiquette", label => "未按礼仪（第四条）" },
                context! { code => "phone_language", label => "未按规定用语（第六条）" },
            ],
            people => vec![context! { code => "duty", label => "当班小李" }],
            type_id => "phone_language",
            person => "cs",
            description => "<i>语气生硬</i>",
            message => "不能登记自己的违规行为",
            clause => "第六条",
            field => "person",
        };
        let html = t
            .render(context! { lang => "zh-CN", csrf => "tok", number => "TS1", conduct })
            .expect("renders");
        assert!(html.contains("action=\"/cases/TS1/conduct\""), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"tok\""), "{html}");
        assert!(
            html.contains("<option value=\"phone_language\" selected>"),
            "{html}"
        );
        assert!(html.contains("name=\"person\" value=\"cs\""), "{html}");
        assert!(
            html.contains("&lt;i&gt;语气生硬&lt;&#x2f;i&gt;</textarea>"),
            "{html}"
        );
        let error = html
            .split("id=\"conduct-person-error\"")
            .nth(1)
            .expect("the error is beside the person field");
        assert!(
            error.starts_with(
                " role=\"alert\">不能登记自己的违规行为 <span class=\"clause\">依据：第六条</span>"
            ),
            "{html}"
        );
        assert!(!html.contains("id=\"conduct-description-error\""), "{html}");

        let without = t
            .render(context! { lang => "zh-CN", csrf => "tok", number => "TS1" })
            .expect("renders");
        assert!(!without.contains("/conduct\""), "{without}");
    }

    /// The refusal block at the top of the case page names the clause once (beside its
    /// heading), not again at the start of the engine's message (`CLAUSE: …`).
    #[test]
    fn the_case_pages_refusal_names_its_clause_once() {
        let t = env().get_template("case.html").expect("case.html");
        for (message, clause) in [
            ("第十四条: 答复客户前须填写处理结果", "第十四条"),
            ("CLAUSES A25：案件已归档，只读", "CLAUSES A25"),
        ] {
            let refusal = super::super::case_page::RefusalView {
                action: "reply".into(),
                message: message.into(),
                clause: Some(clause.into()),
                errors: Vec::new(),
            }
            .shown();
            let html = t
                .render(context! { lang => "zh-CN", csrf => "tok", number => "TS1", refusal => super::s(refusal) })
                .expect("renders");
            let block = html
                .split("id=\"refusal\"")
                .nth(1)
                .and_then(|b| b.split("</div>").next())
                .expect("the refusal block");
            assert_eq!(block.matches(clause).count(), 1, "{block}");
            assert!(block.contains(&format!("依据：{clause}")), "{block}");
            let text = message.split_once(clause).map(|(_, m)| {
                &m[m.find(|c: char| c != ':' && c != '：' && c != ' ')
                    .unwrap_or(0)..]
            });
            assert!(block.contains(text.expect("text")), "{block}");
        }
        // A message that does not start with its clause is shown whole.
        let refusal = super::super::case_page::RefusalView {
            message: "有人同时修改了此案件，请刷新后重试".into(),
            clause: Some("第五条".into()),
            ..Default::default()
        }
        .shown();
        let html = t
            .render(context! { lang => "zh-CN", csrf => "tok", number => "TS1", refusal => super::s(refusal) })
            .expect("renders");
        assert!(
            html.contains("<p>有人同时修改了此案件，请刷新后重试</p>"),
            "{html}"
        );
    }

    #[test]
    fn values_are_escaped() {
        let t = env().get_template("error.html").expect("error.html");
        let html = t
            .render(context! { lang => "zh-CN", title => "error.title", detail => "<b>x</b>" })
            .expect("renders");
        assert!(html.contains("&lt;b&gt;x"), "{html}");
        assert!(!html.contains("<b>x"), "{html}");
    }
}
