//! The official calendar's imported notice files and the units' own calendar overlays: the
//! SQL and row decoding both backends share. The statements use `$n` placeholders, which
//! PostgreSQL and sqlx's SQLite driver both bind by number, so each is spelt once; the
//! backends (`sqlite/calendar.rs`, `postgres/calendar.rs`) only run them.

use crate::rows::RowExt;
use crate::{CalendarFileRecord, StoreError};

/// Binds: name, year, content, sha, imported_at.
pub(crate) const INSERT_FILE: &str = "INSERT INTO calendar_files (name, year, content, sha, \
     imported_at) VALUES ($1, $2, $3, $4, $5)";

/// The newest file of each year (the one in force), by year.
pub(crate) const FILES_IN_FORCE: &str = "SELECT id, name, year, content, sha, imported_at \
     FROM calendar_files c \
     WHERE id = (SELECT MAX(id) FROM calendar_files d WHERE d.year = c.year) \
     ORDER BY year";

pub(crate) const REVISION: &str = "SELECT MAX(id) FROM calendar_files";

pub(crate) const DIRECTORY_REVISION: &str =
    "SELECT value FROM store_revisions WHERE name = 'directory'";

/// Binds: unit_id.
pub(crate) const DELETE_UNIT_CALENDAR: &str = "DELETE FROM unit_calendars WHERE unit_id = $1";

/// Binds: unit_id, overlay (JSON text), updated_at.
pub(crate) const INSERT_UNIT_CALENDAR: &str =
    "INSERT INTO unit_calendars (unit_id, overlay, updated_at) VALUES ($1, $2, $3)";

pub(crate) const UNIT_CALENDARS: &str =
    "SELECT unit_id, overlay FROM unit_calendars ORDER BY unit_id";

/// Columns: `id, name, year, content, sha, imported_at`.
pub(crate) fn file(row: &impl RowExt) -> Result<CalendarFileRecord, sqlx::Error> {
    Ok(CalendarFileRecord {
        id: row.int("id")?,
        name: row.text("name")?,
        year: row.int("year")?,
        content: row.text("content")?,
        sha: row.text("sha")?,
        imported_at: row.instant("imported_at")?,
    })
}

/// The directory revision, which migrations create: its absence is an error, not zero.
pub(crate) fn directory_revision(value: Option<i64>) -> Result<i64, StoreError> {
    value.ok_or_else(|| StoreError::NotFound {
        what: "store revision",
        key: "directory".to_owned(),
    })
}

/// Columns: `unit_id, overlay`; the overlay is JSON kept as text on both backends.
pub(crate) fn unit_calendar(row: &impl RowExt) -> Result<(i64, serde_json::Value), StoreError> {
    let text = row.text("overlay")?;
    let value = serde_json::from_str(&text).map_err(|e| StoreError::Invalid {
        what: "unit calendar",
        reason: e.to_string(),
    })?;
    Ok((row.int("unit_id")?, value))
}
