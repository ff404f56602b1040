//! SQLite: the rewards ledger. Every statement is built with `QueryBuilder`, so the PostgreSQL
//! file is the same text over its own types.

use sqlx::{QueryBuilder, Sqlite};

use super::{SqliteStore, decode_all};
use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rewards::{self, recipient_key, reward_select};
use crate::time::to_millis;
use crate::tree::subtree_range;
use crate::{NewReward, RewardDecision, RewardFilter, RewardRecord, StoreError};

fn write_error(e: sqlx::Error, key: String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what: "reward",
            key,
        }
    } else if is_foreign_key_violation(&e) {
        StoreError::Invalid {
            what: "reward",
            reason: "refers to an unknown unit or user".to_owned(),
        }
    } else {
        e.into()
    }
}

impl SqliteStore {
    pub(crate) async fn insert_reward(&self, r: &NewReward) -> Result<RewardRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let key = format!("{} {} {}", r.rule, r.period, recipient_key(r));
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO rewards (policy, rule, clause, period, recipient, person_id, unit_id, \
             basis, proposed_by, proposed_at, min_fen, max_fen) VALUES (",
        );
        let mut s = q.separated(", ");
        s.push_bind(&r.policy)
            .push_bind(&r.rule)
            .push_bind(&r.clause)
            .push_bind(&r.period)
            .push_bind(recipient_key(r))
            .push_bind(r.person_id)
            .push_bind(r.unit_id)
            .push_bind(&r.basis)
            .push_bind(r.proposed_by)
            .push_bind(to_millis(r.proposed_at))
            .push_bind(r.min_fen)
            .push_bind(r.max_fen);
        q.push(") RETURNING id");
        let id: i64 = q
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, key.clone()))?;
        let mut q = QueryBuilder::<Sqlite>::new(reward_select!());
        q.push(" AND r.id = ").push_bind(id);
        let row = q.build().fetch_one(&mut *tx).await?;
        let record = rewards::reward(&row)?;
        tx.commit().await?;
        Ok(record)
    }

    pub(crate) async fn list_rewards(
        &self,
        f: &RewardFilter,
    ) -> Result<Vec<RewardRecord>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(reward_select!());
        if let Some(prefix) = &f.unit_subtree {
            let (lo, hi) = subtree_range(prefix)?;
            q.push(" AND u.path >= ").push_bind(lo);
            q.push(" AND u.path < ").push_bind(hi);
        }
        if let Some(v) = &f.visible_to {
            let (lo, hi) = subtree_range(&v.unit_path)?;
            q.push(" AND ((u.path >= ").push_bind(lo);
            q.push(" AND u.path < ").push_bind(hi);
            q.push(") OR r.person_id = ").push_bind(v.user_id);
            q.push(")");
        }
        if let Some(p) = &f.period {
            q.push(" AND r.period = ").push_bind(p.clone());
        }
        if let Some(s) = &f.status {
            q.push(" AND r.status = ").push_bind(s.clone());
        }
        q.push(" ORDER BY r.proposed_at, r.id LIMIT 10000");
        let rows = q.build().fetch_all(&self.read).await?;
        decode_all(&rows, rewards::reward)
    }

    pub(crate) async fn reward_by_id(&self, id: i64) -> Result<Option<RewardRecord>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(reward_select!());
        q.push(" AND r.id = ").push_bind(id);
        let row = q.build().fetch_optional(&self.read).await?;
        Ok(row.as_ref().map(rewards::reward).transpose()?)
    }

    pub(crate) async fn decide_reward(
        &self,
        id: i64,
        d: &RewardDecision,
    ) -> Result<RewardRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE rewards SET status = ");
        q.push_bind(if d.granted { "granted" } else { "declined" });
        q.push(", amount_fen = ").push_bind(d.amount_fen);
        q.push(", decision_reason = ").push_bind(&d.reason);
        q.push(", decided_by = ").push_bind(d.by);
        q.push(", decided_at = ").push_bind(to_millis(d.at));
        q.push(" WHERE id = ").push_bind(id);
        q.push(" AND status = 'proposed'");
        let done = q
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, id.to_string()))?;
        let mut q = QueryBuilder::<Sqlite>::new(reward_select!());
        q.push(" AND r.id = ").push_bind(id);
        let row = q.build().fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                what: "reward",
                key: id.to_string(),
            });
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let record = rewards::reward(&row)?;
        tx.commit().await?;
        Ok(record)
    }
}
