-- Two coarser rollups of `case_stats` for the dashboard, SQLite dialect
-- (`migrations/postgres/0019_case_rollups.sql` keeps the same tables with the same meaning).
--
-- The head office's dashboard summed 12 months of `case_stats` (month × unit × category ×
-- status: ~130,000 rows at 1,000,000 cases) on every request. It needs much less:
--
--   case_months       per month and owner unit: the unit's own cases, and how many of them
--                     are open_overdue, closed_on_time, closed_late (one row, four counts,
--                     instead of up to 4 × categories rows): the table of units and the
--                     on-time rates by unit and level read 12 × the subtree's units of it;
--   case_tree_months  per unit *of the tree* (`unit_id` is an ancestor of the owner unit, or
--                     the owner itself), month and category: the whole subtree's counts, so
--                     the rates by category and the monthly chart of a subtree read
--                     12 × categories rows of its root, whatever the number of its units.
--
-- Both are kept from `case_stats` by the triggers below, not from `cases`: every change of a
-- `case_stats` count (an insert, the upsert of a case write, the first breach, a move between
-- buckets, `manyi stats rebuild`) adds its difference, in the same statement and transaction.
-- A unit's ancestors are the ids in its path (`/1/5/12/` → 1, 5, 12). When a unit moves in
-- the tree, `units.path` is rewritten for it and every unit of its subtree (one row each), and
-- the trigger on `units` moves that unit's own counts from the ancestors of its old path to
-- those of its new one. The contract test `crates/manyi-store/tests/rollups.rs` compares both
-- with the GROUP BY over `case_stats` after random writes and a move, on both backends.
--
-- Counts may fall to 0 (rows are kept). There is no CHECK (>= 0): a difference is applied by
-- an upsert whose inserted row may carry a negative number before it meets its conflict.

CREATE TABLE case_months (
    month          TEXT    NOT NULL,
    unit_id        INTEGER NOT NULL,
    cases          INTEGER NOT NULL,
    open_overdue   INTEGER NOT NULL,
    closed_on_time INTEGER NOT NULL,
    closed_late    INTEGER NOT NULL,
    PRIMARY KEY (month, unit_id)
) WITHOUT ROWID;

CREATE TABLE case_tree_months (
    unit_id        INTEGER NOT NULL,
    month          TEXT    NOT NULL,
    category       TEXT    NOT NULL,
    cases          INTEGER NOT NULL,
    open_overdue   INTEGER NOT NULL,
    closed_on_time INTEGER NOT NULL,
    closed_late    INTEGER NOT NULL,
    PRIMARY KEY (unit_id, month, category)
) WITHOUT ROWID;

-- A new bucket of `case_stats`.
CREATE TRIGGER case_rollups_on_insert
AFTER INSERT ON case_stats
BEGIN
    INSERT INTO case_months (month, unit_id, cases, open_overdue, closed_on_time, closed_late)
    VALUES (NEW.month, NEW.unit_id, NEW.cases,
            iif(NEW.status = 'open_overdue', NEW.cases, 0),
            iif(NEW.status = 'closed_on_time', NEW.cases, 0),
            iif(NEW.status = 'closed_late', NEW.cases, 0))
    ON CONFLICT (month, unit_id) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
    INSERT INTO case_tree_months
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.value, NEW.month, NEW.category, NEW.cases,
           iif(NEW.status = 'open_overdue', NEW.cases, 0),
           iif(NEW.status = 'closed_on_time', NEW.cases, 0),
           iif(NEW.status = 'closed_late', NEW.cases, 0)
    FROM units u, json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
    WHERE u.id = NEW.unit_id
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
END;

-- The common case: a bucket's count changes (every case write's upsert). Its rows exist (the
-- bucket's insert made them), so the difference is added in place.
CREATE TRIGGER case_rollups_on_count
AFTER UPDATE OF cases ON case_stats
WHEN OLD.month = NEW.month AND OLD.unit_id = NEW.unit_id
 AND OLD.category = NEW.category AND OLD.status = NEW.status
 AND OLD.cases <> NEW.cases
BEGIN
    UPDATE case_months SET
        cases = cases + (NEW.cases - OLD.cases),
        open_overdue = open_overdue + iif(NEW.status = 'open_overdue', NEW.cases - OLD.cases, 0),
        closed_on_time =
            closed_on_time + iif(NEW.status = 'closed_on_time', NEW.cases - OLD.cases, 0),
        closed_late = closed_late + iif(NEW.status = 'closed_late', NEW.cases - OLD.cases, 0)
    WHERE month = NEW.month AND unit_id = NEW.unit_id;
    UPDATE case_tree_months SET
        cases = cases + (NEW.cases - OLD.cases),
        open_overdue = open_overdue + iif(NEW.status = 'open_overdue', NEW.cases - OLD.cases, 0),
        closed_on_time =
            closed_on_time + iif(NEW.status = 'closed_on_time', NEW.cases - OLD.cases, 0),
        closed_late = closed_late + iif(NEW.status = 'closed_late', NEW.cases - OLD.cases, 0)
    WHERE month = NEW.month AND category = NEW.category
      AND unit_id IN (SELECT a.value FROM units u,
                          json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
                      WHERE u.id = NEW.unit_id);
END;

-- A bucket whose key changes (nothing does that today): out of the old, into the new.
CREATE TRIGGER case_rollups_on_rekey
AFTER UPDATE OF month, unit_id, category, status ON case_stats
WHEN OLD.month IS NOT NEW.month OR OLD.unit_id IS NOT NEW.unit_id
  OR OLD.category IS NOT NEW.category OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO case_months (month, unit_id, cases, open_overdue, closed_on_time, closed_late)
    VALUES (OLD.month, OLD.unit_id, -OLD.cases,
            -iif(OLD.status = 'open_overdue', OLD.cases, 0),
            -iif(OLD.status = 'closed_on_time', OLD.cases, 0),
            -iif(OLD.status = 'closed_late', OLD.cases, 0)),
           (NEW.month, NEW.unit_id, NEW.cases,
            iif(NEW.status = 'open_overdue', NEW.cases, 0),
            iif(NEW.status = 'closed_on_time', NEW.cases, 0),
            iif(NEW.status = 'closed_late', NEW.cases, 0))
    ON CONFLICT (month, unit_id) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
    INSERT INTO case_tree_months
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.value, OLD.month, OLD.category, -OLD.cases,
           -iif(OLD.status = 'open_overdue', OLD.cases, 0),
           -iif(OLD.status = 'closed_on_time', OLD.cases, 0),
           -iif(OLD.status = 'closed_late', OLD.cases, 0)
    FROM units u, json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
    WHERE u.id = OLD.unit_id
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
    INSERT INTO case_tree_months
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.value, NEW.month, NEW.category, NEW.cases,
           iif(NEW.status = 'open_overdue', NEW.cases, 0),
           iif(NEW.status = 'closed_on_time', NEW.cases, 0),
           iif(NEW.status = 'closed_late', NEW.cases, 0)
    FROM units u, json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
    WHERE u.id = NEW.unit_id
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
END;

-- A bucket removed (`manyi stats rebuild` empties the table before it recomputes it).
CREATE TRIGGER case_rollups_on_delete
AFTER DELETE ON case_stats
BEGIN
    UPDATE case_months SET
        cases = cases - OLD.cases,
        open_overdue = open_overdue - iif(OLD.status = 'open_overdue', OLD.cases, 0),
        closed_on_time = closed_on_time - iif(OLD.status = 'closed_on_time', OLD.cases, 0),
        closed_late = closed_late - iif(OLD.status = 'closed_late', OLD.cases, 0)
    WHERE month = OLD.month AND unit_id = OLD.unit_id;
    UPDATE case_tree_months SET
        cases = cases - OLD.cases,
        open_overdue = open_overdue - iif(OLD.status = 'open_overdue', OLD.cases, 0),
        closed_on_time = closed_on_time - iif(OLD.status = 'closed_on_time', OLD.cases, 0),
        closed_late = closed_late - iif(OLD.status = 'closed_late', OLD.cases, 0)
    WHERE month = OLD.month AND category = OLD.category
      AND unit_id IN (SELECT a.value FROM units u,
                          json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
                      WHERE u.id = OLD.unit_id);
END;

-- A unit moved in the tree: its own counts leave the ancestors of its old path and join those
-- of its new one (each unit of a moved subtree has its path rewritten, so each moves its own).
CREATE TRIGGER case_rollups_on_unit_move
AFTER UPDATE OF path ON units
WHEN OLD.path IS NOT NEW.path
BEGIN
    INSERT INTO case_tree_months
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.value, s.month, s.category, -sum(s.cases),
           -sum(iif(s.status = 'open_overdue', s.cases, 0)),
           -sum(iif(s.status = 'closed_on_time', s.cases, 0)),
           -sum(iif(s.status = 'closed_late', s.cases, 0))
    FROM case_stats s, json_each('[' || replace(trim(OLD.path, '/'), '/', ',') || ']') a
    WHERE s.unit_id = OLD.id AND OLD.path IS NOT NULL AND OLD.path <> ''
    GROUP BY a.value, s.month, s.category
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
    INSERT INTO case_tree_months
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.value, s.month, s.category, sum(s.cases),
           sum(iif(s.status = 'open_overdue', s.cases, 0)),
           sum(iif(s.status = 'closed_on_time', s.cases, 0)),
           sum(iif(s.status = 'closed_late', s.cases, 0))
    FROM case_stats s, json_each('[' || replace(trim(NEW.path, '/'), '/', ',') || ']') a
    WHERE s.unit_id = NEW.id
    GROUP BY a.value, s.month, s.category
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = cases + excluded.cases,
        open_overdue = open_overdue + excluded.open_overdue,
        closed_on_time = closed_on_time + excluded.closed_on_time,
        closed_late = closed_late + excluded.closed_late;
END;

-- The counts already there (the same statements as `manyi stats rebuild`).
INSERT INTO case_months (month, unit_id, cases, open_overdue, closed_on_time, closed_late)
SELECT month, unit_id, sum(cases),
       sum(iif(status = 'open_overdue', cases, 0)),
       sum(iif(status = 'closed_on_time', cases, 0)),
       sum(iif(status = 'closed_late', cases, 0))
FROM case_stats
GROUP BY month, unit_id;

INSERT INTO case_tree_months
    (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
SELECT a.value, s.month, s.category, sum(s.cases),
       sum(iif(s.status = 'open_overdue', s.cases, 0)),
       sum(iif(s.status = 'closed_on_time', s.cases, 0)),
       sum(iif(s.status = 'closed_late', s.cases, 0))
FROM case_stats s JOIN units u ON u.id = s.unit_id,
     json_each('[' || replace(trim(u.path, '/'), '/', ',') || ']') a
GROUP BY a.value, s.month, s.category;
