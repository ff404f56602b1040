//! SQLite: runs the rewards ledger's statements, which [`crate::rewards`] builds for both
//! backends.

use sqlx::Sqlite;

use super::{SqliteStore, decode_all};
use crate::rewards;
use crate::{NewReward, RewardDecision, RewardFilter, RewardRecord, StoreError};

impl SqliteStore {
    pub(crate) async fn insert_reward(&self, r: &NewReward) -> Result<RewardRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = rewards::insert::<Sqlite>(r)
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| rewards::write_error(e, rewards::proposal_key(r)))?;
        let row = rewards::by_id::<Sqlite>(id)
            .build()
            .fetch_one(&mut *tx)
            .await?;
        let record = rewards::reward(&row)?;
        tx.commit().await?;
        Ok(record)
    }

    pub(crate) async fn list_rewards(
        &self,
        f: &RewardFilter,
    ) -> Result<Vec<RewardRecord>, StoreError> {
        let rows = rewards::list::<Sqlite>(f)?
            .build()
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, rewards::reward)
    }

    pub(crate) async fn reward_by_id(&self, id: i64) -> Result<Option<RewardRecord>, StoreError> {
        let row = rewards::by_id::<Sqlite>(id)
            .build()
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(rewards::reward).transpose()?)
    }

    pub(crate) async fn decide_reward(
        &self,
        id: i64,
        d: &RewardDecision,
    ) -> Result<RewardRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = rewards::decide::<Sqlite>(id, d)
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| rewards::write_error(e, id.to_string()))?;
        let row = rewards::by_id::<Sqlite>(id)
            .build()
            .fetch_optional(&mut *tx)
            .await?;
        let record = rewards::decided(id, row.as_ref(), done.rows_affected())?;
        tx.commit().await?;
        Ok(record)
    }
}
