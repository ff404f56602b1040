-- The case's due time, SQLite dialect (`migrations/postgres/0012_due.sql` is the same change).
--
-- `due_at` (Unix milliseconds) is the soonest deadline among the case's *running* clocks, NULL
-- when no clock runs (none started, all stopped, or every running one paused) or the case is
-- closed. The core computes it from the snapshot (`manyi_core::deadlines::due_at`, which says
-- what it means for paused, provisional and breached clocks) and the store writes it in the
-- same statement as the snapshot, on every path: create, update, a fired timer, `manyi gen`.
ALTER TABLE cases ADD COLUMN due_at INTEGER;

-- The cases already there: the same rule, read from the snapshot's clocks
-- (`clocks.<id>.status` = 'running', `clocks.<id>.deadline.due` an RFC 3339 instant).
-- Closed cases keep NULL. julianday() reads the instant exactly enough (tens of microseconds)
-- to round to the millisecond.
UPDATE cases
SET due_at = (
    SELECT min(CAST(round((julianday(json_extract(c.value, '$.deadline.due')) - 2440587.5)
                          * 86400000.0) AS INTEGER))
    FROM json_each(cases.snapshot, '$.clocks') AS c
    WHERE json_extract(c.value, '$.status') = 'running')
WHERE closed = 0;

-- Open cases of a subtree by due time: the range of the subtree's paths, then the due time
-- (covering: the top of the list is sorted from index entries alone, and only the page's rows
-- are read). Partial, so closed cases — most of them — cost nothing here. The first contact
-- rides along for the "owned in my subtree OR registered by me" lists.
CREATE INDEX cases_open_by_due ON cases (owner_unit_path, due_at, id, first_contact_id)
WHERE closed = 0;

-- New cases per week of a subtree (the dashboard's trend): a range of creation instants, the
-- subtree's paths tested on the index entries. Its cost follows the cases created in the
-- weeks shown, not all cases; the monthly figures come from `case_stats` instead.
CREATE INDEX cases_by_created ON cases (created_at, owner_unit_path);
