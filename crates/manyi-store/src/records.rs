//! The plain records the store reads and writes.
//!
//! These are deliberately *not* the domain's types: `manyi-core` evolves quickly, and the
//! store should only change when the schema does. Records are made of primitives,
//! [`serde_json::Value`] for the parts the domain owns (a case's fields, an event's payload)
//! and [`jiff::Timestamp`] for instants. The server converts between these and the domain.
//!
//! Instants are stored as Unix milliseconds, so anything finer than a millisecond is
//! truncated on the way in.

use std::fmt;

use jiff::Timestamp;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The organisation tree
// ---------------------------------------------------------------------------------------------

/// A unit to insert (or, in [`crate::Store::import_org`], to insert or update by `code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnit {
    /// The organisation's own code for the unit; unique.
    pub code: String,
    pub name: String,
    /// The level as the policy names it (e.g. 营业网点); not interpreted by the store.
    pub level: String,
    /// `None` for a root unit.
    pub parent_code: Option<String>,
}

/// A stored unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_id: Option<i64>,
    /// Materialised path of ids from the root, e.g. `/1/5/12/`. The subtree of this unit is
    /// every unit (and case) whose path starts with this one.
    pub path: String,
}

/// A user to insert (or, in [`crate::Store::import_org`], to insert or update by `login`).
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    /// The code of the unit the user belongs to; it must exist.
    pub unit_code: String,
    /// A set: duplicates are dropped and roles come back sorted.
    pub roles: Vec<String>,
    /// A password hash (PHC string), or `None` for no password sign-in.
    pub password_hash: Option<String>,
}

/// A stored user, with the unit they belong to.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub unit_id: i64,
    pub unit_code: String,
    /// The path of the user's unit: the root of what they may see.
    pub unit_path: String,
    /// Sorted, without duplicates.
    pub roles: Vec<String>,
    pub password_hash: Option<String>,
    /// Cannot sign in; sessions and API tokens are refused.
    pub disabled: bool,
    /// The interface language the user chose (`zh`, `en`), if any.
    pub lang: Option<String>,
}

/// `Debug` leaves the password hash out, so that a stray `?user` in a log line cannot leak it.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("name", &self.name)
            .field("unit_id", &self.unit_id)
            .field("unit_code", &self.unit_code)
            .field("unit_path", &self.unit_path)
            .field("roles", &self.roles)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("disabled", &self.disabled)
            .field("lang", &self.lang)
            .finish()
    }
}

/// `Debug` leaves the password hash out, as for [`User`].
impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("unit_code", &self.unit_code)
            .field("roles", &self.roles)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What [`crate::Store::import_org`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub units_inserted: u64,
    pub units_updated: u64,
    pub users_inserted: u64,
    pub users_updated: u64,
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// One immutable version of a policy's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub id: i64,
    pub name: String,
    /// 1, 2, 3, ... per name.
    pub version: i64,
    pub source: String,
    pub source_hash: String,
    pub created_at: Timestamp,
    /// When this version was last made the active one; `None` if never.
    pub activated_at: Option<Timestamp>,
    /// Exactly one version per name is active once any has been activated.
    pub active: bool,
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A case to open, with the events that opened it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub kind: String,
    /// The policy version the case is opened under.
    pub policy_id: i64,
    /// What the serial counts within, e.g. the policy name and kind.
    pub number_scope: String,
    /// The numbering period within the scope, e.g. `"2026-09"`; `""` for a serial that never
    /// resets.
    pub number_period: String,
    pub state: String,
    pub owner_unit_id: i64,
    /// 首问负责人: the user first contacted, who stays responsible for following the case.
    pub first_contact_id: i64,
    pub assignee_id: Option<i64>,
    pub channel: String,
    pub created_at: Timestamp,
    /// The case's fields. Personal data: never logged.
    pub snapshot: Value,
    /// Appended with `seq` 1, 2, 3, ...
    pub events: Vec<NewEvent>,
    /// Set when the request carried an idempotency key.
    pub idempotency: Option<Idempotency>,
    /// Deadline timers to schedule (or cancel) for the new case, in the same transaction.
    pub timers: Vec<TimerChange>,
    /// Its quick-find keys (`manyi_core::find::keys`), written in the same transaction.
    pub find: Vec<crate::FindKey>,
    /// The case's due time (`manyi_core::deadlines::due_at` of the snapshot): the soonest
    /// deadline of a running clock, `None` when none runs. Stored as the `due_at` column,
    /// which [`CaseOrder::Due`] lists by.
    pub due_at: Option<Timestamp>,
}

/// An idempotency key presented with a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub user_id: i64,
    pub key: String,
    /// A hash of the request body: the same key with a different body is refused.
    pub request_hash: String,
}

/// An event to append to a case's log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: Timestamp,
    /// `None` when the system acted (e.g. a deadline passed).
    pub actor_id: Option<i64>,
    pub action: String,
    /// The policy clause behind the event, e.g. `第十九条`.
    pub clause: Option<String>,
    pub payload: Value,
}

/// The result of [`crate::Store::create_case`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// A new case was opened.
    Created(CaseRecord),
    /// The same user sent the same key with the same request before: this is that first case,
    /// and nothing new was written.
    Replayed(CaseRecord),
    /// The same user sent the same key with a *different* request: refused, nothing written.
    KeyReused,
}

/// A change to a case's current state, with the events that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseUpdate {
    pub id: i64,
    /// The version the caller read; the update is refused with [`crate::StoreError::Conflict`]
    /// if the case has moved on since.
    pub expected_version: i64,
    pub state: String,
    pub owner_unit_id: i64,
    pub assignee_id: Option<i64>,
    /// The new intake owner (首问负责人) when the update hands the intake over; `None` keeps it.
    pub first_contact_id: Option<i64>,
    pub closed: bool,
    pub updated_at: Timestamp,
    /// The case's fields after the change. Personal data: never logged.
    pub snapshot: Value,
    /// Appended after the case's existing events.
    pub events: Vec<NewEvent>,
    /// Changes to the case's deadline timers, applied in order in the same transaction.
    pub timers: Vec<TimerChange>,
    /// Violations the events record (with their penalty proposals), written to the ledger in
    /// the same transaction. Usually empty.
    pub violations: Vec<crate::NewViolation>,
    /// The case's quick-find keys when its fields changed them (they replace the old ones in
    /// the same transaction); `None` keeps them.
    pub find: Option<Vec<crate::FindKey>>,
    /// The case's due time after the change (`manyi_core::deadlines::due_at` of `snapshot`):
    /// the soonest deadline of a running clock, `None` when none runs or the case is closed.
    pub due_at: Option<Timestamp>,
}

/// A stored case: its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: i64,
    /// Unique, e.g. `TS-202609-000123`.
    pub number: String,
    pub kind: String,
    pub policy_id: i64,
    pub state: String,
    pub owner_unit_id: i64,
    /// The owner unit's path, kept in step with the unit tree.
    pub owner_unit_path: String,
    pub first_contact_id: i64,
    pub assignee_id: Option<i64>,
    pub channel: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed: bool,
    /// 1 when created, +1 on every update.
    pub version: i64,
    /// Personal data: never logged.
    pub snapshot: Value,
    /// The soonest deadline of a running clock, as the last write gave it (`None`: no clock
    /// runs, or closed). The key of [`CaseOrder::Due`].
    pub due_at: Option<Timestamp>,
}

/// The order of [`crate::Store::list_cases`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Newest (highest id) first. The default.
    #[default]
    Newest,
    /// Soonest due first (`due_at` ascending), cases with no running clock last, ties by id
    /// ascending.
    Due,
}

/// Which cases [`crate::Store::list_cases`] returns. Every `Some` narrows the list; the
/// default lists everything, newest first, 50 at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// Only cases owned within this subtree: a unit path such as `/1/5/`.
    pub unit_subtree: Option<String>,
    /// Only cases this person may see: owned within their subtree, or where they are the
    /// first contact.
    pub visible_to: Option<Visibility>,
    pub assignee_id: Option<i64>,
    pub first_contact_id: Option<i64>,
    /// Inclusive.
    pub created_from: Option<Timestamp>,
    /// Exclusive.
    pub created_to: Option<Timestamp>,
    pub closed: Option<bool>,
    /// Cursor: the id of the last case of the previous page ([`CasePage::next_cursor`]); only
    /// cases after it in the list's order are returned.
    pub after: Option<i64>,
    /// With [`CaseOrder::Due`] and `after`: the due time of that last case (its
    /// [`CaseRecord::due_at`], `None` when it had none) — the cursor is the pair, so that a
    /// case whose due time changes between pages cannot make the list skip or repeat others.
    /// Ignored in the newest-first order.
    pub after_due: Option<Timestamp>,
    pub order: CaseOrder,
    /// Page size, clamped to `1..=500`.
    pub limit: u32,
}

impl Default for CaseFilter {
    fn default() -> Self {
        CaseFilter {
            kind: None,
            state: None,
            unit_subtree: None,
            visible_to: None,
            assignee_id: None,
            first_contact_id: None,
            created_from: None,
            created_to: None,
            closed: None,
            after: None,
            after_due: None,
            order: CaseOrder::Newest,
            limit: 50,
        }
    }
}

/// The jurisdiction of one person, for [`CaseFilter::visible_to`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    /// The path of the person's unit, e.g. `/1/5/`.
    pub unit_path: String,
    pub user_id: i64,
}

/// One page of [`crate::Store::list_cases`].
#[derive(Debug, Clone, PartialEq)]
pub struct CasePage {
    pub items: Vec<CaseRecord>,
    /// `Some` when more cases follow: pass it as [`CaseFilter::after`] (and, in the due order,
    /// the last item's `due_at` as [`CaseFilter::after_due`]).
    pub next_cursor: Option<i64>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub case_id: i64,
    /// 1, 2, 3, ... per case.
    pub seq: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub action: String,
    pub clause: Option<String>,
    pub payload: Value,
}

// ---------------------------------------------------------------------------------------------
// Timers: the deadline scheduler's to-do list
// ---------------------------------------------------------------------------------------------

/// A change to a case's timers, written in the same transaction as the case itself, so that a
/// case never exists without the timers its clocks need (nor keeps timers of a stopped clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    /// Adds a pending timer. A timer with the same (case, `clock`, `kind`, `generation`)
    /// already stored — pending, fired or cancelled — makes this a no-op, so replaying a
    /// decision cannot schedule a timer twice nor revive a cancelled one.
    Schedule {
        /// The clock's name as the policy gives it, e.g. `response`.
        clock: String,
        /// [`TIMER_WARN`] or [`TIMER_BREACH`]; anything else is refused.
        kind: String,
        /// What the timer times: [`TIMER_FOR_CLOCK`], [`TIMER_FOR_ASSIST`] or
        /// [`TIMER_FOR_DISPUTE`]; anything else is refused. The scheduler dispatches on it.
        purpose: String,
        /// Which run of the clock this timer belongs to: a clock that is restarted schedules
        /// its new timers under a new generation.
        generation: i64,
        due_at: Timestamp,
    },
    /// Cancels every pending timer of this case and clock (all kinds and generations), at the
    /// instant of the write (`NewCase::created_at` / `CaseUpdate::updated_at`). Timers that
    /// already fired stay fired.
    CancelClock { clock: String },
}

/// A timer that warns before a deadline.
pub const TIMER_WARN: &str = "warn";
/// A timer that marks the deadline itself.
pub const TIMER_BREACH: &str = "breach";

/// A timer of one of the policy's clocks (the case's `clocks`, named by the clock).
pub const TIMER_FOR_CLOCK: &str = "clock";
/// An assistance request's deadline (ccb-counter 第二十条), named `assist:N`.
pub const TIMER_FOR_ASSIST: &str = "assist";
/// A dispute decision's deadline (ccb-counter 第二十一条), named `dispute:N`.
pub const TIMER_FOR_DISPUTE: &str = "dispute";

/// A stored timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRecord {
    pub id: i64,
    pub case_id: i64,
    pub clock: String,
    /// [`TIMER_WARN`] or [`TIMER_BREACH`].
    pub kind: String,
    /// [`TIMER_FOR_CLOCK`], [`TIMER_FOR_ASSIST`] or [`TIMER_FOR_DISPUTE`].
    pub purpose: String,
    pub generation: i64,
    pub due_at: Timestamp,
    /// Set once, by the one [`crate::Store::fire_timer`] call that fired it.
    pub fired_at: Option<Timestamp>,
    /// Set by [`TimerChange::CancelClock`] while the timer was pending.
    pub cancelled_at: Option<Timestamp>,
}

/// The result of [`crate::Store::fire_timer`].
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per firing and matched at once, like CreateOutcome; a Box would \
              only add an allocation"
)]
pub enum FireOutcome {
    /// This call fired the timer, and applied the case update if one was given: the case as
    /// it is after that update, or `None` when no update was given.
    Fired(Option<CaseRecord>),
    /// The timer had already fired or been cancelled (by another instance, or an earlier
    /// call): nothing was written.
    AlreadyDone,
}

// ---------------------------------------------------------------------------------------------
// The official calendar's imported notices
// ---------------------------------------------------------------------------------------------

/// One official holiday notice file (holiday-cn JSON) to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCalendarFile {
    /// The file name as imported, e.g. `2027.json`.
    pub name: String,
    /// The notice year the file is for.
    pub year: i64,
    pub content: String,
    /// A hash of the content, for display and de-duplication by the caller.
    pub sha: String,
}

/// A stored notice file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFileRecord {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub content: String,
    pub sha: String,
    pub imported_at: Timestamp,
}

// ---------------------------------------------------------------------------------------------
// Attachments and the organisation's upkeep (the web interface)
// ---------------------------------------------------------------------------------------------

/// A file to attach to a case. The content is stored in the database, never on one
/// instance's disk, so that every instance serves it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub case_id: i64,
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    /// `None` when the customer uploaded it (public page).
    pub uploaded_by: Option<i64>,
    pub uploaded_at: Timestamp,
}

/// `Debug` shows the size, not the content (personal data) nor the file name.
impl fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAttachment")
            .field("case_id", &self.case_id)
            .field("content_type", &self.content_type)
            .field("size_bytes", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// A stored attachment, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub id: i64,
    pub case_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: Timestamp,
}

/// Why a unit cannot be removed: what still refers to it. Only an empty unit goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitInUse {
    pub children: i64,
    pub users: i64,
    /// Cases it owns now.
    pub cases: i64,
    /// Violations and penalties recorded against it (the ledgers are kept for good).
    pub ledger_entries: i64,
}
