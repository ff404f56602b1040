//! # manyi-core — the domain that decides
//!
//! This crate is manyi's functional core. It knows nothing of HTTP, SQL, async or the wall
//! clock: every function takes what it needs (a policy, a case, an actor, the time) and returns
//! a decision. That is what lets a regulation be tested clause by clause in microseconds.
//!
//! ## Layout
//!
//! - [`policy`] — the policy language: the TOML a regulation is written in, its loader with
//!   `file:line:column` diagnostics, the checker and the compliance matrix (`policy explain`).
//! - [`expr`] — guard conditions in CEL (the Common Expression Language), compiled once and
//!   evaluated against a case, its actor and the submitted input.
//! - [`values`] — typed field values: mainland phone numbers, resident ID numbers (GB 11643),
//!   unified social credit codes (GB 32100), money in fen, dates.
//! - [`numbering`] — case numbers: prefix, date parts and a zero-padded serial that resets
//!   yearly, monthly or daily.
//! - [`org`] — the organisation tree, actors and jurisdiction (who may see and act on what).
//! - [`case`] — a case, its append-only events, and the fold that derives state from events.
//! - [`engine`] — `decide_create` and `decide_transition`: the rules of a policy applied to a
//!   case, returning events to append or a [`engine::Refusal`] that names the clause.
//! - [`deadlines`] — clocks on cases: start/stop/pause/resume, per-level limits, warnings,
//!   breaches (violations, notifications, hand-up) and the timer rows the shell keeps.
//! - [`penalties`] — the fine schedule: violations → penalty proposals, decisions within the
//!   range, one appeal; recorded decisions, never wage deductions.
//! - [`callback`] — 回访: the callback a resolved case owes, done independently of the handler,
//!   its verdicts, what a dissatisfied one does, waivers, and the gate on closing.
//! - [`survey`] — satisfaction surveys: the questions a policy asks, answer checks, who may
//!   issue one, and the text that carries the customer's link.
//! - [`violations`] — violations the engine detects by itself (an incomplete record at
//!   closing, an upheld complaint, a repeat complaint, a recused person's attempt) and the
//!   validity gate (valid / invalid, with the explanation to the customer).
//! - [`rewards`] — annual individual and collective awards: a nomination, a decision by an
//!   authorised person with a reason (the mirror image of penalties).
//! - [`soft`] — soft rules (原则上): a warning an authorised person may override with a reason.
//! - [`stats`] — monthly statistics: the month (Asia/Shanghai), the on-time statuses, totals.
//! - [`calendar`] — mainland China's official working-day calendar and deadline arithmetic.
//! - [`assist`] — assistance between units (ccb 第二十条): requests, answers, deadline violations.
//! - [`dispute`] — disputes between units, decided by their lowest common superior (ccb 第二十一条).
//! - [`find`] — quick find: the search keys of a case (phone digits, name) and lookups.
//! - [`archive`] — archived (read-only) closed cases, filed by year, need-to-know reading.
//! - [`conduct`] — violations a person records against another (礼仪, 规范用语: conduct is not a
//!   case event), by the policy's `[[conduct]]` types, into the violations ledger.
//! - [`codes`] — versioned code lists (`[[codelist]]`), `code` fields, counts by code level.
//! - [`clock`] — the one place that reads the system clock; everything else takes a [`clock::Clock`].

pub mod archive;
pub mod assist;
pub mod calendar;
pub mod callback;
pub mod case;
pub mod clock;
pub mod codes;
pub mod conduct;
pub mod deadlines;
pub mod dispute;
pub mod engine;
pub mod expr;
pub mod find;
pub mod numbering;
pub mod org;
pub mod penalties;
pub mod policy;
pub mod rewards;
pub mod soft;
pub mod stats;
mod subtask;
pub mod survey;
pub mod survey_schedule;
pub mod values;
pub mod violations;

/// Asia/Shanghai. China has observed no daylight-saving time since 1991, so a fixed +08:00
/// offset is exact for every date manyi computes, and needs no time-zone database.
pub fn china_tz() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}
