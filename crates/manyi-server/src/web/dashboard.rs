//! `/dashboard` — the supervisor's view of their unit's subtree: open, due soon and overdue
//! cases, a table per unit, and new cases per week as a server-rendered SVG bar chart (no
//! chart library; ECharts may come later for richer charts).
//!
//! Nothing here reads the subtree's cases one by one, so the page costs about the same for an
//! outlet and for head office over millions of cases:
//!
//! - open, overdue and due-soon counts per unit: [`manyi_store::Store::open_case_counts`], the
//!   index of open cases by due time (a case counts under its soonest running deadline);
//! - the short overdue / due-soon lists: the first cases of the due order, decoded for their
//!   clocks (at most [`LIST_CASES`] of each);
//! - cases registered per unit and per month, and the on-time rates by unit, level and
//!   category: the rollups of `case_stats` (migration 0019: `case_months` per unit and month,
//!   `case_tree_months` per subtree root, month and category) over the last [`MONTHS`]
//!   months, per *case*: on time = closed with no clock ever breached, out of the cases closed
//!   or already late (`closed_on_time / (closed_on_time + closed_late + open_overdue)`);
//! - new cases per week: the weekly aggregate `case_weeks` (migration 0014), 8 weeks × the
//!   subtree's units.
//!
//! The three are read at once (`tokio::try_join!`).
//!
//! [`figures_by_scan`] is the computation this page made before (reading and decoding up to
//! [`SCAN_LIMIT`] cases per figure); the dashboard test compares the two on small data. The
//! violations and penalty ledger below comes from the ledger API's own handlers
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
use crate::api::cases::{DeadlineRow, case_of};
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

    let now = state.clock.now();
    let span = Span::at(now)?;
    let figures = figures(&state, &root_path, span).await?;
    let mut by_level: HashMap<String, RateRow> = HashMap::new();
    let (mut met_total, mut stopped_total) = (0, 0);
    let unit_level: HashMap<i64, &str> = units.iter().map(|u| (u.id, u.level.as_str())).collect();
    for (id, f) in &figures.units {
        met_total += f.met;
        stopped_total += f.stopped;
        if f.stopped > 0 {
            let level = unit_level.get(id).copied().unwrap_or("");
            let r = by_level.entry(level.to_owned()).or_default();
            r.met += f.met;
            r.stopped += f.stopped;
        }
        if let Some(row) = rows.get_mut(id) {
            row.open = f.open;
            row.overdue = f.overdue;
            row.due_soon = f.due_soon;
            row.created = f.created;
            row.met = f.met;
            row.stopped = f.stopped;
        }
    }
    let overdue_total = figures.units.values().map(|f| f.overdue).sum::<usize>();
    let due_soon_total = figures.units.values().map(|f| f.due_soon).sum::<usize>();
    let mut by_category: HashMap<String, RateRow> = HashMap::new();
    for (category, (met, stopped)) in &figures.by_category {
        let label = category_label(&state, category, lang).await?;
        let r = by_category.entry(label).or_default();
        r.met += met;
        r.stopped += stopped;
    }
    let (per_week, per_month) = (figures.per_week.clone(), figures.per_month.clone());
    let (first_monday, first_month) = (span.first_monday, span.first_month);
    let deadlines = short_lists(&state, &root_path, now).await?;

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
            may_record_conduct => super::conduct_page::may_record(&state, &user.user).await?,
            filters => s(q),
            csv,
            statuses => ["proposed", "decided", "appealed", "appeal_decided"]
                .iter()
                .map(|st| (*st, tr(lang, &format!("ledger.status.{st}")).to_owned()))
                .collect::<Vec<_>>(),
            chart_title => tr(lang, "dash.trend"),
            overdue => s(deadline_views(&deadlines.overdue)),
            due_soon => s(deadline_views(&deadlines.due_soon)),
            complete => true,
            scan_limit => LIST_CASES,
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

/// The most cases each of the short overdue / due-soon lists decodes.
pub const LIST_CASES: u32 = 20;

/// The weeks and months the page shows, from the instant it is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub now: jiff::Timestamp,
    /// The Monday (Asia/Shanghai) that starts the first of the [`WEEKS`] weeks.
    pub first_monday: jiff::civil::Date,
    /// The first day of the first of the [`MONTHS`] months.
    pub first_month: jiff::civil::Date,
    pub today: jiff::civil::Date,
}

impl Span {
    pub fn at(now: jiff::Timestamp) -> Result<Span, AppError> {
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
        Ok(Span {
            now,
            first_monday,
            first_month,
            today,
        })
    }

    fn start_of(date: jiff::civil::Date) -> Result<jiff::Timestamp, AppError> {
        Ok(date
            .to_zoned_datetime(manyi_core::china_tz())
            .map_err(|e| AppError::Internal(e.to_string()))?
            .timestamp())
    }
}

/// The figures of one unit of the subtree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFigures {
    pub open: usize,
    pub due_soon: usize,
    pub overdue: usize,
    /// Registered in the last [`MONTHS`] months.
    pub created: usize,
    /// On-time cases, and the cases the rate is over (closed, or open and late).
    pub met: usize,
    pub stopped: usize,
}

/// Everything the page counts, by unit id, category (the raw `category` value) and period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub units: std::collections::BTreeMap<i64, UnitFigures>,
    pub by_category: std::collections::BTreeMap<String, (usize, usize)>,
    pub per_week: Vec<usize>,
    pub per_month: Vec<usize>,
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// The page's figures for the subtree at `root_path`, from the indexes and the aggregate.
pub async fn figures(state: &AppState, root_path: &str, span: Span) -> Result<Figures, AppError> {
    let mut out = Figures::default();
    let soon = span.now + jiff::SignedDuration::from_hours(i64::from(DUE_SOON_HOURS));
    let month_key = |d: jiff::civil::Date| format!("{:04}-{:02}", d.year(), d.month());
    let (first_month, this_month) = (month_key(span.first_month), month_key(span.today));
    let first_week = Span::start_of(span.first_monday)?;
    // Three independent reads, at once: the page waits for the slowest, not for the sum.
    let (open, totals, weeks) = tokio::try_join!(
        state.store.open_case_counts(root_path, span.now, soon),
        state
            .store
            .subtree_totals(root_path, &first_month, &this_month),
        state
            .store
            .cases_per_week(root_path, first_week, WEEKS as u32),
    )?;
    for c in open {
        let Some(id) = unit_id_of_path(&c.unit_path) else {
            continue;
        };
        let f = out.units.entry(id).or_default();
        f.open += count(c.open);
        f.overdue += count(c.overdue);
        f.due_soon += count(c.due_soon);
    }
    // Open cases with a recorded breach, per unit: late. So is an open case past its due time
    // whose breach the scheduler has not written yet (it does so at the deadline); the
    // aggregate cannot tell which cases are in both sets, so a unit counts the larger of the
    // two — exact whenever one set holds the other, which is the rule once the scheduler ran.
    let mut breached_open: HashMap<i64, usize> = HashMap::new();
    for (unit_id, t) in &totals.units {
        breached_open.insert(*unit_id, count(t.open_overdue));
        let f = out.units.entry(*unit_id).or_default();
        f.created += count(t.cases);
        f.met += count(t.closed_on_time);
        f.stopped += count(t.closed_on_time) + count(t.closed_late);
    }
    for (category, t) in totals.categories {
        let stopped = count(t.closed_on_time) + count(t.closed_late) + count(t.open_overdue);
        if stopped > 0 {
            let c = out.by_category.entry(category).or_default();
            c.0 += count(t.closed_on_time);
            c.1 += stopped;
        }
    }
    for (id, f) in &mut out.units {
        f.stopped += f.overdue.max(breached_open.get(id).copied().unwrap_or(0));
    }
    out.per_month = vec![0; MONTHS as usize];
    for (month, n) in totals.months {
        let Some((y, m)) = month.split_once('-') else {
            continue;
        };
        let (Ok(y), Ok(m)) = (y.parse::<i64>(), m.parse::<i64>()) else {
            continue;
        };
        let index =
            (y - i64::from(span.first_month.year())) * 12 + m - i64::from(span.first_month.month());
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| out.per_month.get_mut(i))
        {
            *slot += count(n);
        }
    }
    out.per_week = weeks.into_iter().map(count).collect();
    Ok(out)
}

/// The id of the unit a path ends with (`/1/5/12/` → 12).
fn unit_id_of_path(path: &str) -> Option<i64> {
    path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

/// The overdue and due-soon clocks of the first cases in due order: at most [`LIST_CASES`]
/// overdue cases and [`LIST_CASES`] due soon, decoded for their clocks.
async fn short_lists(
    state: &AppState,
    root_path: &str,
    now: jiff::Timestamp,
) -> Result<crate::api::cases::DeadlinesBody, AppError> {
    let within = jiff::SignedDuration::from_hours(i64::from(DUE_SOON_HOURS));
    let calendars = crate::calendar::OrgCalendars::load(state).await?;
    let base = CaseFilter {
        closed: Some(false),
        unit_subtree: Some(root_path.to_owned()),
        order: manyi_store::CaseOrder::Due,
        limit: LIST_CASES,
        ..CaseFilter::default()
    };
    // The first page is what is due first (overdue, then the rest); the second starts right
    // after `now`: the due-soon cases even when more than a page is overdue.
    let overdue = state.store.list_cases(&base).await?;
    let later = state
        .store
        .list_cases(&CaseFilter {
            after: Some(i64::MAX),
            after_due: Some(now),
            ..base.clone()
        })
        .await?;
    let mut body = crate::api::cases::DeadlinesBody {
        overdue: Vec::new(),
        due_soon: Vec::new(),
        scanned: 0,
        complete: true,
    };
    let mut seen = HashSet::new();
    for record in overdue.items.iter().chain(&later.items) {
        if !seen.insert(record.id) || record.due_at.is_none_or(|d| d > now + within) {
            continue;
        }
        body.scanned += 1;
        for (is_overdue, row) in
            crate::api::cases::deadline_rows(state, &calendars, record, now, within).await?
        {
            if is_overdue {
                body.overdue.push(row);
            } else {
                body.due_soon.push(row);
            }
        }
    }
    body.overdue.sort_by(|a, b| a.due.cmp(&b.due));
    body.due_soon.sort_by(|a, b| a.due.cmp(&b.due));
    Ok(body)
}

/// The figures as the page computed them before the aggregate: every open case of the subtree
/// and every case registered in the last [`MONTHS`] months, read and decoded (at most
/// [`SCAN_LIMIT`] of each; `false` when a scan was cut short). The oracle of the dashboard
/// test; rates per case, like [`figures`] (late = a clock of it has breached).
pub async fn figures_by_scan(
    state: &AppState,
    root_path: &str,
    span: Span,
) -> Result<(Figures, bool), AppError> {
    let mut out = Figures {
        per_week: vec![0; WEEKS as usize],
        per_month: vec![0; MONTHS as usize],
        ..Figures::default()
    };
    let now = span.now;
    let soon = now + jiff::SignedDuration::from_hours(i64::from(DUE_SOON_HOURS));
    let (open, open_complete) = scan(
        state,
        CaseFilter {
            closed: Some(false),
            unit_subtree: Some(root_path.to_owned()),
            ..CaseFilter::default()
        },
    )
    .await?;
    for record in &open {
        let case = case_of(record)?;
        let f = out.units.entry(record.owner_unit_id).or_default();
        f.open += 1;
        let running = || {
            case.clocks
                .values()
                .filter(|c| c.status == ClockStatus::Running)
        };
        if running().any(|c| c.is_overdue(now)) {
            f.overdue += 1;
        } else if running().any(|c| c.deadline.due <= soon) {
            f.due_soon += 1;
        }
    }
    let from = Span::start_of(span.first_month.min(span.first_monday))?;
    let (recent, recent_complete) = scan(
        state,
        CaseFilter {
            created_from: Some(from),
            unit_subtree: Some(root_path.to_owned()),
            ..CaseFilter::default()
        },
    )
    .await?;
    for record in &recent {
        let date = record
            .created_at
            .to_zoned_datetime(manyi_core::china_tz())
            .date();
        let months = (i64::from(date.year()) - i64::from(span.first_month.year())) * 12
            + i64::from(date.month())
            - i64::from(span.first_month.month());
        let in_months = usize::try_from(months)
            .ok()
            .and_then(|m| out.per_month.get_mut(m));
        let counted = in_months.is_some();
        if let Some(slot) = in_months {
            *slot += 1;
        }
        let days = (date - span.first_monday).get_days();
        if days >= 0
            && let Some(slot) = usize::try_from(days / 7)
                .ok()
                .and_then(|w| out.per_week.get_mut(w))
        {
            *slot += 1;
        }
        if !counted {
            continue;
        }
        let case = case_of(record)?;
        // Late: a breach recorded in the log (a restarted clock forgets its `breached_at`, the
        // log does not); for the units also an open case past its deadline whose breach is not
        // recorded yet (the categories know only recorded breaches).
        let recorded = state
            .store
            .case_events(record.id)
            .await?
            .iter()
            .any(|e| e.action == "clock_breached");
        let late = recorded
            || (!case.closed
                && case
                    .clocks
                    .values()
                    .any(|c| c.status == ClockStatus::Running && c.is_overdue(now)));
        let rate = |late: bool| match (case.closed, late) {
            (true, false) => (1, 1),
            (_, true) => (0, 1),
            (false, false) => (0, 0),
        };
        let (met, stopped) = rate(late);
        let f = out.units.entry(record.owner_unit_id).or_default();
        f.created += 1;
        f.met += met;
        f.stopped += stopped;
        let (met, stopped) = rate(recorded);
        if stopped > 0 {
            let category = case
                .fields
                .get("category")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned();
            let c = out.by_category.entry(category).or_default();
            c.0 += met;
            c.1 += stopped;
        }
    }
    Ok((out, open_complete && recent_complete))
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

/// The label of a `category` value as the active policies name its choice (the first kind
/// with a `category` field that knows it), or "uncategorised" for `""`.
async fn category_label(state: &AppState, value: &str, lang: Lang) -> Result<String, AppError> {
    if value.is_empty() {
        return Ok(tr(lang, "dash.uncategorised").to_owned());
    }
    let raw = serde_json::Value::String(value.to_owned());
    for record in state.store.active_policies().await? {
        let policy = state.policies.compile(&record)?;
        for kind in &policy.kinds {
            if let Some(field) = kind.field("category") {
                let label = view::display_value(Some(field), &raw);
                if label != value {
                    return Ok(label);
                }
            }
        }
    }
    Ok(view::display_value(None, &raw))
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
            // "" for conduct recorded without a case: the page says so.
            case: v.case.unwrap_or_default(),
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
            case: p.case.unwrap_or_default(),
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
