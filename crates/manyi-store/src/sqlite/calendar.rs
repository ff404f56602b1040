//! SQLite: the official calendar's imported notice files (append-only).

use jiff::Timestamp;
use sqlx::Row;

use super::SqliteStore;
use crate::time::{from_millis, to_millis};
use crate::{CalendarFileRecord, NewCalendarFile, StoreError};

impl SqliteStore {
    pub(crate) async fn import_calendar_files(
        &self,
        files: Vec<NewCalendarFile>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for f in files {
            sqlx::query(
                "INSERT INTO calendar_files (name, year, content, sha, imported_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
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
        let rows = sqlx::query(
            "SELECT id, name, year, content, sha, imported_at FROM calendar_files c \
             WHERE id = (SELECT MAX(id) FROM calendar_files d WHERE d.year = c.year) \
             ORDER BY year",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CalendarFileRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    year: r.try_get("year")?,
                    content: r.try_get("content")?,
                    sha: r.try_get("sha")?,
                    imported_at: from_millis(r.try_get("imported_at")?)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub(crate) async fn calendar_revision(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM calendar_files")
            .fetch_one(&self.read)
            .await?;
        Ok(id.unwrap_or(0))
    }

    pub(crate) async fn directory_revision(&self) -> Result<i64, StoreError> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT value FROM store_revisions WHERE name = 'directory'")
                .fetch_optional(&self.read)
                .await?;
        value.ok_or_else(|| StoreError::NotFound {
            what: "store revision",
            key: "directory".to_owned(),
        })
    }

    pub(crate) async fn set_unit_calendar(
        &self,
        unit_id: i64,
        overlay: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM unit_calendars WHERE unit_id = ?")
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
        if let Some(overlay) = overlay {
            sqlx::query(
                "INSERT INTO unit_calendars (unit_id, overlay, updated_at) VALUES (?, ?, ?)",
            )
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
        let rows = sqlx::query("SELECT unit_id, overlay FROM unit_calendars ORDER BY unit_id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("overlay")?;
                let value = serde_json::from_str(&text).map_err(|e| StoreError::Invalid {
                    what: "unit calendar",
                    reason: e.to_string(),
                })?;
                Ok((r.try_get("unit_id")?, value))
            })
            .collect()
    }
}
