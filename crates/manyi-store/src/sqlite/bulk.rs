//! SQLite: bulk loading of generated cases (see `crate::bulk`). One `BEGIN IMMEDIATE`
//! transaction per call, multi-row `INSERT`s with explicit case ids (taken after the highest
//! id, under the write lock), the counters advanced in the same transaction.

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use crate::StoreError;
use crate::bulk::{BulkCase, CASE_ROWS, EVENT_ROWS, TIMER_ROWS, check, check_counter};
use crate::time::to_millis;

impl SqliteStore {
    pub(crate) async fn bulk_insert_cases(&self, cases: &[BulkCase]) -> Result<(), StoreError> {
        let groups = check(cases)?;
        let mut tx = self.write_tx().await?;
        let paths: HashMap<i64, String> = sqlx::query_as("SELECT id, path FROM units")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        for ((scope, period), (lo, hi, _)) in &groups {
            let stored: Option<i64> = sqlx::query_scalar(
                "SELECT last_serial FROM number_counters WHERE scope = ? AND period = ?",
            )
            .bind(scope)
            .bind(period)
            .fetch_optional(&mut *tx)
            .await?;
            check_counter(scope, period, stored, *lo)?;
            sqlx::query(
                "INSERT INTO number_counters (scope, period, last_serial) VALUES (?, ?, ?) \
                 ON CONFLICT (scope, period) DO UPDATE SET last_serial = excluded.last_serial",
            )
            .bind(scope)
            .bind(period)
            .bind(i64::try_from(*hi).map_err(|_| crate::error::corrupt("serial"))?)
            .execute(&mut *tx)
            .await?;
        }
        let first_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")
            .fetch_one(&mut *tx)
            .await?;
        let mut rows = Vec::with_capacity(cases.len());
        for (id, c) in (first_id..).zip(cases) {
            let path = paths
                .get(&c.owner_unit_id)
                .ok_or_else(|| StoreError::Invalid {
                    what: "bulk case",
                    reason: format!("unknown owner unit id {}", c.owner_unit_id),
                })?;
            rows.push((id, c, path.as_str()));
        }
        for chunk in rows.chunks(CASE_ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO cases (id, number, number_scope, number_period, serial, kind, \
                 policy_id, state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, \
                 channel, created_at, updated_at, closed, version, snapshot, due_at, \
                 closed_at) ",
            );
            q.push_values(chunk, |mut b, (id, c, path)| {
                b.push_bind(*id)
                    .push_bind(&c.number)
                    .push_bind(&c.number_scope)
                    .push_bind(&c.number_period)
                    .push_bind(i64::try_from(c.serial).unwrap_or(i64::MAX))
                    .push_bind(&c.kind)
                    .push_bind(c.policy_id)
                    .push_bind(&c.state)
                    .push_bind(c.owner_unit_id)
                    .push_bind(*path)
                    .push_bind(c.first_contact_id)
                    .push_bind(c.assignee_id)
                    .push_bind(&c.channel)
                    .push_bind(to_millis(c.created_at))
                    .push_bind(to_millis(c.updated_at))
                    .push_bind(c.closed)
                    .push_bind(i64::try_from(c.events.len()).unwrap_or(i64::MAX))
                    .push_bind(Json(&c.snapshot))
                    .push_bind(c.due_at.map(to_millis))
                    .push_bind(crate::bulk::closed_at(c));
            });
            q.build().execute(&mut *tx).await?;
        }
        let events: Vec<_> = rows
            .iter()
            .flat_map(|(id, c, _)| (1_i64..).zip(&c.events).map(move |(seq, e)| (*id, seq, e)))
            .collect();
        for chunk in events.chunks(EVENT_ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO case_events \
                 (case_id, seq, occurred_at, actor_id, action, clause, payload) ",
            );
            q.push_values(chunk, |mut b, (id, seq, e)| {
                b.push_bind(*id)
                    .push_bind(*seq)
                    .push_bind(to_millis(e.at))
                    .push_bind(e.actor_id)
                    .push_bind(&e.action)
                    .push_bind(&e.clause)
                    .push_bind(Json(crate::rows::StoredView::of(e)));
            });
            q.build().execute(&mut *tx).await?;
        }
        let timers: Vec<_> = rows
            .iter()
            .flat_map(|(id, c, _)| c.timers.iter().map(move |t| (*id, t)))
            .collect();
        for chunk in timers.chunks(TIMER_ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO timers (case_id, clock, kind, generation, due_at) ",
            );
            q.push_values(chunk, |mut b, (id, t)| {
                b.push_bind(*id)
                    .push_bind(&t.clock)
                    .push_bind(&t.kind)
                    .push_bind(t.generation)
                    .push_bind(to_millis(t.due_at));
            });
            q.build().execute(&mut *tx).await?;
        }
        super::find::insert_keys(
            &mut tx,
            rows.iter()
                .flat_map(|(id, c, _)| c.find.iter().map(move |k| (*id, k))),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
