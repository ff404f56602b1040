//! PostgreSQL: to whom a survey link was addressed (`crate::survey_parties`, migration 0018).

use super::PgStore;
use crate::StoreError;

impl PgStore {
    pub(crate) async fn record_survey_party(
        &self,
        token_hash: &str,
        party: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO survey_parties (token_hash, party) VALUES ($1, $2)")
            .bind(token_hash)
            .bind(party)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn survey_party(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT party FROM survey_parties WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(crate) async fn survey_parties(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id, p.party FROM surveys s \
             JOIN survey_parties p ON p.token_hash = s.token_hash \
             WHERE s.id = ANY($1) ORDER BY s.id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }
}
