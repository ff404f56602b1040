-- Monthly case statistics, pre-aggregated, SQLite dialect
-- (`migrations/postgres/0006_case_stats.sql` keeps the same table with the same meaning).
--
-- `case_stats` counts cases by the month they were registered (Asia/Shanghai, a fixed UTC+8:
-- China has had no daylight-saving time since 1991), their owner unit now, their `category`
-- field ('' while it is unset) and their on-time status:
--
--   open_on_time   open, no clock of it has ever breached
--   open_overdue   open, a clock of it has breached (a `clock_breached` event is in its log)
--   closed_on_time closed, no clock ever breached
--   closed_late    closed, a clock breached at some point
--
-- "Breached" is read from the append-only event log, not from the snapshot, because a clock
-- that is restarted (a hand-up, a reopened case) starts with a clean `breached_at`: the log
-- keeps that the case was late once.
--
-- The triggers below keep the invariant: every case is counted once, in the bucket its current
-- row and its log give. A case insert adds it (it has no event yet: events reference it); an
-- update that changes the month, owner, category or `closed` moves it; the first breach event
-- moves it from on time to late; a delete removes it. They run inside the statement that
-- writes the case, so the aggregate commits or rolls back with it, whichever code path writes
-- (intake, transitions, the scheduler, `manyi gen`'s bulk load). `manyi stats rebuild` runs
-- the GROUP BY at the end of this file again.

CREATE TABLE case_stats (
    month    TEXT    NOT NULL,
    unit_id  INTEGER NOT NULL,
    category TEXT    NOT NULL,
    status   TEXT    NOT NULL
        CHECK (status IN ('open_on_time', 'open_overdue', 'closed_on_time', 'closed_late')),
    -- may fall to 0 when cases move out; such rows are kept (and skipped by the queries)
    cases    INTEGER NOT NULL CHECK (cases >= 0),
    PRIMARY KEY (month, unit_id, category, status)
) WITHOUT ROWID;

CREATE TRIGGER case_stats_on_insert
AFTER INSERT ON cases
BEGIN
    INSERT INTO case_stats (month, unit_id, category, status, cases)
    VALUES (
        strftime('%Y-%m', (NEW.created_at + 28800000) / 1000, 'unixepoch'),
        NEW.owner_unit_id,
        coalesce(json_extract(NEW.snapshot, '$.fields.category'), ''),
        CASE WHEN NEW.closed THEN 'closed_on_time' ELSE 'open_on_time' END,
        1)
    ON CONFLICT (month, unit_id, category, status) DO UPDATE SET cases = cases + 1;
END;

CREATE TRIGGER case_stats_on_update
AFTER UPDATE OF created_at, owner_unit_id, closed, snapshot ON cases
WHEN OLD.created_at IS NOT NEW.created_at
  OR OLD.owner_unit_id IS NOT NEW.owner_unit_id
  OR OLD.closed IS NOT NEW.closed
  OR json_extract(OLD.snapshot, '$.fields.category')
     IS NOT json_extract(NEW.snapshot, '$.fields.category')
BEGIN
    UPDATE case_stats SET cases = cases - 1
    WHERE month = strftime('%Y-%m', (OLD.created_at + 28800000) / 1000, 'unixepoch')
      AND unit_id = OLD.owner_unit_id
      AND category = coalesce(json_extract(OLD.snapshot, '$.fields.category'), '')
      AND status = CASE
          WHEN EXISTS (SELECT 1 FROM case_events e
                       WHERE e.case_id = OLD.id AND e.action = 'clock_breached')
          THEN CASE WHEN OLD.closed THEN 'closed_late' ELSE 'open_overdue' END
          ELSE CASE WHEN OLD.closed THEN 'closed_on_time' ELSE 'open_on_time' END
      END;
    INSERT INTO case_stats (month, unit_id, category, status, cases)
    VALUES (
        strftime('%Y-%m', (NEW.created_at + 28800000) / 1000, 'unixepoch'),
        NEW.owner_unit_id,
        coalesce(json_extract(NEW.snapshot, '$.fields.category'), ''),
        CASE
            WHEN EXISTS (SELECT 1 FROM case_events e
                         WHERE e.case_id = NEW.id AND e.action = 'clock_breached')
            THEN CASE WHEN NEW.closed THEN 'closed_late' ELSE 'open_overdue' END
            ELSE CASE WHEN NEW.closed THEN 'closed_on_time' ELSE 'open_on_time' END
        END,
        1)
    ON CONFLICT (month, unit_id, category, status) DO UPDATE SET cases = cases + 1;
END;

CREATE TRIGGER case_stats_on_delete
AFTER DELETE ON cases
BEGIN
    UPDATE case_stats SET cases = cases - 1
    WHERE month = strftime('%Y-%m', (OLD.created_at + 28800000) / 1000, 'unixepoch')
      AND unit_id = OLD.owner_unit_id
      AND category = coalesce(json_extract(OLD.snapshot, '$.fields.category'), '')
      AND status = CASE
          WHEN EXISTS (SELECT 1 FROM case_events e
                       WHERE e.case_id = OLD.id AND e.action = 'clock_breached')
          THEN CASE WHEN OLD.closed THEN 'closed_late' ELSE 'open_overdue' END
          ELSE CASE WHEN OLD.closed THEN 'closed_on_time' ELSE 'open_on_time' END
      END;
END;

-- The first breach in a case's log moves the case from on time to late.
CREATE TRIGGER case_stats_on_first_breach
AFTER INSERT ON case_events
WHEN NEW.action = 'clock_breached'
 AND NOT EXISTS (SELECT 1 FROM case_events e
                 WHERE e.case_id = NEW.case_id AND e.action = 'clock_breached'
                   AND e.seq <> NEW.seq)
BEGIN
    UPDATE case_stats SET cases = cases - 1
    WHERE (month, unit_id, category, status) = (
        SELECT strftime('%Y-%m', (c.created_at + 28800000) / 1000, 'unixepoch'),
               c.owner_unit_id,
               coalesce(json_extract(c.snapshot, '$.fields.category'), ''),
               CASE WHEN c.closed THEN 'closed_on_time' ELSE 'open_on_time' END
        FROM cases c WHERE c.id = NEW.case_id);
    INSERT INTO case_stats (month, unit_id, category, status, cases)
    SELECT strftime('%Y-%m', (c.created_at + 28800000) / 1000, 'unixepoch'),
           c.owner_unit_id,
           coalesce(json_extract(c.snapshot, '$.fields.category'), ''),
           CASE WHEN c.closed THEN 'closed_late' ELSE 'open_overdue' END,
           1
    FROM cases c WHERE c.id = NEW.case_id
    -- `WHERE true`: SQLite's parser needs it between a SELECT and ON CONFLICT
    AND true
    ON CONFLICT (month, unit_id, category, status) DO UPDATE SET cases = cases + 1;
END;

-- The cases already there (the same query as `manyi stats rebuild`).
INSERT INTO case_stats (month, unit_id, category, status, cases)
SELECT strftime('%Y-%m', (c.created_at + 28800000) / 1000, 'unixepoch'),
       c.owner_unit_id,
       coalesce(json_extract(c.snapshot, '$.fields.category'), ''),
       CASE
           WHEN EXISTS (SELECT 1 FROM case_events e
                        WHERE e.case_id = c.id AND e.action = 'clock_breached')
           THEN CASE WHEN c.closed THEN 'closed_late' ELSE 'open_overdue' END
           ELSE CASE WHEN c.closed THEN 'closed_on_time' ELSE 'open_on_time' END
       END,
       count(*)
FROM cases c
GROUP BY 1, 2, 3, 4;
