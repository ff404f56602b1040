//! `/admin` — administration (the `admin` role): the organisation tree and its users (read
//! only here), the policies (upload with `policy check` diagnostics shown inline at their line
//! and column, activate a version), and the working-day calendar of a year.
//!
//! Policy uploads and activation go through the API's handlers (`api::policies`), so the
//! rules (admin only, nothing stored when a policy has errors) are the API's.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use manyi_core::calendar::DayKind;
use manyi_core::policy;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::dashboard::level_labels;
use super::i18n::{tr, tr_with};
use super::session::{CsrfForm, Ctx, WebUser};
use super::templates::{WebError, redirect, render, render_status, s};
use crate::AppState;
use crate::api::policies as api;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiPath, RawBody};

fn require_admin(user: &WebUser) -> Result<(), WebError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(WebError::Forbidden("error.admin_only"))
    }
}

#[derive(Serialize)]
struct UnitView {
    code: String,
    name: String,
    level: String,
    depth: usize,
    people: usize,
}

/// `GET /admin`: the organisation tree.
pub async fn org(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let levels = level_labels(&state, ctx.lang).await?;
    let users = state.store.list_users().await?;
    let mut units = state.store.list_units().await?;
    units.sort_by(|a, b| a.path.cmp(&b.path));
    let units: Vec<UnitView> = units
        .into_iter()
        .map(|u| UnitView {
            people: users.iter().filter(|p| p.unit_id == u.id).count(),
            depth: u.path.matches('/').count().saturating_sub(2),
            level: levels
                .get(&u.level)
                .cloned()
                .unwrap_or_else(|| u.level.clone()),
            code: u.code,
            name: u.name,
        })
        .collect();
    render(
        &ctx,
        Some(&user),
        "admin_org.html",
        context! { active => "admin", tab => "org", units => s(units) },
    )
}

#[derive(Serialize)]
struct UserView {
    login: String,
    name: String,
    unit: String,
    roles: Vec<String>,
}

/// `GET /admin/users`.
pub async fn users(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let units: HashMap<i64, String> = state
        .store
        .list_units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    // Role labels from the active policies.
    let mut roles: HashMap<String, String> = HashMap::new();
    for record in state.store.active_policies().await? {
        let p = state.policies.compile(&record)?;
        for r in &p.roles {
            roles
                .entry(r.id.clone())
                .or_insert_with(|| ctx.lang.pick(&r.label, r.label_en.as_deref()).to_owned());
        }
    }
    let users: Vec<UserView> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserView {
            unit: units.get(&u.unit_id).cloned().unwrap_or(u.unit_code),
            roles: u
                .roles
                .iter()
                .map(|r| roles.get(r).cloned().unwrap_or_else(|| r.clone()))
                .collect(),
            login: u.login,
            name: u.name,
        })
        .collect();
    render(
        &ctx,
        Some(&user),
        "admin_users.html",
        context! { active => "admin", tab => "users", users => s(users) },
    )
}

#[derive(Serialize)]
struct VersionView {
    version: i64,
    active: bool,
    created: String,
    activated: Option<String>,
}

#[derive(Serialize)]
struct PolicyView {
    id: String,
    title: String,
    versions: Vec<VersionView>,
}

/// One line of an uploaded source, with the diagnostics that point at it.
#[derive(Serialize)]
struct SourceLine {
    n: usize,
    text: String,
    diagnostics: Vec<DiagnosticView>,
    /// Lines were left out before this one.
    gap: bool,
}

/// Lines around a diagnostic that the excerpt shows.
const CONTEXT_LINES: usize = 2;

#[derive(Serialize, Clone)]
struct DiagnosticView {
    error: bool,
    at: String,
    /// Spaces up to the column, then `^`.
    caret: String,
    message: String,
}

#[derive(Default)]
struct PolicyPage {
    source: String,
    checked: bool,
    diagnostics: Vec<policy::Diagnostic>,
    notice: Option<String>,
    status: Option<StatusCode>,
}

async fn policies_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    p: PolicyPage,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut views = Vec::new();
    for record in state.store.active_policies().await? {
        let compiled = state.policies.compile(&record)?;
        let versions = state
            .store
            .policy_versions(&record.name)
            .await?
            .into_iter()
            .rev()
            .map(|v| VersionView {
                version: v.version,
                active: v.active,
                created: super::view::local_time(&crate::api::cases::timestamp(v.created_at)),
                activated: v
                    .activated_at
                    .map(|t| super::view::local_time(&crate::api::cases::timestamp(t))),
            })
            .collect();
        views.push(PolicyView {
            id: record.name.clone(),
            title: compiled.title.clone(),
            versions,
        });
    }
    let diag_view = |d: &policy::Diagnostic| DiagnosticView {
        error: d.is_error(),
        at: tr_with(
            lang,
            "admin.line_col",
            &[
                ("line", &d.line.to_string()),
                ("column", &d.column.to_string()),
            ],
        ),
        caret: format!("{}^", " ".repeat(d.column.saturating_sub(1))),
        message: d.message.clone(),
    };
    let mut lines: Vec<SourceLine> = p
        .source
        .lines()
        .enumerate()
        .map(|(i, text)| SourceLine {
            n: i + 1,
            text: text.to_owned(),
            diagnostics: Vec::new(),
            gap: false,
        })
        .collect();
    let mut unplaced = Vec::new();
    for d in &p.diagnostics {
        match lines.get_mut(d.line.saturating_sub(1)) {
            Some(line) if d.line > 0 => line.diagnostics.push(diag_view(d)),
            _ => unplaced.push(diag_view(d)),
        }
    }
    // Only the lines near a diagnostic, with a mark where lines were left out.
    let marked: Vec<usize> = lines
        .iter()
        .filter(|l| !l.diagnostics.is_empty())
        .map(|l| l.n)
        .collect();
    let near = |n: usize| marked.iter().any(|&m| n.abs_diff(m) <= CONTEXT_LINES);
    let mut excerpt: Vec<SourceLine> = Vec::new();
    for mut line in lines.into_iter().filter(|l| near(l.n)) {
        line.gap = excerpt
            .last()
            .map_or(line.n > 1, |prev| line.n > prev.n + 1);
        excerpt.push(line);
    }
    let lines = excerpt;
    let errors = p.diagnostics.iter().filter(|d| d.is_error()).count();
    let all: Vec<DiagnosticView> = p.diagnostics.iter().map(diag_view).collect();
    render_status(
        p.status.unwrap_or(StatusCode::OK),
        ctx,
        Some(user),
        "admin_policies.html",
        context! {
            active => "admin",
            tab => "policies",
            policies => s(views),
            source => p.source,
            checked => p.checked,
            errors,
            diagnostics => s(all),
            lines => s(if p.diagnostics.is_empty() { Vec::new() } else { lines }),
            unplaced => s(unplaced),
            notice => p.notice,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct PoliciesQuery {
    activated: Option<String>,
    version: Option<i64>,
}

/// `GET /admin/policies`.
pub async fn policies(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<PoliciesQuery>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let notice = match (q.activated, q.version) {
        (Some(name), Some(v)) => Some(tr_with(
            ctx.lang,
            "admin.activated_ok",
            &[("policy", &name), ("version", &v.to_string())],
        )),
        _ => None,
    };
    policies_page(
        &ctx,
        &user,
        &state,
        PolicyPage {
            notice,
            ..PolicyPage::default()
        },
    )
    .await
}

/// `POST /admin/policies`: `op=check` shows the diagnostics; `op=store` also stores a new
/// version (not activated) when there are no errors.
pub async fn policy_submit(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    // Browsers send CRLF line ends from a textarea; the policy's lines and columns are the
    // file's, so normalise.
    let source = form.get("source").unwrap_or("").replace("\r\n", "\n");
    let body = RawBody(Bytes::from(source.clone().into_bytes()));
    let current = CurrentUser(user.user.clone());
    if form.text("op") == "store" {
        match api::upload(State(state.clone()), current, body).await {
            Ok((status, Json(stored))) => {
                let key = if status == StatusCode::CREATED {
                    "admin.stored"
                } else {
                    "admin.stored.same"
                };
                let notice = tr_with(
                    ctx.lang,
                    key,
                    &[
                        ("policy", &stored.id),
                        ("version", &stored.version.to_string()),
                    ],
                );
                let diagnostics = policy::load("policy.toml", &source).diagnostics;
                return policies_page(
                    &ctx,
                    &user,
                    &state,
                    PolicyPage {
                        source,
                        checked: true,
                        diagnostics,
                        notice: Some(notice),
                        status: Some(status),
                    },
                )
                .await;
            }
            Err(AppError::InvalidPolicy(diagnostics)) => {
                return policies_page(
                    &ctx,
                    &user,
                    &state,
                    PolicyPage {
                        source,
                        checked: true,
                        diagnostics,
                        notice: None,
                        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                    },
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Json(_) = api::check(current, body).await?;
    // The API's check answers the same diagnostics in its own shape; the page needs them
    // with their positions to place them on the source lines.
    let diagnostics = policy::load("policy.toml", &source).diagnostics;
    let has_errors = diagnostics.iter().any(|d| d.is_error());
    policies_page(
        &ctx,
        &user,
        &state,
        PolicyPage {
            source,
            checked: true,
            diagnostics,
            notice: None,
            status: Some(if has_errors {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            }),
        },
    )
    .await
}

/// `POST /admin/policies/{name}/versions/{version}/activate`.
pub async fn policy_activate(
    user: WebUser,
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, i64)>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let Json(record) = api::activate(
        State(state),
        CurrentUser(user.user.clone()),
        ApiPath((name, version)),
    )
    .await?;
    Ok(redirect(&format!(
        "/admin/policies?activated={}&version={}",
        super::templates::percent_encode(&record.id),
        record.version
    )))
}

#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    year: Option<i16>,
}

#[derive(Serialize)]
struct DayView {
    day: i8,
    class: &'static str,
    title: String,
}

#[derive(Serialize)]
struct MonthView {
    label: String,
    /// Empty cells before the 1st (Monday first).
    lead: usize,
    days: Vec<DayView>,
}

/// `GET /admin/calendar?year=2026`: a year of the official calendar, rest days and make-up
/// working days marked.
pub async fn calendar(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let this_year = state
        .clock
        .now()
        .to_zoned_datetime(manyi_core::china_tz())
        .year();
    let year = q.year.unwrap_or(this_year).clamp(1901, 2099);
    // One snapshot of the calendar for the whole page (an import may swap it meanwhile).
    let cal = state.calendar.current();
    let mut months = Vec::new();
    for month in 1..=12i8 {
        let first = Date::new(year, month, 1).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut days = Vec::new();
        let mut d = first;
        while d.month() == month {
            let kind = cal.day_kind(d);
            let (class, title) = match &kind {
                DayKind::Workday | DayKind::OrgWorkday => {
                    ("workday", tr(lang, "admin.calendar.workday").to_owned())
                }
                DayKind::Weekend | DayKind::OrgClosure => {
                    ("weekend", tr(lang, "admin.calendar.weekend").to_owned())
                }
                DayKind::Holiday { name } => (
                    "holiday",
                    format!("{} {name}", tr(lang, "admin.calendar.holiday")),
                ),
                DayKind::MakeUpWorkday { name } => (
                    "makeup",
                    format!("{} {name}", tr(lang, "admin.calendar.makeup")),
                ),
            };
            days.push(DayView {
                day: d.day(),
                class,
                title: format!("{d} {title}"),
            });
            d = d
                .checked_add(1.day())
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        months.push(MonthView {
            label: tr(lang, &format!("month.{month}")).to_owned(),
            lead: usize::from(first.weekday().to_monday_zero_offset() as u8),
            days,
        });
    }
    let weekdays: Vec<String> = tr(lang, "weekday.short")
        .chars()
        .map(String::from)
        .collect();
    render(
        &ctx,
        Some(&user),
        "admin_calendar.html",
        context! {
            active => "admin",
            tab => "calendar",
            year,
            months => s(months),
            weekdays,
            covered => cal.is_covered(year),
            version => cal.version().to_owned(),
        },
    )
}
