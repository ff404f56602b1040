//! # manyi-store — where manyi keeps what it knows
//!
//! Persistence behind one narrow interface, [`Store`], with one implementation per database
//! backend — SQLite for a single embedded server, PostgreSQL for several instances sharing one
//! database — and one contract test suite (`tests/contract.rs`) that runs, unchanged, on both.
//!
//! ## Layout
//!
//! - [`Store`] (this file) — the interface the server and the CLI use. Each method forwards to
//!   the backend; nothing backend-specific leaks through its signatures.
//! - `records` — the plain records the store reads and writes ([`Unit`], [`User`],
//!   [`CaseRecord`], [`TimerRecord`], …). They are not `manyi-core`'s domain types, on
//!   purpose: the store changes when the schema changes, not when the domain does.
//! - [`StoreError`] (`error`) — one error type for all backends.
//! - `url` — which backend a database URL names; never a silent fallback.
//! - `validate` — checks made before any backend writes a case, so both refuse alike.
//! - `tree` — materialised paths of the org tree and subtree ranges, shared by backends.
//! - `rows` — the selected columns and the decoding of rows into records, shared by backends.
//! - `ledger` — the violations and penalty ledgers' records and decoders ([`NewViolation`],
//!   [`PenaltyRecord`], [`PenaltyStep`], …).
//! - `find` — quick-find keys of cases and prefix lookups over them ([`FindKey`], [`FindQuery`]).
//! - `stats` — monthly case statistics: the query and its rows ([`StatsQuery`], [`StatsRow`]).
//! - `dashboard` — the supervisors' dashboard counts read from indexes and the aggregate
//!   ([`OpenCounts`], [`StatsTotal`]).
//! - `time` — instants as BIGINT Unix milliseconds.
//! - `migrate` — the embedded migrations of both backends.
//! - `sqlite/` and `postgres/` — one backend each: `mod.rs` (pools, transactions, migrations),
//!   then one file per concern: `org.rs`, `auth.rs`, `policies.rs`, `cases.rs`, `timers.rs`.
//!   All the SQL, and so every dialect difference, lives in these two directories.
//! - `migrations/sqlite/`, `migrations/postgres/` — the schema, one tree per backend with the
//!   same file names, embedded in the binary.
//! - `testing` (feature `testing`) — fresh throw-away databases of either backend for tests.
//!
//! ## What the store guarantees, whatever the backend
//!
//! - A case's current-state row, its new events and its timer changes are written in one
//!   transaction; the event log is append-only, enforced by the database.
//! - Case numbers are unique and gap-free per (scope, period): the serial is taken in the same
//!   transaction as the insert, so a failed insert gives its serial back.
//! - An idempotency key opens at most one case per user, even when the same request reaches
//!   two instances at once.
//! - Case updates are optimistic: the caller names the version it read.
//! - Each timer fires once: [`Store::fire_timer`] marks it fired and applies the case update
//!   it causes in one transaction, and only if it was still pending.
//! - Nothing that must be shared between instances lives in memory: counters, keys, sessions
//!   and timers are rows, so several stateless servers can share one PostgreSQL.
//! - Nothing personal is logged: case snapshots, names and logins never reach `tracing` or
//!   an error's `Display`.

mod bulk;
mod calendar;
mod conduct;
mod dashboard;
mod deferred_indexes;
mod error;
mod find;
mod find_capped;
mod intake;
mod ledger;
mod migrate;
mod org;
mod policies;
mod postgres;
mod reads;
mod records;
mod repeat;
mod rewards;
mod rollups;
mod rows;
mod sqlite;
mod stats;
mod survey_parties;
mod survey_rounds;
mod surveys;
mod time;
mod timers;
mod tree;
mod url;
mod validate;
mod web;

#[cfg(feature = "testing")]
pub mod testing;

use jiff::Timestamp;

#[doc(hidden)]
pub use bulk::{BulkCase, BulkTimer, BulkWrite};
pub use conduct::{ConductOutcome, NewConduct};
pub use dashboard::{OpenCounts, StatsTotal};
pub use error::{StoreError, is_transient};
pub use find::{FindBackfill, FindKey, FindQuery, NUMBER_KIND, NumberBackfill};
pub use find_capped::CappedFind;
pub use intake::IntakeFigures;
pub use ledger::{
    LedgerFilter, NewPenalty, NewViolation, PenaltyRecord, PenaltyStep, ViolationRecord,
};
pub use reads::{CaseReadRecord, NewCaseRead};
pub use records::{
    AttachmentRecord, CalendarFileRecord, CaseFilter, CaseOrder, CasePage, CaseRecord, CaseUpdate,
    CreateOutcome, EventRecord, FireOutcome, Idempotency, ImportSummary, NewAttachment,
    NewCalendarFile, NewCase, NewEvent, NewUnit, NewUser, PolicyRecord, TIMER_BREACH,
    TIMER_FOR_ASSIST, TIMER_FOR_CLOCK, TIMER_FOR_DISPUTE, TIMER_WARN, TimerChange, TimerRecord,
    Unit, UnitInUse, User, Visibility,
};
pub use repeat::{REPEAT, REPEAT_PENDING, RepeatKeyRow};
pub use rewards::{NewReward, RewardDecision, RewardFilter, RewardRecord};
pub use rollups::{Rebuilt, StatusCounts, SubtreeTotals};
pub use survey_parties::SUBJECT;
pub use survey_rounds::{NewRound, NewRoundSurvey, RoundInvitation, RoundRecord};
pub use surveys::{NewSurvey, SurveyFilter, SurveyRecord};

pub use stats::{StatsQuery, StatsRow};

use postgres::PgStore;
use sqlite::SqliteStore;

/// SQLite's `synchronous` setting, the durability/speed trade-off of each commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is on disk before it returns (survives power loss). The default.
    #[default]
    Full,
    /// In WAL mode: commits survive a crash of the process but the last ones may be lost on
    /// power failure; much faster on slow disks.
    Normal,
}

/// How to open a store. Options of the other backend are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// SQLite only: durability of commits. Default [`Synchronous::Full`]. (PostgreSQL's is the
    /// server's `synchronous_commit` setting.)
    pub sqlite_synchronous: Synchronous,
    /// SQLite only: connections in the read pool (at least 1). Default 4. Writes always go
    /// through one connection of their own.
    pub read_connections: u32,
    /// PostgreSQL only: the most connections this store opens (at least 1), for reads and
    /// writes alike. Default 16. With several instances, their sum must stay below the
    /// server's `max_connections`.
    pub pg_max_connections: u32,
    /// How long a request waits for a free connection (or, on PostgreSQL, for a new one to
    /// open) before failing with a "pool timed out" error, which the server answers with 503.
    /// Default 5 s: long enough to ride out a short burst, short enough that clients (and
    /// load balancers) learn of a database outage quickly. SQLite waits at least 30 s (a
    /// local file has no outage; only bursts queue).
    pub acquire_timeout: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sqlite_synchronous: Synchronous::Full,
            read_connections: 4,
            pg_max_connections: 16,
            acquire_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// The largest page [`Store::list_cases`] returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The clamped page size for a requested limit.
pub(crate) fn page_size(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE_SIZE)
}

/// The store: a handle on one database, cheap to clone (clones share the connection pools).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// One variant per database. Adding one makes every `match` below fail to compile until the
/// new backend implements the whole interface.
#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database a URL names.
    ///
    /// - `sqlite:PATH`, `sqlite://PATH` or a bare path (no `://`): SQLite; the file is created
    ///   if missing. In-memory SQLite is refused (readers and writer must share one file).
    /// - `postgres://…` / `postgresql://…`: PostgreSQL. The database must exist; one
    ///   connection is opened at once, so a malformed URL, an unreachable server, a missing
    ///   database or refused credentials are a [`StoreError::Connect`] here, not later.
    /// - any other scheme: [`StoreError::BadUrl`] naming it.
    ///
    /// The schema is not touched: call [`Store::migrate`].
    pub async fn connect(url: &str, opts: StoreOptions) -> Result<Store, StoreError> {
        let positive = |value: u32, reason: &str| {
            if value == 0 {
                Err(StoreError::Invalid {
                    what: "store options",
                    reason: reason.to_owned(),
                })
            } else {
                Ok(())
            }
        };
        positive(opts.read_connections, "read_connections must be at least 1")?;
        positive(
            opts.pg_max_connections,
            "pg_max_connections must be at least 1",
        )?;
        let backend = match url::parse(url)? {
            url::Target::Sqlite(path) => {
                Backend::Sqlite(SqliteStore::connect(&path, &opts, &url::redact(url)).await?)
            }
            url::Target::Postgres(url) => {
                Backend::Postgres(PgStore::connect(&url, &opts, &url::redact(&url)).await?)
            }
        };
        Ok(Store { backend })
    }

    /// Applies the embedded migrations that have not been applied yet, then re-creates any
    /// index a bulk load deferred and did not rebuild (an interrupted `manyi gen`; see
    /// `deferred_indexes.rs`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.migrate().await?,
            Backend::Postgres(s) => s.migrate().await?,
        }
        let rebuilt = self.rebuild_deferred_indexes().await?;
        if !rebuilt.is_empty() {
            tracing::warn!(
                indexes = %rebuilt.join(", "),
                "re-created indexes that an interrupted bulk load (manyi gen) had dropped"
            );
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`, for logs and the health endpoint.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers (for the health endpoint).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.ping().await,
            Backend::Postgres(s) => s.ping().await,
        }
    }

    /// Closes the store: case writes already accepted are written and answered first, any
    /// submitted afterwards is refused (`sqlx::Error::PoolClosed`, which the server answers
    /// with 503), then the connection pools close, waiting for connections in use.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The organisation tree
    // -----------------------------------------------------------------------------------------

    /// Inserts a unit under its parent (which must exist) or as a root.
    pub async fn insert_unit(&self, u: NewUnit) -> Result<Unit, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.insert_unit(u).await,
            Backend::Postgres(s) => s.insert_unit(u).await,
        }
    }

    /// All units, ordered by path (every parent before its children).
    pub async fn list_units(&self) -> Result<Vec<Unit>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_units().await,
            Backend::Postgres(s) => s.list_units().await,
        }
    }

    pub async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.unit_by_code(code).await,
            Backend::Postgres(s) => s.unit_by_code(code).await,
        }
    }

    pub async fn unit_by_id(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.unit_by_id(id).await,
            Backend::Postgres(s) => s.unit_by_id(id).await,
        }
    }

    /// Moves a unit (with its whole subtree) under another parent, rewriting the paths of the
    /// subtree and of the cases owned in it. Refuses to move a unit under itself or one of its
    /// descendants.
    pub async fn move_unit(&self, code: &str, new_parent_code: &str) -> Result<Unit, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.move_unit(code, new_parent_code).await,
            Backend::Postgres(s) => s.move_unit(code, new_parent_code).await,
        }
    }

    /// Inserts a user into an existing unit.
    pub async fn insert_user(&self, u: NewUser) -> Result<User, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.insert_user(u).await,
            Backend::Postgres(s) => s.insert_user(u).await,
        }
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.user_by_login(login).await,
            Backend::Postgres(s) => s.user_by_login(login).await,
        }
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.user_by_id(id).await,
            Backend::Postgres(s) => s.user_by_id(id).await,
        }
    }

    /// All users, ordered by id.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_users().await,
            Backend::Postgres(s) => s.list_users().await,
        }
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, login: &str, hash: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.set_password_hash(login, hash).await,
            Backend::Postgres(s) => s.set_password_hash(login, hash).await,
        }
    }

    /// Replaces a user's name, unit and roles (the password hash is kept).
    pub async fn set_user(
        &self,
        login: &str,
        name: &str,
        unit_code: &str,
        roles: Vec<String>,
    ) -> Result<User, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.set_user(login, name, unit_code, roles).await,
            Backend::Postgres(s) => s.set_user(login, name, unit_code, roles).await,
        }
    }

    /// Inserts or updates a whole organisation in one transaction: all or nothing.
    ///
    /// Units are matched by code and users by login. Units may come in any order (parents are
    /// placed first); an existing unit whose parent changes is moved like [`Store::move_unit`].
    /// A user's roles are replaced; their password hash is replaced only when the import gives
    /// one. Units and users absent from the import are left as they are.
    pub async fn import_org(
        &self,
        units: Vec<NewUnit>,
        users: Vec<NewUser>,
    ) -> Result<ImportSummary, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.import_org(units, users).await,
            Backend::Postgres(s) => s.import_org(units, users).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Authentication
    // -----------------------------------------------------------------------------------------

    /// Records a session under the hash of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        created: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                s.create_session(token_hash, user_id, created, expires)
                    .await
            }
            Backend::Postgres(s) => {
                s.create_session(token_hash, user_id, created, expires)
                    .await
            }
        }
    }

    /// The user of a session that is still valid at `now` (`now < expires`), else `None`.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.session_user(token_hash, now).await,
            Backend::Postgres(s) => s.session_user(token_hash, now).await,
        }
    }

    /// Ends a session (signing out). Ending an unknown session is not an error.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_session(token_hash).await,
            Backend::Postgres(s) => s.delete_session(token_hash).await,
        }
    }

    /// Deletes the sessions expired at `now`; returns how many. For a periodic sweep.
    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_expired_sessions(now).await,
            Backend::Postgres(s) => s.delete_expired_sessions(now).await,
        }
    }

    /// Records an API token under its hash.
    pub async fn create_api_token(
        &self,
        token_hash: &str,
        user_id: i64,
        label: &str,
        created: Timestamp,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                s.create_api_token(token_hash, user_id, label, created)
                    .await
            }
            Backend::Postgres(s) => {
                s.create_api_token(token_hash, user_id, label, created)
                    .await
            }
        }
    }

    /// The user an API token belongs to.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.token_user(token_hash).await,
            Backend::Postgres(s) => s.token_user(token_hash).await,
        }
    }

    /// Revokes an API token. Revoking an unknown token is not an error.
    pub async fn delete_api_token(&self, token_hash: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_api_token(token_hash).await,
            Backend::Postgres(s) => s.delete_api_token(token_hash).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Policies
    // -----------------------------------------------------------------------------------------

    /// Stores `source` as the next version of policy `name`, unless the latest version has the
    /// same `source_hash`, in which case that version is returned unchanged.
    pub async fn store_policy_version(
        &self,
        name: &str,
        source: &str,
        source_hash: &str,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.store_policy_version(name, source, source_hash, now).await,
            Backend::Postgres(s) => s.store_policy_version(name, source, source_hash, now).await,
        }
    }

    /// Makes version `id` the active one of its policy (and the previous one inactive).
    /// Activating the already active version changes nothing.
    pub async fn activate_policy(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<PolicyRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.activate_policy(id, now).await,
            Backend::Postgres(s) => s.activate_policy(id, now).await,
        }
    }

    pub async fn active_policy(&self, name: &str) -> Result<Option<PolicyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.active_policy(name).await,
            Backend::Postgres(s) => s.active_policy(name).await,
        }
    }

    /// The active version of every policy, ordered by name.
    pub async fn active_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.active_policies().await,
            Backend::Postgres(s) => s.active_policies().await,
        }
    }

    pub async fn policy_by_id(&self, id: i64) -> Result<Option<PolicyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.policy_by_id(id).await,
            Backend::Postgres(s) => s.policy_by_id(id).await,
        }
    }

    /// Every version of a policy, oldest first.
    pub async fn policy_versions(&self, name: &str) -> Result<Vec<PolicyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.policy_versions(name).await,
            Backend::Postgres(s) => s.policy_versions(name).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Cases
    // -----------------------------------------------------------------------------------------

    /// Opens a case: takes the next serial of (`number_scope`, `number_period`), turns it into
    /// the case number with `number`, and writes the case, its events, its timers and its
    /// idempotency key in one transaction.
    ///
    /// With an idempotency key already used by the same user: [`CreateOutcome::Replayed`] with
    /// the first case if the request hash matches, else [`CreateOutcome::KeyReused`]; either
    /// way nothing is written and no serial is taken. This holds when both requests arrive at
    /// once, on different instances: the one that loses the race writes nothing and replays.
    ///
    /// Text the databases cannot all store (U+0000) and unknown timer kinds are
    /// [`StoreError::Invalid`] before anything is written.
    ///
    /// `number` must be a pure function of the serial: a group commit that has to write its
    /// batch again, one create at a time (PostgreSQL's multi-row fast path failed), calls it
    /// again, possibly with another serial.
    pub async fn create_case(
        &self,
        c: NewCase,
        number: impl Fn(u64) -> String + Send + Sync + 'static,
    ) -> Result<CreateOutcome, StoreError> {
        validate::new_case(&c)?;
        match &self.backend {
            Backend::Sqlite(s) => s.create_case(c, number).await,
            Backend::Postgres(s) => s.create_case(c, number).await,
        }
    }

    /// Replaces a case's current state, appends events and applies timer changes, in one
    /// transaction, if the case is still at `expected_version` ([`StoreError::Conflict`]
    /// otherwise, with nothing written).
    pub async fn update_case(&self, u: CaseUpdate) -> Result<CaseRecord, StoreError> {
        validate::case_update(&u)?;
        match &self.backend {
            Backend::Sqlite(s) => s.update_case(u).await,
            Backend::Postgres(s) => s.update_case(u).await,
        }
    }

    pub async fn case_by_number(&self, number: &str) -> Result<Option<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_by_number(number).await,
            Backend::Postgres(s) => s.case_by_number(number).await,
        }
    }

    pub async fn case_by_id(&self, id: i64) -> Result<Option<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_by_id(id).await,
            Backend::Postgres(s) => s.case_by_id(id).await,
        }
    }

    /// One page of cases matching `f`, newest (highest id) first.
    pub async fn list_cases(&self, f: &CaseFilter) -> Result<CasePage, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_cases(f).await,
            Backend::Postgres(s) => s.list_cases(f).await,
        }
    }

    /// A case's events in order (`seq` 1, 2, 3, …).
    pub async fn case_events(&self, case_id: i64) -> Result<Vec<EventRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_events(case_id).await,
            Backend::Postgres(s) => s.case_events(case_id).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The violations ledger and the penalty ledger
    // -----------------------------------------------------------------------------------------

    /// Violations matching `f`, oldest first. (They are written by [`Store::update_case`] and
    /// [`Store::fire_timer`] with the event that records them: [`CaseUpdate::violations`].)
    pub async fn list_violations(
        &self,
        f: &LedgerFilter,
    ) -> Result<Vec<ViolationRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_violations(f).await,
            Backend::Postgres(s) => s.list_violations(f).await,
        }
    }

    /// Penalties matching `f` (`status` included), in the order they were proposed.
    pub async fn list_penalties(&self, f: &LedgerFilter) -> Result<Vec<PenaltyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_penalties(f).await,
            Backend::Postgres(s) => s.list_penalties(f).await,
        }
    }

    pub async fn penalty_by_id(&self, id: i64) -> Result<Option<PenaltyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.penalty_by_id(id).await,
            Backend::Postgres(s) => s.penalty_by_id(id).await,
        }
    }

    /// Takes one step of a penalty — decide, appeal, decide the appeal — if the penalty is
    /// still where the step starts from: [`StoreError::Conflict`] otherwise (decided already,
    /// appealed already), with nothing written. The caller has checked the step against the
    /// rule (`manyi_core::penalties`); the database still refuses an amount outside the range.
    pub async fn penalty_step(
        &self,
        id: i64,
        step: PenaltyStep,
    ) -> Result<PenaltyRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.penalty_step(id, &step).await,
            Backend::Postgres(s) => s.penalty_step(id, &step).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The rewards ledger (ccb-counter 第三十二条)
    // -----------------------------------------------------------------------------------------

    /// Records a proposed reward; [`StoreError::Duplicate`] when the rule, period and recipient
    /// already have one.
    pub async fn insert_reward(&self, r: NewReward) -> Result<RewardRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.insert_reward(&r).await,
            Backend::Postgres(s) => s.insert_reward(&r).await,
        }
    }

    /// Rewards matching `f`, in the order they were proposed (at most 10,000).
    pub async fn list_rewards(&self, f: &RewardFilter) -> Result<Vec<RewardRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_rewards(f).await,
            Backend::Postgres(s) => s.list_rewards(f).await,
        }
    }

    pub async fn reward_by_id(&self, id: i64) -> Result<Option<RewardRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.reward_by_id(id).await,
            Backend::Postgres(s) => s.reward_by_id(id).await,
        }
    }

    /// Decides a proposed reward once: [`StoreError::Conflict`] when it was decided already,
    /// with nothing written. The caller has checked the decision (`manyi_core::rewards`); the
    /// database still refuses an amount outside the range.
    pub async fn decide_reward(
        &self,
        id: i64,
        d: RewardDecision,
    ) -> Result<RewardRecord, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.decide_reward(id, &d).await,
            Backend::Postgres(s) => s.decide_reward(id, &d).await,
        }
    }

    // Reads of archived cases
    // -----------------------------------------------------------------------------------------

    /// Logs one read (or refused attempt) of an archived case. Append-only.
    pub async fn log_case_read(&self, r: &NewCaseRead) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.log_case_read(r).await,
            Backend::Postgres(s) => s.log_case_read(r).await,
        }
    }

    /// The logged reads of a case, oldest first.
    pub async fn case_reads(&self, case_id: i64) -> Result<Vec<CaseReadRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_reads(case_id).await,
            Backend::Postgres(s) => s.case_reads(case_id).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Timers
    // -----------------------------------------------------------------------------------------

    /// Pending timers due at `now` (`due_at <= now`), soonest first, at most `limit` of them.
    ///
    /// Reads only the index of pending timers, so its cost follows what is due, not how many
    /// timers exist. It claims nothing: instances that ask at the same moment get the same
    /// timers, and [`Store::fire_timer`] decides which of them fires each. (A PostgreSQL-only
    /// `FOR UPDATE SKIP LOCKED` claim would spare the losers some work, but would make the two
    /// backends run different protocols; the race costs one short, failed `UPDATE`.)
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(s) => s.due_timers(now, limit).await,
            Backend::Postgres(s) => s.due_timers(now, limit).await,
        }
    }

    /// When the soonest pending timer is due, if any: how long the scheduler may sleep.
    pub async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.next_timer_due().await,
            Backend::Postgres(s) => s.next_timer_due().await,
        }
    }

    /// Retires timers without effect (their clock moved on): marks each fired at `at` if it
    /// is still pending, in one statement, and returns the ids this call retired — the others
    /// had fired, been cancelled, or (PostgreSQL) are being fired by another instance right
    /// now (`FOR UPDATE SKIP LOCKED`: this call does not wait for them; if that instance rolls
    /// back they stay pending for the next tick). Each timer is retired once across instances.
    pub async fn retire_timers(&self, ids: &[i64], at: Timestamp) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(s) => s.retire_timers(ids, at).await,
            Backend::Postgres(s) => s.retire_timers(ids, at).await,
        }
    }

    /// The cases with these ids (missing ones are left out), in no particular order: one
    /// query for a scheduler batch instead of one per timer.
    pub async fn cases_by_ids(&self, ids: &[i64]) -> Result<Vec<CaseRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(s) => s.cases_by_ids(ids).await,
            Backend::Postgres(s) => s.cases_by_ids(ids).await,
        }
    }

    /// Fires a timer, once across all instances, together with the case update it causes.
    ///
    /// In one transaction: marks the timer fired at `fired_at` if it is still pending, then
    /// applies `update` (optimistically, as [`Store::update_case`]; its `id` must be the
    /// timer's case).
    ///
    /// - [`FireOutcome::Fired`]: this call fired it; the case after the update, if any.
    /// - [`FireOutcome::AlreadyDone`]: it had fired or been cancelled; nothing was written.
    /// - `Err(`[`StoreError::Conflict`]`)`: the case moved on since the caller read it; the
    ///   timer is left pending and nothing was written: reload the case and call again.
    /// - `Err(`[`StoreError::NotFound`]`)`: no timer has this id.
    pub async fn fire_timer(
        &self,
        timer_id: i64,
        fired_at: Timestamp,
        update: Option<CaseUpdate>,
    ) -> Result<FireOutcome, StoreError> {
        if let Some(u) = &update {
            validate::case_update(u)?;
        }
        match &self.backend {
            Backend::Sqlite(s) => s.fire_timer(timer_id, fired_at, update).await,
            Backend::Postgres(s) => s.fire_timer(timer_id, fired_at, update).await,
        }
    }

    /// [`Store::fire_timer`] for several timers in one transaction: one commit (one fsync)
    /// instead of one per timer when many fall due together. Each firing is its own savepoint,
    /// so the outcomes are per firing, in the order given, exactly as `fire_timer` would
    /// report them: one that conflicts is undone alone (its timer stays pending) while the
    /// others are written. An `Err` of the whole call (the transaction failed) wrote nothing.
    /// An update that does not validate is reported in its place and not attempted.
    pub async fn fire_timers(
        &self,
        fires: Vec<(i64, Option<CaseUpdate>)>,
        fired_at: Timestamp,
    ) -> Result<Vec<Result<FireOutcome, StoreError>>, StoreError> {
        let mut outcomes: Vec<Option<Result<FireOutcome, StoreError>>> =
            Vec::with_capacity(fires.len());
        let mut valid = Vec::with_capacity(fires.len());
        for (timer_id, update) in fires {
            match update.as_ref().map(validate::case_update).transpose() {
                Ok(_) => {
                    outcomes.push(None);
                    valid.push((timer_id, update));
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        if !valid.is_empty() {
            let written = match &self.backend {
                Backend::Sqlite(s) => s.fire_timers(&valid, fired_at).await?,
                Backend::Postgres(s) => s.fire_timers(&valid, fired_at).await?,
            };
            // The backends answer one outcome per firing given, in order: fill the gaps.
            let mut written = written.into_iter();
            for slot in outcomes.iter_mut().filter(|o| o.is_none()) {
                *slot = written.next();
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// A case's pending timers, soonest first.
    pub async fn pending_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.pending_timers(case_id).await,
            Backend::Postgres(s) => s.pending_timers(case_id).await,
        }
    }

    /// All of a case's timers, pending or not, in the order they were scheduled.
    pub async fn case_timers(&self, case_id: i64) -> Result<Vec<TimerRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_timers(case_id).await,
            Backend::Postgres(s) => s.case_timers(case_id).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The official calendar's imported notices
    // -----------------------------------------------------------------------------------------

    /// Appends notice files in one transaction (all or none). Files are never changed or
    /// removed: the newest file of a year is the one in force ([`Store::calendar_files`]).
    pub async fn import_calendar_files(
        &self,
        files: Vec<NewCalendarFile>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        match &self.backend {
            Backend::Sqlite(s) => s.import_calendar_files(files, now).await,
            Backend::Postgres(s) => s.import_calendar_files(files, now).await,
        }
    }

    /// The newest imported file of each notice year, by year.
    pub async fn calendar_files(&self) -> Result<Vec<CalendarFileRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.calendar_files().await,
            Backend::Postgres(s) => s.calendar_files().await,
        }
    }

    /// A number that changes whenever notice files are imported (the newest file's id, 0 when
    /// none): instances compare it to know when to reload the calendar.
    pub async fn calendar_revision(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.calendar_revision().await,
            Backend::Postgres(s) => s.calendar_revision().await,
        }
    }

    /// A number that changes whenever units, unit calendars or policy versions (and which
    /// version is active) change, by whatever writer: database triggers bump it in the same
    /// transaction. One indexed read; callers cache what those tables hold and reload only
    /// when this number moved, which stays correct with several instances on one database.
    pub async fn directory_revision(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.directory_revision().await,
            Backend::Postgres(s) => s.directory_revision().await,
        }
    }

    /// Sets (replaces) a unit's own calendar overlay (JSON), or removes it with `None`.
    pub async fn set_unit_calendar(
        &self,
        unit_code: &str,
        overlay: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let unit = self
            .unit_by_code(unit_code)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "unit",
                key: unit_code.to_owned(),
            })?;
        match &self.backend {
            Backend::Sqlite(s) => s.set_unit_calendar(unit.id, overlay, now).await,
            Backend::Postgres(s) => s.set_unit_calendar(unit.id, overlay, now).await,
        }
    }

    /// Every unit's own overlay, by unit id.
    pub async fn unit_calendars(&self) -> Result<Vec<(i64, serde_json::Value)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.unit_calendars().await,
            Backend::Postgres(s) => s.unit_calendars().await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The web interface: user upkeep, attachments, rate limits
    // -----------------------------------------------------------------------------------------

    /// Disables or re-enables a user. Disabling also ends their sessions; their API tokens
    /// are kept but refused while they are disabled ([`Store::token_user`] and
    /// [`Store::session_user`] never answer a disabled user).
    pub async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<User, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.set_user_disabled(login, disabled).await,
            Backend::Postgres(s) => s.set_user_disabled(login, disabled).await,
        }
    }

    /// Records the interface language a user chose (`None`: follow the browser).
    pub async fn set_user_lang(&self, user_id: i64, lang: Option<&str>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.set_user_lang(user_id, lang).await,
            Backend::Postgres(s) => s.set_user_lang(user_id, lang).await,
        }
    }

    /// Ends every session of a user but the one whose hash is `keep` (after a password
    /// change); returns how many ended.
    pub async fn delete_other_sessions(&self, user_id: i64, keep: &str) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_other_sessions(user_id, keep).await,
            Backend::Postgres(s) => s.delete_other_sessions(user_id, keep).await,
        }
    }

    /// Removes a unit if nothing refers to it: no child units, no users, no cases owned, no
    /// ledger entries. Otherwise nothing changes and the answer says what is still there.
    pub async fn remove_unit(&self, code: &str) -> Result<Result<(), UnitInUse>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.remove_unit(code).await,
            Backend::Postgres(s) => s.remove_unit(code).await,
        }
    }

    /// Stores an attachment of a case.
    pub async fn add_attachment(&self, a: NewAttachment) -> Result<AttachmentRecord, StoreError> {
        if a.filename.contains('\0') || a.content_type.contains('\0') {
            return Err(StoreError::Invalid {
                what: "attachment",
                reason: "text contains U+0000".to_owned(),
            });
        }
        match &self.backend {
            Backend::Sqlite(s) => s.add_attachment(a).await,
            Backend::Postgres(s) => s.add_attachment(a).await,
        }
    }

    /// A case's attachments (without content), oldest first.
    pub async fn case_attachments(
        &self,
        case_id: i64,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_attachments(case_id).await,
            Backend::Postgres(s) => s.case_attachments(case_id).await,
        }
    }

    /// One attachment with its content.
    pub async fn attachment(
        &self,
        id: i64,
    ) -> Result<Option<(AttachmentRecord, Vec<u8>)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.attachment(id).await,
            Backend::Postgres(s) => s.attachment(id).await,
        }
    }

    /// Counts one hit in `bucket`'s fixed window starting at `window_start` and returns the
    /// hits in that window so far, this one included. Windows that started before
    /// `forget_before` are deleted in passing, so the table stays small. Every instance
    /// counts in the same rows, so a limit holds across instances.
    pub async fn rate_limit_hit(
        &self,
        bucket: &str,
        window_start: Timestamp,
        forget_before: Timestamp,
    ) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.rate_limit_hit(bucket, window_start, forget_before).await,
            Backend::Postgres(s) => s.rate_limit_hit(bucket, window_start, forget_before).await,
        }
    }

    /// FOR `manyi gen` ONLY: loads generated cases in one transaction (see `bulk.rs`): the
    /// case rows, their whole event logs, their pending timers, and the number counters,
    /// which must stand right below each (scope, period)'s first serial in the batch.
    #[doc(hidden)]
    pub async fn bulk_insert_cases(&self, cases: &[BulkCase]) -> Result<(), StoreError> {
        self.bulk_insert_cases_with(cases, BulkWrite::default())
            .await
    }

    /// [`Store::bulk_insert_cases`], choosing how PostgreSQL writes the rows (to measure).
    #[doc(hidden)]
    pub async fn bulk_insert_cases_with(
        &self,
        cases: &[BulkCase],
        how: BulkWrite,
    ) -> Result<(), StoreError> {
        if cases.is_empty() {
            return Ok(());
        }
        match &self.backend {
            Backend::Sqlite(s) => s.bulk_insert_cases(cases).await,
            Backend::Postgres(s) => s.bulk_insert_cases(cases, how).await,
        }
    }

    // -----------------------------------------------------------------------------------------
    // For the contract tests only
    // -----------------------------------------------------------------------------------------

    /// Executes one static SQL statement on the write connection, bypassing the interface.
    ///
    /// Exists so that the contract tests can prove the database itself refuses what the
    /// interface never offers (editing the event log). Only `&'static str` is accepted, so no
    /// runtime data can reach it. Not for application code.
    #[doc(hidden)]
    pub async fn raw_execute_for_tests(&self, sql: &'static str) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.raw_execute(sql).await,
            Backend::Postgres(s) => s.raw_execute(sql).await,
        }
    }

    // -- Statistics -------------------------------------------------------------------------

    /// One month's case counts by owner unit, category and on-time status, read from the
    /// pre-aggregated `case_stats` (no scan of `cases`). Rows with no case are left out.
    pub async fn case_stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_stats(q).await,
            Backend::Postgres(s) => s.case_stats(q).await,
        }
    }

    /// The same counts computed with a GROUP BY over `cases` (and their breach events): the
    /// baseline of the statistics benchmark and the oracle of the contract test.
    pub async fn case_stats_from_cases(&self, q: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_stats_from_cases(q).await,
            Backend::Postgres(s) => s.case_stats_from_cases(q).await,
        }
    }

    /// The open cases of a subtree (a unit path such as `/1/5/`) per owner unit: how many,
    /// how many overdue (`due_at <= now`) and due soon (`now < due_at <= soon`). Read from
    /// the index of open cases by due time alone, so its cost follows the subtree's open
    /// cases, never its closed ones.
    pub async fn open_case_counts(
        &self,
        subtree: &str,
        now: Timestamp,
        soon: Timestamp,
    ) -> Result<Vec<OpenCounts>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.open_case_counts(subtree, now, soon).await,
            Backend::Postgres(s) => s.open_case_counts(subtree, now, soon).await,
        }
    }

    /// New cases owned in a subtree per week, `weeks` weeks of 7 × 24 h from `from` (a
    /// Monday 00:00 in Asia/Shanghai, or the answer is `StoreError::Invalid`): one count per
    /// week, from the weekly aggregate `case_weeks` (migration 0014; its cost follows the
    /// subtree's units, not its cases).
    pub async fn cases_per_week(
        &self,
        subtree: &str,
        from: Timestamp,
        weeks: u32,
    ) -> Result<Vec<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.cases_per_week(subtree, from, weeks).await,
            Backend::Postgres(s) => s.cases_per_week(subtree, from, weeks).await,
        }
    }

    /// `case_stats` of a subtree summed over the months `from_month..=to_month` (`YYYY-MM`):
    /// by owner unit, category and status, and by month. Never reads `cases`.
    pub async fn case_stats_totals(
        &self,
        subtree: &str,
        from_month: &str,
        to_month: &str,
    ) -> Result<(Vec<StatsTotal>, Vec<(String, i64)>), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.case_stats_totals(subtree, from_month, to_month).await,
            Backend::Postgres(s) => s.case_stats_totals(subtree, from_month, to_month).await,
        }
    }

    /// Recomputes `case_stats` from `cases` in one transaction (case writes wait meanwhile);
    /// returns the number of rows written.
    pub async fn rebuild_case_stats(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.rebuild_case_stats().await,
            Backend::Postgres(s) => s.rebuild_case_stats().await,
        }
    }
}
