-- The case's due time, PostgreSQL dialect (`migrations/sqlite/0012_due.sql` is the same change).
--
-- `due_at` (Unix milliseconds) is the soonest deadline among the case's *running* clocks, NULL
-- when no clock runs (none started, all stopped, or every running one paused) or the case is
-- closed. The core computes it from the snapshot (`manyi_core::deadlines::due_at`, which says
-- what it means for paused, provisional and breached clocks) and the store writes it in the
-- same statement as the snapshot, on every path: create, update, a fired timer, `manyi gen`.
ALTER TABLE cases ADD COLUMN due_at BIGINT;

-- The cases already there: the same rule, read from the snapshot's clocks
-- (`clocks.<id>.status` = 'running', `clocks.<id>.deadline.due` an RFC 3339 instant).
-- Closed cases keep NULL.
UPDATE cases
SET due_at = (
    SELECT min(round(extract(epoch FROM (e.value -> 'deadline' ->> 'due')::timestamptz)
                     * 1000)::bigint)
    FROM jsonb_each(cases.snapshot -> 'clocks') AS e
    WHERE e.value ->> 'status' = 'running')
WHERE NOT closed;

-- Open cases of a subtree by due time (soonest first, no due time last), then id: the range
-- of the subtree's paths, sorted on index entries. Partial, so closed cases cost nothing here;
-- queries write `closed = FALSE` as a literal so that the planner can use it.
CREATE INDEX cases_open_by_due ON cases (owner_unit_path, due_at NULLS LAST, id)
WHERE NOT closed;

-- New cases per week of a subtree (the dashboard's trend): a range of creation instants, the
-- subtree's paths tested on the index entries. Its cost follows the cases created in the
-- weeks shown, not all cases; the monthly figures come from `case_stats` instead.
CREATE INDEX cases_by_created ON cases (created_at, owner_unit_path);
