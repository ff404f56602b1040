//! PostgreSQL: policy versions.
//!
//! A version, once stored, never changes (the database refuses it, see the migration's
//! triggers). Storing and activating versions of one policy take that policy's advisory lock:
//! the next version number is read and then written, and the active flag moves from one row to
//! another, and two instances doing either at once must not interleave.

use jiff::Timestamp;

use super::{LockKey, PgStore, decode_all, lock};
use crate::rows::policy_columns;
use crate::time::to_millis;
use crate::{PolicyRecord, StoreError, rows};

impl PgStore {
    pub(crate) async fn store_policy_version(
        &self,
        name: &str,
        source: &str,
        source_hash: &str,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.tx().await?;
        lock(&mut tx, LockKey::Policy(name)).await?;
        let latest = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE name = $1 ORDER BY version DESC LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(rows::policy)
        .transpose()?;

        let next_version = match latest {
            // Re-uploading the same text must not mint a new version (cases would then refer
            // to identical policies under different ids).
            Some(latest) if latest.source_hash == source_hash => {
                tx.commit().await?;
                return Ok(latest);
            }
            Some(latest) => latest.version + 1,
            None => 1,
        };
        let row = sqlx::query(concat!(
            "INSERT INTO policy_versions (name, version, source, source_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING ",
            policy_columns!()
        ))
        .bind(name)
        .bind(next_version)
        .bind(source)
        .bind(source_hash)
        .bind(to_millis(now))
        .fetch_one(&mut *tx)
        .await?;
        let stored = rows::policy(&row)?;
        tx.commit().await?;
        tracing::info!(policy = %stored.name, version = stored.version, id = stored.id, "policy version stored");
        Ok(stored)
    }

    pub(crate) async fn activate_policy(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.tx().await?;
        // The name is immutable, so it can be read before the lock; the rest is read after.
        let name: String = sqlx::query_scalar("SELECT name FROM policy_versions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "policy version",
                key: format!("id {id}"),
            })?;
        lock(&mut tx, LockKey::Policy(&name)).await?;
        let target = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let target = rows::policy(&target)?;
        if target.active {
            tx.commit().await?;
            return Ok(target);
        }
        // Deactivate first: the partial unique index allows one active row per name at every
        // statement boundary.
        sqlx::query("UPDATE policy_versions SET active = FALSE WHERE name = $1 AND active")
            .bind(&target.name)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(concat!(
            "UPDATE policy_versions SET active = TRUE, activated_at = $1 WHERE id = $2 \
             RETURNING ",
            policy_columns!()
        ))
        .bind(to_millis(now))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let activated = rows::policy(&row)?;
        tx.commit().await?;
        tracing::info!(policy = %activated.name, version = activated.version, id, "policy version activated");
        Ok(activated)
    }

    pub(crate) async fn active_policy(
        &self,
        name: &str,
    ) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE name = $1 AND active"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn active_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE active ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::policy)
    }

    pub(crate) async fn policy_by_id(&self, id: i64) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn policy_versions(
        &self,
        name: &str,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE name = $1 ORDER BY version"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::policy)
    }
}
