//! SQLite: to whom a survey link was addressed (`crate::survey_parties`, migration 0018).

use super::SqliteStore;
use crate::StoreError;

impl SqliteStore {
    pub(crate) async fn record_survey_party(
        &self,
        token_hash: &str,
        party: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO survey_parties (token_hash, party) VALUES (?, ?)")
            .bind(token_hash)
            .bind(party)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn survey_party(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT party FROM survey_parties WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub(crate) async fn survey_parties(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        // The ids as one JSON array parameter, so the statement stays static.
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_as(
            "SELECT s.id, p.party FROM surveys s \
             JOIN survey_parties p ON p.token_hash = s.token_hash \
             WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY s.id",
        )
        .bind(ids)
        .fetch_all(&self.read)
        .await?)
    }
}
