//! SQLite: the organisation tree — units, users, their roles, and the org import.
//!
//! The helpers taking `&mut SqliteConnection` run inside a caller's write transaction, so that
//! `import_org` can chain many of them and still commit all or nothing.

use std::collections::BTreeSet;

use sqlx::SqliteConnection;

use super::{SqliteStore, decode_all};
use crate::error::{REDACTED_LOGIN, is_unique_violation};
use crate::rows::{select_users, unit_columns};
use crate::tree::{child_path, parents_first, subtree_range};
use crate::{ImportSummary, NewUnit, NewUser, StoreError, Unit, User, rows};

impl SqliteStore {
    pub(crate) async fn insert_unit(&self, u: NewUnit) -> Result<Unit, StoreError> {
        let mut tx = self.write_tx().await?;
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
        .fetch_all(&self.read)
        .await?;
        decode_all(&rows, rows::unit)
    }

    pub(crate) async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            unit_columns!(),
            " FROM units WHERE code = ?"
        ))
        .bind(code)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(rows::unit).transpose()?)
    }

    pub(crate) async fn unit_by_id(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            unit_columns!(),
            " FROM units WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(rows::unit).transpose()?)
    }

    pub(crate) async fn move_unit(
        &self,
        code: &str,
        new_parent_code: &str,
    ) -> Result<Unit, StoreError> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
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
            " WHERE u.login = ? ORDER BY r.role"
        ))
        .bind(login)
        .fetch_all(&self.read)
        .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(concat!(select_users!(), " WHERE u.id = ? ORDER BY r.role"))
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!(select_users!(), " ORDER BY u.id, r.role"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows::users(&rows)?)
    }

    pub(crate) async fn set_password_hash(
        &self,
        login: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE login = ?")
            .bind(hash)
            .bind(login)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(unknown_login());
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_user(
        &self,
        login: &str,
        name: &str,
        unit_code: &str,
        roles: Vec<String>,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = user_id_for(&mut tx, login)
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
        // taking the write lock.
        let units = parents_first(units)?;
        let mut summary = ImportSummary::default();
        let mut tx = self.write_tx().await?;

        for u in &units {
            match unit_by_code(&mut tx, &u.code).await? {
                None => {
                    insert_unit(&mut tx, u).await?;
                    summary.units_inserted += 1;
                }
                Some(existing) => {
                    sqlx::query("UPDATE units SET name = ?, level = ? WHERE id = ?")
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
            let existing = user_id_for(&mut tx, &u.login).await?;
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
// Inside a write transaction
// ---------------------------------------------------------------------------------------------

async fn unit_by_code(conn: &mut SqliteConnection, code: &str) -> Result<Option<Unit>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        unit_columns!(),
        " FROM units WHERE code = ?"
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rows::unit).transpose()?)
}

async fn unit_id_for(conn: &mut SqliteConnection, code: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?)
}

async fn user_id_for(conn: &mut SqliteConnection, login: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE login = ?")
        .bind(login)
        .fetch_optional(&mut *conn)
        .await?)
}

pub(super) async fn user_by_id(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<Option<User>, StoreError> {
    let rows = sqlx::query(concat!(select_users!(), " WHERE u.id = ? ORDER BY r.role"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows::users(&rows)?.pop())
}

/// The parent a new or imported unit names, which must exist (in the database, or earlier in
/// the same transaction).
async fn parent_of(conn: &mut SqliteConnection, u: &NewUnit) -> Result<Option<Unit>, StoreError> {
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

async fn insert_unit(conn: &mut SqliteConnection, u: &NewUnit) -> Result<Unit, StoreError> {
    let parent = parent_of(conn, u).await?;
    // The path ends with the unit's own id, which only the insert reveals: insert with an
    // empty placeholder, then write the real path in the same transaction.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO units (code, name, level, parent_id, path) VALUES (?, ?, ?, ?, '') \
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
    sqlx::query("UPDATE units SET path = ? WHERE id = ?")
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
async fn relocate(
    conn: &mut SqliteConnection,
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
    let keep_from = i64::try_from(unit.path.len()).map_or(i64::MAX, |len| len.saturating_add(1));

    sqlx::query("UPDATE units SET parent_id = ? WHERE id = ?")
        .bind(parent.map(|p| p.id))
        .bind(unit.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE units SET path = ? || substr(path, ?) WHERE path >= ? AND path < ?")
        .bind(&new_path)
        .bind(keep_from)
        .bind(&lo)
        .bind(&hi)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE cases SET owner_unit_path = ? || substr(owner_unit_path, ?) \
         WHERE owner_unit_path >= ? AND owner_unit_path < ?",
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
    conn: &mut SqliteConnection,
    existing: Option<i64>,
    u: &NewUser,
    unit_id: i64,
) -> Result<i64, StoreError> {
    let id = match existing {
        None => sqlx::query_scalar(
            "INSERT INTO users (login, name, unit_id, password_hash) VALUES (?, ?, ?, ?) \
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
                "UPDATE users SET name = ?, unit_id = ?, \
                 password_hash = COALESCE(?, password_hash) WHERE id = ?",
            )
            .bind(&u.name)
            .bind(unit_id)
            .bind(&u.password_hash)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    let roles: BTreeSet<&str> = u.roles.iter().map(String::as_str).collect();
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
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
