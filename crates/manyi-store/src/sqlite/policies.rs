//! SQLite: policy versions.
//!
//! A version, once stored, never changes (the database refuses it, see the migration's
//! triggers): a case records the version it was opened under and must be judged by that text
//! forever. Activating a version only flips which one new cases use.

use jiff::Timestamp;

use super::{SqliteStore, decode_all};
use crate::rows::policy_columns;
use crate::time::to_millis;
use crate::{PolicyRecord, StoreError, rows};

impl SqliteStore {
    pub(crate) async fn store_policy_version(
        &self,
        name: &str,
        source: &str,
        source_hash: &str,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let latest = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE name = ? ORDER BY version DESC LIMIT 1"
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
             VALUES (?, ?, ?, ?, ?) RETURNING ",
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
        let mut tx = self.write_tx().await?;
        let target = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(rows::policy)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "policy version",
            key: format!("id {id}"),
        })?;
        if target.active {
            tx.commit().await?;
            return Ok(target);
        }
        // Deactivate first: the partial unique index allows one active row per name at every
        // statement boundary.
        sqlx::query("UPDATE policy_versions SET active = 0 WHERE name = ? AND active = 1")
            .bind(&target.name)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(concat!(
            "UPDATE policy_versions SET active = 1, activated_at = ? WHERE id = ? RETURNING ",
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
            " FROM policy_versions WHERE name = ? AND active = 1"
        ))
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(rows::policy).transpose()?)
    }

    pub(crate) async fn active_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE active = 1 ORDER BY name"
        ))
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::policy)
    }

    pub(crate) async fn policy_by_id(&self, id: i64) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policy_versions WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
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
            " FROM policy_versions WHERE name = ? ORDER BY version"
        ))
        .bind(name)
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::policy)
    }
}
