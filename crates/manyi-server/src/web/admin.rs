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
use manyi_core::calendar::{
    BusinessHours, DayKind, OpenInterval, Overlay, OverlayError, WorkWeekday,
};
use manyi_core::org::UnitRef;
use manyi_core::policy;
use manyi_store::{NewUnit, NewUser, StoreError};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::dashboard::level_labels;
use super::i18n::{Lang, tr, tr_with};
use super::session::{CsrfForm, Ctx, FormData, WebUser};
use super::templates::{WebError, redirect, render, render_status, s};
use crate::AppState;
use crate::api::policies as api;
use crate::auth::CurrentUser;
use crate::calendar::OrgCalendars;
use crate::error::AppError;
use crate::json::{ApiPath, RawBody};

fn require_admin(user: &WebUser) -> Result<(), WebError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(WebError::Forbidden("error.admin_only"))
    }
}

/// Units in tree order: each right after its parent, siblings by code (the stored path
/// orders by id as text, which puts `/1/10/` before `/1/9/`).
fn tree_order(units: &mut [manyi_store::Unit]) {
    let codes: HashMap<i64, String> = units.iter().map(|u| (u.id, u.code.clone())).collect();
    units.sort_by_cached_key(|u| {
        u.path
            .split('/')
            .filter_map(|p| p.parse::<i64>().ok())
            .map(|id| codes.get(&id).cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    });
}

#[derive(Serialize)]
struct UnitView {
    code: String,
    name: String,
    level: String,
    depth: usize,
    people: usize,
}

#[derive(Serialize)]
struct Labelled {
    code: String,
    label: String,
}

/// What was typed into one of the administration forms, with the errors beside its fields.
#[derive(Serialize, Default)]
struct FormState {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl FormState {
    fn typed(form: &FormData, names: &[&str]) -> FormState {
        FormState {
            values: names
                .iter()
                .map(|n| ((*n).to_owned(), form.text(n)))
                .collect(),
            errors: HashMap::new(),
        }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// Marks the empty ones of `names` as required.
    fn require(&mut self, lang: Lang, names: &[&str]) {
        for n in names {
            if self.value(n).is_empty() {
                self.error(n, tr(lang, "admin.form.required"));
            }
        }
    }
}

#[derive(Default)]
struct OrgPage {
    add: FormState,
    mv: FormState,
    notice: Option<String>,
    /// Why a unit was not removed.
    refusal: Option<String>,
    status: Option<StatusCode>,
}

async fn org_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    p: OrgPage,
) -> Result<Response, WebError> {
    let levels = level_labels(state, ctx.lang).await?;
    let users = state.store.list_users().await?;
    let mut units = state.store.list_units().await?;
    tree_order(&mut units);
    // The levels of the tree from the top down, then those only the policies name.
    let mut level_options: Vec<Labelled> = Vec::new();
    let mut by_depth: Vec<(usize, &str)> = units
        .iter()
        .map(|u| (u.path.matches('/').count(), u.level.as_str()))
        .collect();
    by_depth.sort_by_key(|(d, _)| *d);
    let mut policy_levels: Vec<&String> = levels.keys().collect();
    policy_levels.sort();
    for code in by_depth
        .iter()
        .map(|(_, l)| *l)
        .chain(policy_levels.iter().map(|l| l.as_str()))
    {
        if !level_options.iter().any(|o| o.code == code) {
            level_options.push(Labelled {
                code: code.to_owned(),
                label: levels.get(code).cloned().unwrap_or_else(|| code.to_owned()),
            });
        }
    }
    let unit_options: Vec<Labelled> = units
        .iter()
        .map(|u| Labelled {
            code: u.code.clone(),
            label: format!(
                "{}{} ({})",
                "　".repeat(u.path.matches('/').count().saturating_sub(2)),
                u.name,
                u.code
            ),
        })
        .collect();
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
    render_status(
        p.status.unwrap_or(StatusCode::OK),
        ctx,
        Some(user),
        "admin_org.html",
        context! {
            active => "admin",
            tab => "org",
            units => s(units),
            unit_options => s(unit_options),
            level_options => s(level_options),
            add => s(p.add),
            mv => s(p.mv),
            notice => p.notice,
            refusal => p.refusal,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    added: Option<String>,
    moved: Option<String>,
    removed: Option<String>,
}

/// `GET /admin`: the organisation tree, with the forms to add and move units.
pub async fn org(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let notice = match (q.added, q.moved, q.removed) {
        (Some(code), _, _) => Some(tr_with(ctx.lang, "admin.unit.added", &[("code", &code)])),
        (None, Some(code), _) => Some(tr_with(ctx.lang, "admin.unit.moved", &[("code", &code)])),
        (None, None, Some(code)) => {
            Some(tr_with(ctx.lang, "admin.unit.removed", &[("code", &code)]))
        }
        _ => None,
    };
    org_page(
        &ctx,
        &user,
        &state,
        OrgPage {
            notice,
            ..OrgPage::default()
        },
    )
    .await
}

/// `POST /admin/units`: adds a unit (`code`, `name`, `level`, `parent`; no parent makes a
/// root), through the same store call as `POST /api/v1/units`.
pub async fn unit_add(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let mut add = FormState::typed(&form, &["code", "name", "level", "parent"]);
    add.require(lang, &["code", "name", "level"]);
    if add.errors.is_empty() {
        let parent = add.value("parent");
        let result = state
            .store
            .insert_unit(NewUnit {
                code: add.value("code").to_owned(),
                name: add.value("name").to_owned(),
                level: add.value("level").to_owned(),
                parent_code: (!parent.is_empty()).then(|| parent.to_owned()),
            })
            .await;
        match result {
            Ok(unit) => {
                tracing::info!(unit_id = unit.id, unit_code = %unit.code, "unit added (web)");
                return Ok(redirect(&format!(
                    "/admin?added={}",
                    super::templates::percent_encode(&unit.code)
                )));
            }
            Err(StoreError::Duplicate { .. }) => {
                add.error("code", tr(lang, "admin.unit.duplicate"));
            }
            Err(StoreError::Invalid { what: "unit", .. }) if !parent.is_empty() => {
                add.error("parent", tr(lang, "admin.unit.unknown_parent"));
            }
            Err(StoreError::Invalid { reason, .. }) => add.error("code", reason),
            Err(e) => return Err(e.into()),
        }
    }
    org_page(
        &ctx,
        &user,
        &state,
        OrgPage {
            add,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..OrgPage::default()
        },
    )
    .await
}

/// `POST /admin/units/move`: moves `unit` (and its subtree) under `parent`, through the same
/// store call as `POST /api/v1/units/{code}/move`.
pub async fn unit_move(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let mut mv = FormState::typed(&form, &["unit", "parent"]);
    mv.require(lang, &["unit", "parent"]);
    if mv.errors.is_empty() {
        let (code, parent) = (mv.value("unit").to_owned(), mv.value("parent").to_owned());
        match state.store.move_unit(&code, &parent).await {
            Ok(unit) => {
                tracing::info!(unit_id = unit.id, unit_code = %unit.code, "unit moved (web)");
                return Ok(redirect(&format!(
                    "/admin?moved={}",
                    super::templates::percent_encode(&unit.code)
                )));
            }
            Err(StoreError::NotFound { key, .. }) if key == code => {
                mv.error("unit", tr(lang, "admin.unit.unknown"));
            }
            Err(StoreError::NotFound { .. }) => {
                mv.error("parent", tr(lang, "admin.unit.unknown_parent"));
            }
            Err(StoreError::Invalid { .. }) => {
                mv.error("parent", tr(lang, "admin.unit.cycle"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    org_page(
        &ctx,
        &user,
        &state,
        OrgPage {
            mv,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..OrgPage::default()
        },
    )
    .await
}

#[derive(Serialize)]
struct UserView {
    login: String,
    name: String,
    unit: String,
    roles: Vec<String>,
    disabled: bool,
}

#[derive(Default)]
struct UsersPage {
    add: FormState,
    /// The roles ticked in the add form.
    roles: Vec<String>,
    notice: Option<String>,
    /// Why a change was refused.
    refusal: Option<String>,
    status: Option<StatusCode>,
}

/// The roles of the active policies (id, label), and `admin`.
async fn role_options(state: &AppState, lang: Lang) -> Result<Vec<Labelled>, WebError> {
    let mut roles: Vec<Labelled> = Vec::new();
    for record in state.store.active_policies().await? {
        let p = state.policies.compile(&record)?;
        for r in &p.roles {
            if !roles.iter().any(|o| o.code == r.id) {
                roles.push(Labelled {
                    code: r.id.clone(),
                    label: lang.pick(&r.label, r.label_en.as_deref()).to_owned(),
                });
            }
        }
    }
    if !roles.iter().any(|o| o.code == "admin") {
        roles.push(Labelled {
            code: "admin".into(),
            label: tr(lang, "admin.role.admin").to_owned(),
        });
    }
    Ok(roles)
}

async fn users_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    p: UsersPage,
) -> Result<Response, WebError> {
    let mut all_units = state.store.list_units().await?;
    tree_order(&mut all_units);
    let units: HashMap<i64, String> = all_units.iter().map(|u| (u.id, u.name.clone())).collect();
    let unit_options: Vec<Labelled> = all_units
        .iter()
        .map(|u| Labelled {
            code: u.code.clone(),
            label: format!(
                "{}{} ({})",
                "　".repeat(u.path.matches('/').count().saturating_sub(2)),
                u.name,
                u.code
            ),
        })
        .collect();
    let role_options = role_options(state, ctx.lang).await?;
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
                .map(|r| {
                    role_options
                        .iter()
                        .find(|o| &o.code == r)
                        .map_or_else(|| r.clone(), |o| o.label.clone())
                })
                .collect(),
            disabled: u.disabled,
            login: u.login,
            name: u.name,
        })
        .collect();
    render_status(
        p.status.unwrap_or(StatusCode::OK),
        ctx,
        Some(user),
        "admin_users.html",
        context! {
            active => "admin",
            tab => "users",
            users => s(users),
            unit_options => s(unit_options),
            role_options => s(role_options),
            add => s(p.add),
            roles => p.roles,
            notice => p.notice,
            refusal => p.refusal,
            me => user.user.login.clone(),
        },
    )
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    added: Option<String>,
    edited: Option<String>,
    disabled: Option<String>,
    enabled: Option<String>,
}

/// `GET /admin/users`.
pub async fn users(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<UsersQuery>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let notice = [
        (q.added, "admin.user.added"),
        (q.edited, "admin.user.edited"),
        (q.disabled, "admin.user.disabled"),
        (q.enabled, "admin.user.enabled"),
    ]
    .into_iter()
    .find_map(|(login, key)| login.map(|l| tr_with(ctx.lang, key, &[("login", &l)])));
    users_page(
        &ctx,
        &user,
        &state,
        UsersPage {
            notice,
            ..UsersPage::default()
        },
    )
    .await
}

/// `POST /admin/users`: adds a user (`login`, `name`, `unit`, `role` (repeated), `password`),
/// like `POST /api/v1/users`: the password rule is the API's, the hash Argon2id.
pub async fn user_add(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let mut add = FormState::typed(&form, &["login", "name", "unit"]);
    add.require(lang, &["login", "name", "unit"]);
    let password = form.get("password").unwrap_or("").to_owned();
    let roles: Vec<String> = form
        .0
        .iter()
        .filter(|(k, v)| k == "role" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    if roles.is_empty() {
        add.error("roles", tr(lang, "admin.user.no_role"));
    }
    if let Err(AppError::Invalid { fields, .. }) = crate::api::org::check_password(&password) {
        let message = fields
            .first()
            .map(|f| lang.message(&f.message_zh, &f.message).to_owned())
            .unwrap_or_default();
        add.error("password", message);
    }
    if add.errors.is_empty() {
        let result = state
            .store
            .insert_user(NewUser {
                login: add.value("login").to_owned(),
                name: add.value("name").to_owned(),
                unit_code: add.value("unit").to_owned(),
                roles: roles.clone(),
                password_hash: Some(crate::auth::hash_password(&password)?),
            })
            .await;
        match result {
            Ok(created) => {
                tracing::info!(user_id = created.id, "user added (web)");
                return Ok(redirect(&format!(
                    "/admin/users?added={}",
                    super::templates::percent_encode(&created.login)
                )));
            }
            Err(StoreError::Duplicate { .. }) => {
                add.error("login", tr(lang, "admin.user.duplicate"));
            }
            Err(StoreError::Invalid { .. }) => {
                add.error("unit", tr(lang, "admin.unit.unknown"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    users_page(
        &ctx,
        &user,
        &state,
        UsersPage {
            add,
            roles,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..UsersPage::default()
        },
    )
    .await
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
    active_version: Option<i64>,
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
        let versions: Vec<VersionView> = state
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
            active_version: versions.iter().find(|v| v.active).map(|v| v.version),
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
pub struct CompareQuery {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Serialize)]
struct CompareSide {
    version: i64,
    active: bool,
    created: String,
}

/// `GET /admin/policies/{name}/compare?from=1&to=2`: a line diff of two stored versions of a
/// policy. Without versions: the active one (or the newest but one) against the newest.
pub async fn policy_compare(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let versions = state.store.policy_versions(&name).await?;
    let Some(newest) = versions.iter().map(|v| v.version).max() else {
        return Err(AppError::NotFound(format!("no policy `{name}`")).into());
    };
    let active = versions.iter().find(|v| v.active).map(|v| v.version);
    let to = q.to.unwrap_or(newest);
    let from = q.from.unwrap_or_else(|| match active {
        Some(a) if a != to => a,
        _ => versions
            .iter()
            .map(|v| v.version)
            .filter(|&v| v < to)
            .max()
            .unwrap_or(to),
    });
    let find = |v: i64| {
        versions
            .iter()
            .find(|r| r.version == v)
            .ok_or_else(|| AppError::NotFound(format!("no version {v} of policy `{name}`")))
    };
    let (old, new) = (find(from)?, find(to)?);
    let rows = super::diff::diff(&old.source, &new.source);
    let added = rows.iter().filter(|r| r.kind == "add").count();
    let removed = rows.iter().filter(|r| r.kind == "del").count();
    let rows = super::diff::fold(rows);
    let side = |r: &manyi_store::PolicyRecord| CompareSide {
        version: r.version,
        active: r.active,
        created: super::view::local_time(&crate::api::cases::timestamp(r.created_at)),
    };
    let mut choices: Vec<CompareSide> = versions.iter().map(side).collect();
    choices.sort_by_key(|c| std::cmp::Reverse(c.version));
    render(
        &ctx,
        Some(&user),
        "admin_policy_diff.html",
        context! {
            active => "admin",
            tab => "policies",
            policy => name,
            from => s(side(old)),
            to => s(side(new)),
            versions => s(choices),
            rows => s(rows),
            added,
            removed,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    year: Option<i16>,
    /// Set after a unit's calendar was saved.
    saved: Option<String>,
    /// A unit's code: its effective calendar (official days with the overlays of the unit
    /// and its ancestors).
    unit: Option<String>,
}

#[derive(Serialize)]
struct HoursView {
    day: String,
    intervals: Vec<String>,
}

/// What a unit's calendar changes, for the page.
#[derive(Serialize)]
struct OverlayView {
    code: String,
    name: String,
    /// The unit sets an overlay of its own (else everything is inherited).
    own: bool,
    empty: bool,
    closures: Vec<String>,
    extra_workdays: Vec<String>,
    hours: Vec<HoursView>,
    weekend_workday_as: Option<String>,
}

fn overlay_view(lang: Lang, unit: &manyi_store::Unit, own: bool, o: &Overlay) -> OverlayView {
    let hours = o.business_hours.as_ref().map(|h| {
        [
            ("weekday.monday", &h.monday),
            ("weekday.tuesday", &h.tuesday),
            ("weekday.wednesday", &h.wednesday),
            ("weekday.thursday", &h.thursday),
            ("weekday.friday", &h.friday),
        ]
        .into_iter()
        .map(|(key, intervals)| HoursView {
            day: tr(lang, key).to_owned(),
            intervals: intervals.iter().map(ToString::to_string).collect(),
        })
        .collect::<Vec<_>>()
    });
    let weekend_workday_as = o.business_hours.as_ref().and_then(|h| {
        serde_json::to_value(h.weekend_workday_as)
            .ok()
            .and_then(|v| {
                v.as_str()
                    .map(|d| tr(lang, &format!("weekday.{d}")).to_owned())
            })
    });
    OverlayView {
        code: unit.code.clone(),
        name: unit.name.clone(),
        own,
        empty: o.is_empty(),
        closures: o.closures.iter().map(ToString::to_string).collect(),
        extra_workdays: o.extra_workdays.iter().map(ToString::to_string).collect(),
        hours: hours.unwrap_or_default(),
        weekend_workday_as,
    }
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
    let notice = q
        .saved
        .as_ref()
        .map(|code| tr_with(ctx.lang, "admin.calendar.saved", &[("code", code)]));
    calendar_page(&ctx, &user, &state, q, None, notice).await
}

/// What was typed into a unit's calendar form, with its errors.
#[derive(Serialize, Default)]
struct CalendarEdit {
    closures: String,
    extra_workdays: String,
    /// Business hours as typed, by weekday (`monday` … `friday`): intervals such as
    /// `09:00-12:00, 13:30-17:30`; empty = closed that day. All five empty = no business
    /// hours (deadlines end at 24:00).
    hours: HashMap<String, String>,
    /// The weekday whose hours a weekend working day takes.
    weekend_as: String,
    errors: HashMap<String, String>,
}

/// The hours of `h` as the form shows them.
fn hours_typed(h: Option<&BusinessHours>) -> (HashMap<String, String>, String) {
    let Some(h) = h else {
        return (HashMap::new(), String::new());
    };
    let hours = WorkWeekday::ALL
        .iter()
        .map(|d| {
            let text = h
                .day(*d)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            (d.name().to_owned(), text)
        })
        .collect();
    (hours, h.weekend_workday_as.name().to_owned())
}

/// Business hours from the form: each weekday's intervals through the core's parser and
/// `BusinessHours::validate`, every problem said beside its weekday. `Ok(None)`: no hours.
fn parse_hours(edit: &mut CalendarEdit, lang: Lang) -> Option<BusinessHours> {
    let mut hours = BusinessHours::default();
    let mut any = false;
    for day in WorkWeekday::ALL {
        let text = edit.hours.get(day.name()).cloned().unwrap_or_default();
        let mut intervals = Vec::new();
        for token in text
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、' || c == ';')
            .filter(|t| !t.is_empty())
        {
            match token.parse::<OpenInterval>() {
                Ok(i) => intervals.push(i),
                Err(_) => {
                    edit.errors
                        .entry(format!("hours_{}", day.name()))
                        .or_insert_with(|| {
                            tr_with(lang, "admin.calendar.bad_interval", &[("value", token)])
                        });
                }
            }
        }
        any |= !text.trim().is_empty();
        match day {
            WorkWeekday::Monday => hours.monday = intervals,
            WorkWeekday::Tuesday => hours.tuesday = intervals,
            WorkWeekday::Wednesday => hours.wednesday = intervals,
            WorkWeekday::Thursday => hours.thursday = intervals,
            WorkWeekday::Friday => hours.friday = intervals,
        }
    }
    hours.weekend_workday_as = match edit.weekend_as.as_str() {
        "" => WorkWeekday::Monday,
        name => match WorkWeekday::ALL.iter().find(|d| d.name() == name) {
            Some(d) => *d,
            None => {
                edit.errors.insert(
                    "weekend_as".into(),
                    tr_with(lang, "admin.calendar.bad_weekday", &[("value", name)]),
                );
                WorkWeekday::Monday
            }
        },
    };
    if !any {
        return None;
    }
    if let Err(OverlayError::BadHours { weekday, .. }) = hours.validate() {
        edit.errors
            .entry(format!("hours_{weekday}"))
            .or_insert_with(|| tr(lang, "admin.calendar.overlap").to_owned());
    }
    Some(hours)
}

async fn calendar_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    q: CalendarQuery,
    edit: Option<CalendarEdit>,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let this_year = state
        .clock
        .now()
        .to_zoned_datetime(manyi_core::china_tz())
        .year();
    let year = q.year.unwrap_or(this_year).clamp(1901, 2099);
    // One snapshot of the calendar for the whole page (an import may swap it meanwhile).
    let cal = state.calendar.current();
    let mut units = state.store.list_units().await?;
    tree_order(&mut units);
    let chosen = match q.unit.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(
            units
                .iter()
                .find(|u| u.code == code)
                .cloned()
                .ok_or_else(|| AppError::NotFound(format!("no unit `{code}`")))?,
        ),
        None => None,
    };
    let org = match &chosen {
        Some(_) => Some(OrgCalendars::load(state).await?),
        None => None,
    };
    let mut own_overlay: Option<Overlay> = None;
    let (view, overlay) = match (&chosen, &org) {
        (Some(u), Some(org)) => {
            let unit_ref = UnitRef::from_path(u.id, &u.code, &u.name, &u.level, &u.path);
            let own = state
                .store
                .unit_calendars()
                .await?
                .into_iter()
                .find(|(id, _)| *id == u.id);
            own_overlay = own
                .as_ref()
                .and_then(|(_, json)| serde_json::from_value(json.clone()).ok());
            (
                Some(org.view(&unit_ref)),
                Some(overlay_view(lang, u, own.is_some(), org.overlay(u.id))),
            )
        }
        _ => (None, None),
    };
    // The form starts from the unit's own overlay (not the inherited one: saving writes
    // only what this unit sets).
    let (hours, weekend_as) =
        hours_typed(own_overlay.as_ref().and_then(|o| o.business_hours.as_ref()));
    let edit = edit.unwrap_or_else(|| {
        let dates = |d: &[Date]| {
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        CalendarEdit {
            closures: own_overlay
                .as_ref()
                .map(|o| dates(&o.closures))
                .unwrap_or_default(),
            extra_workdays: own_overlay
                .as_ref()
                .map(|o| dates(&o.extra_workdays))
                .unwrap_or_default(),
            hours,
            weekend_as,
            errors: HashMap::new(),
        }
    });
    let status = if edit.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let unit_options: Vec<Labelled> = units
        .iter()
        .map(|u| Labelled {
            code: u.code.clone(),
            label: format!(
                "{}{} ({})",
                "　".repeat(u.path.matches('/').count().saturating_sub(2)),
                u.name,
                u.code
            ),
        })
        .collect();
    let mut months = Vec::new();
    for month in 1..=12i8 {
        let first = Date::new(year, month, 1).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut days = Vec::new();
        let mut d = first;
        while d.month() == month {
            let kind = match &view {
                Some(v) => v.day_kind(d),
                None => cal.day_kind(d),
            };
            let (class, title) = match &kind {
                DayKind::Workday => ("workday", tr(lang, "admin.calendar.workday").to_owned()),
                DayKind::OrgWorkday => ("orgwork", tr(lang, "admin.calendar.orgwork").to_owned()),
                DayKind::Weekend => ("weekend", tr(lang, "admin.calendar.weekend").to_owned()),
                DayKind::OrgClosure => ("closure", tr(lang, "admin.calendar.closure").to_owned()),
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
    render_status(
        status,
        ctx,
        Some(user),
        "admin_calendar.html",
        context! {
            active => "admin",
            tab => "calendar",
            edit => s(edit),
            hour_days => WorkWeekday::ALL
                .iter()
                .map(|d| (d.name(), tr(lang, &format!("weekday.{}", d.name())).to_owned()))
                .collect::<Vec<_>>(),
            notice,
            year,
            months => s(months),
            weekdays,
            covered => cal.is_covered(year),
            version => cal.version().to_owned(),
            unit_options => s(unit_options),
            unit => chosen.as_ref().map(|u| u.code.clone()),
            overlay => s(overlay),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Upkeep: editing and disabling users, removing empty units, editing a unit's calendar
// ---------------------------------------------------------------------------------------------

/// Dates typed one per line (or separated by commas or spaces), `YYYY-MM-DD`. The first bad
/// one is named in the error.
fn parse_dates(text: &str, lang: Lang) -> Result<Vec<Date>, String> {
    let mut out = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|t| !t.is_empty())
    {
        match token.parse::<Date>() {
            Ok(d) => out.push(d),
            Err(_) => {
                return Err(tr_with(
                    lang,
                    "admin.calendar.bad_date",
                    &[("value", token)],
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `POST /admin/calendar/{code}`: `closures`, `extra_workdays` (dates), the business hours
/// `hours_monday` … `hours_friday` (intervals; all empty: none) and `weekend_as` (the weekday
/// whose hours a weekend working day takes) — the unit's whole own overlay, as
/// `PUT /api/v1/units/{code}/calendar` sets it.
/// Deadlines of open cases are rebuilt on the new calendar, as through the API.
pub async fn calendar_save(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let year = form.text("year").parse::<i16>().ok();
    let mut edit = CalendarEdit {
        closures: form.text("closures"),
        extra_workdays: form.text("extra_workdays"),
        hours: WorkWeekday::ALL
            .iter()
            .map(|d| {
                (
                    d.name().to_owned(),
                    form.text(&format!("hours_{}", d.name())),
                )
            })
            .collect(),
        weekend_as: form.text("weekend_as"),
        errors: HashMap::new(),
    };
    let closures = parse_dates(&edit.closures, lang)
        .map_err(|e| edit.errors.insert("closures".into(), e))
        .unwrap_or_default();
    let extra = parse_dates(&edit.extra_workdays, lang)
        .map_err(|e| edit.errors.insert("extra_workdays".into(), e))
        .unwrap_or_default();
    if let Some(both) = closures.iter().find(|d| extra.contains(d)) {
        edit.errors.insert(
            "extra_workdays".into(),
            tr_with(lang, "admin.calendar.both", &[("value", &both.to_string())]),
        );
    }
    let unit = state
        .store
        .unit_by_code(&code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no unit `{code}`")))?;
    let hours = parse_hours(&mut edit, lang);
    if edit.errors.is_empty() {
        let overlay = Overlay {
            closures,
            extra_workdays: extra,
            business_hours: hours,
        };
        let overlay = (!overlay.is_empty()).then_some(overlay);
        crate::calendar::set_unit_calendar(&state, &unit.code, overlay).await?;
        tracing::info!(unit_code = %unit.code, "unit calendar saved (web)");
        let year = year.map(|y| format!("&year={y}")).unwrap_or_default();
        let code = super::templates::percent_encode(&unit.code);
        return Ok(redirect(&format!(
            "/admin/calendar?unit={code}&saved={code}{year}#unit-calendar"
        )));
    }
    let q = CalendarQuery {
        year,
        saved: None,
        unit: Some(unit.code),
    };
    calendar_page(&ctx, &user, &state, q, Some(edit), None).await
}

/// `POST /admin/units/{code}/remove`: removes an empty unit; otherwise the page says what is
/// still in it.
pub async fn unit_remove(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    match state.store.remove_unit(&code).await? {
        Ok(()) => {
            tracing::info!(unit_code = %code, "unit removed (web)");
            Ok(redirect(&format!(
                "/admin?removed={}",
                super::templates::percent_encode(&code)
            )))
        }
        Err(in_use) => {
            let (zh, en) = crate::api::org::in_use_message(&in_use);
            let message = format!("{code}: {}", ctx.lang.message(&zh, &en));
            org_page(
                &ctx,
                &user,
                &state,
                OrgPage {
                    refusal: Some(message),
                    status: Some(StatusCode::CONFLICT),
                    ..OrgPage::default()
                },
            )
            .await
        }
    }
}

/// `POST /admin/users/{login}/disable` and `/enable`.
pub async fn user_access(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath((login, to)): ApiPath<(String, String)>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let disabled = match to.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::NotFound(format!("no page {to}")).into()),
    };
    let admin = CurrentUser(user.user.clone());
    match crate::api::org::set_disabled(&state, &admin, &login, disabled).await {
        Ok(u) => Ok(redirect(&format!(
            "/admin/users?{}={}",
            if disabled { "disabled" } else { "enabled" },
            super::templates::percent_encode(&u.login)
        ))),
        Err(AppError::Conflict(_)) => {
            users_page(
                &ctx,
                &user,
                &state,
                UsersPage {
                    refusal: Some(tr(ctx.lang, "admin.user.not_self").to_owned()),
                    status: Some(StatusCode::CONFLICT),
                    ..UsersPage::default()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/users/{login}`: the form to edit a user's name, unit and roles.
pub async fn user_edit_form(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let edited = state
        .store
        .user_by_login(&login)
        .await?
        .ok_or_else(|| AppError::NotFound("no such user".into()))?;
    let mut form = FormState::default();
    form.values.insert("name".into(), edited.name.clone());
    form.values.insert("unit".into(), edited.unit_code.clone());
    user_edit_page(
        &ctx,
        &user,
        &state,
        &edited,
        form,
        edited.roles.clone(),
        None,
    )
    .await
}

async fn user_edit_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    edited: &manyi_store::User,
    form: FormState,
    roles: Vec<String>,
    status: Option<StatusCode>,
) -> Result<Response, WebError> {
    let mut units = state.store.list_units().await?;
    tree_order(&mut units);
    let unit_options: Vec<Labelled> = units
        .iter()
        .map(|u| Labelled {
            code: u.code.clone(),
            label: format!(
                "{}{} ({})",
                "　".repeat(u.path.matches('/').count().saturating_sub(2)),
                u.name,
                u.code
            ),
        })
        .collect();
    let role_options = role_options(state, ctx.lang).await?;
    render_status(
        status.unwrap_or(StatusCode::OK),
        ctx,
        Some(user),
        "admin_user_edit.html",
        context! {
            active => "admin",
            tab => "users",
            login => edited.login.clone(),
            disabled => edited.disabled,
            edit => s(form),
            roles,
            unit_options => s(unit_options),
            role_options => s(role_options),
        },
    )
}

/// `POST /admin/users/{login}`: `name`, `unit`, `role` (repeated).
pub async fn user_edit(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    require_admin(&user)?;
    let lang = ctx.lang;
    let edited = state
        .store
        .user_by_login(&login)
        .await?
        .ok_or_else(|| AppError::NotFound("no such user".into()))?;
    let mut typed = FormState::typed(&form, &["name", "unit"]);
    typed.require(lang, &["name", "unit"]);
    let roles: Vec<String> = form
        .0
        .iter()
        .filter(|(k, v)| k == "role" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    if roles.is_empty() {
        typed.error("roles", tr(lang, "admin.user.no_role"));
    }
    if typed.errors.is_empty() {
        match state
            .store
            .set_user(
                &login,
                typed.value("name"),
                typed.value("unit"),
                roles.clone(),
            )
            .await
        {
            Ok(u) => {
                tracing::info!(user_id = u.id, "user edited (web)");
                return Ok(redirect(&format!(
                    "/admin/users?edited={}",
                    super::templates::percent_encode(&u.login)
                )));
            }
            Err(StoreError::NotFound { what: "unit", .. } | StoreError::Invalid { .. }) => {
                typed.error("unit", tr(lang, "admin.unit.unknown"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    user_edit_page(
        &ctx,
        &user,
        &state,
        &edited,
        typed,
        roles,
        Some(StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}
