-- Monthly case statistics, pre-aggregated, PostgreSQL dialect
-- (`migrations/sqlite/0006_case_stats.sql` explains the table and the statuses; the meaning
-- is the same here).
--
-- `case_stats` counts cases by registration month (Asia/Shanghai, a fixed UTC+8), owner unit,
-- `category` field ('' while unset) and on-time status (open_on_time, open_overdue,
-- closed_on_time, closed_late; late = a `clock_breached` event is in the case's log).
--
-- Triggers keep every case counted once, in the bucket its row and its log give, in the same
-- transaction as whatever writes the case. Differences from SQLite, of dialect and of scale:
--   * inserts are counted by a statement-level trigger over the inserted rows (a transition
--     table), so a bulk `INSERT` of 5,000 cases does one grouped upsert, not 5,000;
--   * a move takes its two buckets in key order, so that two transactions moving cases
--     between the same buckets lock the rows in the same order and cannot deadlock;
--   * the buckets of a statement's upsert are taken in key order too (ORDER BY).

CREATE TABLE case_stats (
    month    TEXT   COLLATE "C" NOT NULL,
    unit_id  BIGINT NOT NULL,
    category TEXT   COLLATE "C" NOT NULL,
    status   TEXT   COLLATE "C" NOT NULL
        CHECK (status IN ('open_on_time', 'open_overdue', 'closed_on_time', 'closed_late')),
    cases    BIGINT NOT NULL CHECK (cases >= 0),
    PRIMARY KEY (month, unit_id, category, status)
);

-- 'YYYY-MM' of an instant (Unix milliseconds) in UTC+8.
CREATE FUNCTION case_stats_month(created_at BIGINT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(to_timestamp(((created_at + 28800000) / 1000)::double precision)
                   AT TIME ZONE 'UTC', 'YYYY-MM')
$$;

CREATE FUNCTION case_stats_status(closed BOOLEAN, breached BOOLEAN) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN breached THEN CASE WHEN closed THEN 'closed_late' ELSE 'open_overdue' END
        ELSE CASE WHEN closed THEN 'closed_on_time' ELSE 'open_on_time' END
    END
$$;

CREATE FUNCTION case_stats_breached(case_id BIGINT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM case_events e
                   WHERE e.case_id = $1 AND e.action = 'clock_breached')
$$;

-- Adds `p_delta` cases to a bucket. A decrement is an UPDATE (its bucket exists: the case is
-- counted there): an upsert would check `cases >= 0` on the proposed new row before it looks
-- for the conflict.
CREATE FUNCTION case_stats_add(p_month TEXT, p_unit BIGINT, p_category TEXT, p_status TEXT,
                               p_delta BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF p_delta < 0 THEN
        UPDATE case_stats SET cases = cases + p_delta
        WHERE month = p_month AND unit_id = p_unit AND category = p_category
          AND status = p_status;
    ELSE
        INSERT INTO case_stats (month, unit_id, category, status, cases)
        VALUES (p_month, p_unit, p_category, p_status, p_delta)
        ON CONFLICT (month, unit_id, category, status)
        DO UPDATE SET cases = case_stats.cases + EXCLUDED.cases;
    END IF;
END;
$$;

-- Moves one case from one bucket to another, taking the two rows in key order.
CREATE FUNCTION case_stats_move(o_month TEXT, o_unit BIGINT, o_category TEXT, o_status TEXT,
                                n_month TEXT, n_unit BIGINT, n_category TEXT, n_status TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF (o_month, o_unit, o_category, o_status) = (n_month, n_unit, n_category, n_status) THEN
        RETURN;
    END IF;
    IF (o_month COLLATE "C", o_unit, o_category COLLATE "C", o_status COLLATE "C")
       < (n_month COLLATE "C", n_unit, n_category COLLATE "C", n_status COLLATE "C") THEN
        PERFORM case_stats_add(o_month, o_unit, o_category, o_status, -1);
        PERFORM case_stats_add(n_month, n_unit, n_category, n_status, 1);
    ELSE
        PERFORM case_stats_add(n_month, n_unit, n_category, n_status, 1);
        PERFORM case_stats_add(o_month, o_unit, o_category, o_status, -1);
    END IF;
END;
$$;

CREATE FUNCTION case_stats_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A new case has no event yet (events reference it), so it is not late.
    INSERT INTO case_stats (month, unit_id, category, status, cases)
    SELECT g.month, g.unit_id, g.category, g.status, g.n
    FROM (SELECT case_stats_month(n.created_at) AS month, n.owner_unit_id AS unit_id,
                 coalesce(n.snapshot -> 'fields' ->> 'category', '') AS category,
                 case_stats_status(n.closed, FALSE) AS status, count(*) AS n
          FROM new_cases n
          GROUP BY 1, 2, 3, 4) g
    ORDER BY g.month COLLATE "C", g.unit_id, g.category COLLATE "C", g.status COLLATE "C"
    ON CONFLICT (month, unit_id, category, status)
    DO UPDATE SET cases = case_stats.cases + EXCLUDED.cases;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_stats_on_insert
AFTER INSERT ON cases
REFERENCING NEW TABLE AS new_cases
FOR EACH STATEMENT EXECUTE FUNCTION case_stats_on_insert();

CREATE FUNCTION case_stats_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    breached BOOLEAN := case_stats_breached(NEW.id);
BEGIN
    PERFORM case_stats_move(
        case_stats_month(OLD.created_at), OLD.owner_unit_id,
        coalesce(OLD.snapshot -> 'fields' ->> 'category', ''),
        case_stats_status(OLD.closed, breached),
        case_stats_month(NEW.created_at), NEW.owner_unit_id,
        coalesce(NEW.snapshot -> 'fields' ->> 'category', ''),
        case_stats_status(NEW.closed, breached));
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_stats_on_update
AFTER UPDATE OF created_at, owner_unit_id, closed, snapshot ON cases
FOR EACH ROW
WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
      OR OLD.owner_unit_id IS DISTINCT FROM NEW.owner_unit_id
      OR OLD.closed IS DISTINCT FROM NEW.closed
      OR (OLD.snapshot -> 'fields' ->> 'category')
         IS DISTINCT FROM (NEW.snapshot -> 'fields' ->> 'category'))
EXECUTE FUNCTION case_stats_on_update();

CREATE FUNCTION case_stats_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_stats_add(
        case_stats_month(OLD.created_at), OLD.owner_unit_id,
        coalesce(OLD.snapshot -> 'fields' ->> 'category', ''),
        case_stats_status(OLD.closed, case_stats_breached(OLD.id)), -1);
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_stats_on_delete
AFTER DELETE ON cases
FOR EACH ROW EXECUTE FUNCTION case_stats_on_delete();

-- The first breach in a case's log moves the case from on time to late.
CREATE FUNCTION case_stats_on_first_breach() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c cases%ROWTYPE;
BEGIN
    -- An AFTER ROW trigger sees every row of its statement, so "first" is the lowest seq
    -- (SQLite, which fires as each row goes in, asks whether any other exists).
    IF EXISTS (SELECT 1 FROM case_events e
               WHERE e.case_id = NEW.case_id AND e.action = 'clock_breached'
                 AND e.seq < NEW.seq) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO c FROM cases WHERE id = NEW.case_id;
    PERFORM case_stats_move(
        case_stats_month(c.created_at), c.owner_unit_id,
        coalesce(c.snapshot -> 'fields' ->> 'category', ''),
        case_stats_status(c.closed, FALSE),
        case_stats_month(c.created_at), c.owner_unit_id,
        coalesce(c.snapshot -> 'fields' ->> 'category', ''),
        case_stats_status(c.closed, TRUE));
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_stats_on_first_breach
AFTER INSERT ON case_events
FOR EACH ROW
WHEN (NEW.action = 'clock_breached')
EXECUTE FUNCTION case_stats_on_first_breach();

-- The cases already there (the same query as `manyi stats rebuild`).
INSERT INTO case_stats (month, unit_id, category, status, cases)
SELECT case_stats_month(c.created_at), c.owner_unit_id,
       coalesce(c.snapshot -> 'fields' ->> 'category', ''),
       case_stats_status(c.closed, case_stats_breached(c.id)),
       count(*)
FROM cases c
GROUP BY 1, 2, 3, 4;
