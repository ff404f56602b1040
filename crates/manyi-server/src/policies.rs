//! Compiled policies, cached by stored version.
//!
//! A stored policy version never changes, so its compiled form can be cached in each instance
//! without any invalidation: the cache is a pure speed-up, never shared truth. Which version is
//! *active* is always read from the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use manyi_core::policy::{self, Policy};
use manyi_store::{PolicyRecord, Store};

use crate::error::AppError;

/// A compiled policy with the stored version it came from.
#[derive(Debug)]
pub struct Compiled {
    /// The stored version's id (what a case refers to).
    pub record_id: i64,
    /// The version number within the policy: 1, 2, 3 …
    pub version: i64,
    pub policy: Policy,
}

impl std::ops::Deref for Compiled {
    type Target = Policy;

    fn deref(&self) -> &Policy {
        &self.policy
    }
}

#[derive(Default)]
pub struct PolicyCache {
    compiled: RwLock<HashMap<i64, Arc<Compiled>>>,
}

impl PolicyCache {
    /// The compiled policy of a stored version.
    pub async fn get(&self, store: &Store, id: i64) -> Result<Arc<Compiled>, AppError> {
        if let Some(p) = self.read().get(&id) {
            return Ok(p.clone());
        }
        let record = store
            .policy_by_id(id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("policy version {id} is missing")))?;
        self.compile(&record)
    }

    /// Compiles a record (already known to be valid: it was checked before it was stored).
    pub fn compile(&self, record: &PolicyRecord) -> Result<Arc<Compiled>, AppError> {
        if let Some(p) = self.read().get(&record.id) {
            return Ok(p.clone());
        }
        let outcome = policy::load(&record.name, &record.source);
        let compiled = outcome
            .policy
            .map(|policy| {
                Arc::new(Compiled {
                    record_id: record.id,
                    version: record.version,
                    policy,
                })
            })
            .ok_or_else(|| {
                AppError::Internal(format!(
                    "stored policy {} v{} no longer loads",
                    record.name, record.version
                ))
            })?;
        self.compiled
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.id, compiled.clone());
        Ok(compiled)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Arc<Compiled>>> {
        // A poisoned lock only means a panic elsewhere while writing a complete entry.
        self.compiled.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks a policy source and stores it as a new version of its policy (unless the latest
/// version has the same text). With `activate`, the version also becomes the active one.
/// A policy with errors is refused whole: nothing is stored or activated.
pub async fn install(
    store: &Store,
    cache: &PolicyCache,
    file_name: &str,
    source: &str,
    now: jiff::Timestamp,
    activate: bool,
) -> Result<(PolicyRecord, Vec<policy::Diagnostic>), AppError> {
    let outcome = policy::load(file_name, source);
    let Some(checked) = outcome.policy else {
        return Err(AppError::InvalidPolicy(outcome.diagnostics));
    };
    if activate {
        refuse_placeholders(&checked.id, source)?;
    }
    let hash = crate::auth::token_hash(source);
    let mut record = store
        .store_policy_version(&checked.id, source, &hash, now)
        .await?;
    if activate && !record.active {
        record = store.activate_policy(record.id, now).await?;
    }
    cache.compile(&record)?;
    Ok((record, outcome.diagnostics))
}

/// A policy with unfilled placeholders (CLAUSES.md A31) may be stored and checked but never
/// activated: 422 with every placeholder, at its line and column.
pub fn refuse_placeholders(policy_id: &str, source: &str) -> Result<(), AppError> {
    let open = policy::placeholders(source);
    if open.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = open.iter().map(|p| format!("`{}`", p.name)).collect();
    Err(AppError::Invalid {
        detail: format!(
            "policy `{policy_id}` has {} unfilled placeholder(s) and cannot be activated: {}",
            open.len(),
            list.join(", ")
        ),
        fields: open
            .iter()
            .map(|p| manyi_core::engine::FieldError {
                field: format!("{}:{}", p.line, p.column),
                code: "placeholder.unfilled".into(),
                message: format!(
                    "placeholder `{}` at line {}, column {} must be filled in before activation \
                     (CLAUSES.md A31)",
                    p.name, p.line, p.column
                ),
                message_zh: format!(
                    "第{}行第{}列的待填项「{}」须先填写，方可启用",
                    p.line, p.column, p.name
                ),
            })
            .collect(),
    })
}
