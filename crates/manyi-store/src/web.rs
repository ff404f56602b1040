//! What the web interface keeps — disabled users and their language, other sessions ended on
//! a password change, removing empty units, attachments, rate-limit windows: the SQL, checks
//! and row decoding both backends share. Statements use `$n` placeholders, which PostgreSQL
//! and sqlx's SQLite driver both bind by number; the backends only run them.

use crate::error::is_foreign_key_violation;
use crate::rows::{RowExt, attachment_columns};
use crate::{AttachmentRecord, NewAttachment, StoreError, UnitInUse};

/// Binds: disabled, user id.
pub(crate) const SET_USER_DISABLED: &str = "UPDATE users SET disabled = $1 WHERE id = $2";
/// Binds: user id.
pub(crate) const DELETE_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
/// Binds: lang, user id.
pub(crate) const SET_USER_LANG: &str = "UPDATE users SET lang = $1 WHERE id = $2";
/// Binds: user id, the token hash of the session to keep.
pub(crate) const DELETE_OTHER_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2";

/// Binds: code.
pub(crate) const UNIT_ID_BY_CODE: &str = "SELECT id FROM units WHERE code = $1";
/// What still refers to a unit, as [`unit_in_use`] decodes. Binds: unit id.
pub(crate) const UNIT_REFERENCES: &str = "SELECT (SELECT COUNT(*) FROM units WHERE parent_id = $1) AS children, \
            (SELECT COUNT(*) FROM users WHERE unit_id = $1) AS users, \
            (SELECT COUNT(*) FROM cases WHERE owner_unit_id = $1) AS cases, \
            (SELECT COUNT(*) FROM violations WHERE unit_id = $1) \
          + (SELECT COUNT(*) FROM penalties WHERE unit_id = $1) AS ledger";
/// Binds: unit id.
pub(crate) const DELETE_UNIT_CALENDAR: &str = "DELETE FROM unit_calendars WHERE unit_id = $1";
/// Binds: unit id.
pub(crate) const DELETE_UNIT: &str = "DELETE FROM units WHERE id = $1";

/// Binds: case id, filename, content type, size, uploaded by, uploaded at, content.
pub(crate) const INSERT_ATTACHMENT: &str = "INSERT INTO attachments \
     (case_id, filename, content_type, size_bytes, uploaded_by, uploaded_at, content) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
/// Binds: case id.
pub(crate) const CASE_ATTACHMENTS: &str = concat!(
    "SELECT ",
    attachment_columns!(),
    " FROM attachments WHERE case_id = $1 ORDER BY id"
);
/// [`crate::rows::attachment`]'s columns and the content. Binds: attachment id.
pub(crate) const ATTACHMENT_WITH_CONTENT: &str = concat!(
    "SELECT ",
    attachment_columns!(),
    ", content FROM attachments WHERE id = $1"
);

/// Binds: forget before.
pub(crate) const FORGET_RATE_LIMITS: &str = "DELETE FROM rate_limits WHERE window_start < $1";
/// Counts one more hit in a window, returning the window's hits. Binds: bucket, window start.
pub(crate) const RATE_LIMIT_HIT: &str = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
     RETURNING hits";

/// Columns: `children, users, cases, ledger` ([`UNIT_REFERENCES`]).
pub(crate) fn unit_in_use(row: &impl RowExt) -> Result<UnitInUse, sqlx::Error> {
    Ok(UnitInUse {
        children: row.int("children")?,
        users: row.int("users")?,
        cases: row.int("cases")?,
        ledger_entries: row.int("ledger")?,
    })
}

/// The attachment's size as stored.
pub(crate) fn attachment_size(a: &NewAttachment) -> Result<i64, StoreError> {
    i64::try_from(a.content.len()).map_err(|_| StoreError::Invalid {
        what: "attachment",
        reason: "too large".to_owned(),
    })
}

/// An attachment insert's error: a case that does not exist is not found.
pub(crate) fn attachment_error(e: sqlx::Error, case_id: i64) -> StoreError {
    if is_foreign_key_violation(&e) {
        StoreError::NotFound {
            what: "case",
            key: case_id.to_string(),
        }
    } else {
        e.into()
    }
}

/// The record of attachment `a`, stored under `id` with `size` bytes.
pub(crate) fn attachment_record(a: NewAttachment, id: i64, size: i64) -> AttachmentRecord {
    AttachmentRecord {
        id,
        case_id: a.case_id,
        filename: a.filename,
        content_type: a.content_type,
        size_bytes: size,
        uploaded_by: a.uploaded_by,
        uploaded_at: a.uploaded_at,
    }
}
