//! The case page's violations panel: each violation recorded on the case with its clause,
//! liable persons and units, and its penalties' status; and the notices queued for the
//! customer (a complaint judged invalid). Read through `api::violations::violations_of`, so
//! the page shows exactly what `GET /api/v1/cases/{number}/violations` returns.

use serde::Serialize;
use serde_json::Value;

use super::i18n::{Lang, tr};
use super::view;
use crate::AppState;
use crate::error::AppError;

#[derive(Serialize)]
pub struct PenaltyView {
    pub person: String,
    pub range: String,
    pub status: String,
    pub amount: Option<String>,
    pub clause: String,
}

#[derive(Serialize)]
pub struct ViolationView {
    pub what: String,
    pub rule: String,
    pub clause: String,
    pub at: String,
    pub persons: String,
    pub units: String,
    /// What a recorded conduct violation says happened.
    pub description: Option<String>,
    pub penalties: Vec<PenaltyView>,
}

#[derive(Serialize)]
pub struct NoticeView {
    pub at: String,
    pub text: String,
    pub clause: Option<String>,
}

fn names(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("、")
        })
        .unwrap_or_default()
}

/// The violations and notices of the case `number`, which `user` may see.
pub async fn for_case(
    state: &AppState,
    user: &manyi_store::User,
    number: &str,
    lang: Lang,
) -> Result<(Vec<ViolationView>, Vec<NoticeView>), AppError> {
    let record = crate::api::cases::visible_record(state, user, number).await?;
    let body = crate::api::violations::violations_of(state, &record).await?;
    let violations = body
        .violations
        .into_iter()
        .map(|v| {
            let key = format!("violation.{}", v.violation.kind);
            let what = tr(lang, &key);
            ViolationView {
                what: if what == key {
                    v.violation.kind.clone()
                } else {
                    what.to_owned()
                },
                rule: v.violation.rule.clone(),
                clause: v.violation.clause.clone(),
                at: view::local_time(&v.violation.occurred_at),
                persons: names(&v.violation.liable_persons),
                units: names(&v.violation.liable_units),
                description: v.violation.description.clone(),
                penalties: v
                    .penalties
                    .into_iter()
                    .map(|p| PenaltyView {
                        person: p.person.map(|p| p.name).unwrap_or_default(),
                        range: p.range.text,
                        status: tr(lang, &format!("penalty.{}", p.status)).to_owned(),
                        amount: p
                            .amount_fen
                            .map(|f| manyi_core::values::Money::from_fen(f).to_string()),
                        clause: p.clause,
                    })
                    .collect(),
            }
        })
        .collect();
    let notices = body
        .notices
        .into_iter()
        .map(|n| NoticeView {
            at: view::local_time(&n.at),
            text: n.text,
            clause: n.clause,
        })
        .collect();
    Ok((violations, notices))
}
