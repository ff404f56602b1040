//! The calendar in force, and importing new official holiday notices at run time.
//!
//! The official calendar ships in the binary; notices published later (the next year's, an
//! amended one) are imported with `manyi calendar import FILE` or `POST /api/v1/calendar/files`
//! and stored in the database (append-only), so every instance uses the same calendar: each
//! one compares the store's calendar revision on every scheduler loop and reloads when it
//! changed. An import is checked whole before anything is stored (a bad file, a date listed
//! twice with different kinds: nothing is imported and running deadlines are untouched);
//! after it, the deadlines of open cases are rebuilt on the new calendar (provisional ones
//! become final) and their timers rescheduled.

use std::sync::{Arc, RwLock};

use manyi_core::calendar::{Calendar, CalendarView, Overlay};
use manyi_core::deadlines;
use manyi_core::org::{UnitId, UnitRef};
use manyi_store::{CaseFilter, NewCalendarFile, StoreError};
use serde::Serialize;

use crate::AppState;
use crate::api::cases::case_of;
use crate::error::AppError;

/// The calendar this instance computes deadlines on, swapped when new notices are imported.
pub struct CalendarCell {
    current: RwLock<(i64, Arc<Calendar>)>,
}

impl CalendarCell {
    /// The shipped calendar, revision 0 (no imported files).
    pub fn official() -> CalendarCell {
        CalendarCell {
            current: RwLock::new((0, Arc::new(Calendar::official().clone()))),
        }
    }

    pub fn current(&self) -> Arc<Calendar> {
        self.read().1.clone()
    }

    pub fn revision(&self) -> i64 {
        self.read().0
    }

    // Shorthands for one-off questions; for arithmetic take `current()` and its `view()`.

    pub fn version(&self) -> String {
        self.read().1.version().to_owned()
    }

    pub fn day_kind(&self, date: jiff::civil::Date) -> manyi_core::calendar::DayKind {
        self.read().1.day_kind(date)
    }

    pub fn is_covered(&self, year: i16) -> bool {
        self.read().1.is_covered(year)
    }

    pub fn covered_years(&self) -> Vec<i16> {
        self.read().1.covered_years()
    }

    pub fn gap_alerts(&self, today: jiff::civil::Date) -> Vec<manyi_core::calendar::GapAlert> {
        self.read().1.gap_alerts(today)
    }

    fn set(&self, revision: i64, calendar: Calendar) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = (revision, Arc::new(calendar));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (i64, Arc<Calendar>)> {
        // A poisoned lock only means a panic elsewhere; the pair inside is always complete.
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The shipped data with the stored notices (the newest file of each year replacing the
/// shipped one).
async fn load(state: &AppState) -> Result<(i64, Calendar), AppError> {
    let revision = state.store.calendar_revision().await?;
    let files = state.store.calendar_files().await?;
    let calendar = Calendar::official_with_updates(
        files
            .iter()
            .map(|f| (f.name.clone(), f.content.clone().into_bytes())),
    )
    .map_err(|e| AppError::Internal(format!("stored calendar files no longer load: {e}")))?;
    Ok((revision, calendar))
}

/// Reloads the calendar if another instance (or the CLI) imported notices since.
pub async fn refresh(state: &AppState) -> Result<bool, AppError> {
    if state.store.calendar_revision().await? == state.calendar.revision() {
        return Ok(false);
    }
    let (revision, calendar) = load(state).await?;
    tracing::info!(revision, version = %calendar.version(), "calendar reloaded");
    state.calendar.set(revision, calendar);
    Ok(true)
}

/// What an import did.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub files: Vec<String>,
    pub calendar_version: String,
    pub covered_years: Vec<i16>,
    /// Open cases examined, and those whose deadlines changed.
    pub cases_examined: usize,
    pub cases_recomputed: usize,
}

/// Imports notice files (`(file name, bytes)`), then rebuilds the deadlines of open cases.
pub async fn import(
    state: &AppState,
    files: Vec<(String, Vec<u8>)>,
) -> Result<ImportReport, AppError> {
    if files.is_empty() {
        return Err(AppError::BadRequest("no calendar file given".into()));
    }
    // Check the whole calendar as it would be, before storing anything.
    let stored = state.store.calendar_files().await?;
    let mut parsed = Vec::new();
    for (name, bytes) in &files {
        let notice = manyi_core::calendar::NoticeFile::parse(name, bytes).map_err(|e| {
            AppError::Invalid {
                detail: e.to_string(),
                fields: Vec::new(),
            }
        })?;
        parsed.push((name.clone(), notice.year, bytes.clone()));
    }
    let candidate = Calendar::official_with_updates(
        stored
            .iter()
            .map(|f| (f.name.clone(), f.content.clone().into_bytes()))
            .chain(files.iter().cloned()),
    )
    .map_err(|e| AppError::Invalid {
        detail: e.to_string(),
        fields: Vec::new(),
    })?;
    let new_files = parsed
        .into_iter()
        .map(|(name, year, bytes)| {
            let content = String::from_utf8(bytes).map_err(|_| {
                AppError::BadRequest(format!("{name}: a calendar file must be UTF-8 JSON"))
            })?;
            Ok(NewCalendarFile {
                sha: crate::auth::token_hash(&content),
                name,
                year: i64::from(year),
                content,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let names = new_files.iter().map(|f| f.name.clone()).collect();
    state
        .store
        .import_calendar_files(new_files, state.clock.now())
        .await?;
    let (revision, calendar) = load(state).await?;
    debug_assert_eq!(calendar.version(), candidate.version());
    state.calendar.set(revision, calendar);
    let (examined, recomputed) = recompute_open_cases(state).await?;
    let calendar = state.calendar.current();
    Ok(ImportReport {
        files: names,
        calendar_version: calendar.version().to_owned(),
        covered_years: calendar.covered_years(),
        cases_examined: examined,
        cases_recomputed: recomputed,
    })
}

/// Rebuilds the deadlines of every open case on the current calendar; returns (examined,
/// changed).
pub async fn recompute_open_cases(state: &AppState) -> Result<(usize, usize), AppError> {
    let mut filter = CaseFilter {
        closed: Some(false),
        limit: manyi_store::MAX_PAGE_SIZE,
        ..CaseFilter::default()
    };
    let (mut examined, mut changed) = (0, 0);
    loop {
        let page = state.store.list_cases(&filter).await?;
        for record in &page.items {
            examined += 1;
            if recompute_case(state, record.id).await? {
                changed += 1;
            }
        }
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    Ok((examined, changed))
}

async fn recompute_case(state: &AppState, case_id: i64) -> Result<bool, AppError> {
    for _attempt in 0..3 {
        let Some(record) = state.store.case_by_id(case_id).await? else {
            return Ok(false);
        };
        let case = case_of(&record)?;
        let policy = state.policies.get(&state.store, record.policy_id).await?;
        let calendars = OrgCalendars::load(state).await?;
        let now = state.clock.now();
        let Some(event) =
            deadlines::recompute(&policy, &case, &calendars.view(&case.owner_unit), now)
                .map_err(AppError::Refused)?
        else {
            return Ok(false);
        };
        let (_, update) = crate::api::cases::update_for(&record, &case, &event, now)?;
        match state.store.update_case(update).await {
            Ok(_) => {
                state.timers_changed.notify_one();
                return Ok(true);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The official calendar with every unit's effective overlay (its own merged over its
/// ancestors', so a branch's lunch break or closure holds for its outlets unless they say
/// otherwise). Loaded per request: unit calendars are few and small.
pub struct OrgCalendars {
    calendar: Arc<Calendar>,
    /// The effective overlays, from the instance's cached org snapshot.
    snapshot: Arc<crate::org_cache::OrgSnapshot>,
    none: Overlay,
}

impl OrgCalendars {
    pub async fn load(state: &AppState) -> Result<OrgCalendars, AppError> {
        let snapshot = state.org.get(&state.store).await?;
        Ok(OrgCalendars::of(state, snapshot))
    }

    /// The calendars of a snapshot the caller already holds.
    pub fn of(state: &AppState, snapshot: Arc<crate::org_cache::OrgSnapshot>) -> OrgCalendars {
        OrgCalendars {
            calendar: state.calendar.current(),
            snapshot,
            none: Overlay::default(),
        }
    }

    /// The calendar deadlines of a case owned by `unit` are computed on.
    pub fn view(&self, unit: &UnitRef) -> CalendarView<'_> {
        let overlay = self.snapshot.overlays.get(&unit.id).unwrap_or(&self.none);
        CalendarView::new(&self.calendar, overlay).unwrap_or_else(|e| {
            // Overlays are validated when they are set; one that no longer validates (e.g.
            // merged with an ancestor into a contradiction) falls back to the official days.
            tracing::error!(unit = %unit.code, error = %e, "unit calendar invalid; using the official calendar");
            self.calendar.view()
        })
    }

    /// The effective overlay of a unit (empty when it has none).
    pub fn overlay(&self, unit: UnitId) -> &Overlay {
        self.snapshot.overlays.get(&unit).unwrap_or(&self.none)
    }
}

/// Sets a unit's own calendar overlay (`None` removes it), after checking it, then rebuilds
/// the deadlines of open cases.
pub async fn set_unit_calendar(
    state: &AppState,
    unit_code: &str,
    overlay: Option<Overlay>,
) -> Result<(usize, usize), AppError> {
    if let Some(o) = &overlay {
        o.validate().map_err(|e| AppError::Invalid {
            detail: format!("unit calendar of {unit_code}: {e}"),
            fields: Vec::new(),
        })?;
    }
    let json = overlay
        .map(|o| serde_json::to_value(o).map_err(|e| AppError::Internal(e.to_string())))
        .transpose()?;
    state
        .store
        .set_unit_calendar(unit_code, json, state.clock.now())
        .await?;
    recompute_open_cases(state).await
}
