//! `/api/v1/policies`: upload, check, list versions and activate policies.
//! Everyone signed in may read and check; storing and activating need the `admin` role.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use manyi_core::policy;
use manyi_store::PolicyRecord;
use serde::Serialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiPath, RawBody};

#[derive(Serialize)]
pub struct PolicyBody {
    pub id: String,
    pub version: i64,
    pub active: bool,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub source_hash: String,
}

impl From<&PolicyRecord> for PolicyBody {
    fn from(r: &PolicyRecord) -> Self {
        PolicyBody {
            id: r.name.clone(),
            version: r.version,
            active: r.active,
            created_at: crate::api::cases::timestamp(r.created_at),
            activated_at: r.activated_at.map(crate::api::cases::timestamp),
            source_hash: r.source_hash.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct CheckBody {
    pub ok: bool,
    pub diagnostics: Vec<DiagnosticBody>,
}

#[derive(Serialize)]
pub struct DiagnosticBody {
    pub severity: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn diagnostics(ds: &[policy::Diagnostic]) -> Vec<DiagnosticBody> {
    ds.iter()
        .map(|d| DiagnosticBody {
            severity: if d.is_error() { "error" } else { "warning" },
            line: d.line,
            column: d.column,
            message: d.message.clone(),
        })
        .collect()
}

fn source_of(body: &Bytes) -> Result<&str, AppError> {
    std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("the policy must be UTF-8 TOML text".into()))
}

/// `POST /api/v1/policies/check`: the diagnostics of a policy (TOML body); stores nothing.
pub async fn check(
    _user: CurrentUser,
    RawBody(body): RawBody,
) -> Result<axum::Json<CheckBody>, AppError> {
    let outcome = policy::load("policy.toml", source_of(&body)?);
    Ok(axum::Json(CheckBody {
        ok: !outcome.has_errors(),
        diagnostics: diagnostics(&outcome.diagnostics),
    }))
}

/// `POST /api/v1/policies` (admin): stores a policy (TOML body) as a new version, without
/// activating it. A policy with errors is refused with 422 and every diagnostic.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    RawBody(body): RawBody,
) -> Result<(StatusCode, axum::Json<PolicyBody>), AppError> {
    user.require_admin()?;
    let now = state.clock.now();
    let before = state
        .store
        .policy_versions(&policy_id_of(&body))
        .await?
        .len();
    let (record, _) = crate::policies::install(
        &state.store,
        &state.policies,
        "policy.toml",
        source_of(&body)?,
        now,
        false,
    )
    .await?;
    let after = state.store.policy_versions(&record.name).await?.len();
    // The same text as the latest version is that version: nothing new was created.
    let status = if after > before {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(PolicyBody::from(&record))))
}

/// The policy id declared in a source, if it loads far enough to say ("" otherwise; the
/// install step reports the real errors).
fn policy_id_of(body: &Bytes) -> String {
    std::str::from_utf8(body)
        .ok()
        .and_then(|s| policy::load("policy.toml", s).policy)
        .map(|p| p.id)
        .unwrap_or_default()
}

/// `GET /api/v1/policies`: the active version of every policy.
pub async fn list(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<axum::Json<Vec<PolicyBody>>, AppError> {
    let active = state.store.active_policies().await?;
    Ok(axum::Json(active.iter().map(PolicyBody::from).collect()))
}

/// `GET /api/v1/policies/{name}/versions`.
pub async fn versions(
    State(state): State<AppState>,
    _user: CurrentUser,
    ApiPath(name): ApiPath<String>,
) -> Result<axum::Json<Vec<PolicyBody>>, AppError> {
    let versions = state.store.policy_versions(&name).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound(format!("no policy `{name}`")));
    }
    Ok(axum::Json(versions.iter().map(PolicyBody::from).collect()))
}

/// `POST /api/v1/policies/{name}/versions/{version}/activate` (admin). New cases use it;
/// open cases keep the version they were opened under.
pub async fn activate(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((name, version)): ApiPath<(String, i64)>,
) -> Result<axum::Json<PolicyBody>, AppError> {
    user.require_admin()?;
    let record = state
        .store
        .policy_versions(&name)
        .await?
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| AppError::NotFound(format!("no version {version} of policy `{name}`")))?;
    crate::policies::refuse_placeholders(&record.name, &record.source)?;
    let record = state
        .store
        .activate_policy(record.id, state.clock.now())
        .await?;
    Ok(axum::Json(PolicyBody::from(&record)))
}
