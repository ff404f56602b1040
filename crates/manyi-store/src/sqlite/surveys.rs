//! SQLite: satisfaction surveys.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite};

use super::{SqliteStore, decode_all};
use crate::StoreError;
use crate::surveys::{NewSurvey, SurveyFilter, SurveyRecord, survey, survey_select};
use crate::time::to_millis;
use crate::tree::subtree_range;

impl SqliteStore {
    pub(crate) async fn insert_survey(&self, s: NewSurvey) -> Result<SurveyRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO surveys (token_hash, case_id, kind, unit_id, handler_id, category, \
             issued_by, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&s.token_hash)
        .bind(s.case_id)
        .bind(&s.kind)
        .bind(s.unit_id)
        .bind(s.handler_id)
        .bind(&s.category)
        .bind(s.issued_by)
        .bind(to_millis(s.issued_at))
        .bind(to_millis(s.expires_at))
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query(concat!(survey_select!(), " WHERE s.id = ?"))
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
        let row = sqlx::query(concat!(survey_select!(), " WHERE s.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(survey).transpose()?)
    }

    pub(crate) async fn answer_survey(
        &self,
        id: i64,
        answers: &Value,
        at: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE surveys SET answers = ?, answered_at = ? WHERE id = ? AND answered_at IS NULL",
        )
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
        let mut q = QueryBuilder::<Sqlite>::new(concat!(
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
        let rows = q.build().fetch_all(&self.read).await?;
        decode_all(&rows, survey)
    }
}
