//! SQLite: runs what the web interface keeps ([`crate::web`]): disabled users and their
//! language, other sessions ended on a password change, removing empty units, attachments,
//! rate-limit windows.

use jiff::Timestamp;
use sqlx::Row;

use super::{SqliteStore, decode_all, org::user_by_id};
use crate::org::{unknown_login, unknown_unit};
use crate::time::to_millis;
use crate::web as sql;
use crate::{AttachmentRecord, NewAttachment, StoreError, UnitInUse, User, rows};

impl SqliteStore {
    pub(crate) async fn set_user_disabled(
        &self,
        login: &str,
        disabled: bool,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar(crate::org::USER_ID_BY_LOGIN)
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(unknown_login)?;
        sqlx::query(sql::SET_USER_DISABLED)
            .bind(disabled)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query(sql::DELETE_SESSIONS)
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
        sqlx::query(sql::SET_USER_LANG)
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
        let done = sqlx::query(sql::DELETE_OTHER_SESSIONS)
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
        let id: Option<i64> = sqlx::query_scalar(sql::UNIT_ID_BY_CODE)
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(|| unknown_unit(code))?;
        let row = sqlx::query(sql::UNIT_REFERENCES)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let in_use = sql::unit_in_use(&row)?;
        if in_use != UnitInUse::default() {
            return Ok(Err(in_use));
        }
        for statement in [sql::DELETE_UNIT_CALENDAR, sql::DELETE_UNIT] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        tracing::debug!(unit = code, "unit removed");
        Ok(Ok(()))
    }

    pub(crate) async fn add_attachment(
        &self,
        a: NewAttachment,
    ) -> Result<AttachmentRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let size = sql::attachment_size(&a)?;
        let id: i64 = sqlx::query_scalar(sql::INSERT_ATTACHMENT)
            .bind(a.case_id)
            .bind(&a.filename)
            .bind(&a.content_type)
            .bind(size)
            .bind(a.uploaded_by)
            .bind(to_millis(a.uploaded_at))
            .bind(&a.content)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| sql::attachment_error(e, a.case_id))?;
        tx.commit().await?;
        Ok(sql::attachment_record(a, id, size))
    }

    pub(crate) async fn case_attachments(
        &self,
        case_id: i64,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let rows = sqlx::query(sql::CASE_ATTACHMENTS)
            .bind(case_id)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rows::attachment)
    }

    pub(crate) async fn attachment(
        &self,
        id: i64,
    ) -> Result<Option<(AttachmentRecord, Vec<u8>)>, StoreError> {
        let row = sqlx::query(sql::ATTACHMENT_WITH_CONTENT)
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
        sqlx::query(sql::FORGET_RATE_LIMITS)
            .bind(to_millis(forget_before))
            .execute(&mut *tx)
            .await?;
        let hits: i64 = sqlx::query_scalar(sql::RATE_LIMIT_HIT)
            .bind(bucket)
            .bind(to_millis(window_start))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(hits)
    }
}
