//! Satisfaction surveys: the records, the [`Store`] methods, and the row decoding both
//! backends share. A survey row holds the hash of its token, never the token; it is answered
//! once, by a conditional update.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::query::Query;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::rows::RowExt;
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{Backend, Store, StoreError};

/// A survey to record when it is issued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSurvey {
    pub token_hash: String,
    pub case_id: i64,
    pub kind: String,
    /// The unit that owns the case now.
    pub unit_id: i64,
    /// The handler (assignee) now.
    pub handler_id: Option<i64>,
    pub category: Option<String>,
    /// Who issued it (`None`: issued automatically).
    pub issued_by: Option<i64>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A stored survey.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyRecord {
    pub id: i64,
    pub case_id: i64,
    pub case_number: String,
    /// The case's policy version (its questions).
    pub policy_id: i64,
    pub kind: String,
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub handler_id: Option<i64>,
    pub handler_login: Option<String>,
    pub handler_name: Option<String>,
    pub category: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    /// Question id → answer; `Null` until answered. Personal data: never logged.
    pub answers: Value,
}

/// Which answered surveys to read for results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyFilter {
    /// Answered at or after (inclusive).
    pub from: Option<Timestamp>,
    /// Answered before (exclusive).
    pub to: Option<Timestamp>,
    /// A unit path such as `/1/5/`: surveys of units in its subtree.
    pub unit_path: Option<String>,
}

/// Every survey query: the survey joined with its case, its unit and its handler (a literal,
/// so that queries stay static SQL).
macro_rules! survey_select {
    () => {
        "SELECT s.id, s.case_id, c.number AS case_number, c.policy_id, s.kind, s.unit_id, \
         u.code AS unit_code, u.name AS unit_name, s.handler_id, h.login AS handler_login, \
         h.name AS handler_name, s.category, s.issued_at, s.expires_at, s.answered_at, \
         s.answers \
         FROM surveys s JOIN cases c ON c.id = s.case_id JOIN units u ON u.id = s.unit_id \
         LEFT JOIN users h ON h.id = s.handler_id"
    };
}

// The statements, spelt once for both backends: `$n` placeholders, which PostgreSQL and
// sqlx's SQLite driver both bind by number, and a `QueryBuilder` generic over the backend.

/// Binds: token hash, case id, kind, unit id, handler id, category, issued by, issued at,
/// expires at.
pub(crate) const INSERT_SURVEY: &str = "INSERT INTO surveys (token_hash, case_id, kind, \
     unit_id, handler_id, category, issued_by, issued_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// The statement that records survey `s`, returning its `id` ([`INSERT_SURVEY`]).
pub(crate) fn insert<DB>(s: &NewSurvey) -> Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Option<String>: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(INSERT_SURVEY)
        .bind(&s.token_hash)
        .bind(s.case_id)
        .bind(&s.kind)
        .bind(s.unit_id)
        .bind(s.handler_id)
        .bind(&s.category)
        .bind(s.issued_by)
        .bind(to_millis(s.issued_at))
        .bind(to_millis(s.expires_at))
}

/// Binds: id.
pub(crate) const SURVEY_BY_ID: &str = concat!(survey_select!(), " WHERE s.id = $1");

/// Binds: token hash.
pub(crate) const SURVEY_BY_TOKEN_HASH: &str = concat!(survey_select!(), " WHERE s.token_hash = $1");

/// Answers a survey not answered yet. Binds: answers (JSON), answered at, id.
pub(crate) const ANSWER_SURVEY: &str =
    "UPDATE surveys SET answers = $1, answered_at = $2 WHERE id = $3 AND answered_at IS NULL";

/// The answered surveys `f` selects, oldest answer first.
pub(crate) fn answered<DB>(f: &SurveyFilter) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(concat!(
        survey_select!(),
        " WHERE s.answered_at IS NOT NULL"
    ));
    if let Some(from) = f.from {
        q.push(" AND s.answered_at >= ").push_bind(to_millis(from));
    }
    if let Some(to) = f.to {
        q.push(" AND s.answered_at < ").push_bind(to_millis(to));
    }
    if let Some(path) = &f.unit_path {
        let (lo, hi) = subtree_range(path)?;
        q.push(" AND u.path >= ").push_bind(lo);
        q.push(" AND u.path < ").push_bind(hi);
    }
    q.push(" ORDER BY s.answered_at, s.id LIMIT 100000");
    Ok(q)
}

pub(crate) fn survey(row: &impl RowExt) -> Result<SurveyRecord, sqlx::Error> {
    let answered_at = row.opt_instant("answered_at")?;
    Ok(SurveyRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        case_number: row.text("case_number")?,
        policy_id: row.int("policy_id")?,
        kind: row.text("kind")?,
        unit_id: row.int("unit_id")?,
        unit_code: row.text("unit_code")?,
        unit_name: row.text("unit_name")?,
        handler_id: row.opt_int("handler_id")?,
        handler_login: row.opt_text("handler_login")?,
        handler_name: row.opt_text("handler_name")?,
        category: row.opt_text("category")?,
        issued_at: row.instant("issued_at")?,
        expires_at: row.instant("expires_at")?,
        answers: if answered_at.is_some() {
            row.json("answers")?
        } else {
            Value::Null
        },
        answered_at,
    })
}

impl Store {
    /// Records an issued survey.
    pub async fn insert_survey(&self, s: NewSurvey) -> Result<SurveyRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.insert_survey(s).await,
            Backend::Postgres(b) => b.insert_survey(s).await,
        }
    }

    /// The survey whose token has this hash.
    pub async fn survey_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SurveyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.survey_by_token_hash(token_hash).await,
            Backend::Postgres(b) => b.survey_by_token_hash(token_hash).await,
        }
    }

    /// Records the answers of survey `id` if it has none yet: `false` when it was answered
    /// already (one answer per token).
    pub async fn answer_survey(
        &self,
        id: i64,
        answers: &Value,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.answer_survey(id, answers, at).await,
            Backend::Postgres(b) => b.answer_survey(id, answers, at).await,
        }
    }

    /// The answered surveys the filter selects, oldest answer first.
    pub async fn answered_surveys(
        &self,
        filter: &SurveyFilter,
    ) -> Result<Vec<SurveyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.answered_surveys(filter).await,
            Backend::Postgres(b) => b.answered_surveys(filter).await,
        }
    }
}
