//! `/dashboard` — the supervisor's view of their unit's subtree: open, due soon and overdue
//! cases, a table per unit, and new cases per week as a server-rendered SVG bar chart (no
//! chart library; ECharts may come later for richer charts).
//!
//! Due soon and overdue come from `api::cases::deadline_list`. Counts per unit, per week and
//! per month, and the on-time rates by unit, level and category come from a bounded scan of
//! the case list (at most [`SCAN_LIMIT`] cases per count; the page says when a count is
//! incomplete); pre-aggregated statistics are `GET /api/v1/stats`'s business, not this
//! page's. The violations and penalty ledger below comes from the ledger API's own handlers
//! (same scope, same filters), with a link to its CSV export.

use std::collections::{HashMap, HashSet};

use axum::extract::{Query, State};
use axum::response::Response;
use jiff::ToSpan;
use manyi_core::deadlines::ClockStatus;
use manyi_store::{CaseFilter, CaseRecord, Unit};
use minijinja::context;
use serde::{Deserialize, Serialize};

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
/// How many months the monthly trend shows.
const MONTHS: i64 = 12;
/// The most ledger rows the page lists (the CSV export has them all).
const LEDGER_ROWS: u32 = 100;
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

/// The ledger's filters, as typed (kept on the page).
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DashQuery {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
}

/// An on-time rate of a group (a level, a category).
#[derive(Serialize, Default, Clone)]
struct RateRow {
    label: String,
    met: usize,
    stopped: usize,
    rate: Option<String>,
}

#[derive(Serialize)]
struct LedgerRow {
    case: String,
    clause: String,
    rule: String,
    unit: String,
    person: String,
    at: String,
    status: String,
    amount: String,
}

/// `GET /dashboard`.
pub async fn page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<DashQuery>,
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
    let first_month = today
        .first_of_month()
        .checked_sub((MONTHS - 1).months())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let from = first_month
        .min(first_monday)
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
    let mut per_month = vec![0usize; MONTHS as usize];
    let mut by_level: HashMap<String, RateRow> = HashMap::new();
    let mut by_category: HashMap<String, RateRow> = HashMap::new();
    let (mut met_total, mut stopped_total) = (0, 0);
    let unit_level: HashMap<i64, &str> = units.iter().map(|u| (u.id, u.level.as_str())).collect();
    for record in &recent {
        let date = record
            .created_at
            .to_zoned_datetime(manyi_core::china_tz())
            .date();
        let months = (i64::from(date.year()) - i64::from(first_month.year())) * 12
            + i64::from(date.month())
            - i64::from(first_month.month());
        if let Some(slot) = usize::try_from(months)
            .ok()
            .and_then(|m| per_month.get_mut(m))
        {
            *slot += 1;
        }
        let days = (date - first_monday).get_days();
        if days >= 0
            && let Some(slot) = usize::try_from(days / 7)
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
        if stopped > 0 {
            let level = unit_level.get(&record.owner_unit_id).copied().unwrap_or("");
            let row = by_level.entry(level.to_owned()).or_default();
            row.met += met;
            row.stopped += stopped;
            let category = category_label(&state, record.policy_id, &case, lang).await?;
            let row = by_category.entry(category).or_default();
            row.met += met;
            row.stopped += stopped;
        }
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
    let month_bars = month_bars(&per_month, first_month, lang);
    // Levels from the top of the tree down; categories by label.
    let mut level_order: Vec<(usize, &str)> = units
        .iter()
        .map(|u| (u.path.matches('/').count(), u.level.as_str()))
        .collect();
    level_order.sort();
    level_order.dedup_by(|a, b| a.1 == b.1);
    let level_rows: Vec<RateRow> = level_order
        .iter()
        .filter_map(|(_, l)| {
            let mut r = by_level.remove(*l)?;
            r.label = levels.get(*l).cloned().unwrap_or_else(|| (*l).to_owned());
            r.rate = percent(r.met, r.stopped);
            Some(r)
        })
        .collect();
    let mut category_rows: Vec<RateRow> = by_category
        .into_iter()
        .map(|(label, mut r)| {
            r.label = label;
            r.rate = percent(r.met, r.stopped);
            r
        })
        .collect();
    category_rows.sort_by(|a, b| a.label.cmp(&b.label));
    let (violations, penalties, ledger_error) = ledger(&state, &user, &q, lang).await?;
    let csv = ledger_csv_link(&q, &user.user.unit_code);
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
            month_bars => s(month_bars),
            level_rows => s(level_rows),
            category_rows => s(category_rows),
            violations => s(violations),
            penalties => s(penalties),
            ledger_error,
            filters => s(q),
            csv,
            statuses => ["proposed", "decided", "appealed", "appeal_decided"]
                .iter()
                .map(|st| (*st, tr(lang, &format!("ledger.status.{st}")).to_owned()))
                .collect::<Vec<_>>(),
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

/// The label of a case's category (the `category` field of its kind, as the policy names
/// its choice), or "uncategorised".
async fn category_label(
    state: &AppState,
    policy_id: i64,
    case: &manyi_core::case::Case,
    lang: Lang,
) -> Result<String, AppError> {
    let Some(value) = case.fields.get("category") else {
        return Ok(tr(lang, "dash.uncategorised").to_owned());
    };
    let policy = state.policies.get(&state.store, policy_id).await?;
    let field = policy.kind(&case.kind).and_then(|k| k.field("category"));
    Ok(view::display_value(field, value))
}

/// The bars of the monthly chart (same frame as the weekly one, 12 narrower bars).
fn month_bars(per_month: &[usize], first: jiff::civil::Date, lang: Lang) -> Vec<Bar> {
    const LEFT: i64 = 20;
    const STEP: i64 = 50;
    const WIDTH: i64 = 34;
    const BASE: i64 = 180;
    const TALLEST: i64 = 140;
    let max = per_month.iter().copied().max().unwrap_or(0).max(1) as i64;
    per_month
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let month = first.checked_add((i as i64).months()).unwrap_or(first);
            let height = (count as i64 * TALLEST) / max;
            Bar {
                label: tr(lang, &format!("month.{}", month.month())).to_owned(),
                title: format!("{}-{:02}", month.year(), month.month()),
                count,
                x: LEFT + i as i64 * STEP + (STEP - WIDTH) / 2,
                y: BASE - height,
                height,
                text_y: BASE - height - 6,
            }
        })
        .collect()
}

/// The violations and penalties of the user's scope, filtered as the page asks, through the
/// ledger API's handlers (so scope and filters mean the same as there). A filter the API
/// refuses comes back as a message for the page, with nothing listed.
async fn ledger(
    state: &AppState,
    user: &WebUser,
    q: &DashQuery,
    lang: Lang,
) -> Result<(Vec<LedgerRow>, Vec<LedgerRow>, Option<String>), AppError> {
    use crate::api::penalties::{LedgerQuery, list_penalties, list_violations};
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let query = |status: Option<String>| LedgerQuery {
        case: None,
        unit: opt(&q.unit),
        person: opt(&q.person),
        from: opt(&q.from),
        to: opt(&q.to),
        status,
        limit: Some(LEDGER_ROWS),
    };
    let who = crate::auth::CurrentUser(user.user.clone());
    let violations =
        list_violations(State(state.clone()), who.clone(), Ok(Query(query(None)))).await;
    let penalties =
        list_penalties(State(state.clone()), who, Ok(Query(query(opt(&q.status))))).await;
    let (violations, penalties) = match (violations, penalties) {
        (Ok(v), Ok(p)) => (v.0.items, p.0.items),
        (Err(AppError::BadRequest(m) | AppError::NotFound(m)), _)
        | (_, Err(AppError::BadRequest(m) | AppError::NotFound(m))) => {
            let message = tr_with(lang, "ledger.bad_filter", &[("detail", &m)]);
            return Ok((Vec::new(), Vec::new(), Some(message)));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let violations = violations
        .into_iter()
        .rev()
        .map(|v| LedgerRow {
            person: v
                .liable_persons
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.get("name").and_then(serde_json::Value::as_str))
                        .collect::<Vec<_>>()
                        .join("、")
                })
                .unwrap_or_default(),
            case: v.case,
            clause: v.clause,
            rule: v.rule,
            unit: v.unit,
            at: view::local_time(&v.occurred_at),
            status: String::new(),
            amount: String::new(),
        })
        .collect();
    let penalties = penalties
        .into_iter()
        .rev()
        .map(|p| LedgerRow {
            case: p.case,
            clause: p.clause,
            rule: p.rule,
            unit: p.unit,
            person: p.person.map(|p| p.name).unwrap_or_default(),
            at: view::local_time(&p.proposed_at),
            status: tr(lang, &format!("ledger.status.{}", p.status)).to_owned(),
            amount: p.amount_fen.map_or_else(
                || p.range.text.clone(),
                |fen| format!("{}.{:02} 元", fen / 100, fen % 100),
            ),
        })
        .collect();
    Ok((violations, penalties, None))
}

/// The CSV export of the penalty ledger with the page's filters.
fn ledger_csv_link(q: &DashQuery, default_unit: &str) -> String {
    use super::templates::percent_encode;
    let mut params = vec![format!(
        "unit={}",
        percent_encode(if q.unit.trim().is_empty() {
            default_unit
        } else {
            q.unit.trim()
        })
    )];
    for (k, v) in [
        ("person", &q.person),
        ("from", &q.from),
        ("to", &q.to),
        ("status", &q.status),
    ] {
        if !v.trim().is_empty() {
            params.push(format!("{k}={}", percent_encode(v.trim())));
        }
    }
    format!("/api/v1/penalties.csv?{}", params.join("&"))
}
