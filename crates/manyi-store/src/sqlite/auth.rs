//! SQLite: sessions and API tokens.
//!
//! Only hashes of tokens reach the database, so a leaked copy of it cannot be replayed as
//! anyone's session. Token hashes never appear in errors or logs either.

use jiff::Timestamp;

use super::SqliteStore;
use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::select_users;
use crate::time::to_millis;
use crate::{StoreError, User, rows};

impl SqliteStore {
    pub(crate) async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        created: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(to_millis(created))
        .bind(to_millis(expires))
        .execute(&mut *tx)
        .await
        .map_err(|e| token_error(e, "session", user_id))?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn session_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(concat!(
            select_users!(),
            " WHERE u.id = (SELECT user_id FROM sessions WHERE token_hash = ? AND expires_at > ?)",
            " AND u.disabled = 0 ORDER BY r.role"
        ))
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_all(&self.read)
        .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn create_api_token(
        &self,
        token_hash: &str,
        user_id: i64,
        label: &str,
        created: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(label)
        .bind(to_millis(created))
        .execute(&mut *tx)
        .await
        .map_err(|e| token_error(e, "API token", user_id))?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(concat!(
            select_users!(),
            " WHERE u.id = (SELECT user_id FROM api_tokens WHERE token_hash = ?)",
            " AND u.disabled = 0 ORDER BY r.role"
        ))
        .bind(token_hash)
        .fetch_all(&self.read)
        .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn delete_api_token(&self, token_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM api_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Maps constraint failures of a token insert without echoing the token hash.
fn token_error(e: sqlx::Error, what: &'static str, user_id: i64) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what,
            key: "token hash <redacted>".to_owned(),
        }
    } else if is_foreign_key_violation(&e) {
        StoreError::Invalid {
            what,
            reason: format!("unknown user id {user_id}"),
        }
    } else {
        e.into()
    }
}
