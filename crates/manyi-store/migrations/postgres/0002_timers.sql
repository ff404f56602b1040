-- Deadline timers, PostgreSQL dialect (`migrations/sqlite/0002_timers.sql` is the same schema).
--
-- A timer is one instant at which the deadline scheduler must look at a case again: a warning
-- before a deadline or the deadline itself. Timers are written in the same transaction as the
-- case change that starts or stops a clock, and each fires once: firing is a conditional
-- update (`fired_at IS NULL AND cancelled_at IS NULL`) in the same transaction as the case
-- update it causes, so several scheduler instances may race for a timer and one wins (the
-- loser's update waits for the winner's row lock, then finds the row fired).

CREATE TABLE timers (
    id           BIGSERIAL PRIMARY KEY,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    -- the clock's name as the policy gives it, e.g. 'response'
    clock        TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('warn', 'breach')),
    -- which run of the clock: a restarted clock schedules its timers under a new generation
    generation   BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    fired_at     BIGINT,
    cancelled_at BIGINT,
    -- a timer ends once, one way or the other
    CHECK (fired_at IS NULL OR cancelled_at IS NULL),
    -- scheduling is idempotent: the same timer twice is one timer
    UNIQUE (case_id, clock, kind, generation)
);

-- The scheduler's query, "pending timers due by now, soonest first", reads only this index,
-- which holds only pending timers: its cost follows what is due, not how many timers exist.
CREATE INDEX timers_pending_by_due ON timers (due_at, id)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;
