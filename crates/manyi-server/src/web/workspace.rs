//! `/` — the agent's workspace: "my cases" and "my unit's cases" as queues, the case due first
//! on top, each row with the working time left of its running clock.
//!
//! The queues are the API's case list (`api::cases::list`, so jurisdiction and filters are
//! the API's), at most [`QUEUE_LIMIT`] cases each. Open cases come from the store already in
//! due order (`order=due`: the index of open cases by due time), so the queue holds the
//! [`QUEUE_LIMIT`] cases due first, whatever their age; with closed cases included the
//! newest are loaded and sorted by due here. Quick find opens a case by its full
//! number; otherwise it searches on the server, within the user's jurisdiction: the end of a
//! phone number (4 digits or more) or a part of the customer's name through the quick-find
//! index (`manyi_core::find`, `Store::find_cases`), a part of a case number (4 characters or
//! more) through the same index's number keys — or by scanning the newest [`FIND_SCAN`] cases
//! until the index is backfilled — and lists up
//! to [`FIND_LIMIT`] of them as a queue of its own (the page says when a scan was cut short).
//! Chinese full-text search over all cases is a later capability.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, tr_with};
use super::session::{Ctx, WebUser};
use super::templates::{WebError, redirect, render, s};
use super::view::{self, ClockView, PolicyLookup};
use crate::AppState;
use crate::api::archive::{Interface, gate_read};
use crate::api::cases::{
    CaseBody, ListQuery, actor_of, body_of, case_of, directory_for, list, show,
};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::ApiPath;

/// How many cases each queue loads.
pub const QUEUE_LIMIT: u32 = 200;
/// How many of the newest cases in the user's jurisdiction quick find examines.
pub const FIND_SCAN: usize = 5_000;
/// How many cases quick find lists.
pub const FIND_LIMIT: usize = 50;

#[derive(Deserialize, Default)]
pub struct WorkspaceQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    /// "1": include closed cases.
    #[serde(default)]
    closed: String,
}

/// One row of a queue.
#[derive(Serialize)]
pub struct Row {
    pub number: String,
    pub kind: String,
    pub customer: String,
    pub phone: String,
    pub category: String,
    pub state: String,
    pub closed: bool,
    pub owner_unit: String,
    pub first_contact: String,
    pub assignee: String,
    pub clock: Option<ClockView>,
    /// When no clock runs: paused, met or missed.
    pub clock_note: Option<String>,
    #[serde(skip)]
    phones: Vec<String>,
}

#[derive(Serialize)]
struct Queue {
    id: &'static str,
    title: &'static str,
    hint: String,
    rows: Vec<Row>,
    truncated: bool,
}

#[derive(Serialize)]
struct Opt {
    value: String,
    label: String,
}

/// `GET /`.
pub async fn page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<WorkspaceQuery>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let find = q.q.trim().to_owned();
    if let Some(number) = exact_case(&state, &user, &find).await? {
        let to = format!("/cases/{}", super::templates::percent_encode(&number));
        // htmx follows a 303 inside the page; it needs a 200 telling it to navigate.
        if ctx.htmx {
            let mut response = axum::http::StatusCode::OK.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                response.headers_mut().insert("hx-redirect", v);
            }
            return Ok(response);
        }
        return Ok(redirect(&to));
    }
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let state_filter = non_empty(&q.state);
    let include_closed = q.closed == "1" || state_filter.is_some();
    let query =
        |assignee: Option<String>, first_contact: Option<String>, unit: Option<String>| ListQuery {
            kind: non_empty(&q.kind),
            state: state_filter.clone(),
            unit,
            assignee,
            first_contact,
            closed: (!include_closed).then_some(false),
            created_from: None,
            created_to: None,
            cursor: None,
            limit: Some(QUEUE_LIMIT),
            // Open cases: the store's due order. Closed ones have no due time; over every
            // case of a jurisdiction that order would sort them all, so those lists stay
            // newest first and are sorted below.
            order: (!include_closed).then(|| "due".to_owned()),
        };
    let login = user.user.login.clone();
    let assigned = fetch(&state, &user, query(Some(login.clone()), None, None)).await?;
    let first = fetch(&state, &user, query(None, Some(login), None)).await?;
    let unit = fetch(
        &state,
        &user,
        query(None, None, Some(user.user.unit_code.clone())),
    )
    .await?;

    let truncated_mine =
        assigned.len() >= QUEUE_LIMIT as usize || first.len() >= QUEUE_LIMIT as usize;
    let truncated_unit = unit.len() >= QUEUE_LIMIT as usize;
    let mut mine = assigned;
    for case in first {
        if !mine.iter().any(|c| c.number == case.number) {
            mine.push(case);
        }
    }
    let mut policies = PolicyLookup::new(&state);
    let mut mine_rows = rows(&mut policies, mine, lang).await?;
    let mut unit_rows = rows(&mut policies, unit, lang).await?;
    let mut found = None;
    if !find.is_empty() {
        mine_rows.retain(|r| matches(r, &find));
        unit_rows.retain(|r| matches(r, &find));
        let (cases, answer) = search(&state, &user, &find).await?;
        let mut rows = rows(&mut policies, cases, lang).await?;
        sort_by_due(&mut rows);
        found = Some(Queue {
            id: "found",
            title: "ws.found",
            hint: match answer {
                Answer::Complete => super::i18n::tr(lang, "ws.found.hint").to_owned(),
                Answer::Scanned => {
                    tr_with(lang, "ws.found.partial", &[("n", &FIND_SCAN.to_string())])
                }
                Answer::Capped => {
                    tr_with(lang, "ws.found.capped", &[("n", &FIND_LIMIT.to_string())])
                }
            },
            truncated: rows.len() >= FIND_LIMIT,
            rows,
        });
    }
    // "Mine" merges two lists; the loaded rows of open cases are in due order already, and
    // the (stable) sort only puts the cases without a running clock newest first.
    sort_by_due(&mut mine_rows);
    sort_by_due(&mut unit_rows);

    let mut queues: Vec<Queue> = found.into_iter().collect();
    queues.extend([
        Queue {
            id: "mine",
            title: "ws.mine",
            hint: super::i18n::tr(lang, "ws.mine.hint").to_owned(),
            rows: mine_rows,
            truncated: truncated_mine,
        },
        Queue {
            id: "unit",
            title: "ws.unit",
            hint: tr_with(lang, "ws.unit.hint", &[("unit", &user.unit_name)]),
            rows: unit_rows,
            truncated: truncated_unit,
        },
    ]);
    let (kinds, states) = filter_options(&state, lang).await?;
    render(
        &ctx,
        Some(&user),
        "workspace.html",
        context! {
            active => "workspace",
            queues => s(queues),
            kinds => s(kinds),
            states => s(states),
            f_state => q.state,
            f_kind => q.kind,
            f_closed => q.closed == "1",
            q => find,
            limit => QUEUE_LIMIT,
        },
    )
}

async fn fetch(
    state: &AppState,
    user: &WebUser,
    query: ListQuery,
) -> Result<Vec<CaseBody>, AppError> {
    let Json(body) = list(
        State(state.clone()),
        CurrentUser(user.user.clone()),
        Ok(Query(query)),
    )
    .await?;
    Ok(body.items)
}

/// A quick-find text that is the full number of a case the user may see.
async fn exact_case(
    state: &AppState,
    user: &WebUser,
    find: &str,
) -> Result<Option<String>, AppError> {
    let looks_like_number = find.len() >= 4
        && find.len() <= 64
        && find.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && find.chars().any(|c| c.is_ascii_digit());
    if !looks_like_number {
        return Ok(None);
    }
    for candidate in [find.to_owned(), find.to_uppercase()] {
        match show(
            State(state.clone()),
            CurrentUser(user.user.clone()),
            ApiPath(candidate),
        )
        .await
        {
            Ok(Json(case)) => return Ok(Some(case.number)),
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Quick find on the server, within the user's jurisdiction (the API's: their unit's subtree
/// and the cases they registered; everything for `admin`): the end of a phone number (4 digits
/// or more), a part of the customer's name or a part of a case number is looked up in the
/// quick-find keys (`manyi_core::find`, the `case_find` index), newest case first; until the
/// keys are backfilled, the newest cases are scanned instead. Also whether the answer is
/// complete.
async fn search(
    state: &AppState,
    user: &WebUser,
    find: &str,
) -> Result<(Vec<CaseBody>, Answer), AppError> {
    let lookups = manyi_core::find::lookups(find);
    let by_number = lookups.iter().any(|l| l.kind == manyi_core::find::NUMBER);
    if !state.store.find_backfill().await?.done
        || (by_number && !state.store.number_backfill().await?.done())
    {
        let (cases, complete) = scan(state, user, find).await?;
        return Ok((
            cases,
            if complete {
                Answer::Complete
            } else {
                Answer::Scanned
            },
        ));
    }
    let visible_to = (!user.is_admin()).then(|| manyi_store::Visibility {
        unit_path: user.user.unit_path.clone(),
        user_id: user.user.id,
    });
    let mut records: Vec<manyi_store::CaseRecord> = Vec::new();
    let mut answer = Answer::Complete;
    for lookup in lookups {
        let query = manyi_store::FindQuery {
            kind: lookup.kind.to_owned(),
            prefix: lookup.prefix,
            visible_to: visible_to.clone(),
            limit: FIND_LIMIT as u32,
        };
        // A part of a case number may be shared by every case (the year): its keys are read
        // up to a cap, and a cut answer asks for more characters.
        if lookup.kind == manyi_core::find::NUMBER {
            let found = state.store.find_cases_capped(&query).await?;
            if found.partial {
                answer = Answer::Capped;
            }
            records.extend(found.cases);
        } else {
            records.extend(state.store.find_cases(&query).await?);
        }
    }
    records.sort_by_key(|r| std::cmp::Reverse(r.id));
    records.dedup_by_key(|r| r.id);
    records.truncate(FIND_LIMIT);
    // The store answered within the user's jurisdiction already: each row is built as the case
    // lists build theirs (one directory read for all), not by reading each case again. An
    // archived case still goes through the archive's read gate: its read is logged, and a row
    // the user may not read is left out (need-to-know) rather than failing the whole answer.
    let directory = directory_for(state, None, &serde_json::Map::new()).await?;
    let actor = actor_of(&user.user, &directory)?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let case = case_of(&record)?;
        match gate_read(state, &user.user, &record, &case, Interface::Web, "case").await {
            Ok(()) => {}
            Err(AppError::Refused(_)) => continue,
            Err(e) => return Err(e),
        }
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        out.push(body_of(state, &case, &policy, Some(&actor)));
    }
    Ok((out, answer))
}

/// Whether quick find's answer holds every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Complete,
    /// Only the newest [`FIND_SCAN`] cases were scanned (the keys are not backfilled yet).
    Scanned,
    /// A part of a case number matched more keys than the cap: the first [`FIND_LIMIT`].
    Capped,
}

/// Quick find by scanning: the newest cases of the user's jurisdiction (the API's: their
/// unit's subtree and the cases they registered; everything for `admin`), at most
/// [`FIND_SCAN`] examined, whose number, phone digits or customer name contain `find`. Also
/// whether every case of the jurisdiction was examined. Used for parts of case numbers and
/// until the quick-find keys are backfilled.
async fn scan(
    state: &AppState,
    user: &WebUser,
    find: &str,
) -> Result<(Vec<CaseBody>, bool), AppError> {
    let mut filter = manyi_store::CaseFilter {
        limit: manyi_store::MAX_PAGE_SIZE,
        ..manyi_store::CaseFilter::default()
    };
    if !user.is_admin() {
        filter.visible_to = Some(manyi_store::Visibility {
            unit_path: user.user.unit_path.clone(),
            user_id: user.user.id,
        });
    }
    let upper = find.to_uppercase();
    let digits: String = find.chars().filter(char::is_ascii_digit).collect();
    let mut numbers = Vec::new();
    let mut examined = 0;
    let complete = loop {
        let page = state.store.list_cases(&filter).await?;
        for record in &page.items {
            examined += 1;
            if numbers.len() >= FIND_LIMIT {
                break;
            }
            if record.number.to_uppercase().contains(&upper) {
                numbers.push(record.number.clone());
                continue;
            }
            let case = crate::api::cases::case_of(record)?;
            let policy = state.policies.get(&state.store, record.policy_id).await?;
            let Some(kind) = policy.kind(&case.kind) else {
                continue;
            };
            let phone_hit = digits.len() >= 4
                && view::phones(kind, &case.fields).iter().any(|(p, _)| {
                    let own: String = p.chars().filter(char::is_ascii_digit).collect();
                    own.contains(&digits)
                });
            let name = view::customer_name(kind, &case.fields);
            if phone_hit || (!name.is_empty() && name.contains(find)) {
                numbers.push(record.number.clone());
            }
        }
        match page.next_cursor {
            _ if numbers.len() >= FIND_LIMIT => break true,
            Some(_) if examined >= FIND_SCAN => break false,
            Some(cursor) => filter.after = Some(cursor),
            None => break true,
        }
    };
    let mut out = Vec::with_capacity(numbers.len());
    for number in numbers {
        let Json(body) = show(
            State(state.clone()),
            CurrentUser(user.user.clone()),
            ApiPath(number),
        )
        .await?;
        out.push(body);
    }
    Ok((out, complete))
}

/// Rows for the cases of a queue.
pub async fn rows(
    policies: &mut PolicyLookup<'_>,
    cases: Vec<CaseBody>,
    lang: Lang,
) -> Result<Vec<Row>, AppError> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let (policy, kind_index) = policies.of_case(&case).await?;
        let kind = kind_index.map(|i| &policy.kinds[i]);
        let phones = kind
            .map(|k| view::phones(k, &case.fields))
            .unwrap_or_default();
        out.push(Row {
            kind: view::kind_label(kind, &case.kind, lang),
            customer: kind
                .map(|k| view::customer_name(k, &case.fields))
                .unwrap_or_default(),
            phone: phones.first().map(|(_, m)| m.clone()).unwrap_or_default(),
            category: kind
                .map(|k| view::category(k, &case.fields))
                .unwrap_or_default(),
            state: view::state_label(kind, &case.state, lang),
            closed: case.closed,
            owner_unit: case.owner_unit.name.clone(),
            first_contact: case.first_contact.name.clone(),
            assignee: case
                .assignee
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            clock: view::first_running(&case.clocks, lang),
            clock_note: view::clock_note(&case.clocks, lang),
            phones: phones.into_iter().map(|(p, _)| p).collect(),
            number: case.number,
        });
    }
    Ok(out)
}

/// Overdue and soonest due first; cases without a running clock last, newest first.
pub fn sort_by_due(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        let due = |r: &Row| r.clock.as_ref().and_then(|c| c.due_at);
        match (due(a), due(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => b.number.cmp(&a.number),
        }
    });
}

/// Quick find on a loaded row: the number, the phone digits (4 or more), or the name.
fn matches(row: &Row, find: &str) -> bool {
    let upper = find.to_uppercase();
    if row.number.to_uppercase().contains(&upper) {
        return true;
    }
    let digits: String = find.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 4
        && row.phones.iter().any(|p| {
            let own: String = p.chars().filter(char::is_ascii_digit).collect();
            own.contains(&digits)
        })
    {
        return true;
    }
    !row.customer.is_empty() && row.customer.contains(find)
}

/// The kinds and states of the active policies, for the filters.
async fn filter_options(state: &AppState, lang: Lang) -> Result<(Vec<Opt>, Vec<Opt>), AppError> {
    let mut kinds: Vec<Opt> = Vec::new();
    let mut states: Vec<Opt> = Vec::new();
    for record in state.store.active_policies().await? {
        let policy = state.policies.compile(&record)?;
        for kind in &policy.kinds {
            if !kinds.iter().any(|k| k.value == kind.id) {
                kinds.push(Opt {
                    value: kind.id.clone(),
                    label: view::kind_label(Some(kind), &kind.id, lang),
                });
            }
            for s in &kind.states {
                if !states.iter().any(|o| o.value == s.id) {
                    states.push(Opt {
                        value: s.id.clone(),
                        label: lang.pick(&s.label, s.label_en.as_deref()).to_owned(),
                    });
                }
            }
        }
    }
    Ok((kinds, states))
}
