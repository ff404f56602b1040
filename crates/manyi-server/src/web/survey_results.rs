//! `/surveys/results` — satisfaction survey results for supervisors (issue 5 item 6): the
//! answered surveys of the reader's unit subtree (an administrator: all) over a chosen period,
//! grouped by unit, handler, category, party or period (one dimension, or two: `by` then
//! `by2`), with a line per routine survey schedule (last run, next run, "period not
//! configured"), and each question's answers per group (ratings 1–5
//! with their mean and 满意率, choice options with their counts).
//!
//! The numbers are `api::surveys::results_for`'s, the same as `GET /api/v1/surveys/results`:
//! one implementation, one scope. A bad date is said beside its field; what was typed stays.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, tr, tr_with};
use super::session::{Ctx, WebUser};
use super::templates::{WebError, render_status, s};
use crate::AppState;
use crate::api::surveys::{ResultGroup, ResultsQuery, results_for};
use crate::error::AppError;

/// The page's filters, as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct ResultsForm {
    #[serde(default)]
    by: String,
    /// A second dimension within the first (e.g. by party within each unit); empty: none.
    #[serde(default)]
    by2: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// One group's figures as the page prints them.
#[derive(Serialize)]
struct GroupView {
    label: String,
    key: String,
    answered: u64,
    mean: String,
    satisfied: String,
}

/// One cell row of a question's table: a group's answers to it.
#[derive(Serialize)]
struct QuestionRow {
    group: String,
    answered: u64,
    /// Rating: the counts of 1…5; choice: the counts of each option.
    counts: Vec<u64>,
    mean: String,
    satisfied: String,
}

/// A question with a row per group (and the total last).
#[derive(Serialize)]
struct QuestionView {
    id: String,
    label: String,
    kind: String,
    kind_label: String,
    /// Column headings: 1…5 for ratings, the option labels for choices.
    columns: Vec<String>,
    rows: Vec<QuestionRow>,
}

fn share(x: Option<f64>) -> String {
    x.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_default()
}

fn mean(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// The questions of every group, in the order first met, each with a row per group.
fn question_views(groups: &[ResultGroup], total: &ResultGroup, lang: Lang) -> Vec<QuestionView> {
    let mut out: Vec<QuestionView> = Vec::new();
    for q in &total.questions {
        let columns = match q.kind.as_str() {
            "rating" => (1..=5).map(|n| n.to_string()).collect(),
            "choice" => q.options.iter().map(|o| o.label.clone()).collect(),
            _ => Vec::new(),
        };
        let row = |label: &str, g: &ResultGroup| {
            let found = g.questions.iter().find(|r| r.id == q.id);
            QuestionRow {
                group: label.to_owned(),
                answered: found.map(|r| r.answered).unwrap_or(0),
                counts: match q.kind.as_str() {
                    "rating" => found.map(|r| r.ratings.to_vec()).unwrap_or(vec![0; 5]),
                    // By the total's options, so that every row has the same columns.
                    "choice" => q
                        .options
                        .iter()
                        .map(|o| {
                            found
                                .and_then(|r| r.options.iter().find(|x| x.code == o.code))
                                .map(|x| x.count)
                                .unwrap_or(0)
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                mean: mean(found.and_then(|r| r.mean_rating)),
                satisfied: share(found.and_then(|r| r.satisfied_share)),
            }
        };
        let mut rows: Vec<QuestionRow> = groups.iter().map(|g| row(&g.label, g)).collect();
        rows.push(row(tr(lang, "sr.total"), total));
        out.push(QuestionView {
            id: q.id.clone(),
            label: lang.pick(&q.label, q.label_en.as_deref()).to_owned(),
            kind: q.kind.clone(),
            kind_label: tr(lang, &format!("sr.kind.{}", q.kind)).to_owned(),
            columns,
            rows,
        });
    }
    out
}

/// One line per routine survey schedule the reader may see.
#[derive(Serialize)]
struct ScheduleLine {
    key: String,
    label: String,
    clause: String,
    text: String,
    /// `warn` for "period not configured", so it stands out.
    class: &'static str,
}

async fn schedule_lines(
    state: &AppState,
    user: &manyi_store::User,
    lang: Lang,
) -> Result<Vec<ScheduleLine>, AppError> {
    Ok(crate::api::survey_schedules::views_for(state, user)
        .await?
        .into_iter()
        .map(|v| ScheduleLine {
            label: lang.pick(&v.label, v.label_en.as_deref()).to_owned(),
            clause: v.clause,
            text: lang.message(&v.message_zh, &v.message).to_owned(),
            class: if v.state == "not_configured" {
                "warn"
            } else {
                ""
            },
            key: v.key,
        })
        .collect())
}

/// `GET /surveys/results?by=unit|person|category|party|month|quarter&by2=…&from=YYYY-MM-DD&to=YYYY-MM-DD`.
pub async fn page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(form): Query<ResultsForm>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut form = form;
    form.from = form.from.trim().to_owned();
    form.to = form.to.trim().to_owned();
    let by = if form.by.is_empty() {
        "unit".to_owned()
    } else {
        form.by.clone()
    };
    form.by2 = form.by2.trim().to_owned();
    let mut errors = std::collections::HashMap::new();
    if crate::api::surveys::parse_by(&by).is_err() || by.contains(',') {
        errors.insert("by", tr_with(lang, "sr.bad_by", &[("value", &by)]));
    } else if !form.by2.is_empty()
        && crate::api::surveys::parse_by(&format!("{by},{}", form.by2)).is_err()
    {
        errors.insert("by2", tr_with(lang, "sr.bad_by", &[("value", &form.by2)]));
    }
    for (name, value) in [("from", &form.from), ("to", &form.to)] {
        if !value.is_empty() && value.parse::<jiff::civil::Date>().is_err() {
            errors.insert(name, tr_with(lang, "sr.bad_date", &[("value", value)]));
        }
    }
    let (groups, questions, total) = if errors.is_empty() {
        let q = ResultsQuery {
            from: (!form.from.is_empty()).then(|| form.from.clone()),
            to: (!form.to.is_empty()).then(|| form.to.clone()),
            by: Some(if form.by2.is_empty() {
                by.clone()
            } else {
                format!("{by},{}", form.by2)
            }),
        };
        let body = match results_for(&state, &user.user, q).await {
            Ok(body) => body,
            // The dates were checked above; anything else the API refuses is a bug.
            Err(AppError::BadRequest(m)) => return Err(AppError::Internal(m).into()),
            Err(e) => return Err(e.into()),
        };
        let questions = question_views(&body.groups, &body.total, lang);
        let view = |g: &ResultGroup| GroupView {
            label: g.label.clone(),
            key: g.key.clone(),
            answered: g.answered,
            mean: mean(g.mean_rating),
            satisfied: share(g.satisfied_share),
        };
        let groups: Vec<GroupView> = body.groups.iter().map(view).collect();
        let mut total = view(&body.total);
        total.label = tr(lang, "sr.total").to_owned();
        (groups, questions, Some(total))
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let by_options: Vec<(&str, String)> = crate::api::surveys::DIMS
        .into_iter()
        .map(|o| (o, tr(lang, &format!("sr.by.{o}")).to_owned()))
        .collect();
    let label_of = |by: &str| {
        by_options
            .iter()
            .find(|(o, _)| *o == by)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let by_label = if form.by2.is_empty() {
        label_of(&by)
    } else {
        format!("{} · {}", label_of(&by), label_of(&form.by2))
    };
    let schedules = schedule_lines(&state, &user.user, lang).await?;
    form.by = by;
    render_status(
        status,
        &ctx,
        Some(&user),
        "survey_results.html",
        context! {
            active => "surveys",
            by_options,
            by_label,
            f => s(&form),
            errors => s(&errors),
            groups => s(groups),
            total => s(total),
            questions => s(questions),
            schedules => s(schedules),
            scope => if user.is_admin() {
                tr(lang, "sr.scope.all").to_owned()
            } else {
                tr_with(lang, "sr.scope.unit", &[("unit", &user.unit_name)])
            },
        },
    )
}
