//! The deadline scheduler: fires due timers, each exactly once.
//!
//! Timers are rows in the database (written with the case change that started the clock), so
//! they survive restarts: on start-up the first tick fires whatever fell due while manyi was
//! down. A tick reads only the timers that are due (an index on pending rows), so its cost
//! follows what is due, not what is open. Between ticks the scheduler sleeps until the next
//! due instant, wakes early when this instance writes a timer, and polls at least every
//! [`MAX_SLEEP`] so that timers written by other instances are not missed.
//!
//! Exactly once: `Store::fire_timer` marks a timer fired and writes the case change it causes
//! in one transaction, only if the timer is still pending; several instances may race for the
//! same timer and only one wins. A timer made stale by a later change (the clock stopped or
//! restarted) is marked fired without effect.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration as StdDuration;

use manyi_core::case::{self, PersonRef};
use manyi_core::deadlines::{self, TimerKind};
use manyi_core::engine::Directory;
use manyi_core::penalties;
use manyi_store::{
    CaseRecord, CaseUpdate, FireOutcome, NewPenalty, NewViolation, StoreError, TIMER_FOR_ASSIST,
    TIMER_FOR_CLOCK, TIMER_FOR_DISPUTE, TimerRecord,
};
use tokio::sync::watch;

use crate::AppState;
use crate::api::cases::case_of;
use crate::error::AppError;

/// The longest the scheduler sleeps without looking at the database.
pub const MAX_SLEEP: StdDuration = StdDuration::from_secs(30);

/// When this instance's scheduler will next look at the timers, so that a request that wrote a
/// timer wakes it only if that timer is due sooner. Under load every create writes timers;
/// waking the scheduler for each of them made it re-read the due timers continuously, for
/// nothing: they are due in hours or days.
///
/// A writer (after its commit) records its earliest due instant in `pending`, then wakes the
/// scheduler only if that instant is before `until`, the instant the scheduler sleeps until.
/// While the scheduler reads the timers, `until` is [`WakeAt::READING`] (no writer wakes it)
/// and the scheduler itself looks at `pending` after its read, before it sleeps: a timer whose
/// commit its read missed is recorded there by then (or the writer saw the new `until`).
#[derive(Debug)]
pub struct WakeAt {
    until: AtomicI64,
    pending: AtomicI64,
}

impl WakeAt {
    /// `until` while the scheduler reads: no due instant is before it.
    const READING: i64 = i64::MIN;
    /// `pending` when no timer was written since the last read began.
    const NONE: i64 = i64::MAX;

    pub fn new() -> WakeAt {
        WakeAt {
            until: AtomicI64::new(Self::READING),
            pending: AtomicI64::new(Self::NONE),
        }
    }

    /// Records a timer due at `due`, written (committed) by this instance; true if the
    /// scheduler must be woken for it because it sleeps past `due`. One that wakes at `due` or
    /// earlier reads the timers then and finds it; one that is reading finds it in `pending`.
    pub fn wrote(&self, due: jiff::Timestamp) -> bool {
        let due = due.as_millisecond();
        self.pending.fetch_min(due, Ordering::SeqCst);
        due < self.until.load(Ordering::SeqCst)
    }

    /// Called before the scheduler reads the timers.
    fn reading(&self) {
        self.until.store(Self::READING, Ordering::SeqCst);
        self.pending.store(Self::NONE, Ordering::SeqCst);
    }

    /// Called after the read: the scheduler means to sleep until `at`. False if a timer
    /// written meanwhile is due before `at`: read again instead.
    fn asleep_until(&self, at: jiff::Timestamp) -> bool {
        let at = at.as_millisecond();
        self.until.store(at, Ordering::SeqCst);
        self.pending.load(Ordering::SeqCst) >= at
    }
}

impl Default for WakeAt {
    fn default() -> Self {
        WakeAt::new()
    }
}

/// How many due timers one query fetches.
const BATCH: u32 = 256;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Timers that changed a case (a warning or a breach).
    pub fired: usize,
    /// Timers that were stale (the clock moved on) and were retired without effect.
    pub stale: usize,
    /// Timers another instance fired first.
    pub lost: usize,
    /// Timers whose decision failed (logged); retired so they do not loop.
    pub failed: usize,
}

/// How many firings one transaction writes at most: enough that a burst of due clocks costs a
/// few commits instead of one each, few enough that the write lock (SQLite) or the case row
/// locks (PostgreSQL) are not held long against the requests waiting behind them.
const GROUP: usize = 64;

/// Fires every timer due at the clock's current instant.
///
/// The clock timers of a batch are decided from the batch's one read of their cases and
/// written [`GROUP`] at a time ([`Store::fire_timers`]). What cannot be decided from that read
/// goes one at a time through [`fire`], which reads its case again: assistance and dispute
/// deadlines, a second timer of a case already in the group (the first one changes the case),
/// and a firing that conflicted because the case changed after the read.
///
/// [`Store::fire_timers`]: manyi_store::Store::fire_timers
pub async fn tick(state: &AppState) -> Result<TickReport, AppError> {
    let now = state.clock.now();
    let mut report = TickReport::default();
    loop {
        let due = state.store.due_timers(now, BATCH).await?;
        let n = due.len();
        // One read for the batch's cases, so that the stale timers — most of what comes due
        // on a busy system: clocks stopped when cases were answered in time — are sorted out
        // without a read each, then retired together in one statement.
        let mut ids: Vec<i64> = due.iter().map(|t| t.case_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let cases: HashMap<i64, CaseRecord> = state
            .store
            .cases_by_ids(&ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut context: Option<FireContext> = None;
        let mut stale = Vec::new();
        let mut group: Vec<(&TimerRecord, Option<CaseUpdate>, Fired)> = Vec::new();
        let mut one_by_one: Vec<&TimerRecord> = Vec::new();
        let mut in_group = HashSet::new();
        for timer in &due {
            let record = cases.get(&timer.case_id);
            if !is_current(record, timer)? {
                stale.push(timer.id);
                continue;
            }
            let Some(record) = record
                .filter(|_| timer.purpose == TIMER_FOR_CLOCK && in_group.insert(timer.case_id))
            else {
                one_by_one.push(timer);
                continue;
            };
            let context = match &mut context {
                Some(c) => &*c,
                None => &*context.insert(FireContext::load(state).await?),
            };
            let case = case_of(record)?;
            match decide_clock(state, context, timer, record, &case, now).await? {
                Decision::Write(update) => group.push((timer, Some(update), Fired::Changed)),
                Decision::Retire(then) => group.push((timer, None, then)),
            }
        }
        while !group.is_empty() {
            // The updates move into the store's call (no copy of each snapshot); what the
            // outcomes are matched with stays here.
            let (fires, chunk): (Vec<_>, Vec<_>) = group
                .drain(..group.len().min(GROUP))
                .map(|(timer, update, then)| ((timer.id, update), (timer, then)))
                .unzip();
            let outcomes = state.store.fire_timers(fires, now).await?;
            for ((timer, then), outcome) in chunk.into_iter().zip(outcomes) {
                match outcome {
                    Ok(FireOutcome::Fired(_)) => {
                        if matches!(then, Fired::Changed) {
                            log_fired(cases.get(&timer.case_id), timer);
                        }
                        report.count(then);
                    }
                    Ok(FireOutcome::AlreadyDone) => report.count(Fired::Lost),
                    // The case changed after the batch's read: decide again from a new one.
                    Err(StoreError::Conflict) => one_by_one.push(timer),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        for timer in one_by_one {
            let context = match &mut context {
                Some(c) => &*c,
                None => &*context.insert(FireContext::load(state).await?),
            };
            report.count(fire(state, context, timer, now).await?);
        }
        let retired = state.store.retire_timers(&stale, now).await?.len();
        report.stale += retired;
        report.lost += stale.len() - retired;
        if n < BATCH as usize {
            break;
        }
    }
    Ok(report)
}

impl TickReport {
    fn count(&mut self, fired: Fired) {
        match fired {
            Fired::Changed => self.fired += 1,
            Fired::Stale => self.stale += 1,
            Fired::Lost => self.lost += 1,
            Fired::Failed => self.failed += 1,
        }
    }
}

fn log_fired(record: Option<&CaseRecord>, timer: &TimerRecord) {
    tracing::info!(
        case = %record.map_or("", |r| r.number.as_str()),
        clock = %timer.clock,
        kind = %timer.kind,
        "timer fired"
    );
}

/// Whether `timer` belongs to its clock's current run on the case as read: a clock that
/// stopped or restarted since the timer was scheduled makes it stale (as does a case that is
/// gone). A stale timer can be retired without loading anything a decision needs.
///
/// Only the clock's status and generation are read out of the stored snapshot, not the whole
/// case: this runs for every due timer.
fn is_current(record: Option<&CaseRecord>, timer: &TimerRecord) -> Result<bool, AppError> {
    /// The two fields of a stored `ClockState` that say whether a timer is current.
    #[derive(serde::Deserialize)]
    struct ClockHead {
        status: manyi_core::deadlines::ClockStatus,
        generation: u32,
    }
    let Some(record) = record else {
        return Ok(false);
    };
    // Assistance (ccb-counter 第二十条) and dispute-decision (第二十一条) deadlines are not
    // policy clocks: they have no entry in `clocks`, and `fire` decides whether they are
    // still current from the request or dispute itself.
    if timer.purpose != TIMER_FOR_CLOCK {
        return Ok(true);
    }
    let Some(clock) = record
        .snapshot
        .get("clocks")
        .and_then(|clocks| clocks.get(&timer.clock))
    else {
        return Ok(false);
    };
    let head = <ClockHead as serde::Deserialize>::deserialize(clock).map_err(|e| {
        AppError::Internal(format!("case {} clock snapshot unreadable: {e}", record.id))
    })?;
    Ok(i64::from(head.generation) == timer.generation
        && head.status == manyi_core::deadlines::ClockStatus::Running)
}

enum Fired {
    Changed,
    Stale,
    Lost,
    Failed,
}

/// What deciding a due timer reads besides its case, read once per batch of due timers
/// instead of once per timer: every unit, every person with their roles (for liability on a
/// breach: the owning unit's role holders, and its parent's for `parent_role:ROLE`), and the
/// units' calendars.
struct FireContext {
    directory: Directory,
    calendars: crate::calendar::OrgCalendars,
}

impl FireContext {
    async fn load(state: &AppState) -> Result<FireContext, AppError> {
        let snapshot = state.org.get(&state.store).await?;
        let mut directory = snapshot.directory.clone();
        for user in state.store.list_users().await? {
            let person = PersonRef {
                id: user.id,
                login: user.login.clone(),
                name: user.name.clone(),
            };
            for role in &user.roles {
                directory.add_member(user.unit_id, role, person.clone());
            }
        }
        let calendars = crate::calendar::OrgCalendars::of(state, snapshot);
        Ok(FireContext {
            directory,
            calendars,
        })
    }
}

/// What a due clock timer does, decided from the case as read.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per due timer and taken apart at once; a Box would only add an allocation"
)]
enum Decision {
    /// Write this change (a warning or a breach) with the firing.
    Write(CaseUpdate),
    /// Nothing to change: retire the timer, counted as this.
    Retire(Fired),
}

/// Decides a due clock timer on `record` (`case` decoded from it): the domain's
/// [`deadlines::decide_timer`] on the owning unit's calendar, with the violation a breach
/// records and its penalty proposals.
async fn decide_clock(
    state: &AppState,
    context: &FireContext,
    timer: &TimerRecord,
    record: &CaseRecord,
    case: &case::Case,
    now: jiff::Timestamp,
) -> Result<Decision, AppError> {
    // Most timers that come due are meant to fire; a stale one (its clock stopped or
    // restarted since) is retired here before loading what a decision would need.
    let current = case.clocks.get(&timer.clock).is_some_and(|c| {
        i64::from(c.generation) == timer.generation
            && c.status == manyi_core::deadlines::ClockStatus::Running
    });
    let (Some(kind), Ok(generation), true) = (
        TimerKind::parse(&timer.kind),
        u32::try_from(timer.generation),
        current,
    ) else {
        return Ok(Decision::Retire(Fired::Stale));
    };
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let directory = &context.directory;
    let calendars = &context.calendars;
    let decide = |owner: &manyi_core::org::UnitRef| {
        deadlines::decide_timer(
            &policy,
            case,
            &timer.clock,
            kind,
            generation,
            directory,
            &calendars.view(owner),
            now,
        )
    };
    let mut decision = decide(&case.owner_unit);
    // A breach that hands the case up restarts clocks on the new unit's calendar.
    if let Ok(Some(manyi_core::case::Event {
        change:
            manyi_core::case::Change::ClockBreached {
                owner_unit: Some(moved),
                ..
            },
        ..
    })) = &decision
        && calendars.overlay(moved.after.id) != calendars.overlay(case.owner_unit.id)
    {
        let new_owner = moved.after.clone();
        decision = decide(&new_owner);
    }
    let event = match decision {
        Ok(Some(event)) => event,
        Ok(None) => return Ok(Decision::Retire(Fired::Stale)),
        Err(refusal) => {
            tracing::error!(
                case = %record.number,
                clock = %timer.clock,
                reason = %refusal.message,
                "a due timer could not be decided; retiring it"
            );
            return Ok(Decision::Retire(Fired::Failed));
        }
    };
    let (_, mut update) = crate::api::cases::update_for(record, case, &event, now)?;
    // A breach's violation goes to the ledger, with its penalty proposals, in the same
    // transaction as the event that records it.
    update.violations = ledger_entries(&policy, case, &event, directory)?;
    crate::api::violations::stack_rows(state, &policy, record.id, &mut update.violations).await?;
    Ok(Decision::Write(update))
}

/// Fires one due timer after reading its case again (the way of everything [`tick`] cannot
/// decide from its batch read).
async fn fire(
    state: &AppState,
    context: &FireContext,
    timer: &TimerRecord,
    now: jiff::Timestamp,
) -> Result<Fired, AppError> {
    let retire = |outcome: FireOutcome, then: Fired| match outcome {
        FireOutcome::Fired(_) => then,
        FireOutcome::AlreadyDone => Fired::Lost,
    };
    // A conflict means the case changed between our read and our write: decide again.
    for _attempt in 0..3 {
        let Some(record) = state.store.case_by_id(timer.case_id).await? else {
            let outcome = state.store.fire_timer(timer.id, now, None).await?;
            return Ok(retire(outcome, Fired::Stale));
        };
        let case = case_of(&record)?;
        // Assistance (ccb-counter 第二十条) and dispute-decision (第二十一条) deadlines are not
        // policy clocks: the timer's purpose, written when it was planned, says which it is;
        // its name (`assist:N`, `dispute:N`) says which request or dispute.
        if timer.purpose != TIMER_FOR_CLOCK {
            // A name that does not parse, or a purpose the store would have refused, leaves
            // nothing to decide: the timer is retired as stale, as before.
            let fired = match timer.purpose.as_str() {
                TIMER_FOR_ASSIST => match manyi_core::assist::timer_no(&timer.clock) {
                    Some(no) => {
                        crate::api::assist::fire_overdue(state, timer, &record, &case, no, now)
                            .await?
                    }
                    None => Some((state.store.fire_timer(timer.id, now, None).await?, false)),
                },
                TIMER_FOR_DISPUTE => match manyi_core::dispute::timer_no(&timer.clock) {
                    Some(no) => {
                        crate::api::disputes::fire_overdue(state, timer, &record, &case, no, now)
                            .await?
                    }
                    None => Some((state.store.fire_timer(timer.id, now, None).await?, false)),
                },
                _ => Some((state.store.fire_timer(timer.id, now, None).await?, false)),
            };
            match fired {
                Some((outcome, true)) => return Ok(retire(outcome, Fired::Changed)),
                Some((outcome, false)) => return Ok(retire(outcome, Fired::Stale)),
                None => continue,
            }
        }
        let update = match decide_clock(state, context, timer, &record, &case, now).await? {
            Decision::Write(update) => update,
            Decision::Retire(then) => {
                let outcome = state.store.fire_timer(timer.id, now, None).await?;
                return Ok(retire(outcome, then));
            }
        };
        match state.store.fire_timer(timer.id, now, Some(update)).await {
            Ok(outcome) => {
                if matches!(outcome, FireOutcome::Fired(_)) {
                    log_fired(Some(&record), timer);
                }
                return Ok(retire(outcome, Fired::Changed));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // Still conflicting after retries: leave it pending for the next tick.
    Ok(Fired::Lost)
}

/// The ledger rows for the violation `event` records, if any: the violation, with one penalty
/// proposal per liable person and applicable `[[penalty]]` rule of the case's policy. `case`
/// is the case before the event (its owning unit is where the violation happened).
fn ledger_entries(
    policy: &manyi_core::policy::Policy,
    case: &case::Case,
    event: &case::Event,
    directory: &Directory,
) -> Result<Vec<NewViolation>, AppError> {
    let case::Change::ClockBreached {
        violation: Some(v), ..
    } = &event.change
    else {
        return Ok(Vec::new());
    };
    let penalties = penalties::propose(&policy.penalties, case, v, directory, 1)
        .into_iter()
        .map(|p| NewPenalty {
            rule: p.rule,
            clause: p.clause,
            person_id: p.person.id,
            min_fen: p.min_fen,
            max_fen: p.max_fen,
            items: i64::from(p.items),
            discipline_referral: p.discipline_referral,
            requires_substantiation: p.requires_substantiation,
        })
        .collect();
    Ok(vec![NewViolation {
        event_index: 0,
        kind: v.kind.clone(),
        rule: v.rule.clone(),
        clause: v.clause.clone(),
        occurred_at: event.at,
        due_at: Some(v.due),
        unit_id: case.owner_unit.id,
        person_ids: v.liable_persons.iter().map(|p| p.id).collect(),
        detail: serde_json::to_value(v)
            .map_err(|e| AppError::Internal(format!("violation not serialisable: {e}")))?,
        penalties,
    }])
}

/// How often the routine survey rounds' due-check runs at most: a round falls due once a
/// month or quarter, and the scheduler may wake many times a second when timers are due.
const ROUNDS_EVERY: StdDuration = StdDuration::from_secs(60);

/// Runs ticks until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut rounds_checked: Option<std::time::Instant> = None;
    loop {
        // Before any read: a timer committed from here on is checked before the sleep.
        state.scheduler_wake.reading();
        // Another instance (or the CLI) may have imported holiday notices.
        if let Err(e) = crate::calendar::refresh(&state).await {
            tracing::error!(error = ?e, "calendar refresh failed");
        }
        if let Err(e) = tick(&state).await {
            tracing::error!(error = ?e, "scheduler tick failed");
        }
        // Routine survey rounds (sht-bigcustomer 5.1.3): a due-check of their own, not timers
        // (a round belongs to no case); each round is claimed once across instances.
        if rounds_checked.is_none_or(|at| at.elapsed() >= ROUNDS_EVERY) {
            rounds_checked = Some(std::time::Instant::now());
            if let Err(e) = crate::api::survey_schedules::run_due(&state).await {
                tracing::error!(error = ?e, "survey rounds failed");
            }
        }
        let now = state.clock.now();
        let sleep = match state.store.next_timer_due().await {
            Ok(Some(next)) => StdDuration::try_from(next.duration_since(now))
                .unwrap_or(StdDuration::ZERO)
                // A timer left pending by conflicts is due again at once; do not spin on it.
                .clamp(StdDuration::from_millis(20), MAX_SLEEP),
            Ok(None) | Err(_) => MAX_SLEEP,
        };
        let wake_at = jiff::SignedDuration::try_from(sleep)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(now);
        if !state.scheduler_wake.asleep_until(wake_at) {
            // A timer this instance wrote during the read is due sooner: read again.
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = state.timers_changed.notified() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WakeAt;

    fn at(ms: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(ms).expect("in range")
    }

    #[test]
    fn a_timer_written_while_the_scheduler_reads_is_seen_before_it_sleeps() {
        let wake = WakeAt::new();
        wake.reading();
        // No wake-up while it reads: it looks at what was written before it sleeps.
        assert!(!wake.wrote(at(500)));
        assert!(
            !wake.asleep_until(at(1_000)),
            "due before the planned wake: read again"
        );
        wake.reading();
        assert!(!wake.wrote(at(5_000)));
        assert!(
            wake.asleep_until(at(1_000)),
            "due after the planned wake: sleep"
        );
    }

    #[test]
    fn a_sleeping_scheduler_is_woken_only_for_a_timer_due_before_it_wakes() {
        let wake = WakeAt::new();
        wake.reading();
        assert!(wake.asleep_until(at(1_000)));
        assert!(wake.wrote(at(999)));
        assert!(!wake.wrote(at(1_000)));
        assert!(!wake.wrote(at(86_400_000)));
    }
}
