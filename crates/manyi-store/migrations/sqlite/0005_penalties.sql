-- The violations ledger and the penalty ledger, SQLite dialect
-- (`migrations/postgres/0005_penalties.sql` is the same schema).
--
-- A violation is written in the same transaction as the case event that recorded it (a clock
-- breach, …), and is never changed: like the event log, the table is append-only. Its penalty
-- proposals are written with it; a penalty then moves proposed → decided → appealed →
-- appeal_decided, each step a conditional update recording who, when and why. Penalties are
-- recorded decisions, never wage deductions.

CREATE TABLE violations (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL,
    -- the event that recorded it
    event_seq   INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    rule        TEXT    NOT NULL,
    clause      TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    due_at      INTEGER,
    -- the unit that owned the case then: whose jurisdiction the violation is in
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    -- JSON array of the liable users' ids (also in violation_persons, for queries)
    person_ids  TEXT    NOT NULL,
    -- the violation as the domain recorded it (personal data)
    detail      TEXT    NOT NULL,
    FOREIGN KEY (case_id, event_seq) REFERENCES case_events (case_id, seq)
);
CREATE INDEX violations_by_time ON violations (occurred_at, id);
CREATE INDEX violations_by_case ON violations (case_id);

CREATE TABLE violation_persons (
    violation_id INTEGER NOT NULL REFERENCES violations (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (violation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX violation_persons_by_user ON violation_persons (user_id);

CREATE TRIGGER violations_are_append_only_update
BEFORE UPDATE ON violations
BEGIN
    SELECT RAISE(ABORT, 'violations is append-only');
END;

CREATE TRIGGER violations_are_append_only_delete
BEFORE DELETE ON violations
BEGIN
    SELECT RAISE(ABORT, 'violations is append-only');
END;

CREATE TABLE penalties (
    id                      INTEGER PRIMARY KEY,
    violation_id            INTEGER NOT NULL REFERENCES violations (id),
    case_id                 INTEGER NOT NULL REFERENCES cases (id),
    -- the penalty rule's id in the case's policy version, and its clause
    rule                    TEXT    NOT NULL,
    clause                  TEXT    NOT NULL,
    person_id               INTEGER NOT NULL REFERENCES users (id),
    unit_id                 INTEGER NOT NULL REFERENCES units (id),
    -- the range a decision must fall in, in fen (equal for a fixed amount)
    min_fen                 INTEGER NOT NULL CHECK (min_fen >= 0),
    max_fen                 INTEGER NOT NULL,
    items                   INTEGER NOT NULL CHECK (items >= 1),
    discipline_referral     INTEGER NOT NULL CHECK (discipline_referral IN (0, 1)),
    requires_substantiation INTEGER NOT NULL CHECK (requires_substantiation IN (0, 1)),
    proposed_at             INTEGER NOT NULL,
    status                  TEXT    NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed', 'decided', 'appealed', 'appeal_decided')),
    decided_amount_fen      INTEGER,
    decided_reason          TEXT,
    decided_by              INTEGER REFERENCES users (id),
    decided_at              INTEGER,
    appeal_reason           TEXT,
    appealed_at             INTEGER,
    appeal_amount_fen       INTEGER,
    appeal_decision_reason  TEXT,
    appeal_decided_by       INTEGER REFERENCES users (id),
    appeal_decided_at       INTEGER,
    CHECK (min_fen <= max_fen),
    CHECK (decided_amount_fen IS NULL OR decided_amount_fen BETWEEN min_fen AND max_fen),
    CHECK (appeal_amount_fen IS NULL OR appeal_amount_fen BETWEEN min_fen AND max_fen)
);
CREATE INDEX penalties_by_time ON penalties (proposed_at, id);
CREATE INDEX penalties_by_person ON penalties (person_id);
CREATE INDEX penalties_by_violation ON penalties (violation_id);
