//! PostgreSQL: the organisation tree — units, users, their roles, and the org import.
//!
//! Writes to the tree take the [`LockKey::Org`] advisory lock, which makes them run one at a
//! time across instances as SQLite's single writer does. Cases written meanwhile lock their
//! owner unit's row (`cases.rs`), so a move waits for them, or they for it, and every case
//! ends with its owner's current path.

use std::collections::BTreeSet;

use sqlx::PgConnection;

use super::{LockKey, PgStore, decode_all, lock};
use crate::error::{REDACTED_LOGIN, is_unique_violation};
use crate::rows::{select_users, unit_columns};
use crate::tree::{child_path, parents_first, subtree_range};
use crate::{ImportSummary, NewUnit, NewUser, StoreError, Unit, User, rows};

impl PgStore {
    pub(crate) async fn insert_unit(&self, u: NewUnit) -> Result<Unit, StoreError> {
        let mut tx = self.tx().await?;
        lock(&mut tx, LockKey::Org).await?;
        let unit = insert_unit(&mut tx, &u).await?;
        tx.commit().await?;
        tracing::debug!(unit_id = unit.id, unit_code = %unit.code, "unit inserted");
        Ok(unit)
    }

    pub(crate) async fn list_units(&self) -> Result<Vec<Unit>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            unit_columns!(),
            " FROM units ORDER BY path"
        ))
        .fetch_all(&self.pool)
        .await?;
        decode_all(&rows, rows::unit)
    }

    pub(crate) async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            unit_columns!(),
            " FROM units WHERE code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::unit).transpose()?)
    }

    pub(crate) async fn unit_by_id(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            unit_columns!(),
            " FROM units WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::unit).transpose()?)
    }

    pub(crate) async fn move_unit(
        &self,
        code: &str,
        new_parent_code: &str,
    ) -> Result<Unit, StoreError> {
        let mut tx = self.tx().await?;
        lock(&mut tx, LockKey::Org).await?;
        let unit = unit_by_code(&mut tx, code)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "unit",
                key: code.to_owned(),
            })?;
        let parent = unit_by_code(&mut tx, new_parent_code)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "unit",
                key: new_parent_code.to_owned(),
            })?;
        let moved = relocate(&mut tx, &unit, Some(&parent)).await?;
        tx.commit().await?;
        tracing::debug!(unit_id = moved.id, unit_code = %moved.code, "unit moved");
        Ok(moved)
    }

    pub(crate) async fn insert_user(&self, u: NewUser) -> Result<User, StoreError> {
        let mut tx = self.tx().await?;
        let unit_id = unit_id_for(&mut tx, &u.unit_code)
            .await?
            .ok_or_else(|| unknown_unit_of_user(&u.unit_code, None))?;
        let id = write_user(&mut tx, None, &u, unit_id).await?;
        let user = user_by_id(&mut tx, id).await?;
        tx.commit().await?;
        tracing::debug!(user_id = id, "user inserted");
        user.ok_or_else(|| vanished_user(id))
    }

    pub(crate) async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(concat!(
            select_users!(),
            " WHERE u.login = $1 ORDER BY r.role"
        ))
        .bind(login)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(concat!(select_users!(), " WHERE u.id = $1 ORDER BY r.role"))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!(select_users!(), " ORDER BY u.id, r.role"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::users(&rows)?)
    }

    pub(crate) async fn set_password_hash(
        &self,
        login: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE login = $2")
            .bind(hash)
            .bind(login)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(unknown_login());
        }
        Ok(())
    }

    pub(crate) async fn set_user(
        &self,
        login: &str,
        name: &str,
        unit_code: &str,
        roles: Vec<String>,
    ) -> Result<User, StoreError> {
        let mut tx = self.tx().await?;
        // Locks the user's row for the rest of the transaction: two concurrent edits of one
        // user replace its roles one after the other instead of mixing them.
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = $1 FOR UPDATE")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(unknown_login)?;
        let unit_id = unit_id_for(&mut tx, unit_code)
            .await?
            .ok_or_else(|| unknown_unit_of_user(unit_code, None))?;
        let u = NewUser {
            login: login.to_owned(),
            name: name.to_owned(),
            unit_code: unit_code.to_owned(),
            roles,
            // `write_user` keeps the stored hash when none is given
            password_hash: None,
        };
        write_user(&mut tx, Some(id), &u, unit_id).await?;
        let user = user_by_id(&mut tx, id).await?;
        tx.commit().await?;
        tracing::debug!(user_id = id, "user updated");
        user.ok_or_else(|| vanished_user(id))
    }

    pub(crate) async fn import_org(
        &self,
        units: Vec<NewUnit>,
        users: Vec<NewUser>,
    ) -> Result<ImportSummary, StoreError> {
        // Ordering (and refusing cycles within the batch) needs no database: do it before
        // taking the lock.
        let units = parents_first(units)?;
        let mut summary = ImportSummary::default();
        let mut tx = self.tx().await?;
        lock(&mut tx, LockKey::Org).await?;

        for u in &units {
            match unit_by_code(&mut tx, &u.code).await? {
                None => {
                    insert_unit(&mut tx, u).await?;
                    summary.units_inserted += 1;
                }
                Some(existing) => {
                    sqlx::query("UPDATE units SET name = $1, level = $2 WHERE id = $3")
                        .bind(&u.name)
                        .bind(&u.level)
                        .bind(existing.id)
                        .execute(&mut *tx)
                        .await?;
                    let parent = parent_of(&mut tx, u).await?;
                    if existing.parent_id != parent.as_ref().map(|p| p.id) {
                        relocate(&mut tx, &existing, parent.as_ref()).await?;
                    }
                    summary.units_updated += 1;
                }
            }
        }

        for (i, u) in users.iter().enumerate() {
            let row = i + 1;
            let unit_id = unit_id_for(&mut tx, &u.unit_code)
                .await?
                .ok_or_else(|| unknown_unit_of_user(&u.unit_code, Some(row)))?;
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE login = $1 FOR UPDATE")
                    .bind(&u.login)
                    .fetch_optional(&mut *tx)
                    .await?;
            write_user(&mut tx, existing, u, unit_id).await?;
            match existing {
                None => summary.users_inserted += 1,
                Some(_) => summary.users_updated += 1,
            }
        }

        tx.commit().await?;
        tracing::info!(
            units_inserted = summary.units_inserted,
            units_updated = summary.units_updated,
            users_inserted = summary.users_inserted,
            users_updated = summary.users_updated,
            "organisation imported"
        );
        Ok(summary)
    }
}

// ---------------------------------------------------------------------------------------------
// Inside a transaction
// ---------------------------------------------------------------------------------------------

async fn unit_by_code(conn: &mut PgConnection, code: &str) -> Result<Option<Unit>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        unit_columns!(),
        " FROM units WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rows::unit).transpose()?)
}

async fn unit_id_for(conn: &mut PgConnection, code: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?)
}

pub(super) async fn user_by_id(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<User>, StoreError> {
    let rows = sqlx::query(concat!(select_users!(), " WHERE u.id = $1 ORDER BY r.role"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows::users(&rows)?.pop())
}

/// The parent a new or imported unit names, which must exist (in the database, or earlier in
/// the same transaction).
async fn parent_of(conn: &mut PgConnection, u: &NewUnit) -> Result<Option<Unit>, StoreError> {
    let Some(code) = &u.parent_code else {
        return Ok(None);
    };
    match unit_by_code(conn, code).await? {
        Some(parent) => Ok(Some(parent)),
        None => Err(StoreError::Invalid {
            what: "unit",
            reason: format!(
                "unit `{}` names an unknown parent unit code `{code}`",
                u.code
            ),
        }),
    }
}

async fn insert_unit(conn: &mut PgConnection, u: &NewUnit) -> Result<Unit, StoreError> {
    let parent = parent_of(conn, u).await?;
    // The path ends with the unit's own id, which only the insert reveals: insert with an
    // empty placeholder, then write the real path in the same transaction.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO units (code, name, level, parent_id, path) VALUES ($1, $2, $3, $4, '') \
         RETURNING id",
    )
    .bind(&u.code)
    .bind(&u.name)
    .bind(&u.level)
    .bind(parent.as_ref().map(|p| p.id))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "unit",
                key: u.code.clone(),
            }
        } else {
            e.into()
        }
    })?;
    let path = child_path(parent.as_ref().map(|p| p.path.as_str()), id);
    sqlx::query("UPDATE units SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Unit {
        id,
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
        parent_id: parent.map(|p| p.id),
        path,
    })
}

/// Re-parents `unit` (to a root when `parent` is `None`), rewriting the path prefix of every
/// unit in its subtree and of every case owned there, so that subtree queries stay range scans.
///
/// The units are rewritten first, then the cases: the same order in which case writes lock
/// them (owner unit, then case), so neither waits for the other in a cycle.
async fn relocate(
    conn: &mut PgConnection,
    unit: &Unit,
    parent: Option<&Unit>,
) -> Result<Unit, StoreError> {
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
    let new_path = child_path(parent.map(|p| p.path.as_str()), unit.id);
    let (lo, hi) = subtree_range(&unit.path)?;
    // `substr` is 1-based: keep what follows the old prefix. Paths are ASCII, so characters
    // and bytes agree.
    let keep_from = i32::try_from(unit.path.len()).map_or(i32::MAX, |len| len.saturating_add(1));

    sqlx::query("UPDATE units SET parent_id = $1 WHERE id = $2")
        .bind(parent.map(|p| p.id))
        .bind(unit.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE units SET path = $1 || substr(path, $2) WHERE path >= $3 AND path < $4")
        .bind(&new_path)
        .bind(keep_from)
        .bind(&lo)
        .bind(&hi)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE cases SET owner_unit_path = $1 || substr(owner_unit_path, $2) \
         WHERE owner_unit_path >= $3 AND owner_unit_path < $4",
    )
    .bind(&new_path)
    .bind(keep_from)
    .bind(&lo)
    .bind(&hi)
    .execute(&mut *conn)
    .await?;

    Ok(Unit {
        parent_id: parent.map(|p| p.id),
        path: new_path,
        ..unit.clone()
    })
}

/// Inserts (`existing` = `None`) or updates a user and replaces their roles. On update a
/// `None` password hash keeps the stored one. Returns the user's id.
async fn write_user(
    conn: &mut PgConnection,
    existing: Option<i64>,
    u: &NewUser,
    unit_id: i64,
) -> Result<i64, StoreError> {
    let id = match existing {
        None => sqlx::query_scalar(
            "INSERT INTO users (login, name, unit_id, password_hash) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(&u.login)
        .bind(&u.name)
        .bind(unit_id)
        .bind(&u.password_hash)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "user",
                    key: REDACTED_LOGIN.to_owned(),
                }
            } else {
                e.into()
            }
        })?,
        Some(id) => {
            sqlx::query(
                "UPDATE users SET name = $1, unit_id = $2, \
                 password_hash = COALESCE($3, password_hash) WHERE id = $4",
            )
            .bind(&u.name)
            .bind(unit_id)
            .bind(&u.password_hash)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    let roles: BTreeSet<&str> = u.roles.iter().map(String::as_str).collect();
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(id)
            .bind(role)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

fn unknown_login() -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: REDACTED_LOGIN.to_owned(),
    }
}

/// A user names a unit code that does not exist. `row` is the 1-based position in an import.
fn unknown_unit_of_user(unit_code: &str, row: Option<usize>) -> StoreError {
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
fn vanished_user(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: format!("id {id}"),
    }
}
