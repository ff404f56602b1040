//! `/api/v1/units` and `/api/v1/users`: the organisation tree and its people.
//! Everyone signed in may read; changes need the `admin` role.

use axum::extract::State;
use axum::http::StatusCode;
use manyi_store::{NewUnit, NewUser, Unit, UnitInUse};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{CurrentUser, UserBody, hash_password};
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

#[derive(Serialize)]
pub struct UnitBody {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

fn unit_body(u: &Unit, all: &[Unit]) -> UnitBody {
    UnitBody {
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
        parent: u
            .parent_id
            .and_then(|p| all.iter().find(|x| x.id == p))
            .map(|p| p.code.clone()),
    }
}

/// `GET /api/v1/units`.
pub async fn list_units(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<axum::Json<Vec<UnitBody>>, AppError> {
    let units = state.store.list_units().await?;
    Ok(axum::Json(
        units.iter().map(|u| unit_body(u, &units)).collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnitRequest {
    pub code: String,
    pub name: String,
    pub level: String,
    #[serde(default)]
    pub parent: Option<String>,
}

/// `POST /api/v1/units` (admin).
pub async fn add_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<NewUnitRequest>,
) -> Result<(StatusCode, axum::Json<UnitBody>), AppError> {
    user.require_admin()?;
    let unit = state
        .store
        .insert_unit(NewUnit {
            code: req.code,
            name: req.name,
            level: req.level,
            parent_code: req.parent,
        })
        .await?;
    let all = state.store.list_units().await?;
    Ok((StatusCode::CREATED, axum::Json(unit_body(&unit, &all))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub parent: String,
}

/// `POST /api/v1/units/{code}/move` (admin): moves a unit and its subtree under another unit.
pub async fn move_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<axum::Json<UnitBody>, AppError> {
    user.require_admin()?;
    let unit = state.store.move_unit(&code, &req.parent).await?;
    let all = state.store.list_units().await?;
    Ok(axum::Json(unit_body(&unit, &all)))
}

/// `GET /api/v1/users`.
pub async fn list_users(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<axum::Json<Vec<UserBody>>, AppError> {
    let users = state.store.list_users().await?;
    Ok(axum::Json(users.iter().map(UserBody::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub login: String,
    pub name: String,
    pub unit: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// `POST /api/v1/users` (admin).
pub async fn add_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, axum::Json<UserBody>), AppError> {
    user.require_admin()?;
    if let Some(p) = &req.password {
        check_password(p)?;
    }
    let password_hash = req.password.as_deref().map(hash_password).transpose()?;
    let created = state
        .store
        .insert_user(NewUser {
            login: req.login,
            name: req.name,
            unit_code: req.unit,
            roles: req.roles,
            password_hash,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserBody::from(&created))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditUserRequest {
    pub name: String,
    pub unit: String,
    pub roles: Vec<String>,
}

/// `PUT /api/v1/users/{login}` (admin): replaces a user's name, unit and roles (the
/// password is kept).
pub async fn edit_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(login): ApiPath<String>,
    ApiJson(req): ApiJson<EditUserRequest>,
) -> Result<axum::Json<UserBody>, AppError> {
    user.require_admin()?;
    check_user_fields(&req.name, &req.roles)?;
    let edited = state
        .store
        .set_user(&login, req.name.trim(), &req.unit, req.roles)
        .await?;
    tracing::info!(user_id = edited.id, "user edited");
    Ok(axum::Json(UserBody::from(&edited)))
}

/// A name and at least one role.
pub fn check_user_fields(name: &str, roles: &[String]) -> Result<(), AppError> {
    let mut fields = Vec::new();
    if name.trim().is_empty() {
        fields.push(manyi_core::engine::FieldError {
            field: "name".into(),
            code: "required".into(),
            message: "a name is required".into(),
            message_zh: "请填写姓名".into(),
        });
    }
    if roles.iter().all(|r| r.trim().is_empty()) {
        fields.push(manyi_core::engine::FieldError {
            field: "roles".into(),
            code: "required".into(),
            message: "at least one role".into(),
            message_zh: "至少选择一个角色".into(),
        });
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid {
            detail: "invalid user".into(),
            fields,
        })
    }
}

/// Disables (`true`) or re-enables a user, as `admin`. Nobody disables themselves, so that
/// the last administrator cannot lock everyone out by a slip.
pub async fn set_disabled(
    state: &AppState,
    admin: &CurrentUser,
    login: &str,
    disabled: bool,
) -> Result<manyi_store::User, AppError> {
    admin.require_admin()?;
    if disabled && admin.0.login == login {
        return Err(AppError::Conflict(
            "you cannot disable yourself / 不能停用自己的账号".into(),
        ));
    }
    let user = state.store.set_user_disabled(login, disabled).await?;
    tracing::info!(user_id = user.id, disabled, "user access changed");
    Ok(user)
}

/// `POST /api/v1/users/{login}/disable` (admin): the user can no longer sign in; their
/// sessions end and their API tokens are refused.
pub async fn disable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(login): ApiPath<String>,
) -> Result<axum::Json<UserBody>, AppError> {
    let u = set_disabled(&state, &user, &login, true).await?;
    Ok(axum::Json(UserBody::from(&u)))
}

/// `POST /api/v1/users/{login}/enable` (admin).
pub async fn enable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(login): ApiPath<String>,
) -> Result<axum::Json<UserBody>, AppError> {
    let u = set_disabled(&state, &user, &login, false).await?;
    Ok(axum::Json(UserBody::from(&u)))
}

/// What still refers to a unit, in Chinese and English: why it cannot be removed.
pub fn in_use_message(u: &UnitInUse) -> (String, String) {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    if u.children > 0 {
        zh.push(format!("{} 个下级机构", u.children));
        en.push(format!("{} child unit(s)", u.children));
    }
    if u.users > 0 {
        zh.push(format!("{} 名用户", u.users));
        en.push(format!("{} user(s)", u.users));
    }
    if u.cases > 0 {
        zh.push(format!("{} 件承办中的案件", u.cases));
        en.push(format!("{} case(s) it owns", u.cases));
    }
    if u.ledger_entries > 0 {
        zh.push(format!("{} 条违规或处罚记录", u.ledger_entries));
        en.push(format!(
            "{} violation or penalty record(s)",
            u.ledger_entries
        ));
    }
    (
        format!("只能删除空机构：该机构还有{}", zh.join("、")),
        format!(
            "only an empty unit can be removed; it still has {}",
            en.join(", ")
        ),
    )
}

/// `DELETE /api/v1/units/{code}` (admin): removes an empty unit (204); 409 saying what is
/// still in it otherwise.
pub async fn remove_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    user.require_admin()?;
    match state.store.remove_unit(&code).await? {
        Ok(()) => {
            tracing::info!(unit_code = %code, "unit removed");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(in_use) => {
            let (zh, en) = in_use_message(&in_use);
            Err(AppError::Conflict(format!("{en} / {zh}")))
        }
    }
}

/// The password rule: at least 8 characters.
pub fn check_password(p: &str) -> Result<(), AppError> {
    if p.chars().count() < 8 {
        return Err(AppError::Invalid {
            detail: "password too short".into(),
            fields: vec![manyi_core::engine::FieldError {
                field: "password".into(),
                code: "password.too_short".into(),
                message: "a password needs at least 8 characters".into(),
                message_zh: "密码至少 8 个字符".into(),
            }],
        });
    }
    Ok(())
}

/// A unit's calendar: its own overlay and the effective one (merged down from its ancestors).
#[derive(Serialize)]
pub struct UnitCalendarBody {
    pub unit: String,
    /// What this unit sets itself (`null` when nothing).
    pub own: Option<manyi_core::calendar::Overlay>,
    /// What applies to cases it owns: its ancestors' overlays with its own on top.
    pub effective: manyi_core::calendar::Overlay,
}

/// `GET /api/v1/units/{code}/calendar`.
pub async fn unit_calendar(
    State(state): State<AppState>,
    _user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<UnitCalendarBody>, AppError> {
    let unit = state
        .store
        .unit_by_code(&code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no unit `{code}`")))?;
    let own = state
        .store
        .unit_calendars()
        .await?
        .into_iter()
        .find(|(id, _)| *id == unit.id)
        .and_then(|(_, json)| serde_json::from_value(json).ok());
    let calendars = crate::calendar::OrgCalendars::load(&state).await?;
    Ok(axum::Json(UnitCalendarBody {
        unit: code,
        own,
        effective: calendars.overlay(unit.id).clone(),
    }))
}

#[derive(Serialize)]
pub struct RecomputedBody {
    pub cases_examined: usize,
    pub cases_recomputed: usize,
}

/// `PUT /api/v1/units/{code}/calendar` (admin): the unit's own closures, extra working days
/// and business hours (`{"closures": ["2026-12-24"], "extra_workdays": [...],
/// "business_hours": {"monday": ["09:00-12:00", "13:30-17:30"], ...}}`). Deadlines of open
/// cases are rebuilt on it.
pub async fn set_unit_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(overlay): ApiJson<manyi_core::calendar::Overlay>,
) -> Result<axum::Json<RecomputedBody>, AppError> {
    user.require_admin()?;
    let (examined, recomputed) =
        crate::calendar::set_unit_calendar(&state, &code, Some(overlay)).await?;
    Ok(axum::Json(RecomputedBody {
        cases_examined: examined,
        cases_recomputed: recomputed,
    }))
}

/// `DELETE /api/v1/units/{code}/calendar` (admin): back to the inherited calendar.
pub async fn delete_unit_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<RecomputedBody>, AppError> {
    user.require_admin()?;
    let (examined, recomputed) = crate::calendar::set_unit_calendar(&state, &code, None).await?;
    Ok(axum::Json(RecomputedBody {
        cases_examined: examined,
        cases_recomputed: recomputed,
    }))
}
