//! PostgreSQL: runs the policy-version statements of [`crate::policies`], with its own
//! spelling of those that test or set the `active` flag (BOOLEAN).
//!
//! Storing and activating versions of one policy take that policy's advisory lock: the next
//! version number is read and then written, and the active flag moves from one row to another,
//! and two instances doing either at once must not interleave.

use jiff::Timestamp;

use super::{LockKey, PgStore, decode_all, lock};
use crate::policies::{self as sql, NextVersion};
use crate::rows::policy_columns;
use crate::time::to_millis;
use crate::{PolicyRecord, StoreError, rows};

/// Binds: name.
const ACTIVE_BY_NAME: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE name = $1 AND active"
);
const ALL_ACTIVE: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE active ORDER BY name"
);
/// Binds: name.
const DEACTIVATE: &str = "UPDATE policy_versions SET active = FALSE WHERE name = $1 AND active";
/// Binds: activated at, id.
const ACTIVATE: &str = concat!(
    "UPDATE policy_versions SET active = TRUE, activated_at = $1 WHERE id = $2 RETURNING ",
    policy_columns!()
);

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
        let latest = sqlx::query(sql::LATEST_VERSION)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(rows::policy)
            .transpose()?;
        let next_version = match sql::next_version(latest, source_hash) {
            NextVersion::Unchanged(latest) => {
                tx.commit().await?;
                return Ok(latest);
            }
            NextVersion::New(version) => version,
        };
        let row = sqlx::query(sql::INSERT_VERSION)
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
            .ok_or_else(|| sql::unknown_version(id))?;
        lock(&mut tx, LockKey::Policy(&name)).await?;
        let target = sqlx::query(sql::BY_ID).bind(id).fetch_one(&mut *tx).await?;
        let target = rows::policy(&target)?;
        if target.active {
            tx.commit().await?;
            return Ok(target);
        }
        // Deactivate first: the partial unique index allows one active row per name at every
        // statement boundary.
        sqlx::query(DEACTIVATE)
            .bind(&target.name)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(ACTIVATE)
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
        let row = sqlx::query(ACTIVE_BY_NAME)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn active_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(ALL_ACTIVE).fetch_all(&self.pool).await?;
        decode_all(&rows, rows::policy)
    }

    pub(crate) async fn policy_by_id(&self, id: i64) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(sql::BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn policy_versions(
        &self,
        name: &str,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(sql::VERSIONS_OF)
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
        decode_all(&rows, rows::policy)
    }
}
