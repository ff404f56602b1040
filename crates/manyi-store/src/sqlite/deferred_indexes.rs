//! SQLite: the secondary indexes of a bulk load (see `crate::deferred_indexes`), read from
//! `sqlite_master` (whose `sql` is the index's own `CREATE INDEX`) and re-created from it.

use jiff::Timestamp;

use super::SqliteStore;
use crate::StoreError;
use crate::deferred_indexes::BULK_TABLES;
use crate::time::to_millis;

impl SqliteStore {
    pub(crate) async fn defer_bulk_indexes(
        &self,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write_tx().await?;
        let found = secondary_indexes(&mut tx).await?;
        for (name, definition) in &found {
            sqlx::query(
                "INSERT INTO deferred_indexes (name, definition, deferred_at) VALUES (?, ?, ?)",
            )
            .bind(name)
            .bind(definition)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP INDEX \"{}\"",
                name.replace('"', "\"\"")
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
            // One writer: no other instance can rebuild it meanwhile, but read it again inside
            // the write transaction all the same.
            let mut tx = self.write_tx().await?;
            let definition: Option<String> =
                sqlx::query_scalar("SELECT definition FROM deferred_indexes WHERE name = ?")
                    .bind(&name)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(definition) = definition else {
                continue;
            };
            let present: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)",
            )
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
            if !present {
                sqlx::query(sqlx::AssertSqlSafe(definition))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM deferred_indexes WHERE name = ?")
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            rebuilt.push(name);
        }
        Ok(rebuilt)
    }

    pub(crate) async fn bulk_table_indexes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.write.acquire().await?;
        secondary_indexes(&mut conn).await
    }

    pub(crate) async fn deferred_indexes(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM deferred_indexes ORDER BY name")
                .fetch_all(&self.write)
                .await?,
        )
    }
}

/// `(name, definition)` of the indexes of the bulk-loaded tables that a load may defer.
async fn secondary_indexes(
    conn: &mut sqlx::SqliteConnection,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut found = Vec::new();
    for table in BULK_TABLES {
        // Indexes made for a constraint have no `sql`; unique ones keep checking the load.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL \
               AND upper(sql) NOT LIKE 'CREATE UNIQUE%' \
             ORDER BY name",
        )
        .bind(*table)
        .fetch_all(&mut *conn)
        .await?;
        found.extend(rows);
    }
    Ok(found)
}
