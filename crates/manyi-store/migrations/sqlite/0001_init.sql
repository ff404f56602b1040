-- manyi schema, SQLite dialect.
--
-- PostgreSQL gets `migrations/postgres/0001_init.sql` with the same tables, columns, indexes and
-- names. The only intended differences are of dialect:
--   * `INTEGER PRIMARY KEY` (SQLite's rowid alias) becomes `BIGINT GENERATED ALWAYS AS IDENTITY`;
--   * 0/1 `INTEGER` flags become `BOOLEAN`; JSON `TEXT` becomes `JSONB`;
--   * path columns need `COLLATE "C"` so that the byte-order range scans used for subtrees
--     (`path >= '/1/5/' AND path < '/1/50'`) mean the same thing as here;
--   * the append-only and immutability triggers are written as PL/pgSQL functions.
--
-- Every instant is a BIGINT count of milliseconds since the Unix epoch (UTC): portable,
-- sortable, and free of any time-zone interpretation by the database.

-- ---------------------------------------------------------------------------------------------
-- The organisation tree
-- ---------------------------------------------------------------------------------------------

CREATE TABLE units (
    id        INTEGER PRIMARY KEY,
    code      TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL,
    -- a level named by the policy (e.g. 总行 / 一级分行 / 营业网点); the store does not interpret it
    level     TEXT    NOT NULL,
    parent_id INTEGER REFERENCES units (id),
    -- materialised path of ids from the root, e.g. '/1/5/12/'. A subtree is a range scan on
    -- `units_by_path`; paths are unique by construction (each ends with the unit's own id), so
    -- the index is not declared UNIQUE, which lets an insert write a placeholder before it knows
    -- its own id.
    path      TEXT    NOT NULL
);
CREATE INDEX units_by_path ON units (path);
CREATE INDEX units_by_parent ON units (parent_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    unit_id       INTEGER NOT NULL REFERENCES units (id),
    -- a PHC string (argon2) or NULL when the user cannot sign in with a password
    password_hash TEXT
);
CREATE INDEX users_by_unit ON users (unit_id);

-- Roles are a set per user. A table rather than a JSON column so that "who holds role R" is an
-- indexed query on both backends without JSON operators.
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE INDEX user_roles_by_role ON user_roles (role, user_id);

-- ---------------------------------------------------------------------------------------------
-- Authentication: only hashes of tokens are stored, never the tokens themselves
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- ---------------------------------------------------------------------------------------------
-- Policies: immutable versions; a case records the version it was opened under
-- ---------------------------------------------------------------------------------------------

CREATE TABLE policy_versions (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    source       TEXT    NOT NULL,
    source_hash  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    -- when this version was last made the active one
    activated_at INTEGER,
    active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    UNIQUE (name, version)
);
-- at most one active version per policy name, enforced by the database itself
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (name) WHERE active = 1;

CREATE TRIGGER policy_versions_are_immutable
BEFORE UPDATE OF name, version, source, source_hash ON policy_versions
BEGIN
    SELECT RAISE(ABORT, 'policy versions are immutable');
END;

CREATE TRIGGER policy_versions_are_kept
BEFORE DELETE ON policy_versions
BEGIN
    SELECT RAISE(ABORT, 'policy versions are immutable');
END;

-- ---------------------------------------------------------------------------------------------
-- Cases: a current-state row plus an append-only event log, written in one transaction
-- ---------------------------------------------------------------------------------------------

-- Gap-free serials per (scope, period). Incremented by an upsert in the same transaction as
-- the case insert, so a failed insert rolls the counter back with it.
CREATE TABLE number_counters (
    scope       TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    last_serial INTEGER NOT NULL CHECK (last_serial >= 1),
    PRIMARY KEY (scope, period)
) WITHOUT ROWID;

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    number           TEXT    NOT NULL UNIQUE,
    number_scope     TEXT    NOT NULL,
    number_period    TEXT    NOT NULL,
    serial           INTEGER NOT NULL CHECK (serial >= 1),
    kind             TEXT    NOT NULL,
    policy_id        INTEGER NOT NULL REFERENCES policy_versions (id),
    state            TEXT    NOT NULL,
    owner_unit_id    INTEGER NOT NULL REFERENCES units (id),
    -- copy of units.path of the owner, for the jurisdiction filter without a join; rewritten
    -- when the owner changes and when a unit move rewrites the paths of a subtree
    owner_unit_path  TEXT    NOT NULL,
    -- 首问负责人: the first person contacted, who stays responsible for following the case
    first_contact_id INTEGER NOT NULL REFERENCES users (id),
    assignee_id      INTEGER REFERENCES users (id),
    channel          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    closed           INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
    -- optimistic concurrency: every update must name the version it read
    version          INTEGER NOT NULL CHECK (version >= 1),
    -- the case's fields as JSON; personal data lives here and must never be logged
    snapshot         TEXT    NOT NULL,
    -- defence in depth behind the counter: two cases can never share a serial
    UNIQUE (number_scope, number_period, serial)
);
-- listing a jurisdiction newest first: range on the path, then id
CREATE INDEX cases_by_owner_path ON cases (owner_unit_path, id);
CREATE INDEX cases_by_state ON cases (state, id);
CREATE INDEX cases_by_first_contact ON cases (first_contact_id, id);
CREATE INDEX cases_by_assignee ON cases (assignee_id, id);

CREATE TABLE case_events (
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    -- 1, 2, 3, ... per case
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    occurred_at INTEGER NOT NULL,
    -- NULL for the system itself (e.g. a deadline sweeper)
    actor_id    INTEGER REFERENCES users (id),
    action      TEXT    NOT NULL,
    -- the policy clause that authorised or caused the event, e.g. '第十九条'
    clause      TEXT,
    payload     TEXT    NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;

-- The event log is the audit trail: append-only, enforced by the database and not only by
-- the code that writes it.
CREATE TRIGGER case_events_are_append_only_update
BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;

CREATE TRIGGER case_events_are_append_only_delete
BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;

-- A double-clicked "submit complaint" must not open two cases: the first request's case is
-- remembered under (user, key) together with a hash of the request.
CREATE TABLE idempotency_keys (
    user_id         INTEGER NOT NULL REFERENCES users (id),
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
) WITHOUT ROWID;
