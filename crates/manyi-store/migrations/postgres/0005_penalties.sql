-- The violations ledger and the penalty ledger, PostgreSQL dialect
-- (`migrations/sqlite/0005_penalties.sql` is the same schema).
--
-- A violation is written in the same transaction as the case event that recorded it (a clock
-- breach, …), and is never changed: like the event log, the table is append-only. Its penalty
-- proposals are written with it; a penalty then moves proposed → decided → appealed →
-- appeal_decided, each step a conditional update recording who, when and why. Penalties are
-- recorded decisions, never wage deductions.

CREATE TABLE violations (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL,
    -- the event that recorded it
    event_seq   BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    rule        TEXT   NOT NULL,
    clause      TEXT   NOT NULL,
    occurred_at BIGINT NOT NULL,
    due_at      BIGINT,
    -- the unit that owned the case then: whose jurisdiction the violation is in
    unit_id     BIGINT NOT NULL REFERENCES units (id),
    -- JSON array of the liable users' ids (also in violation_persons, for queries)
    person_ids  JSONB  NOT NULL,
    -- the violation as the domain recorded it (personal data)
    detail      JSONB  NOT NULL,
    FOREIGN KEY (case_id, event_seq) REFERENCES case_events (case_id, seq)
);
CREATE INDEX violations_by_time ON violations (occurred_at, id);
CREATE INDEX violations_by_case ON violations (case_id);

CREATE TABLE violation_persons (
    violation_id BIGINT NOT NULL REFERENCES violations (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (violation_id, user_id)
);
CREATE INDEX violation_persons_by_user ON violation_persons (user_id);

CREATE TRIGGER violations_are_append_only_update
BEFORE UPDATE ON violations
FOR EACH ROW EXECUTE FUNCTION refuse_change('violations is append-only');

CREATE TRIGGER violations_are_append_only_delete
BEFORE DELETE ON violations
FOR EACH ROW EXECUTE FUNCTION refuse_change('violations is append-only');

CREATE TRIGGER violations_are_append_only_truncate
BEFORE TRUNCATE ON violations
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('violations is append-only');

CREATE TABLE penalties (
    id                      BIGSERIAL PRIMARY KEY,
    violation_id            BIGINT  NOT NULL REFERENCES violations (id),
    case_id                 BIGINT  NOT NULL REFERENCES cases (id),
    -- the penalty rule's id in the case's policy version, and its clause
    rule                    TEXT    NOT NULL,
    clause                  TEXT    NOT NULL,
    person_id               BIGINT  NOT NULL REFERENCES users (id),
    unit_id                 BIGINT  NOT NULL REFERENCES units (id),
    -- the range a decision must fall in, in fen (equal for a fixed amount)
    min_fen                 BIGINT  NOT NULL CHECK (min_fen >= 0),
    max_fen                 BIGINT  NOT NULL,
    items                   BIGINT  NOT NULL CHECK (items >= 1),
    discipline_referral     BOOLEAN NOT NULL,
    requires_substantiation BOOLEAN NOT NULL,
    proposed_at             BIGINT  NOT NULL,
    status                  TEXT    NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed', 'decided', 'appealed', 'appeal_decided')),
    decided_amount_fen      BIGINT,
    decided_reason          TEXT,
    decided_by              BIGINT REFERENCES users (id),
    decided_at              BIGINT,
    appeal_reason           TEXT,
    appealed_at             BIGINT,
    appeal_amount_fen       BIGINT,
    appeal_decision_reason  TEXT,
    appeal_decided_by       BIGINT REFERENCES users (id),
    appeal_decided_at       BIGINT,
    CHECK (min_fen <= max_fen),
    CHECK (decided_amount_fen IS NULL OR decided_amount_fen BETWEEN min_fen AND max_fen),
    CHECK (appeal_amount_fen IS NULL OR appeal_amount_fen BETWEEN min_fen AND max_fen)
);
CREATE INDEX penalties_by_time ON penalties (proposed_at, id);
CREATE INDEX penalties_by_person ON penalties (person_id);
CREATE INDEX penalties_by_violation ON penalties (violation_id);
