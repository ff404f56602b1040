//! Quick find's start-up step: the backfill of the search keys (`manyi_core::find`) of cases
//! stored before migration 0013. New and changed cases get their keys in their own
//! transaction (`api::cases::find_keys`); this walks the older ones once, in batches, lowest
//! id first, and records its progress in the database, so that a restart resumes where it
//! stopped and several instances may run it at once (a case that already has keys is left
//! alone). Until it is done, quick find falls back to scanning the newest cases.
//!
//! A second round, [`backfill_repeat`], gives the cases stored before migration 0016 their
//! repeat-complaint key (`manyi_core::find::repeat_key`), with its own progress row; until it
//! is done, `api::violations::record_repeat` also scans the newest open cases.
//! The number keys (every suffix of the case number, migration 0015) of the cases stored
//! before that migration are backfilled the same way after it, by the store alone (the
//! database derives them from the number, as its trigger does for new cases); until that is
//! done, a part of a case number is scanned for. `manyi find backfill` runs both to the end
//! with a progress bar.

use manyi_store::{FindBackfill, RepeatKeyRow};

use crate::AppState;
use crate::error::AppError;

/// Cases read and keyed per transaction.
pub const BATCH: u32 = 500;

/// Backfills every case without keys, then every case without number keys; returns how many
/// cases were examined.
pub async fn backfill(state: &AppState, batch: u32) -> Result<usize, AppError> {
    let examined = backfill_fields(state, batch, |_| {}).await?;
    backfill_numbers(state, batch, |_| {}).await?;
    Ok(examined)
}

/// Backfills the number keys of the cases stored before migration 0015, `batch` cases a
/// transaction, calling `progress` after each; returns the final progress.
pub async fn backfill_numbers(
    state: &AppState,
    batch: u32,
    mut progress: impl FnMut(manyi_store::NumberBackfill),
) -> Result<manyi_store::NumberBackfill, AppError> {
    let mut now = state.store.number_backfill().await?;
    let start = now.last_case_id;
    while !now.done() {
        now = state.store.backfill_number_keys(batch).await?;
        progress(now);
    }
    if now.last_case_id > start {
        tracing::info!(
            up_to_case_id = now.last_case_id,
            "quick-find number keys backfilled"
        );
    }
    Ok(now)
}

/// Backfills the field keys (phone, name) of every case without keys, `batch` cases a
/// transaction, calling `progress` after each; returns how many cases were examined.
pub async fn backfill_fields(
    state: &AppState,
    batch: u32,
    mut on_batch: impl FnMut(FindBackfill),
) -> Result<usize, AppError> {
    let mut progress = state.store.find_backfill().await?;
    let mut examined = 0;
    while !progress.done {
        let cases = state
            .store
            .cases_after(progress.last_case_id, batch)
            .await?;
        let mut rows = Vec::with_capacity(cases.len());
        for record in &cases {
            let case = crate::api::cases::case_of(record)?;
            let policy = state.policies.get(&state.store, record.policy_id).await?;
            if let Some(kind) = policy.kind(&case.kind) {
                rows.push((
                    record.id,
                    crate::api::cases::find_keys(&case.policy_id, kind, &case.fields),
                ));
            }
        }
        progress = FindBackfill {
            last_case_id: cases.last().map_or(progress.last_case_id, |c| c.id),
            // A short batch was the last one: every case created from now on is keyed by its
            // own transaction.
            done: cases.len() < batch as usize,
        };
        state.store.backfill_find_keys(&rows, progress).await?;
        examined += cases.len();
        on_batch(progress);
    }
    if examined > 0 {
        tracing::info!(cases = examined, "quick-find keys backfilled");
    }
    Ok(examined)
}

/// Backfills the repeat keys of every case stored before migration 0016, in batches, lowest
/// id first; resumable and idempotent like [`backfill`] (a key is written only if the case is
/// still at the version it was read at and has none). Returns how many cases were examined.
pub async fn backfill_repeat(state: &AppState, batch: u32) -> Result<usize, AppError> {
    backfill_repeat_with(state, batch, |_| {}).await
}

/// [`backfill_repeat`], calling `on_progress` after each batch (`manyi find backfill`'s bar).
pub async fn backfill_repeat_with(
    state: &AppState,
    batch: u32,
    mut on_progress: impl FnMut(&FindBackfill),
) -> Result<usize, AppError> {
    let mut progress = state.store.repeat_backfill().await?;
    let mut examined = 0;
    while !progress.done {
        let cases = state
            .store
            .cases_after(progress.last_case_id, batch)
            .await?;
        let mut rows = Vec::new();
        for record in &cases {
            let case = crate::api::cases::case_of(record)?;
            let policy = state.policies.get(&state.store, record.policy_id).await?;
            if let Some(key) = policy
                .kind(&case.kind)
                .and_then(|kind| manyi_core::find::repeat_key(&case.policy_id, kind, &case.fields))
            {
                rows.push(RepeatKeyRow {
                    case_id: record.id,
                    version: record.version,
                    key,
                });
            }
        }
        progress = FindBackfill {
            last_case_id: cases.last().map_or(progress.last_case_id, |c| c.id),
            // A short batch was the last one: every case created since migration 0016 has its
            // key from its own transaction.
            done: cases.len() < batch as usize,
        };
        state.store.backfill_repeat_keys(&rows, progress).await?;
        on_progress(&progress);
        examined += cases.len();
    }
    if examined > 0 {
        tracing::info!(cases = examined, "repeat-complaint keys backfilled");
    }
    Ok(examined)
}
