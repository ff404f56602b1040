//! What the assistance (`assist.rs`, ccb-counter 第二十条) and dispute (`disputes.rs`,
//! 第二十一条) endpoints share: both are sub-tasks between units on a case, so a unit taking
//! part may reach the case without owning it (need-to-know), and each step writes the case
//! with its deadline timer and ledger entries, or fires that timer for the scheduler.

use manyi_core::case::Case;
use manyi_core::engine::Directory;
use manyi_core::org::UnitRef;
use manyi_store::{CaseRecord, CaseUpdate, FireOutcome, StoreError, TimerRecord, User};

use crate::AppState;
use crate::api::cases::case_of;
use crate::error::AppError;

/// Every unit, for resolving the units a step names.
pub(crate) async fn directory(state: &AppState) -> Result<Directory, AppError> {
    let mut directory = Directory::default();
    for u in state.store.list_units().await? {
        directory.add_unit(UnitRef::from_path(
            u.id, &u.code, &u.name, &u.level, &u.path,
        ));
    }
    Ok(directory)
}

/// Whether `user` sees the whole case, as they would without any sub-task: an admin, its
/// first contact, or someone in (or above) the owning unit.
pub(crate) fn sees_whole(user: &User, record: &CaseRecord) -> bool {
    user.roles.iter().any(|r| r == "admin")
        || record.first_contact_id == user.id
        || record.owner_unit_path.starts_with(&user.unit_path)
}

/// The case, if the user sees it whole or `takes_part` says their unit (path) takes part in
/// one of its sub-tasks; 404 otherwise.
pub(crate) async fn case_for(
    state: &AppState,
    user: &User,
    number: &str,
    takes_part: impl Fn(&Case, &str) -> bool,
) -> Result<(CaseRecord, Case), AppError> {
    let not_found = || AppError::NotFound(format!("no case {number}"));
    let record = state
        .store
        .case_by_number(number)
        .await?
        .ok_or_else(not_found)?;
    let case = case_of(&record)?;
    if !sees_whole(user, &record) && !takes_part(&case, &user.unit_path) {
        return Err(not_found());
    }
    Ok((record, case))
}

/// Writes a step's case update, waking the scheduler when it changed timers. `false` on a
/// version conflict (the caller decides again).
pub(crate) async fn write(state: &AppState, update: CaseUpdate) -> Result<bool, AppError> {
    let wrote_timers = !update.timers.is_empty();
    match state.store.update_case(update).await {
        Ok(_) => {
            if wrote_timers {
                state.timers_changed.notify_one();
            }
            Ok(true)
        }
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Fires a sub-task's deadline timer: with the update the overdue step decided (`true`: the
/// case changed), or without one when nothing was overdue any more (`false`: stale). `None`
/// on a version conflict (the scheduler decides again).
pub(crate) async fn fire(
    state: &AppState,
    timer: &TimerRecord,
    now: jiff::Timestamp,
    update: Option<CaseUpdate>,
) -> Result<Option<(FireOutcome, bool)>, AppError> {
    let Some(update) = update else {
        return Ok(Some((
            state.store.fire_timer(timer.id, now, None).await?,
            false,
        )));
    };
    match state.store.fire_timer(timer.id, now, Some(update)).await {
        Ok(outcome) => Ok(Some((outcome, true))),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
