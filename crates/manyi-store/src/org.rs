//! The organisation tree — units, users, their roles, and the org import: the SQL, checks and
//! results both backends share. Statements use `$n` placeholders, which PostgreSQL and sqlx's
//! SQLite driver both bind by number; the backends run them inside their own transactions
//! (PostgreSQL adding its advisory and row locks).

use std::collections::BTreeSet;

use crate::error::{REDACTED_LOGIN, is_unique_violation};
use crate::rows::{select_users, unit_columns};
use crate::tree::{child_path, subtree_range};
use crate::{NewUnit, NewUser, StoreError, Unit};

pub(crate) const LIST_UNITS: &str =
    concat!("SELECT ", unit_columns!(), " FROM units ORDER BY path");
/// Binds: code.
pub(crate) const UNIT_BY_CODE: &str =
    concat!("SELECT ", unit_columns!(), " FROM units WHERE code = $1");
/// Binds: id.
pub(crate) const UNIT_BY_ID: &str =
    concat!("SELECT ", unit_columns!(), " FROM units WHERE id = $1");
/// Binds: code.
pub(crate) const UNIT_ID_BY_CODE: &str = "SELECT id FROM units WHERE code = $1";
/// Binds: code, name, level, parent id. The path ends with the unit's own id, which only the
/// insert reveals: it is inserted empty and written next ([`SET_UNIT_PATH`]).
pub(crate) const INSERT_UNIT: &str = "INSERT INTO units (code, name, level, parent_id, path) \
     VALUES ($1, $2, $3, $4, '') RETURNING id";
/// Binds: path, id.
pub(crate) const SET_UNIT_PATH: &str = "UPDATE units SET path = $1 WHERE id = $2";
/// Binds: name, level, id.
pub(crate) const UPDATE_UNIT: &str = "UPDATE units SET name = $1, level = $2 WHERE id = $3";
/// Binds: parent id, id.
pub(crate) const SET_UNIT_PARENT: &str = "UPDATE units SET parent_id = $1 WHERE id = $2";
/// Replaces the path prefix of a subtree's units. Binds: new prefix, the 1-based position
/// after the old prefix, the subtree's range (low, high).
pub(crate) const MOVE_UNIT_PATHS: &str =
    "UPDATE units SET path = $1 || substr(path, $2) WHERE path >= $3 AND path < $4";
/// The same for the cases owned in the subtree.
pub(crate) const MOVE_CASE_PATHS: &str = "UPDATE cases SET owner_unit_path = \
     $1 || substr(owner_unit_path, $2) WHERE owner_unit_path >= $3 AND owner_unit_path < $4";

/// Binds: login. (PostgreSQL's writes lock the row with their own `FOR UPDATE` variant.)
pub(crate) const USER_ID_BY_LOGIN: &str = "SELECT id FROM users WHERE login = $1";
/// Binds: login.
pub(crate) const USER_BY_LOGIN: &str =
    concat!(select_users!(), " WHERE u.login = $1 ORDER BY r.role");
/// Binds: id.
pub(crate) const USER_BY_ID: &str = concat!(select_users!(), " WHERE u.id = $1 ORDER BY r.role");
pub(crate) const LIST_USERS: &str = concat!(select_users!(), " ORDER BY u.id, r.role");
/// Binds: hash, login.
pub(crate) const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = $1 WHERE login = $2";
/// Binds: login, name, unit id, password hash.
pub(crate) const INSERT_USER: &str = "INSERT INTO users (login, name, unit_id, password_hash) \
     VALUES ($1, $2, $3, $4) RETURNING id";
/// Binds: name, unit id, password hash (`NULL` keeps the stored one), id.
pub(crate) const UPDATE_USER: &str = "UPDATE users SET name = $1, unit_id = $2, \
     password_hash = COALESCE($3, password_hash) WHERE id = $4";
/// Binds: user id.
pub(crate) const DELETE_ROLES: &str = "DELETE FROM user_roles WHERE user_id = $1";
/// Binds: user id, role.
pub(crate) const INSERT_ROLE: &str = "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)";

pub(crate) fn unknown_unit(code: &str) -> StoreError {
    StoreError::NotFound {
        what: "unit",
        key: code.to_owned(),
    }
}

/// A login that names no user; the login itself is personal data and stays out of the error.
pub(crate) fn unknown_login() -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: REDACTED_LOGIN.to_owned(),
    }
}

/// A user names a unit code that does not exist. `row` is the 1-based position in an import.
pub(crate) fn unknown_unit_of_user(unit_code: &str, row: Option<usize>) -> StoreError {
    let reason = match row {
        Some(row) => format!("user #{row} of the import names an unknown unit code `{unit_code}`"),
        None => format!("unknown unit code `{unit_code}`"),
    };
    StoreError::Invalid {
        what: "user",
        reason,
    }
}

/// A user written moments ago in the same transaction cannot be read back: a bug, not a
/// condition callers handle.
pub(crate) fn vanished_user(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: format!("id {id}"),
    }
}

/// A new or imported unit names a parent that does not exist (in the database, nor earlier in
/// the same transaction).
pub(crate) fn unknown_parent(u: &NewUnit, parent_code: &str) -> StoreError {
    StoreError::Invalid {
        what: "unit",
        reason: format!(
            "unit `{}` names an unknown parent unit code `{parent_code}`",
            u.code
        ),
    }
}

/// An [`INSERT_UNIT`] error: a code taken already is a duplicate.
pub(crate) fn unit_insert_error(e: sqlx::Error, u: &NewUnit) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what: "unit",
            key: u.code.clone(),
        }
    } else {
        e.into()
    }
}

/// An [`INSERT_USER`] error: a login taken already is a duplicate (the login not named).
pub(crate) fn user_insert_error(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what: "user",
            key: REDACTED_LOGIN.to_owned(),
        }
    } else {
        e.into()
    }
}

/// The unit inserted as `id` from `u` under `parent`, with its path.
pub(crate) fn inserted_unit(u: &NewUnit, id: i64, parent: Option<&Unit>) -> Unit {
    Unit {
        id,
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
        parent_id: parent.map(|p| p.id),
        path: child_path(parent.map(|p| p.path.as_str()), id),
    }
}

/// What re-parenting a unit writes ([`SET_UNIT_PARENT`], [`MOVE_UNIT_PATHS`],
/// [`MOVE_CASE_PATHS`]).
pub(crate) struct Relocation {
    /// The unit as it is after the move.
    pub(crate) moved: Unit,
    /// The subtree's old range of paths.
    pub(crate) lo: String,
    pub(crate) hi: String,
    /// `substr`'s 1-based position of what follows the old prefix. Paths are ASCII, so
    /// characters and bytes agree.
    pub(crate) keep_from: usize,
}

/// Plans moving `unit` under `parent` (to a root when `None`), refusing a move into its own
/// subtree, which would make a cycle.
pub(crate) fn relocation(unit: &Unit, parent: Option<&Unit>) -> Result<Relocation, StoreError> {
    if let Some(p) = parent
        && p.path.starts_with(&unit.path)
    {
        return Err(StoreError::Invalid {
            what: "unit move",
            reason: format!(
                "unit `{}` cannot move under `{}`, which is inside its own subtree",
                unit.code, p.code
            ),
        });
    }
    let (lo, hi) = subtree_range(&unit.path)?;
    Ok(Relocation {
        moved: Unit {
            parent_id: parent.map(|p| p.id),
            path: child_path(parent.map(|p| p.path.as_str()), unit.id),
            ..unit.clone()
        },
        lo,
        hi,
        keep_from: unit.path.len().saturating_add(1),
    })
}

/// A user's roles, each once, in a stable order.
pub(crate) fn roles(u: &NewUser) -> BTreeSet<&str> {
    u.roles.iter().map(String::as_str).collect()
}
