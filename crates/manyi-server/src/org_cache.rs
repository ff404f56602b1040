//! What every create reads, cached per instance behind a revision number in the database.
//!
//! Each create needs the org tree (jurisdiction, hand-up targets), the unit calendars (the
//! clocks run on the owning unit's calendar) and the active policy versions. Reading them
//! whole from the database on every request cost more than writing the case. They change
//! rarely, and every change — from any instance, the CLI, or raw SQL — bumps
//! `Store::directory_revision` through triggers in the same transaction. So a request reads
//! that one number (one indexed row) and reuses the snapshot when it matches: a change is seen
//! by every instance at its next request, never later.
//!
//! The revision is read *before* the tables: a snapshot is therefore at least as new as the
//! revision it is filed under, and a change that lands in between only causes one extra reload.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use manyi_core::calendar::Overlay;
use manyi_core::engine::Directory;
use manyi_core::org::{UnitId, UnitRef};
use manyi_store::{PolicyRecord, Store, Unit};

use crate::error::AppError;

/// The cached tables at one revision. Immutable: a change makes a new snapshot.
pub struct OrgSnapshot {
    /// `Store::directory_revision` read before the tables were.
    pub revision: i64,
    pub units: Vec<Unit>,
    /// A directory holding every unit (no people): requests clone it and add the people
    /// their input names.
    pub directory: Directory,
    /// The active policy versions, by name.
    pub active_policies: Vec<PolicyRecord>,
    /// Each unit's effective calendar overlay (its own merged over its ancestors'); units
    /// without one are absent.
    pub overlays: HashMap<UnitId, Overlay>,
}

/// The instance's current snapshot.
#[derive(Default)]
pub struct OrgCache {
    current: RwLock<Option<Arc<OrgSnapshot>>>,
}

impl OrgCache {
    /// The snapshot at the database's current revision, loaded if this instance's is older.
    pub async fn get(&self, store: &Store) -> Result<Arc<OrgSnapshot>, AppError> {
        let revision = store.directory_revision().await?;
        if let Some(snapshot) = self.read().as_ref()
            && snapshot.revision == revision
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(load(store, revision).await?);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // Two requests may reload at once; keep the newer snapshot.
        if current.as_ref().is_none_or(|c| c.revision <= revision) {
            *current = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Arc<OrgSnapshot>>> {
        // A poisoned lock only means a panic elsewhere while storing a complete snapshot.
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }
}

async fn load(store: &Store, revision: i64) -> Result<OrgSnapshot, AppError> {
    let units = store.list_units().await?;
    let active_policies = store.active_policies().await?;
    let own: HashMap<UnitId, Overlay> = store
        .unit_calendars()
        .await?
        .into_iter()
        .filter_map(|(id, json)| match serde_json::from_value::<Overlay>(json) {
            Ok(o) => Some((id, o)),
            Err(e) => {
                tracing::error!(unit_id = id, error = %e, "unreadable unit calendar ignored");
                None
            }
        })
        .collect();
    let mut directory = Directory::default();
    let mut overlays = HashMap::new();
    for u in &units {
        let unit = UnitRef::from_path(u.id, &u.code, &u.name, &u.level, &u.path);
        if !own.is_empty() {
            let mut merged = Overlay::default();
            for id in unit.ancestors.iter().chain(std::iter::once(&unit.id)) {
                if let Some(o) = own.get(id) {
                    merged = Overlay::merge(&merged, o);
                }
            }
            if merged != Overlay::default() {
                overlays.insert(unit.id, merged);
            }
        }
        directory.add_unit(unit);
    }
    tracing::debug!(revision, units = units.len(), "org snapshot loaded");
    Ok(OrgSnapshot {
        revision,
        units,
        directory,
        active_policies,
        overlays,
    })
}
