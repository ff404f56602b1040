//! SQLite: routine survey rounds (`crate::survey_rounds`, migration 0021). `BEGIN IMMEDIATE`
//! serialises two instances' claims of one round: the second finds the key taken.

use jiff::Timestamp;
use sqlx::Sqlite;

use super::{SqliteStore, decode_all};
use crate::StoreError;
use crate::rows::RowExt;
use crate::survey_rounds::{
    self as sql, NewRound, RoundInvitation, RoundRecord, invitation, round,
};
use crate::surveys::insert;
use crate::time::to_millis;

impl SqliteStore {
    pub(crate) async fn run_survey_round(
        &self,
        r: NewRound,
    ) -> Result<Option<RoundRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar(sql::CLAIM_ROUND)
            .bind(&r.schedule_key)
            .bind(&r.round_key)
            .bind(to_millis(r.period_from))
            .bind(to_millis(r.period_to))
            .bind(to_millis(r.ran_at))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(None);
        };
        for s in &r.surveys {
            let survey_id = insert::<Sqlite>(&s.survey)
                .fetch_one(&mut *tx)
                .await?
                .int("id")?;
            sqlx::query(sql::INSERT_INVITATION)
                .bind(survey_id)
                .bind(id)
                .bind(&s.message_zh)
                .bind(&s.message_en)
                .execute(&mut *tx)
                .await?;
        }
        let issued = i64::try_from(r.surveys.len()).unwrap_or(i64::MAX);
        sqlx::query(sql::SET_ISSUED)
            .bind(issued)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(RoundRecord {
            id,
            schedule_key: r.schedule_key,
            round_key: r.round_key,
            period_from: r.period_from,
            period_to: r.period_to,
            ran_at: r.ran_at,
            issued,
        }))
    }

    pub(crate) async fn survey_rounds(
        &self,
        schedule_key: &str,
        limit: u32,
    ) -> Result<Vec<RoundRecord>, StoreError> {
        let rows = sqlx::query(sql::ROUNDS)
            .bind(schedule_key)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, round)
    }

    pub(crate) async fn survey_round_invitations(
        &self,
        round_id: i64,
    ) -> Result<Vec<RoundInvitation>, StoreError> {
        let rows = sqlx::query(sql::INVITATIONS)
            .bind(round_id)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, invitation)
    }

    pub(crate) async fn set_survey_schedule_period(
        &self,
        schedule_key: &str,
        period: Option<&str>,
        set_by: Option<i64>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        match period {
            Some(p) => {
                sqlx::query(sql::SET_PERIOD)
                    .bind(schedule_key)
                    .bind(p)
                    .bind(set_by)
                    .bind(to_millis(at))
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query(sql::CLEAR_PERIOD)
                    .bind(schedule_key)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn survey_schedule_periods(
        &self,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(sql::PERIODS).fetch_all(&self.read).await?)
    }

    pub(crate) async fn closed_case_ids(
        &self,
        kind: &str,
        from: Timestamp,
        to: Timestamp,
        schedule_key: &str,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::CLOSED_CASES)
            .bind(kind)
            .bind(to_millis(from))
            .bind(to_millis(to))
            .bind(schedule_key)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?)
    }
}
