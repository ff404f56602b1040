//! Satisfaction surveys over the API: issuing a tokenised link for a case
//! (`POST /api/v1/cases/{number}/surveys`, or by itself when a transition enters a state the
//! policy names) to the customer or, with `also_subject`, to the person complained about, the
//! answering side without login (`GET`/`POST /api/v1/public/surveys/{token}`; the phone page is
//! `web::survey`), and results by unit, person, category or party
//! (`GET /api/v1/surveys/results`).
//!
//! Tokens are 256-bit random values shown once, in the issuing response; only their hash is
//! stored. An unknown (or forged) token is 404, an expired one 410, a second answer 409.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use manyi_core::case::Case;
use manyi_core::engine::{Refusal, RefusalReason};
use manyi_core::survey::{self, Party, QuestionKind, SurveyRule};
use manyi_core::survey_schedule::{self, Period};
use manyi_store::{NewSurvey, SUBJECT, SurveyFilter, SurveyRecord, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::cases::{actor_of, case_of, directory_for, may_see, timestamp};
use crate::auth::{CurrentUser, random_token, token_hash};
use crate::error::AppError;
use crate::json::{ApiJson, ApiPath, parse_json};

/// A survey just issued: the only time its link is shown.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedSurvey {
    pub token: String,
    /// The page's path, `/public/survey/{token}`.
    pub path: String,
    /// The full link, from the request's host.
    pub link: String,
    pub expires_at: String,
    /// The SMS / e-mail text with the link, in Chinese and in English.
    pub message_zh: String,
    pub message_en: String,
    /// To whom the link is addressed: `customer`, or `subject` (the person complained about).
    pub party: Party,
    /// The login of the person complained about, for a `subject` link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

/// The scheme and host links are made of, from the request.
pub fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// Issues a survey for `case` (stored as `case_id`, read under `policy_id`) addressed to
/// `party` (`recipient`: the subject's login): a new token, its hash stored with what the
/// results are counted by. A subject's link records its party first, by the token's hash, so
/// that a crash in between never leaves it counted as the customer's.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    state: &AppState,
    rule: &SurveyRule,
    case_id: i64,
    case: &Case,
    issued_by: Option<i64>,
    origin: &str,
    party: Party,
    recipient: Option<String>,
) -> Result<IssuedSurvey, AppError> {
    let token = random_token(32);
    let now = state.clock.now();
    let expires = survey::expires_at(rule, now);
    if party == Party::Subject {
        state
            .store
            .record_survey_party(&token_hash(&token), SUBJECT)
            .await?;
    }
    state
        .store
        .insert_survey(NewSurvey {
            token_hash: token_hash(&token),
            case_id,
            kind: case.kind.clone(),
            unit_id: case.owner_unit.id,
            handler_id: case.assignee.as_ref().map(|a| a.id),
            category: case
                .fields
                .get("category")
                .and_then(Value::as_str)
                .map(str::to_owned),
            issued_by,
            issued_at: now,
            expires_at: expires,
        })
        .await?;
    let path = format!("/public/survey/{token}");
    let link = format!("{origin}{path}");
    let expires_text = timestamp(expires);
    let day = expires_text.get(..10).unwrap_or(&expires_text).to_owned();
    let (message_zh, message_en) =
        survey::message(rule, party, &case.number, &case.fields, &link, &day);
    Ok(IssuedSurvey {
        token,
        path,
        link,
        expires_at: expires_text,
        message_zh,
        message_en,
        party,
        recipient,
    })
}

/// `POST /api/v1/cases/{number}/surveys` body (optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// `customer` (default) or `subject`.
    #[serde(default)]
    pub party: Option<String>,
}

/// `POST /api/v1/cases/{number}/surveys`: issues a survey by hand.
pub async fn issue_for_case(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // No body (or an empty one) is a link to the customer, as before parties existed.
    let request: IssueRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IssueRequest::default()
    } else {
        parse_json(&body)?
    };
    let party = survey::parse_party(request.party.as_deref()).map_err(AppError::Refused)?;
    let record = state
        .store
        .case_by_number(&number)
        .await?
        .filter(|r| may_see(&user.0, r))
        .ok_or_else(|| AppError::NotFound(format!("no case {number}")))?;
    let case = case_of(&record)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let directory = directory_for(&state, None, &Map::new()).await?;
    let actor = actor_of(&user.0, &directory)?;
    let rule = survey::check_issue(&policy, &case, &actor).map_err(AppError::Refused)?;
    let recipient = survey::check_party(&policy, rule, &case, party).map_err(AppError::Refused)?;
    let issued = issue(
        &state,
        rule,
        record.id,
        &case,
        Some(user.0.id),
        &origin(&state, &headers),
        party,
        recipient,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)).into_response())
}

/// Issues a survey when `action` has just taken `case` into a state whose entry issues one
/// (`issue_on`); the link is in the transition's response.
pub async fn issue_on_entry(
    state: &AppState,
    policy: &manyi_core::policy::Policy,
    case: &Case,
    action: &str,
    headers: &HeaderMap,
) -> Result<Option<IssuedSurvey>, AppError> {
    let Some(kind) = policy.kind(&case.kind) else {
        return Ok(None);
    };
    let Some(rule) = &kind.survey else {
        return Ok(None);
    };
    let entered = kind
        .transition(action)
        .is_some_and(|t| t.to != manyi_core::policy::STAY && t.to == case.state);
    if !entered || !rule.issue_on.contains(&case.state) {
        return Ok(None);
    }
    let record = state
        .store
        .case_by_number(&case.number)
        .await?
        .ok_or_else(|| AppError::Internal(format!("case {} vanished", case.number)))?;
    issue(
        state,
        rule,
        record.id,
        case,
        None,
        &origin(state, headers),
        Party::Customer,
        None,
    )
    .await
    .map(Some)
}

/// A survey as the customer (or the person complained about) sees it.
#[derive(Serialize)]
pub struct PublicSurvey {
    pub title: String,
    pub title_en: Option<String>,
    /// The line under the title, if the policy gives one (the party's own, else the common).
    pub intro: Option<String>,
    pub intro_en: Option<String>,
    /// To whom the link was addressed: `customer` or `subject`; its questions are that party's.
    pub party: Party,
    /// `投诉人` / `被投诉人`.
    pub party_label: String,
    pub party_label_en: String,
    pub case: String,
    pub expires_at: String,
    pub answered: bool,
    pub questions: Vec<QuestionBody>,
}

#[derive(Serialize)]
pub struct QuestionBody {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    /// `rating`, `choice` or `text`.
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
    pub options: Vec<OptionBody>,
}

#[derive(Serialize)]
pub struct OptionBody {
    pub code: String,
    pub label: String,
}

/// What a token opens.
pub struct Opened {
    pub record: SurveyRecord,
    pub rule: SurveyRule,
    /// To whom the link was addressed (its questions are that party's).
    pub party: Party,
    pub now: Timestamp,
}

/// What a token opens: the survey record, its policy's survey and the party it was addressed
/// to, or 404.
pub async fn open_token(state: &AppState, token: &str) -> Result<Opened, AppError> {
    let not_found = || AppError::NotFound("no such survey link".into());
    // A token is 64 hex characters; anything else is not looked up at all.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let record = state
        .store
        .survey_by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(not_found)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let rule = policy
        .kind(&record.kind)
        .and_then(|k| k.survey.clone())
        .ok_or_else(not_found)?;
    let party = state
        .store
        .survey_party(&token_hash(token))
        .await?
        .and_then(|p| Party::parse(&p))
        .unwrap_or(Party::Customer);
    Ok(Opened {
        record,
        rule,
        party,
        now: state.clock.now(),
    })
}

/// The party's label in English.
pub fn party_label_en(party: Party) -> &'static str {
    match party {
        Party::Customer => "the complainant",
        Party::Subject => "the person complained about",
    }
}

pub fn public_body(record: &SurveyRecord, rule: &SurveyRule, party: Party) -> PublicSurvey {
    let (title, title_en) = rule.title_for(party);
    let (intro, intro_en) = rule.intro_for(party);
    PublicSurvey {
        title: title.to_owned(),
        title_en: title_en.map(str::to_owned),
        intro: intro.map(str::to_owned),
        intro_en: intro_en.map(str::to_owned),
        party,
        party_label: party.label_zh().to_owned(),
        party_label_en: party_label_en(party).to_owned(),
        case: record.case_number.clone(),
        expires_at: timestamp(record.expires_at),
        answered: record.answered_at.is_some(),
        questions: rule
            .questions_for(party)
            .iter()
            .map(|q| QuestionBody {
                id: q.id.clone(),
                label: q.label.clone(),
                label_en: q.label_en.clone(),
                kind: q.kind.keyword().to_owned(),
                required: q.required,
                options: match &q.kind {
                    QuestionKind::Choice { options } => options
                        .iter()
                        .map(|o| OptionBody {
                            code: o.code.clone(),
                            label: o.label.clone(),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect(),
    }
}

/// Why an answer is not taken.
pub enum AnswerError {
    Expired,
    AlreadyAnswered,
    Invalid(Vec<manyi_core::engine::FieldError>),
    App(AppError),
}

impl From<AppError> for AnswerError {
    fn from(e: AppError) -> Self {
        AnswerError::App(e)
    }
}

impl From<AnswerError> for AppError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Expired => AppError::Gone(
                "此调查链接已过期 / this survey link has expired".into(),
            ),
            AnswerError::AlreadyAnswered => AppError::Conflict(
                "此调查已提交过，每个链接只能提交一次 / this survey was already answered; a link takes one answer"
                    .into(),
            ),
            AnswerError::Invalid(fields) => AppError::Refused(Refusal {
                reason: RefusalReason::InvalidFields,
                clause: None,
                message_zh: format!("{} 项回答有误", fields.len()),
                message: format!("{} answer(s) invalid", fields.len()),
                fields,
            }),
            AnswerError::App(e) => e,
        }
    }
}

/// Records the answers to the survey `record`: checked against the questions of the party it
/// was addressed to, once.
pub async fn answer(
    state: &AppState,
    opened: &Opened,
    answers: &Map<String, Value>,
) -> Result<(), AnswerError> {
    let Opened {
        record,
        rule,
        party,
        now,
    } = opened;
    let now = *now;
    if record.answered_at.is_some() {
        return Err(AnswerError::AlreadyAnswered);
    }
    if now >= record.expires_at {
        return Err(AnswerError::Expired);
    }
    let clean =
        survey::validate_party_answers(rule, *party, answers).map_err(AnswerError::Invalid)?;
    let taken = state
        .store
        .answer_survey(record.id, &Value::Object(clean), now)
        .await
        .map_err(AppError::from)?;
    if taken {
        Ok(())
    } else {
        Err(AnswerError::AlreadyAnswered)
    }
}

/// `GET /api/v1/public/surveys/{token}` (no login).
pub async fn public_show(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<axum::Json<PublicSurvey>, AppError> {
    let o = open_token(&state, &token).await?;
    if o.record.answered_at.is_none() && o.now >= o.record.expires_at {
        return Err(AnswerError::Expired.into());
    }
    Ok(axum::Json(public_body(&o.record, &o.rule, o.party)))
}

/// `POST /api/v1/public/surveys/{token}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answers: Map<String, Value>,
}

/// `POST /api/v1/public/surveys/{token}` (no login): one answer per token.
pub async fn public_answer(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<axum::Json<Value>, AppError> {
    let opened = open_token(&state, &token).await?;
    answer(&state, &opened, &req.answers).await?;
    Ok(axum::Json(serde_json::json!({
        "status": "answered",
        "message_zh": "感谢您的评价！",
        "message": "Thank you for your feedback.",
    })))
}

/// `GET /api/v1/surveys/results` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsQuery {
    /// Answered from (inclusive): RFC 3339 or `YYYY-MM-DD` (Asia/Shanghai).
    pub from: Option<String>,
    /// Answered before (exclusive).
    pub to: Option<String>,
    /// `unit` (default), `person` (the handler), `category`, `party`, `month` or `quarter`
    /// (answered in), or two of them joined by a comma (`party,unit`).
    pub by: Option<String>,
}

/// One group of results.
#[derive(Serialize, Default)]
pub struct ResultGroup {
    /// The group's keys, one per `by` dimension, joined by `|` (`subject|U01`).
    pub key: String,
    /// Their labels joined by ` · `.
    pub label: String,
    /// Each dimension's key and label, in the order `by` names them.
    pub parts: Vec<KeyPart>,
    /// Answered surveys.
    pub answered: u64,
    /// Mean of the rating answers (1–5), over every rating question.
    pub mean_rating: Option<f64>,
    /// Rating answers of 1, 2, 3, 4 and 5.
    pub ratings: [u64; 5],
    /// Share of rating answers of 4 or 5 (满意率).
    pub satisfied_share: Option<f64>,
    /// The answers question by question (rating and choice questions; a text question counts
    /// its answers only: free text may carry personal data), in the order the policy asks.
    pub questions: Vec<QuestionResult>,
}

/// One dimension of a group's key.
#[derive(Serialize, Default, Clone, Debug)]
pub struct KeyPart {
    /// `unit`, `person`, `category`, `party`, `month` or `quarter`.
    pub by: String,
    pub key: String,
    pub label: String,
}

/// The answers to one question within a group.
#[derive(Serialize, Default, Clone)]
pub struct QuestionResult {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    /// `rating`, `choice` or `text`.
    pub kind: String,
    /// Surveys of the group that answered it.
    pub answered: u64,
    /// Rating questions: answers of 1, 2, 3, 4 and 5, their mean and the share of 4 or 5.
    pub ratings: [u64; 5],
    pub mean_rating: Option<f64>,
    pub satisfied_share: Option<f64>,
    /// Choice questions: each option with its count, in the policy's order.
    pub options: Vec<OptionCount>,
}

/// One option of a choice question and how often it was chosen.
#[derive(Serialize, Default, Clone)]
pub struct OptionCount {
    pub code: String,
    pub label: String,
    pub count: u64,
}

#[derive(Serialize)]
pub struct ResultsBody {
    pub by: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub groups: Vec<ResultGroup>,
    pub total: ResultGroup,
}

fn add(group: &mut ResultGroup, record: &SurveyRecord, rule: Option<&SurveyRule>, party: Party) {
    group.answered += 1;
    let Some(rule) = rule else {
        return;
    };
    for q in rule.questions_for(party) {
        let answer = record.answers.get(&q.id).filter(|v| !v.is_null());
        // Questions are keyed by id: two policy versions asking the same id are one row.
        let slot = match group.questions.iter().position(|r| r.id == q.id) {
            Some(i) => i,
            None => {
                group.questions.push(QuestionResult {
                    id: q.id.clone(),
                    label: q.label.clone(),
                    label_en: q.label_en.clone(),
                    kind: q.kind.keyword().to_owned(),
                    options: match &q.kind {
                        QuestionKind::Choice { options } => options
                            .iter()
                            .map(|o| OptionCount {
                                code: o.code.clone(),
                                label: o.label.clone(),
                                count: 0,
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                    ..QuestionResult::default()
                });
                group.questions.len() - 1
            }
        };
        let Some(answer) = answer else { continue };
        let question = &mut group.questions[slot];
        question.answered += 1;
        match &q.kind {
            QuestionKind::Rating => {
                if let Some(n) = answer.as_i64()
                    && (1..=5).contains(&n)
                    && let Some(i) = usize::try_from(n - 1).ok()
                {
                    if let Some(c) = group.ratings.get_mut(i) {
                        *c += 1;
                    }
                    if let Some(c) = question.ratings.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            QuestionKind::Choice { .. } => {
                if let Some(code) = answer.as_str() {
                    match question.options.iter_mut().find(|o| o.code == code) {
                        Some(o) => o.count += 1,
                        // An option a later policy version dropped: still counted, by code.
                        None => question.options.push(OptionCount {
                            code: code.to_owned(),
                            label: code.to_owned(),
                            count: 1,
                        }),
                    }
                }
            }
            QuestionKind::Text { .. } => {}
        }
    }
}

/// Mean and share of 4–5 of rating counts, rounded to two decimals (what a report shows).
fn rating_stats(ratings: &[u64; 5]) -> (Option<f64>, Option<f64>) {
    let count: u64 = ratings.iter().sum();
    if count == 0 {
        return (None, None);
    }
    let sum: u64 = ratings.iter().zip(1u64..).map(|(n, score)| n * score).sum();
    let round = |x: f64| (x * 100.0).round() / 100.0;
    (
        Some(round(sum as f64 / count as f64)),
        Some(round((ratings[3] + ratings[4]) as f64 / count as f64)),
    )
}

fn finish(group: &mut ResultGroup) {
    (group.mean_rating, group.satisfied_share) = rating_stats(&group.ratings);
    for q in &mut group.questions {
        (q.mean_rating, q.satisfied_share) = rating_stats(&q.ratings);
    }
}

/// `GET /api/v1/surveys/results?from&to&by=unit|person|category|party|month|quarter[,…]`: answered surveys in the
/// caller's jurisdiction (their unit's subtree; an admin sees all), grouped.
pub async fn results(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ResultsQuery>,
) -> Result<axum::Json<ResultsBody>, AppError> {
    Ok(axum::Json(results_for(&state, &user.0, q).await?))
}

/// A dimension results are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Unit,
    Person,
    Category,
    Party,
    /// The month the survey was answered (Asia/Shanghai).
    Month,
    /// The quarter the survey was answered.
    Quarter,
}

/// Every dimension, in the order the API and the page list them.
pub const DIMS: [&str; 6] = ["unit", "person", "category", "party", "month", "quarter"];

impl Dim {
    fn parse(s: &str) -> Option<Dim> {
        Some(match s {
            "unit" => Dim::Unit,
            "person" => Dim::Person,
            "category" => Dim::Category,
            "party" => Dim::Party,
            "month" => Dim::Month,
            "quarter" => Dim::Quarter,
            _ => return None,
        })
    }
}

/// `by`: one dimension, or two joined by a comma (`party,unit`: each party within each unit);
/// refused naming the value otherwise.
pub fn parse_by(by: &str) -> Result<Vec<Dim>, String> {
    let parts: Vec<&str> = by.split(',').map(str::trim).collect();
    let mut dims = Vec::new();
    for p in &parts {
        let Some(d) = Dim::parse(p) else {
            return Err(format!(
                "`by` is one of {} or two of them joined by a comma (e.g. `party,unit`), not `{by}`",
                DIMS.join(", ")
            ));
        };
        if dims.contains(&d) {
            return Err(format!("`by` names `{p}` twice in `{by}`"));
        }
        dims.push(d);
    }
    if dims.len() > 2 {
        return Err(format!(
            "`by` groups by at most two dimensions, not {} (`{by}`)",
            dims.len()
        ));
    }
    Ok(dims)
}

/// The survey results `user` may see (their unit's subtree; an admin all), grouped as `q`
/// asks: the API's and the results page's one implementation. Each survey is counted with the
/// questions of the party it was addressed to.
pub async fn results_for(
    state: &AppState,
    user: &User,
    q: ResultsQuery,
) -> Result<ResultsBody, AppError> {
    let by = q.by.clone().unwrap_or_else(|| "unit".into());
    let dims = parse_by(&by).map_err(AppError::BadRequest)?;
    let instant = |name: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| crate::api::cases::parse_instant(name, s))
            .transpose()
    };
    let filter = SurveyFilter {
        from: instant("from", &q.from)?,
        to: instant("to", &q.to)?,
        unit_path: (!is_admin(user)).then(|| user.unit_path.clone()),
    };
    let records = state.store.answered_surveys(&filter).await?;
    // Who each link went to: its questions, and `by=party`. A survey without a party row is
    // the customer's.
    let parties: BTreeMap<i64, String> = {
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        state
            .store
            .survey_parties(&ids)
            .await?
            .into_iter()
            .collect()
    };
    let mut policies: BTreeMap<i64, std::sync::Arc<crate::policies::Compiled>> = BTreeMap::new();
    let mut groups: BTreeMap<String, ResultGroup> = BTreeMap::new();
    let mut total = ResultGroup {
        key: "*".into(),
        label: "合计".into(),
        ..ResultGroup::default()
    };
    for r in &records {
        if let std::collections::btree_map::Entry::Vacant(slot) = policies.entry(r.policy_id) {
            slot.insert(state.policies.get(&state.store, r.policy_id).await?);
        }
        let kind = policies.get(&r.policy_id).and_then(|p| p.kind(&r.kind));
        let rule = kind.and_then(|k| k.survey.as_ref());
        let party = parties
            .get(&r.id)
            .and_then(|p| Party::parse(p))
            .unwrap_or(Party::Customer);
        let parts: Vec<KeyPart> = dims.iter().map(|d| key_part(*d, r, kind, party)).collect();
        let gkey = parts
            .iter()
            .map(|p| p.key.as_str())
            .collect::<Vec<_>>()
            .join("|");
        let group = groups.entry(gkey.clone()).or_insert_with(|| ResultGroup {
            key: gkey,
            label: parts
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
            parts: parts.clone(),
            ..ResultGroup::default()
        });
        add(group, r, rule, party);
        add(&mut total, r, rule, party);
    }
    let mut groups: Vec<ResultGroup> = groups.into_values().collect();
    groups.iter_mut().for_each(finish);
    finish(&mut total);
    Ok(ResultsBody {
        by,
        from: q.from,
        to: q.to,
        groups,
        total,
    })
}

/// One dimension's key and label of a survey.
fn key_part(
    dim: Dim,
    r: &SurveyRecord,
    kind: Option<&manyi_core::policy::CaseKind>,
    party: Party,
) -> KeyPart {
    let (by, key, label) = match dim {
        Dim::Party => {
            let key = if party == Party::Subject {
                "subject"
            } else {
                "customer"
            };
            ("party", key.to_owned(), party.label_zh().to_owned())
        }
        Dim::Person => (
            "person",
            r.handler_login.clone().unwrap_or_else(|| "-".into()),
            r.handler_name.clone().unwrap_or_else(|| "（无）".into()),
        ),
        Dim::Category => {
            let code = r.category.clone().unwrap_or_else(|| "-".into());
            let label = kind
                .and_then(|k| k.field("category"))
                .and_then(|f| match &f.field_type {
                    manyi_core::policy::FieldType::Choice { options } => options
                        .iter()
                        .find(|o| o.code == code)
                        .map(|o| o.label.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| code.clone());
            ("category", code, label)
        }
        Dim::Month | Dim::Quarter => {
            let period = if dim == Dim::Month {
                Period::Monthly
            } else {
                Period::Quarterly
            };
            let key = r
                .answered_at
                .map(|at| survey_schedule::period_key(period, at))
                .unwrap_or_else(|| "-".into());
            (
                if dim == Dim::Month {
                    "month"
                } else {
                    "quarter"
                },
                key.clone(),
                key,
            )
        }
        Dim::Unit => ("unit", r.unit_code.clone(), r.unit_name.clone()),
    };
    KeyPart {
        by: by.to_owned(),
        key,
        label,
    }
}

fn is_admin(user: &User) -> bool {
    user.roles.iter().any(|r| r == "admin")
}
