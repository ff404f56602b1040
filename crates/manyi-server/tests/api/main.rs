//! The HTTP API, tested from the outside: each test starts its own server on port 0 with its
//! own SQLite database and a small bank (see `helpers`), then talks JSON to it over HTTP.
//!
//! One module per feature: `cases` (whole case lives under each shipped policy), `refusals`
//! (what the policy refuses and how), `validation` (bad input at the edge), `idempotency`,
//! `concurrency` (gap-free case numbers under load), `deadlines` (clocks, breaches and the
//! scheduler with a controlled clock), `policies` (versions and activation) and
//! `auth` (sessions and tokens).

mod admin;
mod archive;
mod assist;
mod auth;
mod callbacks;
mod caseless_conduct;
mod cases;
mod codes;
mod concurrency;
mod conduct;
mod deadlines;
mod disputes;
mod helpers;
mod idempotency;
mod intake;
mod notes;
mod ops;
mod packs;
mod policies;
mod refusals;
mod repeat;
mod stats;
mod surveys;
mod unit_penalties;
mod validation;
mod violations;
