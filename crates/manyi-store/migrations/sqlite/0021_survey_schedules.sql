-- Routine surveys started by a schedule (sht-bigcustomer 5.1.3, csg-custservice 2.1.8), the
-- same schema on both backends (`sqlite/` and `postgres/0021_survey_schedules.sql`).

-- The organisation's period for a schedule whose policy leaves it to configuration
-- (`period = "configured"`, CLAUSES.md A16). No row: "period not configured", nothing runs.
CREATE TABLE survey_schedule_settings (
    -- '<kind>/<schedule id>': the same across policy versions
    schedule_key TEXT PRIMARY KEY,
    period       TEXT NOT NULL CHECK (period IN ('monthly', 'quarterly')),
    set_by       INTEGER REFERENCES users (id),
    set_at       INTEGER NOT NULL
);

-- One row per round run. The unique key is what makes a round run exactly once with several
-- instances: the round is claimed by inserting its row in the transaction that issues its
-- surveys; an instance racing for the same round waits on the key and then inserts nothing.
CREATE TABLE survey_rounds (
    id           INTEGER PRIMARY KEY,
    schedule_key TEXT NOT NULL,
    -- '2026-10' (monthly) or '2026-Q3' (quarterly)
    round_key    TEXT NOT NULL,
    -- the period surveyed, [period_from, period_to), milliseconds
    period_from  INTEGER NOT NULL,
    period_to    INTEGER NOT NULL,
    ran_at       INTEGER NOT NULL,
    issued       INTEGER NOT NULL CHECK (issued >= 0),
    UNIQUE (schedule_key, round_key)
);

-- The SMS / e-mail text of each survey a round issued, for the service department (or an
-- SMS gateway) to send: nobody requested these links, so no response carried them. The text
-- holds the link; it is readable by the service department only.
CREATE TABLE survey_round_invitations (
    survey_id  INTEGER PRIMARY KEY REFERENCES surveys (id),
    round_id   INTEGER NOT NULL REFERENCES survey_rounds (id),
    message_zh TEXT NOT NULL,
    message_en TEXT NOT NULL
);
CREATE INDEX survey_round_invitations_by_round ON survey_round_invitations (round_id);
