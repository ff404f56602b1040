//! PostgreSQL: the secondary indexes and the foreign keys of a bulk load (see
//! `crate::deferred_indexes`), read from the catalogue (`pg_get_indexdef`,
//! `pg_get_constraintdef`) and re-created from that text.
//!
//! A foreign key is checked row by row during the load (an index probe and a row lock per
//! referencing row, ~20 per generated case); re-added after it, it is checked once for the
//! whole table by one join. It is listed in `deferred_indexes` like an index, its definition
//! being the `ALTER TABLE … ADD CONSTRAINT` that re-creates it, so the same invariant holds:
//! present, or listed.

use jiff::Timestamp;

use super::PgStore;
use crate::StoreError;
use crate::deferred_indexes::{BULK_FK_TABLES, BULK_TABLES};
use crate::time::to_millis;

/// Memory for the sort of one index build; the default 64 MB spills a 10,000,000-row build to
/// disk many times over. Set for the rebuilding transaction only.
const BUILD_MEMORY: &str = "SET LOCAL maintenance_work_mem = '256MB'";

impl PgStore {
    pub(crate) async fn defer_bulk_indexes(
        &self,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.tx().await?;
        let found = deferrable(&mut tx).await?;
        for Deferrable {
            name,
            definition,
            drop,
        } in &found
        {
            sqlx::query(
                "INSERT INTO deferred_indexes (name, definition, deferred_at) VALUES ($1, $2, $3)",
            )
            .bind(name)
            .bind(definition)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
            // Written by the catalogue query with its identifiers quoted (`format('%I')`).
            sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(found.into_iter().map(|d| d.name).collect())
    }

    pub(crate) async fn rebuild_deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        let mut rebuilt = Vec::new();
        for name in self.deferred_indexes().await? {
            let mut tx = self.tx().await?;
            // Another instance migrating at the same time may have rebuilt it already: the
            // row lock makes the second one find no row and skip.
            let definition: Option<String> = sqlx::query_scalar(
                "SELECT definition FROM deferred_indexes WHERE name = $1 FOR UPDATE",
            )
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(definition) = definition else {
                continue;
            };
            let present: bool = if definition.starts_with(ADD_CONSTRAINT) {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1 AND contype = 'f')",
                )
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?
            } else {
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(quote_ident(&name))
                    .fetch_one(&mut *tx)
                    .await?
            };
            if !present {
                sqlx::query(BUILD_MEMORY).execute(&mut *tx).await?;
                sqlx::query(sqlx::AssertSqlSafe(definition))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM deferred_indexes WHERE name = $1")
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            rebuilt.push(name);
        }
        Ok(rebuilt)
    }

    pub(crate) async fn bulk_table_indexes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(deferrable(&mut conn)
            .await?
            .into_iter()
            .map(|d| (d.name, d.definition))
            .collect())
    }

    pub(crate) async fn deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM deferred_indexes ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

/// How the definition of a deferred foreign key starts (an index's starts with `CREATE`).
const ADD_CONSTRAINT: &str = "ALTER TABLE ";

/// What a load may set aside: its name, the statement that re-creates it and the one that
/// drops it.
struct Deferrable {
    name: String,
    definition: String,
    drop: String,
}

/// The indexes of the bulk-loaded tables that a load may defer (not the primary key, not
/// unique, backing no constraint), and the foreign keys of the tables it fills, by name.
async fn deferrable(conn: &mut sqlx::PgConnection) -> Result<Vec<Deferrable>, StoreError> {
    let tables: Vec<String> = BULK_TABLES.iter().map(|t| (*t).to_owned()).collect();
    let fk_tables: Vec<String> = BULK_FK_TABLES.iter().map(|t| (*t).to_owned()).collect();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), format('DROP INDEX %I', c.relname) \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t) \
           AND NOT i.indisprimary AND NOT i.indisunique \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
         UNION ALL \
         SELECT k.conname::text, \
                format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname, \
                       pg_get_constraintdef(k.oid)), \
                format('ALTER TABLE %s DROP CONSTRAINT %I', k.conrelid::regclass, k.conname) \
         FROM pg_constraint k \
         WHERE k.contype = 'f' \
           AND k.conrelid IN (SELECT to_regclass(t) FROM unnest($2::text[]) t) \
         ORDER BY 1",
    )
    .bind(&tables)
    .bind(&fk_tables)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, definition, drop)| Deferrable {
            name,
            definition,
            drop,
        })
        .collect())
}

/// An identifier in double quotes, inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
