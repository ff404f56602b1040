//! Bulk loading of generated cases (`manyi gen`): many cases per transaction, written as
//! multi-row `INSERT`s, with the same rows [`crate::Store::create_case`] and
//! [`crate::Store::update_case`] would have left behind — the case row, its whole event log,
//! its pending timers, and the number counters advanced so that the next normal create
//! continues the serial without a gap.
//!
//! Not for application code: it trusts the caller to have built each case with the domain
//! (snapshot = the events replayed). What it checks itself is what keeps the database
//! consistent: serials contiguous from the stored counter, timer kinds, non-empty logs.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use crate::{NewEvent, StoreError, TIMER_BREACH, TIMER_WARN};

/// One case to load. `version` is the number of events; the event `seq`s are 1, 2, 3, …
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct BulkCase {
    pub number: String,
    pub number_scope: String,
    pub number_period: String,
    pub serial: u64,
    pub kind: String,
    pub policy_id: i64,
    pub state: String,
    pub owner_unit_id: i64,
    pub first_contact_id: i64,
    pub assignee_id: Option<i64>,
    pub channel: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed: bool,
    /// The case after its events, as the server stores it. Personal data: never logged.
    pub snapshot: Value,
    /// The whole log, oldest first; at least the opening event.
    pub events: Vec<NewEvent>,
    /// The timers still pending (those of running clocks).
    pub timers: Vec<BulkTimer>,
    /// Its quick-find keys (`manyi_core::find::keys`).
    pub find: Vec<crate::FindKey>,
    /// The case's due time (`manyi_core::deadlines::due_at` of the snapshot).
    pub due_at: Option<Timestamp>,
}

/// A pending timer of a [`BulkCase`].
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkTimer {
    pub clock: String,
    /// [`TIMER_WARN`] or [`TIMER_BREACH`].
    pub kind: String,
    pub generation: i64,
    pub due_at: Timestamp,
}

/// How PostgreSQL writes the rows of a bulk load (SQLite always uses multi-row `INSERT`s).
/// `Insert` is the earlier way, kept so that the two can be measured against each other on
/// the same binary (`manyi gen --bulk-write insert`, BENCHMARKS.md).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BulkWrite {
    /// `COPY … FROM STDIN`, text format.
    #[default]
    Copy,
    /// Multi-row `INSERT`s with bound parameters.
    Insert,
}

/// Rows per multi-row `INSERT` of each table: below SQLite's 32,766 and PostgreSQL's 65,535
/// bind parameters.
pub(crate) const CASE_ROWS: usize = 1_000;
pub(crate) const EVENT_ROWS: usize = 2_000;
pub(crate) const TIMER_ROWS: usize = 3_000;

/// Per (scope, period) of a batch: its lowest serial, its highest, and how many cases.
pub(crate) type Serials = BTreeMap<(String, String), (u64, u64, u64)>;

/// Checks a batch and returns, per (scope, period), the lowest and highest serial in it.
pub(crate) fn check(cases: &[BulkCase]) -> Result<Serials, StoreError> {
    let invalid = |reason: String| StoreError::Invalid {
        what: "bulk case",
        reason,
    };
    // (scope, period) -> (min, max, count)
    let mut groups = Serials::new();
    for c in cases {
        if c.events.is_empty() {
            return Err(invalid(format!("case {} has no events", c.number)));
        }
        if c.serial == 0 {
            return Err(invalid(format!("case {} has serial 0", c.number)));
        }
        if let Some(t) = c
            .timers
            .iter()
            .find(|t| t.kind != TIMER_WARN && t.kind != TIMER_BREACH)
        {
            return Err(invalid(format!("unknown timer kind `{}`", t.kind)));
        }
        let g = groups
            .entry((c.number_scope.clone(), c.number_period.clone()))
            .or_insert((u64::MAX, 0, 0));
        g.0 = g.0.min(c.serial);
        g.1 = g.1.max(c.serial);
        g.2 += 1;
    }
    for ((scope, period), (lo, hi, n)) in &groups {
        if hi - lo + 1 != *n {
            return Err(invalid(format!(
                "serials of {scope} {period} are not contiguous ({lo}..={hi} for {n} cases)"
            )));
        }
    }
    Ok(groups)
}

/// The counter must stand right below the batch's first serial: numbers stay gap-free.
pub(crate) fn check_counter(
    scope: &str,
    period: &str,
    stored: Option<i64>,
    lo: u64,
) -> Result<(), StoreError> {
    let last = u64::try_from(stored.unwrap_or(0)).unwrap_or(0);
    if lo != last + 1 {
        return Err(StoreError::Invalid {
            what: "bulk case",
            reason: format!(
                "serials of {scope} {period} start at {lo}, but the counter stands at {last}"
            ),
        });
    }
    Ok(())
}

/// `cases.closed_at` of a bulk-loaded case (migration 0024): a closed case's last change is
/// its closing, so its `updated_at`; none while open. A create or update never writes it (the
/// database's triggers keep it); a bulk load writes it itself, because a trigger would write
/// each closed row a second time.
pub(crate) fn closed_at(c: &BulkCase) -> Option<i64> {
    c.closed.then(|| crate::time::to_millis(c.updated_at))
}
