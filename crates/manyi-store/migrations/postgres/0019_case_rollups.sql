-- Two coarser rollups of `case_stats` for the dashboard, PostgreSQL dialect
-- (`migrations/sqlite/0019_case_rollups.sql` explains the tables; the meaning is the same).
--
--   case_months       per month and owner unit: cases, open_overdue, closed_on_time,
--                     closed_late (the unit's own cases);
--   case_tree_months  per unit of the tree (an ancestor of the owner unit, or the owner),
--                     month and category: the subtree's counts.
--
-- Kept from `case_stats` by statement-level triggers over its transition tables: every
-- statement that changes `case_stats` (the grouped upsert of a bulk insert of cases, a case
-- write, the first breach, `manyi stats rebuild`) adds its differences, grouped and in key
-- order (so two transactions take the rollup rows in the same order), in the same
-- transaction. A unit's ancestors are the ids in its path (`/1/5/12/` → 1, 5, 12); a row
-- trigger on `units` moves a moved unit's own counts from its old ancestors to its new ones.
-- No CHECK (>= 0): a difference is applied by an upsert whose inserted row may be negative.

CREATE TABLE case_months (
    month          TEXT   COLLATE "C" NOT NULL,
    unit_id        BIGINT NOT NULL,
    cases          BIGINT NOT NULL,
    open_overdue   BIGINT NOT NULL,
    closed_on_time BIGINT NOT NULL,
    closed_late    BIGINT NOT NULL,
    PRIMARY KEY (month, unit_id)
);

CREATE TABLE case_tree_months (
    unit_id        BIGINT NOT NULL,
    month          TEXT   COLLATE "C" NOT NULL,
    category       TEXT   COLLATE "C" NOT NULL,
    cases          BIGINT NOT NULL,
    open_overdue   BIGINT NOT NULL,
    closed_on_time BIGINT NOT NULL,
    closed_late    BIGINT NOT NULL,
    PRIMARY KEY (unit_id, month, category)
);

-- The ids of a unit path's units, root first ('/1/5/12/' → {1,5,12}).
CREATE FUNCTION case_rollups_ancestors(path TEXT) RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_to_array(nullif(trim(both '/' from path), ''), '/')::BIGINT[],
                    '{}'::BIGINT[])
$$;

-- Adds signed differences of `case_stats` buckets (parallel arrays) to both rollups, under
-- the units' current paths.
CREATE FUNCTION case_rollups_add(p_month TEXT[], p_unit BIGINT[], p_category TEXT[],
                                 p_status TEXT[], p_delta BIGINT[]) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO case_months AS m
        (month, unit_id, cases, open_overdue, closed_on_time, closed_late)
    SELECT d.month, d.unit_id, sum(d.delta),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'open_overdue'), 0),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'closed_on_time'), 0),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'closed_late'), 0)
    FROM unnest(p_month, p_unit, p_category, p_status, p_delta)
         AS d(month, unit_id, category, status, delta)
    GROUP BY d.month, d.unit_id
    ORDER BY d.month, d.unit_id
    ON CONFLICT (month, unit_id) DO UPDATE SET
        cases = m.cases + EXCLUDED.cases,
        open_overdue = m.open_overdue + EXCLUDED.open_overdue,
        closed_on_time = m.closed_on_time + EXCLUDED.closed_on_time,
        closed_late = m.closed_late + EXCLUDED.closed_late;
    INSERT INTO case_tree_months AS t
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.id, d.month, d.category, sum(d.delta),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'open_overdue'), 0),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'closed_on_time'), 0),
           coalesce(sum(d.delta) FILTER (WHERE d.status = 'closed_late'), 0)
    FROM unnest(p_month, p_unit, p_category, p_status, p_delta)
         AS d(month, unit_id, category, status, delta)
    JOIN units u ON u.id = d.unit_id
    CROSS JOIN LATERAL unnest(case_rollups_ancestors(u.path)) AS a(id)
    GROUP BY a.id, d.month, d.category
    ORDER BY a.id, d.month, d.category
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = t.cases + EXCLUDED.cases,
        open_overdue = t.open_overdue + EXCLUDED.open_overdue,
        closed_on_time = t.closed_on_time + EXCLUDED.closed_on_time,
        closed_late = t.closed_late + EXCLUDED.closed_late;
$$;

CREATE FUNCTION case_rollups_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_rollups_add(array_agg(month), array_agg(unit_id), array_agg(category),
                             array_agg(status), array_agg(cases))
    FROM new_rows HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_rollups_on_insert
AFTER INSERT ON case_stats
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_rollups_on_insert();

CREATE FUNCTION case_rollups_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_rollups_add(array_agg(month), array_agg(unit_id), array_agg(category),
                             array_agg(status), array_agg(delta))
    FROM (SELECT month, unit_id, category, status, cases AS delta FROM new_rows
          UNION ALL
          SELECT month, unit_id, category, status, -cases FROM old_rows) d
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_rollups_on_update
AFTER UPDATE ON case_stats
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_rollups_on_update();

CREATE FUNCTION case_rollups_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_rollups_add(array_agg(month), array_agg(unit_id), array_agg(category),
                             array_agg(status), array_agg(-cases))
    FROM old_rows HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_rollups_on_delete
AFTER DELETE ON case_stats
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_rollups_on_delete();

-- A unit moved: its own counts leave the ancestors of its old path, join those of its new one.
CREATE FUNCTION case_rollups_on_unit_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_tree_months AS t
        (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
    SELECT a.id, s.month, s.category, sum(s.cases * p.sign),
           coalesce(sum(s.cases * p.sign) FILTER (WHERE s.status = 'open_overdue'), 0),
           coalesce(sum(s.cases * p.sign) FILTER (WHERE s.status = 'closed_on_time'), 0),
           coalesce(sum(s.cases * p.sign) FILTER (WHERE s.status = 'closed_late'), 0)
    FROM case_stats s
    CROSS JOIN (VALUES (OLD.path, -1), (NEW.path, 1)) AS p(path, sign)
    CROSS JOIN LATERAL unnest(case_rollups_ancestors(p.path)) AS a(id)
    WHERE s.unit_id = NEW.id
    GROUP BY a.id, s.month, s.category
    ORDER BY a.id, s.month, s.category
    ON CONFLICT (unit_id, month, category) DO UPDATE SET
        cases = t.cases + EXCLUDED.cases,
        open_overdue = t.open_overdue + EXCLUDED.open_overdue,
        closed_on_time = t.closed_on_time + EXCLUDED.closed_on_time,
        closed_late = t.closed_late + EXCLUDED.closed_late;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_rollups_on_unit_move
AFTER UPDATE OF path ON units
FOR EACH ROW
WHEN (OLD.path IS DISTINCT FROM NEW.path)
EXECUTE FUNCTION case_rollups_on_unit_move();

-- The counts already there.
INSERT INTO case_months (month, unit_id, cases, open_overdue, closed_on_time, closed_late)
SELECT month, unit_id, sum(cases),
       coalesce(sum(cases) FILTER (WHERE status = 'open_overdue'), 0),
       coalesce(sum(cases) FILTER (WHERE status = 'closed_on_time'), 0),
       coalesce(sum(cases) FILTER (WHERE status = 'closed_late'), 0)
FROM case_stats
GROUP BY month, unit_id;

INSERT INTO case_tree_months
    (unit_id, month, category, cases, open_overdue, closed_on_time, closed_late)
SELECT a.id, s.month, s.category, sum(s.cases),
       coalesce(sum(s.cases) FILTER (WHERE s.status = 'open_overdue'), 0),
       coalesce(sum(s.cases) FILTER (WHERE s.status = 'closed_on_time'), 0),
       coalesce(sum(s.cases) FILTER (WHERE s.status = 'closed_late'), 0)
FROM case_stats s
JOIN units u ON u.id = s.unit_id
CROSS JOIN LATERAL unnest(case_rollups_ancestors(u.path)) AS a(id)
GROUP BY a.id, s.month, s.category;
