//! `GET /api/v1/stats`: one month's case counts by unit, category and on-time status, for
//! the caller's jurisdiction (a unit's subtree), with totals.
//!
//! The counts come from the store's pre-aggregated table (`Store::case_stats`), kept by
//! database triggers in the same transaction as every case write, so the answer costs a few
//! index lookups whatever the number of cases. What the statuses mean is
//! `manyi_core::stats`'s to say. `manyi stats` prints the same report ([`report`]).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use manyi_core::stats::{Count, Month, OnTime, totals};
use manyi_store::{StatsQuery, User};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::cases::timestamp;
use crate::auth::CurrentUser;
use crate::error::AppError;

/// The query of `GET /api/v1/stats`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// `YYYY-MM`, the month the cases were registered in (Asia/Shanghai). Required.
    pub month: Option<String>,
    /// A unit code: only cases owned in its subtree (default: the caller's whole jurisdiction).
    pub unit: Option<String>,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub month: String,
    /// The month's first instant, `+08:00`.
    pub from: String,
    /// The next month's first instant (exclusive).
    pub to: String,
    /// The subtree counted: the `unit` asked for, else the caller's unit (`null`: all units).
    pub unit: Option<String>,
    pub rows: Vec<StatsRowBody>,
    pub totals: TotalsBody,
}

#[derive(Debug, Serialize)]
pub struct StatsRowBody {
    pub unit: String,
    pub unit_name: String,
    /// `null` while the cases have no category yet.
    pub category: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct TotalsBody {
    pub cases: i64,
    pub by_status: BTreeMap<&'static str, i64>,
    /// Uncategorised cases under `""`.
    pub by_category: BTreeMap<String, i64>,
    pub by_unit: BTreeMap<String, i64>,
    /// Closed on time / closed, `null` when none is closed.
    pub on_time_rate: Option<f64>,
}

/// `GET /api/v1/stats?month=YYYY-MM[&unit=CODE]`.
pub async fn get_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<StatsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<StatsReport>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let month = q
        .month
        .ok_or_else(|| AppError::BadRequest("`month` is required: YYYY-MM, e.g. 2026-03".into()))?;
    let viewer = (!user.is_admin()).then_some(&user.0);
    Ok(axum::Json(
        report(&state, viewer, &month, q.unit.as_deref()).await?,
    ))
}

/// The report of `month` for `unit`'s subtree, seen by `viewer` (`None`: everything, as the
/// CLI and an admin see it). A unit outside the viewer's subtree is answered like an unknown
/// one, 404, so that the API does not reveal which units exist elsewhere.
pub async fn report(
    state: &AppState,
    viewer: Option<&User>,
    month: &str,
    unit: Option<&str>,
) -> Result<StatsReport, AppError> {
    let month = Month::parse(month).map_err(|e| AppError::BadRequest(format!("`month`: {e}")))?;
    let (from, to) = month.bounds();
    let (subtree, unit_code) = match unit {
        Some(code) => {
            let found = state
                .store
                .unit_by_code(code)
                .await?
                .filter(|u| viewer.is_none_or(|v| u.path.starts_with(&v.unit_path)));
            let u = found.ok_or_else(|| {
                AppError::NotFound(format!(
                    "`unit` = {code:?}: no such unit in your jurisdiction"
                ))
            })?;
            (Some(u.path), Some(u.code))
        }
        None => match viewer {
            Some(v) => {
                let own = state.store.unit_by_id(v.unit_id).await?;
                (Some(v.unit_path.clone()), own.map(|u| u.code))
            }
            None => (None, None),
        },
    };
    let rows = state
        .store
        .case_stats(&StatsQuery {
            month: month.to_string(),
            from,
            to,
            unit_subtree: subtree,
        })
        .await?;
    let mut counts = Vec::with_capacity(rows.len());
    let mut bodies = Vec::with_capacity(rows.len());
    for r in rows {
        let status = OnTime::parse(&r.status).ok_or_else(|| {
            AppError::Internal(format!("case_stats holds an unknown status `{}`", r.status))
        })?;
        let category = (!r.category.is_empty()).then_some(r.category);
        counts.push(Count {
            unit: r.unit_code.clone(),
            category: category.clone(),
            status,
            cases: r.cases,
        });
        bodies.push(StatsRowBody {
            unit: r.unit_code,
            unit_name: r.unit_name,
            category,
            status: status.as_str(),
            status_label: status.label_zh(),
            count: r.cases,
        });
    }
    let t = totals(&counts);
    Ok(StatsReport {
        month: month.to_string(),
        from: timestamp(from),
        to: timestamp(to),
        unit: unit_code,
        rows: bodies,
        totals: TotalsBody {
            cases: t.cases,
            by_status: t.by_status,
            by_category: t.by_category,
            by_unit: t.by_unit,
            on_time_rate: t.on_time_rate,
        },
    })
}
