-- manyi schema, PostgreSQL dialect.
--
-- The same tables, columns, constraints and index names as `migrations/sqlite/0001_init.sql`;
-- the contract tests (`tests/contract.rs`) run unchanged on both. The differences are of
-- dialect only:
--   * ids are `BIGSERIAL` (SQLite: `INTEGER PRIMARY KEY`, its rowid alias); integers `BIGINT`;
--   * flags are `BOOLEAN` (SQLite: 0/1 `INTEGER`);
--   * snapshots and payloads are `JSONB` (SQLite: JSON `TEXT`): validated on the way in and
--     open to expression indexes for statistics; they read back as the same JSON values;
--   * text that is ordered or range-scanned is `COLLATE "C"` (byte order, as SQLite's BINARY):
--     unit paths, so that a subtree stays the range `path >= '/1/5/' AND path < '/1/50'`
--     whatever the database's collation (under a linguistic collation `/` can be ignored and
--     `/1/5/12/` would sort after `/1/50`), and roles and policy names, which come back sorted;
--   * the append-only and immutability rules are PL/pgSQL triggers, and also refuse TRUNCATE,
--     which SQLite does not have;
--   * `WITHOUT ROWID` has no equivalent and is not needed.
--
-- Every instant is a BIGINT count of milliseconds since the Unix epoch (UTC): portable,
-- sortable, and free of any time-zone interpretation by the database.

-- Raised by the triggers below; the message is the trigger's first argument.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The organisation tree
-- ---------------------------------------------------------------------------------------------

CREATE TABLE units (
    id        BIGSERIAL PRIMARY KEY,
    code      TEXT   NOT NULL UNIQUE,
    name      TEXT   NOT NULL,
    -- a level named by the policy (e.g. 总行 / 一级分行 / 营业网点); the store does not interpret it
    level     TEXT   NOT NULL,
    parent_id BIGINT REFERENCES units (id),
    -- materialised path of ids from the root, e.g. '/1/5/12/'. A subtree is a range scan on
    -- `units_by_path`; paths are unique by construction (each ends with the unit's own id), so
    -- the index is not declared UNIQUE, which lets an insert write a placeholder before it knows
    -- its own id.
    path      TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX units_by_path ON units (path);
CREATE INDEX units_by_parent ON units (parent_id);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    login         TEXT   NOT NULL UNIQUE,
    name          TEXT   NOT NULL,
    unit_id       BIGINT NOT NULL REFERENCES units (id),
    -- a PHC string (argon2) or NULL when the user cannot sign in with a password
    password_hash TEXT
);
CREATE INDEX users_by_unit ON users (unit_id);

-- Roles are a set per user. A table rather than a JSON column so that "who holds role R" is an
-- indexed query on both backends without JSON operators.
CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_by_role ON user_roles (role, user_id);

-- ---------------------------------------------------------------------------------------------
-- Authentication: only hashes of tokens are stored, never the tokens themselves
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- ---------------------------------------------------------------------------------------------
-- Policies: immutable versions; a case records the version it was opened under
-- ---------------------------------------------------------------------------------------------

CREATE TABLE policy_versions (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT    COLLATE "C" NOT NULL,
    version      BIGINT  NOT NULL CHECK (version >= 1),
    source       TEXT    NOT NULL,
    source_hash  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    -- when this version was last made the active one
    activated_at BIGINT,
    active       BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (name, version)
);
-- at most one active version per policy name, enforced by the database itself
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (name) WHERE active;

-- Like SQLite's `BEFORE UPDATE OF`, this fires when an UPDATE names one of these columns.
CREATE TRIGGER policy_versions_are_immutable
BEFORE UPDATE OF name, version, source, source_hash ON policy_versions
FOR EACH ROW EXECUTE FUNCTION refuse_change('policy versions are immutable');

CREATE TRIGGER policy_versions_are_kept
BEFORE DELETE ON policy_versions
FOR EACH ROW EXECUTE FUNCTION refuse_change('policy versions are immutable');

CREATE TRIGGER policy_versions_are_kept_truncate
BEFORE TRUNCATE ON policy_versions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('policy versions are immutable');

-- ---------------------------------------------------------------------------------------------
-- Cases: a current-state row plus an append-only event log, written in one transaction
-- ---------------------------------------------------------------------------------------------

-- Gap-free serials per (scope, period). Incremented by an upsert in the same transaction as
-- the case insert, so a failed insert rolls the counter back with it; the upsert's row lock
-- makes concurrent creates in one scope and period take their serials one after the other.
CREATE TABLE number_counters (
    scope       TEXT   NOT NULL,
    period      TEXT   NOT NULL,
    last_serial BIGINT NOT NULL CHECK (last_serial >= 1),
    PRIMARY KEY (scope, period)
);

CREATE TABLE cases (
    id               BIGSERIAL PRIMARY KEY,
    number           TEXT    NOT NULL UNIQUE,
    number_scope     TEXT    NOT NULL,
    number_period    TEXT    NOT NULL,
    serial           BIGINT  NOT NULL CHECK (serial >= 1),
    kind             TEXT    NOT NULL,
    policy_id        BIGINT  NOT NULL REFERENCES policy_versions (id),
    state            TEXT    NOT NULL,
    owner_unit_id    BIGINT  NOT NULL REFERENCES units (id),
    -- copy of units.path of the owner, for the jurisdiction filter without a join; rewritten
    -- when the owner changes and when a unit move rewrites the paths of a subtree
    owner_unit_path  TEXT    COLLATE "C" NOT NULL,
    -- 首问负责人: the first person contacted, who stays responsible for following the case
    first_contact_id BIGINT  NOT NULL REFERENCES users (id),
    assignee_id      BIGINT  REFERENCES users (id),
    channel          TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    closed           BOOLEAN NOT NULL DEFAULT FALSE,
    -- optimistic concurrency: every update must name the version it read
    version          BIGINT  NOT NULL CHECK (version >= 1),
    -- the case's fields as JSON; personal data lives here and must never be logged
    snapshot         JSONB   NOT NULL,
    -- defence in depth behind the counter: two cases can never share a serial
    UNIQUE (number_scope, number_period, serial)
);
-- listing a jurisdiction newest first: range on the path, then id
CREATE INDEX cases_by_owner_path ON cases (owner_unit_path, id);
CREATE INDEX cases_by_state ON cases (state, id);
CREATE INDEX cases_by_first_contact ON cases (first_contact_id, id);
CREATE INDEX cases_by_assignee ON cases (assignee_id, id);

CREATE TABLE case_events (
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    -- 1, 2, 3, ... per case
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    occurred_at BIGINT NOT NULL,
    -- NULL for the system itself (e.g. a deadline sweeper)
    actor_id    BIGINT REFERENCES users (id),
    action      TEXT   NOT NULL,
    -- the policy clause that authorised or caused the event, e.g. '第十九条'
    clause      TEXT,
    payload     JSONB  NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- The event log is the audit trail: append-only, enforced by the database and not only by
-- the code that writes it.
CREATE TRIGGER case_events_are_append_only_update
BEFORE UPDATE ON case_events
FOR EACH ROW EXECUTE FUNCTION refuse_change('case_events is append-only');

CREATE TRIGGER case_events_are_append_only_delete
BEFORE DELETE ON case_events
FOR EACH ROW EXECUTE FUNCTION refuse_change('case_events is append-only');

CREATE TRIGGER case_events_are_append_only_truncate
BEFORE TRUNCATE ON case_events
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('case_events is append-only');

-- A double-clicked "submit complaint" must not open two cases: the first request's case is
-- remembered under (user, key) together with a hash of the request.
CREATE TABLE idempotency_keys (
    user_id         BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    case_id         BIGINT NOT NULL REFERENCES cases (id),
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
