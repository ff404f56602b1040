//! `/rewards` — the rewards ledger (ccb-counter 第三十二条: annual individual and collective
//! awards): the proposals and decisions of the reader's unit subtree (an administrator: all),
//! filtered by year, status and unit, with their CSV export; a nomination form, and on each
//! open proposal a decision form (grant within the rule's range, or decline, with a reason).
//!
//! The page decides nothing: it calls `api::rewards::{list, propose, decide}`, so scope and
//! checks (`manyi_core::rewards`) are the API's. A refusal is said beside the field it is
//! about (or above the form when it is about the person acting). The penalty ledger with
//! its CSV export by unit, person and period is on the dashboard (`/dashboard#ledger`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use manyi_core::engine::RefusalReason;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::i18n::{Lang, tr, tr_with};
use super::session::{CsrfForm, Ctx, FormData, WebUser};
use super::templates::{WebError, percent_encode, redirect, render_status, s};
use crate::AppState;
use crate::api::rewards::{DecideRequest, ProposeRequest, RewardQuery};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath};

/// The ledger's filters, as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct RewardFilters {
    #[serde(default)]
    period: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    unit: String,
    /// Set after a nomination or a decision was recorded.
    #[serde(default, skip_serializing)]
    done: String,
}

/// What was typed into a form, with the errors beside its fields and one above it.
#[derive(Serialize, Default)]
struct FormState {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    error: Option<String>,
}

impl FormState {
    fn typed(form: &FormData, names: &[&str]) -> FormState {
        FormState {
            values: names
                .iter()
                .map(|n| ((*n).to_owned(), form.text(n)))
                .collect(),
            ..FormState::default()
        }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn field(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// An error of the shared shell, put beside the field it names (`reason_field`: where a
    /// missing reason goes), or above the form.
    fn app_error(&mut self, lang: Lang, e: AppError, reason_field: &str) -> Result<(), WebError> {
        match e {
            AppError::Invalid { detail, fields } => {
                if fields.is_empty() {
                    self.error = Some(detail);
                }
                for f in fields {
                    let message = lang.message(&f.message_zh, &f.message).to_owned();
                    self.field(&f.field, message);
                }
            }
            AppError::Refused(r) => {
                // The core's messages name the clause already.
                let message = lang.message(&r.message_zh, &r.message).to_owned();
                match r.reason {
                    RefusalReason::InvalidFields if !r.fields.is_empty() => {
                        for f in r.fields {
                            let m = lang.message(&f.message_zh, &f.message).to_owned();
                            self.field(&f.field, m);
                        }
                    }
                    RefusalReason::ReasonRequired => self.field(reason_field, message),
                    RefusalReason::OutOfRange => self.field("amount", message),
                    _ => self.error = Some(message),
                }
            }
            // "Exactly one of person or unit" is the API's only bad request here.
            AppError::BadRequest(_) => self.field("person", tr(lang, "rw.one_recipient")),
            AppError::Conflict(_) => self.error = Some(tr(lang, "rw.conflict").to_owned()),
            other => return Err(other.into()),
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct RuleOption {
    /// `policy/rule`.
    code: String,
    label: String,
    /// The award's own name (先进工作者), for the ledger's rows.
    #[serde(skip)]
    name: String,
}

#[derive(Serialize)]
struct RewardRow {
    id: i64,
    period: String,
    rule: String,
    clause: String,
    recipient: String,
    unit: String,
    basis: String,
    proposed_by: String,
    range: String,
    status: String,
    status_label: String,
    amount: String,
    reason: String,
    decided_by: String,
}

/// The reward rules of the active policies, for the nomination form.
async fn rule_options(state: &AppState) -> Result<Vec<RuleOption>, AppError> {
    let mut out = Vec::new();
    for record in state.store.active_policies().await? {
        let policy = state.policies.compile(&record)?;
        for r in &policy.rewards {
            out.push(RuleOption {
                code: format!("{}/{}", record.name, r.id),
                label: format!("{}（{}，{}）", r.label, r.clause, r.amount_text()),
                name: r.label.clone(),
            });
        }
    }
    Ok(out)
}

/// The CSV export with the page's filters.
fn csv_link(f: &RewardFilters) -> String {
    let params: Vec<String> = [
        ("period", &f.period),
        ("status", &f.status),
        ("unit", &f.unit),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", percent_encode(v.trim())))
    .collect();
    if params.is_empty() {
        "/api/v1/rewards.csv".into()
    } else {
        format!("/api/v1/rewards.csv?{}", params.join("&"))
    }
}

struct Forms {
    propose: FormState,
    /// The decision form of one reward, shown again with its errors.
    decide: Option<(i64, FormState)>,
}

async fn ledger_page(
    ctx: &Ctx,
    user: &WebUser,
    state: &AppState,
    filters: RewardFilters,
    forms: Forms,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let mut filter_errors: HashMap<&str, String> = HashMap::new();
    if !filters.status.is_empty()
        && !["proposed", "granted", "declined"].contains(&filters.status.as_str())
    {
        filter_errors.insert("status", tr(lang, "rw.bad_status").to_owned());
    }
    let period_ok = filters.period.is_empty()
        || (filters.period.len() == 4 && filters.period.bytes().all(|b| b.is_ascii_digit()));
    if !period_ok {
        filter_errors.insert(
            "period",
            tr_with(lang, "rw.bad_period", &[("value", &filters.period)]),
        );
    }
    let mut items = Vec::new();
    if filter_errors.is_empty() {
        let query = RewardQuery {
            period: non_empty(&filters.period),
            status: non_empty(&filters.status),
            unit: non_empty(&filters.unit),
        };
        match crate::api::rewards::list(
            State(state.clone()),
            CurrentUser(user.user.clone()),
            Ok(Query(query)),
        )
        .await
        {
            Ok(Json(list)) => items = list.items,
            // The only bad request left is an unknown unit code.
            Err(AppError::BadRequest(_)) => {
                filter_errors.insert(
                    "unit",
                    tr_with(lang, "rw.bad_unit", &[("value", &filters.unit)]),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    let rules = rule_options(state).await?;
    // An award of a policy no longer active keeps its id as its name.
    let award = |policy: &str, rule: &str| {
        let code = format!("{policy}/{rule}");
        rules
            .iter()
            .find(|o| o.code == code)
            .map_or_else(|| rule.to_owned(), |o| o.name.clone())
    };
    let name = |p: &Option<crate::api::penalties::PersonBody>| {
        p.as_ref().map(|p| p.name.clone()).unwrap_or_default()
    };
    let rows: Vec<RewardRow> = items
        .into_iter()
        .map(|r| RewardRow {
            id: r.id,
            rule: award(&r.policy, &r.rule),
            clause: r.clause.clone(),
            recipient: match &r.person {
                Some(p) => p.name.clone(),
                None => format!("{}（{}）", r.unit, tr(lang, "rw.collective")),
            },
            unit: r.unit.clone(),
            basis: r.basis.clone(),
            proposed_by: name(&r.proposed_by),
            range: r.range.text.clone(),
            status_label: tr(lang, &format!("rw.status.{}", r.status)).to_owned(),
            status: r.status.clone(),
            amount: r
                .amount_fen
                .map(|f| manyi_core::values::Money::from_fen(f).to_string())
                .unwrap_or_default(),
            reason: r.reason.clone().unwrap_or_default(),
            decided_by: name(&r.decided_by),
            period: r.period,
        })
        .collect();
    let status = if forms.propose.errors.is_empty()
        && forms.propose.error.is_none()
        && forms.decide.is_none()
        && filter_errors.is_empty()
    {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let notice = match filters.done.as_str() {
        "proposed" => Some(tr(lang, "rw.done.proposed").to_owned()),
        "decided" => Some(tr(lang, "rw.done.decided").to_owned()),
        _ => None,
    };
    let statuses: Vec<(&str, String)> = ["proposed", "granted", "declined"]
        .into_iter()
        .map(|st| (st, tr(lang, &format!("rw.status.{st}")).to_owned()))
        .collect();
    let (decide_id, decide) = match forms.decide {
        Some((id, f)) => (Some(id), f),
        None => (None, FormState::default()),
    };
    render_status(
        status,
        ctx,
        Some(user),
        "rewards.html",
        context! {
            active => "rewards",
            csv => csv_link(&filters),
            filters => s(&filters),
            filter_errors => s(&filter_errors),
            rows => s(rows),
            rules => s(rules),
            statuses,
            propose => s(&forms.propose),
            decide_id,
            decide => s(&decide),
            blank => s(FormState::default()),
            notice,
            this_year => state
                .clock
                .now()
                .to_zoned_datetime(manyi_core::china_tz())
                .year(),
        },
    )
}

/// `GET /rewards?period=&status=&unit=`.
pub async fn page(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    Query(filters): Query<RewardFilters>,
) -> Result<Response, WebError> {
    let forms = Forms {
        propose: FormState::default(),
        decide: None,
    };
    ledger_page(&ctx, &user, &state, filters, forms).await
}

/// `POST /rewards`: a nomination — `rule` (`policy/rule`), `period`, `person` (a login) or
/// `unit` (a unit code), `basis`.
pub async fn propose(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut f = FormState::typed(&form, &["rule", "period", "person", "unit", "basis"]);
    for name in ["rule", "period", "basis"] {
        if f.value(name).is_empty() {
            f.field(name, tr(lang, "admin.form.required"));
        }
    }
    let (policy, rule) = f
        .value("rule")
        .split_once('/')
        .map(|(p, r)| (p.to_owned(), r.to_owned()))
        .unwrap_or_default();
    if !f.value("rule").is_empty() && rule.is_empty() {
        f.field("rule", tr(lang, "rw.bad_rule"));
    }
    if f.errors.is_empty() {
        let req = ProposeRequest {
            policy,
            rule,
            period: f.value("period").to_owned(),
            person: Some(f.value("person").to_owned()).filter(|v| !v.is_empty()),
            unit: Some(f.value("unit").to_owned()).filter(|v| !v.is_empty()),
            basis: f.value("basis").to_owned(),
        };
        match crate::api::rewards::propose(
            State(state.clone()),
            CurrentUser(user.user.clone()),
            ApiJson(req),
        )
        .await
        {
            Ok(_) => {
                tracing::info!("reward proposed (web)");
                return Ok(redirect(&format!(
                    "/rewards?period={}&done=proposed",
                    percent_encode(f.value("period"))
                )));
            }
            Err(e) => f.app_error(lang, e, "basis")?,
        }
    }
    let forms = Forms {
        propose: f,
        decide: None,
    };
    ledger_page(&ctx, &user, &state, RewardFilters::default(), forms).await
}

/// `POST /rewards/{id}/decide`: `decision` (`grant` or `decline`), `amount` (yuan), `reason`.
pub async fn decide(
    ctx: Ctx,
    user: WebUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let mut f = FormState::typed(&form, &["decision", "amount", "reason"]);
    let granted = match f.value("decision") {
        "grant" => Some(true),
        "decline" => Some(false),
        _ => None,
    };
    if granted.is_none() {
        f.field("decision", tr(lang, "rw.choose_decision"));
    }
    let amount = f.value("amount").to_owned();
    if !amount.is_empty() && manyi_core::values::Money::parse(&amount).is_err() {
        f.field(
            "amount",
            tr_with(lang, "rw.bad_amount", &[("value", &amount)]),
        );
    }
    if f.value("reason").is_empty() {
        f.field("reason", tr(lang, "admin.form.required"));
    }
    if let (Some(granted), true) = (granted, f.errors.is_empty()) {
        let req = DecideRequest {
            granted,
            // Declined: no amount, whatever was typed.
            amount: (granted && !amount.is_empty()).then(|| Value::String(amount.clone())),
            reason: f.value("reason").to_owned(),
        };
        match crate::api::rewards::decide(
            State(state.clone()),
            CurrentUser(user.user.clone()),
            ApiPath(id),
            ApiJson(req),
        )
        .await
        {
            Ok(Json(done)) => {
                tracing::info!(reward_id = done.id, "reward decided (web)");
                return Ok(redirect(&format!(
                    "/rewards?period={}&done=decided#reward-{id}",
                    percent_encode(&done.period)
                )));
            }
            Err(e) => f.app_error(lang, e, "reason")?,
        }
    }
    let forms = Forms {
        propose: FormState::default(),
        decide: Some((id, f)),
    };
    ledger_page(&ctx, &user, &state, RewardFilters::default(), forms).await
}
