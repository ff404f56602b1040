//! The archive read log, PostgreSQL dialect.

use super::{PgStore, decode_all};
use crate::StoreError;
use crate::error::is_foreign_key_violation;
use crate::reads::{self, CaseReadRecord, NewCaseRead};
use crate::time::to_millis;

impl PgStore {
    pub(crate) async fn log_case_read(&self, r: &NewCaseRead) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO case_reads (case_id, user_id, at, interface, what, granted) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.case_id)
        .bind(r.user_id)
        .bind(to_millis(r.at))
        .bind(&r.interface)
        .bind(&r.what)
        .bind(r.granted)
        .execute(&self.pool)
        .await
        .map_err(reference_error)?;
        Ok(())
    }

    pub(crate) async fn case_reads(&self, case_id: i64) -> Result<Vec<CaseReadRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.case_id, r.user_id, u.login, r.at, r.interface, r.what, r.granted \
             FROM case_reads r JOIN users u ON u.id = r.user_id WHERE r.case_id = $1 ORDER BY r.id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, reads::read)
    }
}

fn reference_error(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        StoreError::Invalid {
            what: "case read",
            reason: "refers to an unknown case or user".to_owned(),
        }
    } else {
        e.into()
    }
}
