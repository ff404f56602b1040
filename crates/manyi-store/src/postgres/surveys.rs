//! PostgreSQL: runs the satisfaction surveys' statements, which [`crate::surveys`] spells for both
//! backends.

use serde_json::Value;
use sqlx::Postgres;
use sqlx::types::Json;

use super::{PgStore, decode_all};
use crate::StoreError;
use crate::rows::RowExt;
use crate::surveys::{self as sql, NewSurvey, SurveyFilter, SurveyRecord, survey};
use crate::time::to_millis;

impl PgStore {
    pub(crate) async fn insert_survey(&self, s: NewSurvey) -> Result<SurveyRecord, StoreError> {
        let mut tx = self.tx().await?;
        let id = sql::insert::<Postgres>(&s)
            .fetch_one(&mut *tx)
            .await?
            .int("id")?;
        let row = sqlx::query(sql::SURVEY_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = survey(&row)?;
        tx.commit().await?;
        Ok(record)
    }

    pub(crate) async fn survey_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SurveyRecord>, StoreError> {
        let row = sqlx::query(sql::SURVEY_BY_TOKEN_HASH)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(survey).transpose()?)
    }

    pub(crate) async fn answer_survey(
        &self,
        id: i64,
        answers: &Value,
        at: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.tx().await?;
        let done = sqlx::query(sql::ANSWER_SURVEY)
            .bind(Json(answers))
            .bind(to_millis(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn answered_surveys(
        &self,
        f: &SurveyFilter,
    ) -> Result<Vec<SurveyRecord>, StoreError> {
        let rows = sql::answered::<Postgres>(f)?
            .build()
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, survey)
    }
}
