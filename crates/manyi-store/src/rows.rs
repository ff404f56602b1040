//! Turning result rows into records, once for every backend.
//!
//! Each backend implements [`RowExt`] for its row type: a handful of typed getters in which
//! the dialect differences live (0/1 integers vs BOOLEAN, TEXT vs JSONB). The decoders below
//! are written against `RowExt` only, so a column added to a record is decoded in one place.
//! They rely on the backends selecting the same column names, which the `*_columns!` macros
//! below spell once for every backend (they contain no placeholders, so no dialect).

use jiff::Timestamp;
use serde_json::Value;

use crate::time::from_millis;
use crate::{CaseRecord, EventRecord, PolicyRecord, TimerRecord, Unit, User};

/// The columns [`unit`] decodes.
macro_rules! unit_columns {
    () => {
        "id, code, name, level, parent_id, path"
    };
}

/// Users with their unit and one row per role, as [`users`] expects. Callers add `WHERE` and
/// `ORDER BY … r.role`.
macro_rules! select_users {
    () => {
        "SELECT u.id, u.login, u.name, u.unit_id, un.code AS unit_code, un.path AS unit_path, \
                u.password_hash, u.disabled, u.lang, r.role \
         FROM users u \
         JOIN units un ON un.id = u.unit_id \
         LEFT JOIN user_roles r ON r.user_id = u.id"
    };
}

/// The columns [`policy`] decodes.
macro_rules! policy_columns {
    () => {
        "id, name, version, source, source_hash, created_at, activated_at, active"
    };
}

/// The columns [`case`] decodes.
macro_rules! case_columns {
    () => {
        "id, number, kind, policy_id, state, owner_unit_id, owner_unit_path, first_contact_id, \
         assignee_id, channel, created_at, updated_at, closed, version, snapshot, due_at"
    };
}

/// The columns [`event`] decodes.
macro_rules! event_columns {
    () => {
        "case_id, seq, occurred_at, actor_id, action, clause, payload"
    };
}

/// The columns [`timer`] decodes.
macro_rules! timer_columns {
    () => {
        "id, case_id, clock, kind, purpose, generation, due_at, fired_at, cancelled_at"
    };
}

pub(crate) use {
    case_columns, event_columns, policy_columns, select_users, timer_columns, unit_columns,
};

/// Typed column access by name.
pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
    fn json(&self, col: &str) -> Result<Value, sqlx::Error>;

    /// An instant stored as Unix milliseconds.
    fn instant(&self, col: &str) -> Result<Timestamp, sqlx::Error> {
        from_millis(self.int(col)?)
    }

    fn opt_instant(&self, col: &str) -> Result<Option<Timestamp>, sqlx::Error> {
        self.opt_int(col)?.map(from_millis).transpose()
    }
}

/// Columns: `id, code, name, level, parent_id, path`.
pub(crate) fn unit(row: &impl RowExt) -> Result<Unit, sqlx::Error> {
    Ok(Unit {
        id: row.int("id")?,
        code: row.text("code")?,
        name: row.text("name")?,
        level: row.text("level")?,
        parent_id: row.opt_int("parent_id")?,
        path: row.text("path")?,
    })
}

/// Users from rows of `id, login, name, unit_id, unit_code, unit_path, password_hash, role`:
/// one row per (user, role), `role` NULL for a user without roles, rows of one user adjacent.
/// Reading users and roles in one statement gives a consistent snapshot without a transaction.
pub(crate) fn users<R: RowExt>(rows: &[R]) -> Result<Vec<User>, sqlx::Error> {
    let mut out: Vec<User> = Vec::new();
    for row in rows {
        let id = row.int("id")?;
        let role = row.opt_text("role")?;
        match out.last_mut() {
            Some(user) if user.id == id => user.roles.extend(role),
            _ => out.push(User {
                id,
                login: row.text("login")?,
                name: row.text("name")?,
                unit_id: row.int("unit_id")?,
                unit_code: row.text("unit_code")?,
                unit_path: row.text("unit_path")?,
                roles: role.into_iter().collect(),
                password_hash: row.opt_text("password_hash")?,
                disabled: row.flag("disabled")?,
                lang: row.opt_text("lang")?,
            }),
        }
    }
    Ok(out)
}

/// Columns: `id, name, version, source, source_hash, created_at, activated_at, active`.
pub(crate) fn policy(row: &impl RowExt) -> Result<PolicyRecord, sqlx::Error> {
    Ok(PolicyRecord {
        id: row.int("id")?,
        name: row.text("name")?,
        version: row.int("version")?,
        source: row.text("source")?,
        source_hash: row.text("source_hash")?,
        created_at: row.instant("created_at")?,
        activated_at: row.opt_instant("activated_at")?,
        active: row.flag("active")?,
    })
}

/// Columns: `id, number, kind, policy_id, state, owner_unit_id, owner_unit_path,
/// first_contact_id, assignee_id, channel, created_at, updated_at, closed, version, snapshot,
/// due_at`.
pub(crate) fn case(row: &impl RowExt) -> Result<CaseRecord, sqlx::Error> {
    Ok(CaseRecord {
        id: row.int("id")?,
        number: row.text("number")?,
        kind: row.text("kind")?,
        policy_id: row.int("policy_id")?,
        state: row.text("state")?,
        owner_unit_id: row.int("owner_unit_id")?,
        owner_unit_path: row.text("owner_unit_path")?,
        first_contact_id: row.int("first_contact_id")?,
        assignee_id: row.opt_int("assignee_id")?,
        channel: row.text("channel")?,
        created_at: row.instant("created_at")?,
        updated_at: row.instant("updated_at")?,
        closed: row.flag("closed")?,
        version: row.int("version")?,
        snapshot: row.json("snapshot")?,
        due_at: row.opt_instant("due_at")?,
    })
}

/// Columns: `case_id, seq, occurred_at, actor_id, action, clause, payload`.
pub(crate) fn event(row: &impl RowExt) -> Result<EventRecord, sqlx::Error> {
    Ok(EventRecord {
        case_id: row.int("case_id")?,
        seq: row.int("seq")?,
        at: row.instant("occurred_at")?,
        actor_id: row.opt_int("actor_id")?,
        action: row.text("action")?,
        clause: row.opt_text("clause")?,
        payload: row.json("payload")?,
    })
}

/// Columns: `id, case_id, clock, kind, purpose, generation, due_at, fired_at, cancelled_at`.
pub(crate) fn timer(row: &impl RowExt) -> Result<TimerRecord, sqlx::Error> {
    Ok(TimerRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        clock: row.text("clock")?,
        kind: row.text("kind")?,
        purpose: row.text("purpose")?,
        generation: row.int("generation")?,
        due_at: row.instant("due_at")?,
        fired_at: row.opt_instant("fired_at")?,
        cancelled_at: row.opt_instant("cancelled_at")?,
    })
}

/// The columns [`attachment`] decodes (the content is read apart, only when served).
macro_rules! attachment_columns {
    () => {
        "id, case_id, filename, content_type, size_bytes, uploaded_by, uploaded_at"
    };
}
pub(crate) use attachment_columns;

/// Columns: [`attachment_columns`].
pub(crate) fn attachment(row: &impl RowExt) -> Result<crate::AttachmentRecord, sqlx::Error> {
    Ok(crate::AttachmentRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        filename: row.text("filename")?,
        content_type: row.text("content_type")?,
        size_bytes: row.int("size_bytes")?,
        uploaded_by: row.opt_int("uploaded_by")?,
        uploaded_at: row.instant("uploaded_at")?,
    })
}
