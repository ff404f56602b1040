-- What a timer times, PostgreSQL dialect (`migrations/sqlite/0017_timer_purpose.sql` is the same
-- change): one of the policy's clocks (`clock`), an assistance request's deadline (`assist`,
-- ccb-counter 第二十条) or a dispute decision's deadline (`dispute`, 第二十一条). The scheduler
-- dispatches on it instead of recognising the latter two by their names (`assist:N`,
-- `dispute:N`), which stay as they are and say which request or dispute.
--
-- Timers written without it (the bulk generator's, which are all policy clocks) are clock
-- timers by default. Timers already stored take their purpose from their name.

ALTER TABLE timers ADD COLUMN purpose TEXT NOT NULL DEFAULT 'clock'
    CHECK (purpose IN ('clock', 'assist', 'dispute'));

UPDATE timers SET purpose = 'assist' WHERE substr(clock, 1, 7) = 'assist:';
UPDATE timers SET purpose = 'dispute' WHERE substr(clock, 1, 8) = 'dispute:';
