//! `/dashboard` — the supervisor's view of their unit's subtree: open, due soon and overdue
//! cases, a table per unit, and new cases per week as a server-rendered SVG bar chart (no
//! chart library; ECharts may come later for richer charts).
//!
//! Due soon and overdue come from `api::cases::deadline_list`. Counts per unit and per week
//! come from a bounded scan of the case list (at most [`SCAN_LIMIT`] cases per count; the page
//! says when a count is incomplete). Dedicated aggregate queries are future work.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::response::Response;
use jiff::ToSpan;
use manyi_core::deadlines::ClockStatus;
use manyi_store::{CaseFilter, CaseRecord, Unit};
use minijinja::context;
use serde::Serialize;

use super::i18n::{Lang, tr, tr_with};
use super::session::{Ctx, WebUser};
use super::templates::{WebError, render, s};
use super::view;
use crate::AppState;
use crate::api::cases::{DeadlineRow, case_of, deadline_list};
use crate::error::AppError;

/// The most cases one count examines.
pub const SCAN_LIMIT: usize = 5_000;
/// How many weeks the trend shows.
const WEEKS: i64 = 8;
/// "Due soon": due within this many hours.
const DUE_SOON_HOURS: u32 = 8;

#[derive(Serialize, Default, Clone)]
struct UnitRow {
    code: String,
    name: String,
    level: String,
    depth: usize,
    open: usize,
    due_soon: usize,
    overdue: usize,
    created: usize,
    /// Clocks stopped in time / stopped, of the cases of the last weeks.
    met: usize,
    stopped: usize,
    on_time: Option<String>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    title: String,
    count: usize,
    x: i64,
    y: i64,
    height: i64,
    text_y: i64,
}

#[derive(Serialize)]
struct DeadlineView {
    number: String,
    owner_unit: String,
    label: String,
    clause: String,
    due: String,
    left: String,
    provisional: bool,
}

/// `GET /dashboard`.
pub async fn page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let root_path = user.user.unit_path.clone();
    let units: Vec<Unit> = state
        .store
        .list_units()
        .await?
        .into_iter()
        .filter(|u| u.path.starts_with(&root_path))
        .collect();
    let levels = level_labels(&state, lang).await?;
    let root_depth = root_path.matches('/').count();
    let mut rows: HashMap<i64, UnitRow> = units
        .iter()
        .map(|u| {
            (
                u.id,
                UnitRow {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    level: levels
                        .get(&u.level)
                        .cloned()
                        .unwrap_or_else(|| u.level.clone()),
                    depth: u.path.matches('/').count().saturating_sub(root_depth),
                    ..UnitRow::default()
                },
            )
        })
        .collect();
    let id_of_code: HashMap<&str, i64> = units.iter().map(|u| (u.code.as_str(), u.id)).collect();

    // Due soon and overdue, through the same function as `GET /api/v1/deadlines`.
    let viewer = (!user.is_admin()).then_some(&user.user);
    let deadlines =
        deadline_list(&state, viewer, Some(&user.user.unit_code), DUE_SOON_HOURS).await?;
    let count_cases = |list: &[DeadlineRow], rows: &mut HashMap<i64, UnitRow>, overdue: bool| {
        let mut seen = HashSet::new();
        for r in list {
            if !seen.insert(r.number.clone()) {
                continue;
            }
            if let Some(row) = id_of_code
                .get(r.owner_unit.as_str())
                .and_then(|id| rows.get_mut(id))
            {
                if overdue {
                    row.overdue += 1;
                } else {
                    row.due_soon += 1;
                }
            }
        }
        seen.len()
    };
    let overdue_total = count_cases(&deadlines.overdue, &mut rows, true);
    let due_soon_total = count_cases(&deadlines.due_soon, &mut rows, false);

    // Open cases per unit.
    let (open, open_complete) = scan(
        &state,
        CaseFilter {
            closed: Some(false),
            unit_subtree: Some(root_path.clone()),
            ..CaseFilter::default()
        },
    )
    .await?;
    for record in &open {
        if let Some(row) = rows.get_mut(&record.owner_unit_id) {
            row.open += 1;
        }
    }

    // New cases per week, and how their clocks ended, over the last weeks.
    let now = state.clock.now();
    let today = now.to_zoned_datetime(manyi_core::china_tz()).date();
    let this_monday = today
        .checked_sub(i64::from(today.weekday().to_monday_zero_offset()).days())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let first_monday = this_monday
        .checked_sub(((WEEKS - 1) * 7).days())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let from = first_monday
        .to_zoned_datetime(manyi_core::china_tz())
        .map_err(|e| AppError::Internal(e.to_string()))?
        .timestamp();
    let (recent, recent_complete) = scan(
        &state,
        CaseFilter {
            created_from: Some(from),
            unit_subtree: Some(root_path.clone()),
            ..CaseFilter::default()
        },
    )
    .await?;
    let mut per_week = vec![0usize; WEEKS as usize];
    let (mut met_total, mut stopped_total) = (0, 0);
    for record in &recent {
        let date = record
            .created_at
            .to_zoned_datetime(manyi_core::china_tz())
            .date();
        let days = (date - first_monday).get_days();
        if let Some(slot) = usize::try_from(days / 7)
            .ok()
            .and_then(|w| per_week.get_mut(w))
        {
            *slot += 1;
        }
        let case = case_of(record)?;
        let row = rows.get_mut(&record.owner_unit_id);
        let (mut met, mut stopped) = (0, 0);
        // Finished clocks count met or missed; a running clock past its deadline is missed
        // already; the others are still open.
        for clock in case.clocks.values() {
            if clock.status == ClockStatus::Stopped {
                stopped += 1;
                met += usize::from(clock.met() == Some(true));
            } else if clock.is_overdue(now) {
                stopped += 1;
            }
        }
        met_total += met;
        stopped_total += stopped;
        if let Some(row) = row {
            row.created += 1;
            row.met += met;
            row.stopped += stopped;
        }
    }

    let percent = |met: usize, stopped: usize| {
        (stopped > 0).then(|| format!("{:.0}%", 100.0 * met as f64 / stopped as f64))
    };
    let mut unit_rows: Vec<(String, UnitRow)> = units
        .iter()
        .filter_map(|u| rows.remove(&u.id).map(|r| (u.path.clone(), r)))
        .collect();
    unit_rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut unit_rows: Vec<UnitRow> = unit_rows.into_iter().map(|(_, r)| r).collect();
    for r in &mut unit_rows {
        r.on_time = percent(r.met, r.stopped);
    }
    let total = UnitRow {
        name: tr(lang, "dash.total").to_owned(),
        open: unit_rows.iter().map(|r| r.open).sum(),
        due_soon: due_soon_total,
        overdue: overdue_total,
        created: unit_rows.iter().map(|r| r.created).sum(),
        on_time: percent(met_total, stopped_total),
        ..UnitRow::default()
    };

    let bars = bars(&per_week, first_monday, lang);
    let deadline_views = |list: &[DeadlineRow]| -> Vec<DeadlineView> {
        list.iter()
            .take(20)
            .map(|r| DeadlineView {
                number: r.number.clone(),
                owner_unit: units
                    .iter()
                    .find(|u| u.code == r.owner_unit)
                    .map_or_else(|| r.owner_unit.clone(), |u| u.name.clone()),
                label: r.label.clone(),
                clause: r.clause.clone(),
                due: view::local_time(&r.due),
                left: r
                    .remaining_seconds
                    .map(|s| view::time_left(s, lang))
                    .unwrap_or_default(),
                provisional: r.provisional,
            })
            .collect()
    };
    render(
        &ctx,
        Some(&user),
        "dashboard.html",
        context! {
            active => "dashboard",
            scope => tr_with(lang, "dash.scope", &[("unit", &user.unit_name)]),
            open_total => total.open,
            due_soon_total,
            overdue_total,
            on_time_total => total.on_time.clone(),
            units => s(unit_rows),
            total => s(total),
            bars => s(bars),
            chart_title => tr(lang, "dash.trend"),
            overdue => s(deadline_views(&deadlines.overdue)),
            due_soon => s(deadline_views(&deadlines.due_soon)),
            complete => deadlines.complete && open_complete && recent_complete,
            scan_limit => SCAN_LIMIT,
        },
    )
}

/// Cases matching `filter`, page by page, at most [`SCAN_LIMIT`]; false when there were more.
async fn scan(
    state: &AppState,
    mut filter: CaseFilter,
) -> Result<(Vec<CaseRecord>, bool), AppError> {
    filter.limit = manyi_store::MAX_PAGE_SIZE;
    let mut out = Vec::new();
    loop {
        let page = state.store.list_cases(&filter).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(_) if out.len() >= SCAN_LIMIT => return Ok((out, false)),
            Some(cursor) => filter.after = Some(cursor),
            None => return Ok((out, true)),
        }
    }
}

/// The bars of the weekly chart (an SVG of 640 × 220 user units).
fn bars(per_week: &[usize], first_monday: jiff::civil::Date, lang: Lang) -> Vec<Bar> {
    const LEFT: i64 = 20;
    const STEP: i64 = 76;
    const WIDTH: i64 = 48;
    const BASE: i64 = 180;
    const TALLEST: i64 = 140;
    let max = per_week.iter().copied().max().unwrap_or(0).max(1) as i64;
    per_week
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let monday = first_monday
                .checked_add((i as i64 * 7).days())
                .unwrap_or(first_monday);
            let height = (count as i64 * TALLEST) / max;
            let date = monday.strftime("%m-%d").to_string();
            Bar {
                label: format!("{}/{}", monday.month(), monday.day()),
                title: tr_with(lang, "dash.week_of", &[("date", &date)]),
                count,
                x: LEFT + i as i64 * STEP + (STEP - WIDTH) / 2,
                y: BASE - height,
                height,
                text_y: BASE - height - 6,
            }
        })
        .collect()
}

/// Level labels of the active policies, by level id.
pub async fn level_labels(
    state: &AppState,
    lang: Lang,
) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::new();
    for record in state.store.active_policies().await? {
        let policy = state.policies.compile(&record)?;
        for level in &policy.levels {
            out.entry(level.id.clone()).or_insert_with(|| {
                lang.pick(&level.label, level.label_en.as_deref())
                    .to_owned()
            });
        }
    }
    Ok(out)
}
