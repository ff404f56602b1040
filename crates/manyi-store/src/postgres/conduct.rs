//! PostgreSQL: conduct recorded without a case ([`crate::conduct`] spells the statements).

use sqlx::{PgConnection, Postgres};

use super::PgStore;
use crate::conduct::{self as sql, ConductOutcome, NewConduct};
use crate::ledger::{self, reference_error};
use crate::rows::RowExt;
use crate::{Idempotency, StoreError, ViolationRecord};

/// What the key already stored says, if it is stored.
async fn stored(
    conn: &mut PgConnection,
    idem: &Idempotency,
) -> Result<Option<ConductOutcome>, StoreError> {
    let found = sqlx::query(sql::KEY_LOOKUP)
        .bind(idem.user_id)
        .bind(&idem.key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let hash = row.text("request_hash")?;
    let id = row.int("violation_id")?;
    let record = sqlx::query(ledger::VIOLATION_BY_ID)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some(sql::replay(
        &hash,
        &idem.request_hash,
        ledger::violation(&record)?,
    )))
}

impl PgStore {
    pub(crate) async fn record_conduct(
        &self,
        c: &NewConduct,
    ) -> Result<ConductOutcome, StoreError> {
        let mut tx = self.tx().await?;
        if let Some(idem) = &c.idempotency
            && let Some(outcome) = stored(&mut tx, idem).await?
        {
            return Ok(outcome);
        }
        let row = sql::insert_violation::<Postgres>(c)
            .fetch_one(&mut *tx)
            .await
            .map_err(reference_error)?;
        let id = row.int("id")?;
        for person in &c.person_ids {
            sqlx::query(ledger::INSERT_VIOLATION_PERSON)
                .bind(id)
                .bind(person)
                .execute(&mut *tx)
                .await
                .map_err(reference_error)?;
        }
        let v = c.as_violation();
        for p in &c.penalties {
            ledger::insert_penalty::<Postgres>(id, None, &v, p)
                .execute(&mut *tx)
                .await
                .map_err(reference_error)?;
        }
        if let Some(idem) = &c.idempotency {
            let done = sqlx::query(sql::KEY_INSERT)
                .bind(idem.user_id)
                .bind(&idem.key)
                .bind(&idem.request_hash)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(reference_error)?;
            if done.rows_affected() == 0 {
                // A concurrent request with the same key committed first: undo ours and
                // answer with theirs.
                tx.rollback().await?;
                let mut conn = self.pool.acquire().await?;
                return stored(&mut conn, idem).await?.ok_or(StoreError::Conflict);
            }
        }
        let record = sqlx::query(ledger::VIOLATION_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = ledger::violation(&record)?;
        tx.commit().await?;
        Ok(ConductOutcome::Created(record))
    }

    pub(crate) async fn violation_by_id(
        &self,
        id: i64,
    ) -> Result<Option<ViolationRecord>, StoreError> {
        let row = sqlx::query(ledger::VIOLATION_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ledger::violation).transpose()?)
    }

    /// Runs `migrations` ([`crate::Store::migrate_below_for_tests`]).
    pub(crate) async fn migrate_with(
        &self,
        migrations: &[crate::migrate::Embedded],
    ) -> Result<(), StoreError> {
        crate::migrate::migrator(migrations).run(&self.pool).await?;
        Ok(())
    }
}
