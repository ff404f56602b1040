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
//! - [`calendar`] — mainland China's official working-day calendar and deadline arithmetic.
//! - [`assist`] — assistance between units (ccb 第二十条): requests, answers, deadline violations.
//! - [`dispute`] — disputes between units, decided by their lowest common superior (ccb 第二十一条).
//! - [`archive`] — archived (read-only) closed cases, filed by year, need-to-know reading.
//! - [`codes`] — versioned code lists (`[[codelist]]`), `code` fields, counts by code level.
//! - [`clock`] — the one place that reads the system clock; everything else takes a [`clock::Clock`].

pub mod archive;
pub mod assist;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod codes;
pub mod deadlines;
pub mod dispute;
pub mod engine;
pub mod expr;
pub mod numbering;
pub mod org;
pub mod penalties;
pub mod policy;
pub mod values;

/// Asia/Shanghai. China has observed no daylight-saving time since 1991, so a fixed +08:00
/// offset is exact for every date manyi computes, and needs no time-zone database.
pub fn china_tz() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}
