-- When each case entered its final state, the same schema on both backends (`sqlite/` and
-- `postgres/0024_closed_at.sql`): what a survey round's "cases closed in the period" means
-- (`crate::survey_rounds::CLOSED_CASES`). `updated_at` is not it: a case closed in October and
-- given a note, a callback record or an archive read in November belongs to October's round.
--
-- The column is kept by triggers on every case update: set to the write's `updated_at` (the
-- closing event's instant) when `closed` goes from false to true, cleared when the case is
-- reopened, left alone by every other write. NULL while open. A bulk load (`manyi gen`), the
-- only writer that inserts closed cases, writes it itself.

ALTER TABLE cases ADD COLUMN closed_at INTEGER;

-- Cases closed before this migration: the instant the case's snapshot recorded when it last
-- closed (`Case::closed_at`, RFC 3339 in UTC), else its last change (as the archive does).
UPDATE cases SET closed_at = COALESCE(
    CAST(ROUND((julianday(json_extract(snapshot, '$.closed_at')) - 2440587.5) * 86400000.0)
         AS INTEGER),
    updated_at)
WHERE closed = 1;

-- A round reads one kind's range of closing instants; open cases are not in the index, so
-- creates do not maintain it.
CREATE INDEX cases_closed_by_kind ON cases (kind, closed_at) WHERE closed_at IS NOT NULL;

-- Only a bulk load inserts closed cases (a create never does), and it writes `closed_at`
-- itself (`crate::bulk::closed_at`): a trigger would write each closed row a second time.

CREATE TRIGGER cases_closed_at_close AFTER UPDATE OF closed ON cases
WHEN NEW.closed = 1 AND OLD.closed = 0
BEGIN
    UPDATE cases SET closed_at = NEW.updated_at WHERE id = NEW.id;
END;

CREATE TRIGGER cases_closed_at_reopen AFTER UPDATE OF closed ON cases
WHEN NEW.closed = 0 AND OLD.closed = 1
BEGIN
    UPDATE cases SET closed_at = NULL WHERE id = NEW.id;
END;
