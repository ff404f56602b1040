//! PostgreSQL: the secondary indexes of a bulk load (see `crate::deferred_indexes`), read from
//! the catalogue with `pg_get_indexdef` and re-created from that text.

use jiff::Timestamp;

use super::PgStore;
use crate::StoreError;
use crate::deferred_indexes::BULK_TABLES;
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
        let found = secondary_indexes(&mut tx).await?;
        for (name, definition) in &found {
            sqlx::query(
                "INSERT INTO deferred_indexes (name, definition, deferred_at) VALUES ($1, $2, $3)",
            )
            .bind(name)
            .bind(definition)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
            // The name comes from the catalogue, quoted as an identifier all the same.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP INDEX {}",
                quote_ident(name)
            )))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(found.into_iter().map(|(name, _)| name).collect())
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
            let present: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(quote_ident(&name))
                .fetch_one(&mut *tx)
                .await?;
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
        secondary_indexes(&mut conn).await
    }

    pub(crate) async fn deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM deferred_indexes ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

/// `(name, definition)` of the indexes of the bulk-loaded tables that a load may defer: not
/// the primary key, not unique, backing no constraint.
async fn secondary_indexes(
    conn: &mut sqlx::PgConnection,
) -> Result<Vec<(String, String)>, StoreError> {
    let tables: Vec<String> = BULK_TABLES.iter().map(|t| (*t).to_owned()).collect();
    Ok(sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t) \
           AND NOT i.indisprimary AND NOT i.indisunique \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
         ORDER BY c.relname",
    )
    .bind(&tables)
    .fetch_all(&mut *conn)
    .await?)
}

/// An identifier in double quotes, inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
