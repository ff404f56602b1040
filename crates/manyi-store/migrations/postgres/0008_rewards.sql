-- The rewards ledger (ccb-counter 第三十二条: annual individual and collective awards), postgres
-- dialect (the other migrations tree has the same schema).
--
-- A reward is proposed under a `[[reward]]` rule for a person, or for a unit (a collective
-- award), for one period; it is decided once — granted with an amount inside the rule's range,
-- or declined — by an authorised person with a reason, a conditional update from 'proposed'.
-- One proposal per policy, rule, period and recipient.

CREATE TABLE rewards (
    id              BIGSERIAL PRIMARY KEY,
    policy          TEXT    NOT NULL,
    rule            TEXT    NOT NULL,
    clause          TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    -- 'person:ID' or 'unit:ID': what the uniqueness is about
    recipient       TEXT    NOT NULL,
    person_id       BIGINT REFERENCES users (id),
    unit_id         BIGINT NOT NULL REFERENCES units (id),
    -- why (事迹); personal data
    basis           TEXT    NOT NULL,
    proposed_by     BIGINT NOT NULL REFERENCES users (id),
    proposed_at     BIGINT NOT NULL,
    min_fen         BIGINT NOT NULL CHECK (min_fen >= 0),
    max_fen         BIGINT NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed', 'granted', 'declined')),
    amount_fen      BIGINT,
    decision_reason TEXT,
    decided_by      BIGINT REFERENCES users (id),
    decided_at      BIGINT,
    CHECK (min_fen <= max_fen),
    CHECK (amount_fen IS NULL OR amount_fen BETWEEN min_fen AND max_fen),
    UNIQUE (policy, rule, period, recipient)
);
CREATE INDEX rewards_by_time ON rewards (proposed_at, id);
