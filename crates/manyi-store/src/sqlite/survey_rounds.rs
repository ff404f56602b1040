//! SQLite: runs the routine-survey-round statements of [`crate::survey_rounds`] (migration
//! 0021). `BEGIN IMMEDIATE` serialises two instances' claims of one round: the second finds
//! the key taken.

use jiff::Timestamp;
use sqlx::Sqlite;

use super::{SqliteStore, decode_all};
use crate::StoreError;
use crate::rows::RowExt;
use crate::survey_rounds::{self as sql, NewRound, RoundInvitation, RoundRecord};
use crate::surveys::insert;

impl SqliteStore {
    pub(crate) async fn run_survey_round(
        &self,
        r: NewRound,
    ) -> Result<Option<RoundRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(id) = sql::claim::<Sqlite>(&r).fetch_optional(&mut *tx).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        for s in &r.surveys {
            if let Some(party) = sql::party::<Sqlite>(s) {
                party.execute(&mut *tx).await?;
            }
            let survey_id = insert::<Sqlite>(&s.survey)
                .fetch_one(&mut *tx)
                .await?
                .int("id")?;
            sql::invitation_text::<Sqlite>(survey_id, id, s)
                .execute(&mut *tx)
                .await?;
        }
        let issued = sql::issued(&r);
        sqlx::query(sql::SET_ISSUED)
            .bind(issued)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(sql::ran(r, id, issued)))
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
        decode_all(&rows, sql::round)
    }

    pub(crate) async fn survey_round_invitations(
        &self,
        round_id: i64,
    ) -> Result<Vec<RoundInvitation>, StoreError> {
        let rows = sqlx::query(sql::INVITATIONS)
            .bind(round_id)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, sql::invitation)
    }

    pub(crate) async fn set_survey_schedule_period(
        &self,
        schedule_key: &str,
        period: Option<&str>,
        set_by: Option<i64>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::set_period::<Sqlite>(schedule_key, period, set_by, at)
            .execute(&mut *tx)
            .await?;
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
        Ok(
            sql::closed_cases::<Sqlite>(kind, from, to, schedule_key, limit)
                .fetch_all(&self.read)
                .await?,
        )
    }
}
