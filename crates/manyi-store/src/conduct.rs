//! Conduct recorded without a case (issue 5, migration 0020): a supervisor's daily review sees
//! a teller without a badge, a lobby manager hears rude words at the counter. No complaint case
//! exists, so the violation is written on its own — no case, no event — naming the policy
//! version whose `[[conduct]]` type it is, with the penalty proposals of that policy's rules,
//! in one transaction.
//!
//! A request may carry an idempotency key: a retry with the same key and body finds the
//! violation written the first time ([`ConductOutcome::Replayed`]); the same key with another
//! body is refused ([`ConductOutcome::KeyReused`]), with nothing written either way.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, Encode, Type};

use crate::ledger::INSERT_CASELESS_VIOLATION;
use crate::time::to_millis;
use crate::{Backend, Idempotency, NewPenalty, NewViolation, Store, StoreError, ViolationRecord};

/// Conduct to record without a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConduct {
    /// The policy version whose `[[conduct]]` type was broken.
    pub policy_id: i64,
    pub kind: String,
    /// The conduct type's id.
    pub rule: String,
    pub clause: String,
    /// When it was observed.
    pub occurred_at: Timestamp,
    /// The recorded person's unit: whose jurisdiction it is in.
    pub unit_id: i64,
    /// The liable persons (user ids).
    pub person_ids: Vec<i64>,
    /// The violation as the domain recorded it, with what happened. Personal data.
    pub detail: Value,
    pub penalties: Vec<NewPenalty>,
    /// Set when the request carried an idempotency key.
    pub idempotency: Option<Idempotency>,
}

impl NewConduct {
    /// The ledger's view of it, for the penalty statements shared with case violations.
    pub(crate) fn as_violation(&self) -> NewViolation {
        NewViolation {
            event_index: 0,
            kind: self.kind.clone(),
            rule: self.rule.clone(),
            clause: self.clause.clone(),
            occurred_at: self.occurred_at,
            due_at: None,
            unit_id: self.unit_id,
            person_ids: self.person_ids.clone(),
            detail: self.detail.clone(),
            penalties: self.penalties.clone(),
        }
    }
}

/// The result of [`Store::record_conduct`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConductOutcome {
    /// Written now.
    Created(ViolationRecord),
    /// The same user sent the same key with the same request before: that violation, nothing
    /// new written.
    Replayed(ViolationRecord),
    /// The same user sent the same key with a different request: nothing written.
    KeyReused,
}

/// Binds: user id, key. Returns `request_hash`, `violation_id`.
pub(crate) const KEY_LOOKUP: &str = "SELECT request_hash, violation_id FROM conduct_keys \
     WHERE user_id = $1 AND idempotency_key = $2";

/// Binds: user id, key, request hash, violation id. Inserts nothing when a concurrent request
/// took the key first.
pub(crate) const KEY_INSERT: &str = "INSERT INTO conduct_keys \
     (user_id, idempotency_key, request_hash, violation_id) VALUES ($1, $2, $3, $4) \
     ON CONFLICT DO NOTHING";

/// The statement that writes `c`'s violation, returning its `id`.
pub(crate) fn insert_violation<'a, DB>(c: &'a NewConduct) -> Query<'a, DB, DB::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Json<&'a Vec<i64>>: Encode<'t, DB> + Type<DB>,
    for<'t> Json<&'a Value>: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(INSERT_CASELESS_VIOLATION)
        .bind(c.policy_id)
        .bind(c.kind.clone())
        .bind(c.rule.clone())
        .bind(c.clause.clone())
        .bind(to_millis(c.occurred_at))
        .bind(c.unit_id)
        .bind(Json(&c.person_ids))
        .bind(Json(&c.detail))
}

/// What a key already stored means for a request with `hash`.
pub(crate) fn replay(stored_hash: &str, hash: &str, record: ViolationRecord) -> ConductOutcome {
    if stored_hash == hash {
        ConductOutcome::Replayed(record)
    } else {
        ConductOutcome::KeyReused
    }
}

impl Store {
    /// Records conduct without a case: the violation, its persons and its penalty proposals in
    /// one transaction, or (a retried key) the violation recorded the first time. The caller
    /// has decided it (`manyi_core::conduct::decide_record_without_case`).
    pub async fn record_conduct(&self, c: NewConduct) -> Result<ConductOutcome, StoreError> {
        crate::validate::conduct(&c)?;
        match &self.backend {
            Backend::Sqlite(b) => b.record_conduct(&c).await,
            Backend::Postgres(b) => b.record_conduct(&c).await,
        }
    }

    /// One violation, with or without a case.
    pub async fn violation_by_id(&self, id: i64) -> Result<Option<ViolationRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.violation_by_id(id).await,
            Backend::Postgres(b) => b.violation_by_id(id).await,
        }
    }

    /// Applies only the embedded migrations numbered below `version`: a test fills a database
    /// as it was before a migration, then runs [`Store::migrate`] (the 0020 rebuild of the
    /// ledger tables is tested that way, on rows written before it).
    #[doc(hidden)]
    pub async fn migrate_below_for_tests(&self, version: i64) -> Result<(), StoreError> {
        let below = |list: &[crate::migrate::Embedded]| -> Vec<crate::migrate::Embedded> {
            list.iter().copied().filter(|m| m.0 < version).collect()
        };
        match &self.backend {
            Backend::Sqlite(b) => b.migrate_with(&below(crate::migrate::SQLITE)).await,
            Backend::Postgres(b) => b.migrate_with(&below(crate::migrate::POSTGRES)).await,
        }
    }
}
