-- New cases per week, pre-aggregated, SQLite dialect (`migrations/postgres/0014_case_weeks.sql`
-- keeps the same table with the same meaning).
--
-- `case_weeks` counts cases by the week they were registered and their owner unit now. A week
-- starts on Monday 00:00 in Asia/Shanghai (a fixed UTC+8: no daylight-saving time since 1991)
-- and is kept as that instant in Unix milliseconds (`week_start`): the Monday 1970-01-05 00:00
-- in Beijing is 316,800,000 ms, and a week is 604,800,000 ms. The dashboard's weekly chart
-- reads 8 weeks × the subtree's units of it instead of a range of the creation index (for head
-- office over 1,000,000 cases: ~8,000 rows instead of ~150,000 index entries).
--
-- The triggers keep the invariant "every case is counted once, under its creation week and
-- its owner unit": an insert adds it, an update of `created_at` or `owner_unit_id` moves it, a
-- delete removes it, inside the statement that writes the case, whichever code path writes.
-- The test `crates/manyi-store/tests/weeks.rs` compares it with the GROUP BY over the cases
-- (`Store::cases_per_week_from_cases`) on both backends.

CREATE TABLE case_weeks (
    week_start INTEGER NOT NULL,
    unit_id    INTEGER NOT NULL,
    -- may fall to 0 when cases move out; such rows are kept (and add nothing)
    cases      INTEGER NOT NULL CHECK (cases >= 0),
    PRIMARY KEY (week_start, unit_id)
) WITHOUT ROWID;

-- week_start(t) = t - ((t - 316800000) mod 604800000), the floored modulo written out so that
-- instants before 1970-01-05 fall in their own week too.

CREATE TRIGGER case_weeks_on_insert
AFTER INSERT ON cases
BEGIN
    INSERT INTO case_weeks (week_start, unit_id, cases)
    VALUES (NEW.created_at - (((NEW.created_at - 316800000) % 604800000) + 604800000) % 604800000,
            NEW.owner_unit_id, 1)
    ON CONFLICT (week_start, unit_id) DO UPDATE SET cases = cases + 1;
END;

CREATE TRIGGER case_weeks_on_update
AFTER UPDATE OF created_at, owner_unit_id ON cases
WHEN OLD.created_at IS NOT NEW.created_at OR OLD.owner_unit_id IS NOT NEW.owner_unit_id
BEGIN
    UPDATE case_weeks SET cases = cases - 1
    WHERE week_start =
            OLD.created_at - (((OLD.created_at - 316800000) % 604800000) + 604800000) % 604800000
      AND unit_id = OLD.owner_unit_id;
    INSERT INTO case_weeks (week_start, unit_id, cases)
    VALUES (NEW.created_at - (((NEW.created_at - 316800000) % 604800000) + 604800000) % 604800000,
            NEW.owner_unit_id, 1)
    ON CONFLICT (week_start, unit_id) DO UPDATE SET cases = cases + 1;
END;

CREATE TRIGGER case_weeks_on_delete
AFTER DELETE ON cases
BEGIN
    UPDATE case_weeks SET cases = cases - 1
    WHERE week_start =
            OLD.created_at - (((OLD.created_at - 316800000) % 604800000) + 604800000) % 604800000
      AND unit_id = OLD.owner_unit_id;
END;

-- The cases already there (one pass over the table; databases with millions of cases are
-- upgraded by this statement, see docs/OPERATIONS.md).
INSERT INTO case_weeks (week_start, unit_id, cases)
SELECT created_at - (((created_at - 316800000) % 604800000) + 604800000) % 604800000,
       owner_unit_id, count(*)
FROM cases
GROUP BY 1, 2;
