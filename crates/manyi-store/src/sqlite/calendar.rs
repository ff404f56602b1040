//! SQLite: runs the calendar statements of [`crate::calendar`] (notice files, append-only, and
//! unit overlays).

use jiff::Timestamp;

use super::{SqliteStore, decode_all};
use crate::calendar as sql;
use crate::time::to_millis;
use crate::{CalendarFileRecord, NewCalendarFile, StoreError};

impl SqliteStore {
    pub(crate) async fn import_calendar_files(
        &self,
        files: Vec<NewCalendarFile>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for f in files {
            sqlx::query(sql::INSERT_FILE)
                .bind(&f.name)
                .bind(f.year)
                .bind(&f.content)
                .bind(&f.sha)
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn calendar_files(&self) -> Result<Vec<CalendarFileRecord>, StoreError> {
        let rows = sqlx::query(sql::FILES_IN_FORCE)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, sql::file)
    }

    pub(crate) async fn calendar_revision(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(sql::REVISION)
            .fetch_one(&self.read)
            .await?;
        Ok(id.unwrap_or(0))
    }

    pub(crate) async fn directory_revision(&self) -> Result<i64, StoreError> {
        let value: Option<i64> = sqlx::query_scalar(sql::DIRECTORY_REVISION)
            .fetch_optional(&self.read)
            .await?;
        sql::directory_revision(value)
    }

    pub(crate) async fn set_unit_calendar(
        &self,
        unit_id: i64,
        overlay: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(sql::DELETE_UNIT_CALENDAR)
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
        if let Some(overlay) = overlay {
            sqlx::query(sql::INSERT_UNIT_CALENDAR)
                .bind(unit_id)
                .bind(overlay.to_string())
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn unit_calendars(&self) -> Result<Vec<(i64, serde_json::Value)>, StoreError> {
        let rows = sqlx::query(sql::UNIT_CALENDARS)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(sql::unit_calendar).collect()
    }
}
