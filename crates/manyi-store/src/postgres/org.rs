//! PostgreSQL: runs the organisation statements of [`crate::org`] — units, users, their roles,
//! and the org import.
//!
//! Writes to the tree take the [`LockKey::Org`] advisory lock, which makes them run one at a
//! time across instances as SQLite's single writer does. Cases written meanwhile lock their
//! owner unit's row (`cases.rs`), so a move waits for them, or they for it, and every case
//! ends with its owner's current path.

use sqlx::PgConnection;

use super::{LockKey, PgStore, decode_all, lock};
use crate::org::{self as sql, unknown_login, unknown_unit, unknown_unit_of_user, vanished_user};
use crate::tree::parents_first;
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
        let rows = sqlx::query(sql::LIST_UNITS).fetch_all(&self.pool).await?;
        decode_all(&rows, rows::unit)
    }

    pub(crate) async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(sql::UNIT_BY_CODE)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::unit).transpose()?)
    }

    pub(crate) async fn unit_by_id(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(sql::UNIT_BY_ID)
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
            .ok_or_else(|| unknown_unit(code))?;
        let parent = unit_by_code(&mut tx, new_parent_code)
            .await?
            .ok_or_else(|| unknown_unit(new_parent_code))?;
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
        let rows = sqlx::query(sql::USER_BY_LOGIN)
            .bind(login)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(sql::USER_BY_ID)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::users(&rows)?.pop())
    }

    pub(crate) async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(sql::LIST_USERS).fetch_all(&self.pool).await?;
        Ok(rows::users(&rows)?)
    }

    pub(crate) async fn set_password_hash(
        &self,
        login: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx().await?;
        let done = sqlx::query(sql::SET_PASSWORD_HASH)
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
        let mut tx = self.tx().await?;
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
                    sqlx::query(sql::UPDATE_UNIT)
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
// Inside a transaction
// ---------------------------------------------------------------------------------------------

async fn unit_by_code(conn: &mut PgConnection, code: &str) -> Result<Option<Unit>, StoreError> {
    let row = sqlx::query(sql::UNIT_BY_CODE)
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(rows::unit).transpose()?)
}

async fn unit_id_for(conn: &mut PgConnection, code: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(sql::UNIT_ID_BY_CODE)
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Also locks the user's row for the rest of the transaction: two concurrent edits of one user
/// replace its roles one after the other instead of mixing them.
async fn user_id_for(conn: &mut PgConnection, login: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE login = $1 FOR UPDATE")
            .bind(login)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub(super) async fn user_by_id(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<User>, StoreError> {
    let rows = sqlx::query(sql::USER_BY_ID)
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
        None => Err(sql::unknown_parent(u, code)),
    }
}

async fn insert_unit(conn: &mut PgConnection, u: &NewUnit) -> Result<Unit, StoreError> {
    let parent = parent_of(conn, u).await?;
    let id: i64 = sqlx::query_scalar(sql::INSERT_UNIT)
        .bind(&u.code)
        .bind(&u.name)
        .bind(&u.level)
        .bind(parent.as_ref().map(|p| p.id))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| sql::unit_insert_error(e, u))?;
    let unit = sql::inserted_unit(u, id, parent.as_ref());
    sqlx::query(sql::SET_UNIT_PATH)
        .bind(&unit.path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(unit)
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
    let r = sql::relocation(unit, parent)?;
    // `substr` takes an `integer` (32 bits) in PostgreSQL.
    let keep_from = i32::try_from(r.keep_from).unwrap_or(i32::MAX);
    sqlx::query(sql::SET_UNIT_PARENT)
        .bind(r.moved.parent_id)
        .bind(unit.id)
        .execute(&mut *conn)
        .await?;
    for statement in [sql::MOVE_UNIT_PATHS, sql::MOVE_CASE_PATHS] {
        sqlx::query(statement)
            .bind(&r.moved.path)
            .bind(keep_from)
            .bind(&r.lo)
            .bind(&r.hi)
            .execute(&mut *conn)
            .await?;
    }
    Ok(r.moved)
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
        None => sqlx::query_scalar(sql::INSERT_USER)
            .bind(&u.login)
            .bind(&u.name)
            .bind(unit_id)
            .bind(&u.password_hash)
            .fetch_one(&mut *conn)
            .await
            .map_err(sql::user_insert_error)?,
        Some(id) => {
            sqlx::query(sql::UPDATE_USER)
                .bind(&u.name)
                .bind(unit_id)
                .bind(&u.password_hash)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::DELETE_ROLES)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    for role in sql::roles(u) {
        sqlx::query(sql::INSERT_ROLE)
            .bind(id)
            .bind(role)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}
