-- New cases per week, pre-aggregated, PostgreSQL dialect (`migrations/sqlite/0014_case_weeks.sql`
-- keeps the same table with the same meaning; read its comments).
--
-- Weeks start on Monday 00:00 in Asia/Shanghai, kept as Unix milliseconds (`week_start`).
-- The insert trigger is per statement over its transition table (so a bulk COPY of cases
-- adds one row per week and unit, not one per case); update and delete are per row. Rows are
-- always changed in key order, so concurrent moves cannot deadlock on them.

CREATE TABLE case_weeks (
    week_start BIGINT NOT NULL,
    unit_id    BIGINT NOT NULL,
    cases      BIGINT NOT NULL CHECK (cases >= 0),
    PRIMARY KEY (week_start, unit_id)
);

CREATE FUNCTION case_weeks_start(created_at BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT created_at - (((created_at - 316800000) % 604800000) + 604800000) % 604800000
$$;

CREATE FUNCTION case_weeks_add(p_week BIGINT, p_unit BIGINT, p_delta BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF p_delta < 0 THEN
        UPDATE case_weeks SET cases = cases + p_delta
        WHERE week_start = p_week AND unit_id = p_unit;
    ELSE
        INSERT INTO case_weeks (week_start, unit_id, cases)
        VALUES (p_week, p_unit, p_delta)
        ON CONFLICT (week_start, unit_id)
        DO UPDATE SET cases = case_weeks.cases + EXCLUDED.cases;
    END IF;
END;
$$;

CREATE FUNCTION case_weeks_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_weeks (week_start, unit_id, cases)
    SELECT case_weeks_start(n.created_at), n.owner_unit_id, count(*)
    FROM new_cases n
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (week_start, unit_id)
    DO UPDATE SET cases = case_weeks.cases + EXCLUDED.cases;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_weeks_on_insert
AFTER INSERT ON cases
REFERENCING NEW TABLE AS new_cases
FOR EACH STATEMENT EXECUTE FUNCTION case_weeks_on_insert();

CREATE FUNCTION case_weeks_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o_week BIGINT := case_weeks_start(OLD.created_at);
    n_week BIGINT := case_weeks_start(NEW.created_at);
BEGIN
    IF (o_week, OLD.owner_unit_id) = (n_week, NEW.owner_unit_id) THEN
        RETURN NULL;
    END IF;
    IF (o_week, OLD.owner_unit_id) < (n_week, NEW.owner_unit_id) THEN
        PERFORM case_weeks_add(o_week, OLD.owner_unit_id, -1);
        PERFORM case_weeks_add(n_week, NEW.owner_unit_id, 1);
    ELSE
        PERFORM case_weeks_add(n_week, NEW.owner_unit_id, 1);
        PERFORM case_weeks_add(o_week, OLD.owner_unit_id, -1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_weeks_on_update
AFTER UPDATE OF created_at, owner_unit_id ON cases
FOR EACH ROW
WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
      OR OLD.owner_unit_id IS DISTINCT FROM NEW.owner_unit_id)
EXECUTE FUNCTION case_weeks_on_update();

CREATE FUNCTION case_weeks_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_weeks_add(case_weeks_start(OLD.created_at), OLD.owner_unit_id, -1);
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_weeks_on_delete
AFTER DELETE ON cases
FOR EACH ROW EXECUTE FUNCTION case_weeks_on_delete();

-- The cases already there.
INSERT INTO case_weeks (week_start, unit_id, cases)
SELECT case_weeks_start(created_at), owner_unit_id, count(*)
FROM cases
GROUP BY 1, 2;
