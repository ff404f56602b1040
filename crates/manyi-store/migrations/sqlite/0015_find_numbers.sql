-- Quick find by a part of the case number, SQLite dialect (`migrations/postgres/0015_find_numbers.sql`
-- is the same change).
--
-- Every suffix of at least 4 characters of a case's number (upper-cased) is a `case_find` key
-- of kind 'number' (`manyi_core::find::number_keys` is the rule, which this trigger mirrors):
-- a part of a number typed into the find box (`361994` of `CCB2026361994`) is a prefix of one
-- of them, found by the primary key's range like a phone or a name. A number is set when the
-- case row is inserted and never changes, so a trigger on INSERT writes the keys whichever
-- code path inserts (intake, group commit, `manyi gen`'s bulk load), in the same statement;
-- a case update replaces only the keys the shell derives (phone, name), never these.

-- 1..64: the positions a suffix may start at (numbers are at most 64 characters). A table,
-- because a trigger body may not use a WITH clause.
CREATE TABLE case_find_positions (n INTEGER PRIMARY KEY);
WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 64)
INSERT INTO case_find_positions (n) SELECT n FROM p;

CREATE TRIGGER case_find_number_on_insert
AFTER INSERT ON cases
BEGIN
    INSERT INTO case_find (kind, key, case_id)
    SELECT 'number', upper(substr(NEW.number, p.n)), NEW.id
    FROM case_find_positions p
    WHERE p.n <= length(NEW.number) - 3
    ON CONFLICT DO NOTHING;
END;

-- The cases already there get their keys from the start-up backfill (`manyi serve`, or
-- `manyi find backfill`), in batches by id up to the highest id of this moment (every later
-- case is keyed by the trigger), resumable and idempotent.
CREATE TABLE case_find_number_backfill (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    -- every case with an id at or below it has its number keys
    last_case_id INTEGER NOT NULL,
    -- the highest case id when this migration ran
    upto         INTEGER NOT NULL
);
INSERT INTO case_find_number_backfill (id, last_case_id, upto)
SELECT 1, 0, coalesce(max(id), 0) FROM cases;
