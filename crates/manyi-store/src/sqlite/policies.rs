//! SQLite: runs the policy-version statements of [`crate::policies`], with its own spelling of
//! those that test or set the `active` flag (0/1).

use jiff::Timestamp;

use super::{SqliteStore, decode_all};
use crate::policies::{self as sql, NextVersion};
use crate::rows::policy_columns;
use crate::time::to_millis;
use crate::{PolicyRecord, StoreError, rows};

/// Binds: name.
const ACTIVE_BY_NAME: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE name = ? AND active = 1"
);
const ALL_ACTIVE: &str = concat!(
    "SELECT ",
    policy_columns!(),
    " FROM policy_versions WHERE active = 1 ORDER BY name"
);
/// Binds: name.
const DEACTIVATE: &str = "UPDATE policy_versions SET active = 0 WHERE name = ? AND active = 1";
/// Binds: activated at, id.
const ACTIVATE: &str = concat!(
    "UPDATE policy_versions SET active = 1, activated_at = ? WHERE id = ? RETURNING ",
    policy_columns!()
);

impl SqliteStore {
    pub(crate) async fn store_policy_version(
        &self,
        name: &str,
        source: &str,
        source_hash: &str,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
        let target = sqlx::query(sql::BY_ID)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(rows::policy)
            .transpose()?
            .ok_or_else(|| sql::unknown_version(id))?;
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
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn active_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(ALL_ACTIVE).fetch_all(&self.read).await?;
        decode_all(&rows, rows::policy)
    }

    pub(crate) async fn policy_by_id(&self, id: i64) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(sql::BY_ID)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn policy_versions(
        &self,
        name: &str,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(sql::VERSIONS_OF)
            .bind(name)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rows::policy)
    }
}
