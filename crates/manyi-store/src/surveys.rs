//! Satisfaction surveys: the records, the [`Store`] methods, and the row decoding both
//! backends share. A survey row holds the hash of its token, never the token; it is answered
//! once, by a conditional update.

use jiff::Timestamp;
use serde_json::Value;

use crate::rows::RowExt;
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
pub(crate) use survey_select;

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
