-- Conduct recorded without a case (issue 5), SQLite dialect
-- (`migrations/postgres/0020_conduct.sql` is the same change).
--
-- A supervisor's daily review sees a teller without a badge: a `conduct` violation with no
-- complaint case. `violations.case_id` and `event_seq` become nullable (both set, or both
-- NULL: a violation recorded by a case event, or one recorded on its own), every violation
-- names the policy version its rule came from (`policy_id`: the case's policy for the rows
-- already there), and `penalties.case_id` becomes nullable with it. `conduct_keys` holds the
-- idempotency keys of conduct recorded without a case.
--
-- SQLite cannot drop a NOT NULL constraint, so the three ledger tables are rebuilt (the
-- documented 12-step procedure). `PRAGMA foreign_keys` cannot be switched off inside the
-- migration's transaction, so no step may orphan a row: the new tables are filled first, the
-- children's new tables referring to `violations_new`; the old children go before the old
-- parent; renaming `violations_new` rewrites the references to it. The indexes and the
-- append-only triggers of 0005 are recreated as they were.

CREATE TABLE violations_new (
    id          INTEGER PRIMARY KEY,
    -- NULL for conduct recorded without a case
    case_id     INTEGER,
    -- the policy version whose rule was broken (its penalty rules propose the fines)
    policy_id   INTEGER NOT NULL REFERENCES policy_versions (id),
    -- the event that recorded it (NULL exactly when case_id is)
    event_seq   INTEGER,
    kind        TEXT    NOT NULL,
    rule        TEXT    NOT NULL,
    clause      TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    due_at      INTEGER,
    -- the unit that owned the case then (or the recorded person's unit): whose jurisdiction
    -- the violation is in
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    -- JSON array of the liable users' ids (also in violation_persons, for queries)
    person_ids  TEXT    NOT NULL,
    -- the violation as the domain recorded it (personal data)
    detail      TEXT    NOT NULL,
    FOREIGN KEY (case_id, event_seq) REFERENCES case_events (case_id, seq),
    CHECK ((case_id IS NULL) = (event_seq IS NULL))
);
INSERT INTO violations_new (id, case_id, policy_id, event_seq, kind, rule, clause,
                            occurred_at, due_at, unit_id, person_ids, detail)
SELECT v.id, v.case_id, c.policy_id, v.event_seq, v.kind, v.rule, v.clause,
       v.occurred_at, v.due_at, v.unit_id, v.person_ids, v.detail
FROM violations v JOIN cases c ON c.id = v.case_id;

CREATE TABLE violation_persons_new (
    violation_id INTEGER NOT NULL REFERENCES violations_new (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (violation_id, user_id)
) WITHOUT ROWID;
INSERT INTO violation_persons_new (violation_id, user_id)
SELECT violation_id, user_id FROM violation_persons;

CREATE TABLE penalties_new (
    id                      INTEGER PRIMARY KEY,
    violation_id            INTEGER NOT NULL REFERENCES violations_new (id),
    -- NULL when the violation has no case
    case_id                 INTEGER REFERENCES cases (id),
    -- the penalty rule's id in the violation's policy version, and its clause
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
INSERT INTO penalties_new SELECT * FROM penalties;

-- Children first: dropping a parent with rows still referring to it would fail.
DROP TABLE penalties;
DROP TABLE violation_persons;
DROP TABLE violations;
ALTER TABLE violations_new RENAME TO violations;
ALTER TABLE violation_persons_new RENAME TO violation_persons;
ALTER TABLE penalties_new RENAME TO penalties;

CREATE INDEX violations_by_time ON violations (occurred_at, id);
CREATE INDEX violations_by_case ON violations (case_id);
CREATE INDEX violation_persons_by_user ON violation_persons (user_id);
CREATE INDEX penalties_by_time ON penalties (proposed_at, id);
CREATE INDEX penalties_by_person ON penalties (person_id);
CREATE INDEX penalties_by_violation ON penalties (violation_id);

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

-- The idempotency keys of conduct recorded without a case: a retried POST /api/v1/conduct
-- finds its violation instead of recording a second one.
CREATE TABLE conduct_keys (
    user_id         INTEGER NOT NULL REFERENCES users (id),
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    violation_id    INTEGER NOT NULL REFERENCES violations (id),
    PRIMARY KEY (user_id, idempotency_key)
) WITHOUT ROWID;
