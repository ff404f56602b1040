//! SQLite: conduct recorded without a case ([`crate::conduct`] spells the statements).

use sqlx::Sqlite;

use super::SqliteStore;
use crate::conduct::{self as sql, ConductOutcome, NewConduct};
use crate::ledger::{self, reference_error};
use crate::rows::RowExt;
use crate::{StoreError, ViolationRecord};

impl SqliteStore {
    pub(crate) async fn record_conduct(
        &self,
        c: &NewConduct,
    ) -> Result<ConductOutcome, StoreError> {
        // BEGIN IMMEDIATE: the key lookup and the writes are one step for every writer.
        let mut tx = self.write_tx().await?;
        if let Some(idem) = &c.idempotency {
            let found = sqlx::query(sql::KEY_LOOKUP)
                .bind(idem.user_id)
                .bind(&idem.key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = found {
                let hash = row.text("request_hash")?;
                let id = row.int("violation_id")?;
                let record = sqlx::query(ledger::VIOLATION_BY_ID)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Ok(sql::replay(
                    &hash,
                    &idem.request_hash,
                    ledger::violation(&record)?,
                ));
            }
        }
        let row = sql::insert_violation::<Sqlite>(c)
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
            ledger::insert_penalty::<Sqlite>(id, None, &v, p)
                .execute(&mut *tx)
                .await
                .map_err(reference_error)?;
        }
        if let Some(idem) = &c.idempotency {
            sqlx::query(sql::KEY_INSERT)
                .bind(idem.user_id)
                .bind(&idem.key)
                .bind(&idem.request_hash)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(reference_error)?;
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
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(ledger::violation).transpose()?)
    }

    /// Runs `migrations` ([`crate::Store::migrate_below_for_tests`]).
    pub(crate) async fn migrate_with(
        &self,
        migrations: &[crate::migrate::Embedded],
    ) -> Result<(), StoreError> {
        crate::migrate::migrator(migrations)
            .run(&self.write)
            .await?;
        Ok(())
    }
}
