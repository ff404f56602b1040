//! The log of reads of archived cases (ccb-counter 第二十二条, regional-complaint 四(四)):
//! records and the decoder both backends share. The table is append-only.

use jiff::Timestamp;

use crate::rows::RowExt;

/// A read to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseRead {
    pub case_id: i64,
    pub user_id: i64,
    pub at: Timestamp,
    /// `api`, `web` or `cli`.
    pub interface: String,
    /// What was read: `case`, `events`, `page`.
    pub what: String,
    /// Whether the read was allowed (refused attempts are logged too).
    pub granted: bool,
}

/// A logged read, with the reader's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReadRecord {
    pub id: i64,
    pub case_id: i64,
    pub user_id: i64,
    pub login: String,
    pub at: Timestamp,
    pub interface: String,
    pub what: String,
    pub granted: bool,
}

pub(crate) fn read(row: &impl RowExt) -> Result<CaseReadRecord, sqlx::Error> {
    Ok(CaseReadRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        user_id: row.int("user_id")?,
        login: row.text("login")?,
        at: row.instant("at")?,
        interface: row.text("interface")?,
        what: row.text("what")?,
        granted: row.flag("granted")?,
    })
}
