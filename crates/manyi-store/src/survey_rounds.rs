//! Routine survey rounds (migration 0021): the organisation's period for a schedule the policy
//! leaves to configuration, the rounds run, and the invitation texts of the surveys a round
//! issued.
//!
//! Exactly once per period, with several instances: [`Store::run_survey_round`] claims the
//! round by inserting its `(schedule_key, round_key)` row — unique — in the same transaction
//! that records its surveys. An instance racing for the same round waits on the key (PostgreSQL)
//! or on the write lock (SQLite), then inserts nothing and records nothing: the conditional
//! write the timers use, on a key instead of a pending flag.
//!
//! As for the other concerns (`web.rs`, `timers.rs`), this module holds what both backends
//! share — the SQL, the statements with their binds (generic over the backend), the records
//! and the row decoding; `sqlite/survey_rounds.rs` and `postgres/survey_rounds.rs` keep only
//! their pools and transactions.

use jiff::Timestamp;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Database, Decode, Encode, Type};

use crate::surveys::NewSurvey;
use crate::time::to_millis;
use crate::{Backend, Store, StoreError};

/// A survey a round issues, with the text that carries its link.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRoundSurvey {
    pub survey: NewSurvey,
    /// To whom the link is addressed when it is not the complainant: [`crate::SUBJECT`], the
    /// person complained about (lawfirm-complaint 三(二)(三)), recorded in the round's
    /// transaction so that its answers are counted apart. `None`: the complainant.
    pub party: Option<String>,
    pub message_zh: String,
    pub message_en: String,
}

/// A round to run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRound {
    pub schedule_key: String,
    pub round_key: String,
    pub period_from: Timestamp,
    pub period_to: Timestamp,
    pub ran_at: Timestamp,
    pub surveys: Vec<NewRoundSurvey>,
}

/// A round that ran.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRecord {
    pub id: i64,
    pub schedule_key: String,
    pub round_key: String,
    pub period_from: Timestamp,
    pub period_to: Timestamp,
    pub ran_at: Timestamp,
    pub issued: i64,
}

/// A survey a round issued and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundInvitation {
    pub survey_id: i64,
    /// The path of the unit that owned the case when the survey was issued (jurisdiction).
    pub unit_path: String,
    pub case_number: String,
    pub expires_at: Timestamp,
    pub answered: bool,
    /// [`crate::SUBJECT`] for a link to the person complained about; `None`: the complainant.
    pub party: Option<String>,
    pub message_zh: String,
    pub message_en: String,
}

/// Binds: schedule key, round key, from, to, ran at. Returns the id, or no row when the round
/// ran already.
pub(crate) const CLAIM_ROUND: &str = "INSERT INTO survey_rounds \
     (schedule_key, round_key, period_from, period_to, ran_at, issued) \
     VALUES ($1, $2, $3, $4, $5, 0) \
     ON CONFLICT (schedule_key, round_key) DO NOTHING RETURNING id";

/// Binds: issued, round id.
pub(crate) const SET_ISSUED: &str = "UPDATE survey_rounds SET issued = $1 WHERE id = $2";

/// Binds: token hash, party (`crate::survey_parties`, migration 0018).
pub(crate) const INSERT_PARTY: &str =
    "INSERT INTO survey_parties (token_hash, party) VALUES ($1, $2)";

/// Binds: survey id, round id, Chinese text, English text.
pub(crate) const INSERT_INVITATION: &str = "INSERT INTO survey_round_invitations \
     (survey_id, round_id, message_zh, message_en) VALUES ($1, $2, $3, $4)";

/// Binds: schedule key, limit.
pub(crate) const ROUNDS: &str = "SELECT id, schedule_key, round_key, period_from, period_to, \
     ran_at, issued FROM survey_rounds WHERE schedule_key = $1 \
     ORDER BY period_from DESC, id DESC LIMIT $2";

/// Binds: round id.
pub(crate) const INVITATIONS: &str = "SELECT i.survey_id, u.path AS unit_path, \
     c.number AS case_number, s.expires_at, s.answered_at, p.party, i.message_zh, i.message_en \
     FROM survey_round_invitations i JOIN surveys s ON s.id = i.survey_id \
     JOIN cases c ON c.id = s.case_id JOIN units u ON u.id = s.unit_id \
     LEFT JOIN survey_parties p ON p.token_hash = s.token_hash \
     WHERE i.round_id = $1 ORDER BY i.survey_id";

/// Binds: schedule key, period, set by, set at.
pub(crate) const SET_PERIOD: &str = "INSERT INTO survey_schedule_settings \
     (schedule_key, period, set_by, set_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (schedule_key) DO UPDATE SET period = excluded.period, \
     set_by = excluded.set_by, set_at = excluded.set_at";

/// Binds: schedule key.
pub(crate) const CLEAR_PERIOD: &str =
    "DELETE FROM survey_schedule_settings WHERE schedule_key = $1";

/// Binds: kind, from, to, schedule key, limit. `closed_at` is when the case entered its final
/// state (migration 0024, kept by triggers; NULL while open): a range of the partial index
/// `cases_closed_by_kind`. Not `updated_at`: a case closed in October and given a note in
/// November belongs to October's round.
pub(crate) const CLOSED_CASES: &str = "SELECT c.id FROM cases c WHERE c.kind = $1 \
     AND c.closed_at >= $2 AND c.closed_at < $3 \
     AND NOT EXISTS (SELECT 1 FROM surveys s \
         JOIN survey_round_invitations i ON i.survey_id = s.id \
         JOIN survey_rounds r ON r.id = i.round_id \
         WHERE s.case_id = c.id AND r.schedule_key = $4) \
     ORDER BY c.id LIMIT $5";

pub(crate) const PERIODS: &str =
    "SELECT schedule_key, period FROM survey_schedule_settings ORDER BY schedule_key";

pub(crate) fn round(row: &impl crate::rows::RowExt) -> Result<RoundRecord, sqlx::Error> {
    Ok(RoundRecord {
        id: row.int("id")?,
        schedule_key: row.text("schedule_key")?,
        round_key: row.text("round_key")?,
        period_from: row.instant("period_from")?,
        period_to: row.instant("period_to")?,
        ran_at: row.instant("ran_at")?,
        issued: row.int("issued")?,
    })
}

pub(crate) fn invitation(row: &impl crate::rows::RowExt) -> Result<RoundInvitation, sqlx::Error> {
    Ok(RoundInvitation {
        survey_id: row.int("survey_id")?,
        unit_path: row.text("unit_path")?,
        case_number: row.text("case_number")?,
        expires_at: row.instant("expires_at")?,
        answered: row.opt_instant("answered_at")?.is_some(),
        party: row.opt_text("party")?,
        message_zh: row.text("message_zh")?,
        message_en: row.text("message_en")?,
    })
}

/// The claim of round `r` ([`CLAIM_ROUND`]): its id, or no row when it ran already.
pub(crate) fn claim<DB>(r: &NewRound) -> QueryScalar<'static, DB, i64, <DB as Database>::Arguments>
where
    DB: Database,
    (i64,): for<'r> sqlx::FromRow<'r, <DB as Database>::Row>,
    for<'t> i64: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    sqlx::query_scalar(CLAIM_ROUND)
        .bind(r.schedule_key.clone())
        .bind(r.round_key.clone())
        .bind(to_millis(r.period_from))
        .bind(to_millis(r.period_to))
        .bind(to_millis(r.ran_at))
}

/// The party row of a survey not addressed to the complainant ([`INSERT_PARTY`]).
pub(crate) fn party<DB>(
    s: &NewRoundSurvey,
) -> Option<Query<'static, DB, <DB as Database>::Arguments>>
where
    DB: Database,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let party = s.party.clone()?;
    Some(
        sqlx::query(INSERT_PARTY)
            .bind(s.survey.token_hash.clone())
            .bind(party),
    )
}

/// The text of survey `survey_id`, issued by round `round_id` ([`INSERT_INVITATION`]).
pub(crate) fn invitation_text<DB>(
    survey_id: i64,
    round_id: i64,
    s: &NewRoundSurvey,
) -> Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(INSERT_INVITATION)
        .bind(survey_id)
        .bind(round_id)
        .bind(s.message_zh.clone())
        .bind(s.message_en.clone())
}

/// How many surveys round `r` issues, as stored.
pub(crate) fn issued(r: &NewRound) -> i64 {
    i64::try_from(r.surveys.len()).unwrap_or(i64::MAX)
}

/// The record of round `r`, claimed as `id`, once its surveys are written.
pub(crate) fn ran(r: NewRound, id: i64, issued: i64) -> RoundRecord {
    RoundRecord {
        id,
        schedule_key: r.schedule_key,
        round_key: r.round_key,
        period_from: r.period_from,
        period_to: r.period_to,
        ran_at: r.ran_at,
        issued,
    }
}

/// The organisation's period of a schedule set ([`SET_PERIOD`]) or, with `None`, cleared
/// ([`CLEAR_PERIOD`]).
pub(crate) fn set_period<DB>(
    schedule_key: &str,
    period: Option<&str>,
    set_by: Option<i64>,
    at: Timestamp,
) -> Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    match period {
        Some(p) => sqlx::query(SET_PERIOD)
            .bind(schedule_key.to_owned())
            .bind(p.to_owned())
            .bind(set_by)
            .bind(to_millis(at)),
        None => sqlx::query(CLEAR_PERIOD).bind(schedule_key.to_owned()),
    }
}

/// [`CLOSED_CASES`] with its binds.
pub(crate) fn closed_cases<DB>(
    kind: &str,
    from: Timestamp,
    to: Timestamp,
    schedule_key: &str,
    limit: u32,
) -> QueryScalar<'static, DB, i64, <DB as Database>::Arguments>
where
    DB: Database,
    (i64,): for<'r> sqlx::FromRow<'r, <DB as Database>::Row>,
    for<'t> i64: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    sqlx::query_scalar(CLOSED_CASES)
        .bind(kind.to_owned())
        .bind(to_millis(from))
        .bind(to_millis(to))
        .bind(schedule_key.to_owned())
        .bind(i64::from(limit))
}

impl Store {
    /// Runs a round: claims `(schedule_key, round_key)` and records its surveys and their
    /// texts, all in one transaction. `None` when the round had run already (here or on
    /// another instance): nothing is written.
    pub async fn run_survey_round(&self, r: NewRound) -> Result<Option<RoundRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.run_survey_round(r).await,
            Backend::Postgres(b) => b.run_survey_round(r).await,
        }
    }

    /// The rounds of a schedule, the latest period first.
    pub async fn survey_rounds(
        &self,
        schedule_key: &str,
        limit: u32,
    ) -> Result<Vec<RoundRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.survey_rounds(schedule_key, limit).await,
            Backend::Postgres(b) => b.survey_rounds(schedule_key, limit).await,
        }
    }

    /// The surveys round `round_id` issued, with their texts, by survey id.
    pub async fn survey_round_invitations(
        &self,
        round_id: i64,
    ) -> Result<Vec<RoundInvitation>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.survey_round_invitations(round_id).await,
            Backend::Postgres(b) => b.survey_round_invitations(round_id).await,
        }
    }

    /// Sets (or with `None` clears) the organisation's period of a schedule: `monthly` or
    /// `quarterly`.
    pub async fn set_survey_schedule_period(
        &self,
        schedule_key: &str,
        period: Option<&str>,
        set_by: Option<i64>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => {
                b.set_survey_schedule_period(schedule_key, period, set_by, at)
                    .await
            }
            Backend::Postgres(b) => {
                b.set_survey_schedule_period(schedule_key, period, set_by, at)
                    .await
            }
        }
    }

    /// Every configured period: (schedule key, `monthly` | `quarterly`).
    pub async fn survey_schedule_periods(&self) -> Result<Vec<(String, String)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.survey_schedule_periods().await,
            Backend::Postgres(b) => b.survey_schedule_periods().await,
        }
    }

    /// The ids of the cases of `kind` that entered their final state in `[from, to)` and are
    /// still closed, by id: the cases a round of the period surveys. The closing instant
    /// counts, not the last change: a case closed in the period and changed after it (a note,
    /// a callback record) is in; one closed after it is not. A case a round of `schedule_key`
    /// surveyed already is left out (a case reopened and closed again in a later period is
    /// not surveyed twice by one schedule). At most `limit`.
    pub async fn closed_case_ids(
        &self,
        kind: &str,
        from: Timestamp,
        to: Timestamp,
        schedule_key: &str,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.closed_case_ids(kind, from, to, schedule_key, limit).await,
            Backend::Postgres(b) => b.closed_case_ids(kind, from, to, schedule_key, limit).await,
        }
    }
}
