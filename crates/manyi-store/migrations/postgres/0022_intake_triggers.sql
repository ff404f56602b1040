-- Cheaper intake triggers, PostgreSQL dialect (`migrations/sqlite/0022_intake_triggers.sql` is
-- the same change, a no-op there). Every case insert runs both functions below inside the
-- group commit's batch, one batch at a time across instances (`postgres/group.rs`), so their
-- cost per case is the ceiling of intake; measured in BENCHMARKS.md ("Intake", "Where the
-- serialised section's time goes").
--
-- 1. The number keys (migration 0015) are inserted without `ON CONFLICT DO NOTHING`. A new
--    case's keys cannot conflict: its id is new (the keys of other cases carry other ids, and
--    `case_find.case_id` references `cases`, so no key of this id can exist before the row),
--    and its suffixes all differ in length. `ON CONFLICT` made PostgreSQL probe the primary
--    key before each insert and write a second WAL record to confirm it (speculative
--    insertion): ten keys per case. Same rows as before.
CREATE OR REPLACE FUNCTION case_find_number_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_find (kind, key, case_id)
    SELECT 'number', upper(substr(n.number, p.n)), n.id
    FROM new_cases n, generate_series(1, length(n.number) - 3) AS p(n);
    RETURN NULL;
END;
$$;

-- 2. The rollups' upserts (migration 0019) are the same two statements in PL/pgSQL instead of
--    SQL: a multi-statement SQL function is parsed and planned again on every call (PostgreSQL
--    15 keeps no plan for it), and it is called once per statement that changes `case_stats`
--    — every batch of creates. PL/pgSQL keeps each statement's plan for the session.
CREATE OR REPLACE FUNCTION case_rollups_add(p_month TEXT[], p_unit BIGINT[], p_category TEXT[],
                                            p_status TEXT[], p_delta BIGINT[]) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
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
END;
$$;
