//! SQLite: what the web interface keeps — disabled users and their language, other sessions
//! ended on a password change, removing empty units, attachments, rate-limit windows.

use jiff::Timestamp;
use sqlx::Row;

use super::{SqliteStore, decode_all, org::user_by_id};
use crate::error::REDACTED_LOGIN;
use crate::rows::attachment_columns;
use crate::time::to_millis;
use crate::{AttachmentRecord, NewAttachment, StoreError, UnitInUse, User, rows};

impl SqliteStore {
    pub(crate) async fn set_user_disabled(
        &self,
        login: &str,
        disabled: bool,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE login = ?")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(unknown_login)?;
        sqlx::query("UPDATE users SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let user = user_by_id(&mut tx, id).await?;
        tx.commit().await?;
        user.ok_or_else(unknown_login)
    }

    pub(crate) async fn set_user_lang(
        &self,
        user_id: i64,
        lang: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET lang = ? WHERE id = ?")
            .bind(lang)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_other_sessions(
        &self,
        user_id: i64,
        keep: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?")
            .bind(user_id)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn remove_unit(
        &self,
        code: &str,
    ) -> Result<Result<(), UnitInUse>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(|| StoreError::NotFound {
            what: "unit",
            key: code.to_owned(),
        })?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM units WHERE parent_id = ?1) AS children, \
                    (SELECT COUNT(*) FROM users WHERE unit_id = ?1) AS users, \
                    (SELECT COUNT(*) FROM cases WHERE owner_unit_id = ?1) AS cases, \
                    (SELECT COUNT(*) FROM violations WHERE unit_id = ?1) \
                  + (SELECT COUNT(*) FROM penalties WHERE unit_id = ?1) AS ledger",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let in_use = UnitInUse {
            children: row.try_get("children")?,
            users: row.try_get("users")?,
            cases: row.try_get("cases")?,
            ledger_entries: row.try_get("ledger")?,
        };
        if in_use != UnitInUse::default() {
            return Ok(Err(in_use));
        }
        sqlx::query("DELETE FROM unit_calendars WHERE unit_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM units WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(unit = code, "unit removed");
        Ok(Ok(()))
    }

    pub(crate) async fn add_attachment(
        &self,
        a: NewAttachment,
    ) -> Result<AttachmentRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let size = i64::try_from(a.content.len()).map_err(|_| StoreError::Invalid {
            what: "attachment",
            reason: "too large".to_owned(),
        })?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attachments \
             (case_id, filename, content_type, size_bytes, uploaded_by, uploaded_at, content) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(a.case_id)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(size)
        .bind(a.uploaded_by)
        .bind(to_millis(a.uploaded_at))
        .bind(&a.content)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| attachment_error(e, a.case_id))?;
        tx.commit().await?;
        Ok(AttachmentRecord {
            id,
            case_id: a.case_id,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: size,
            uploaded_by: a.uploaded_by,
            uploaded_at: a.uploaded_at,
        })
    }

    pub(crate) async fn case_attachments(
        &self,
        case_id: i64,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            attachment_columns!(),
            " FROM attachments WHERE case_id = ? ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::attachment)
    }

    pub(crate) async fn attachment(
        &self,
        id: i64,
    ) -> Result<Option<(AttachmentRecord, Vec<u8>)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            attachment_columns!(),
            ", content FROM attachments WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = rows::attachment(&row)?;
        let content: Vec<u8> = row.try_get("content")?;
        Ok(Some((record, content)))
    }

    pub(crate) async fn rate_limit_hit(
        &self,
        bucket: &str,
        window_start: Timestamp,
        forget_before: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM rate_limits WHERE window_start < ?")
            .bind(to_millis(forget_before))
            .execute(&mut *tx)
            .await?;
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits",
        )
        .bind(bucket)
        .bind(to_millis(window_start))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(hits)
    }
}

fn unknown_login() -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: REDACTED_LOGIN.to_owned(),
    }
}

fn attachment_error(e: sqlx::Error, case_id: i64) -> StoreError {
    if crate::error::is_foreign_key_violation(&e) {
        StoreError::NotFound {
            what: "case",
            key: case_id.to_string(),
        }
    } else {
        e.into()
    }
}
