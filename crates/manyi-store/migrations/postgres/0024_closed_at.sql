-- When each case entered its final state, PostgreSQL dialect (`migrations/sqlite/
-- 0024_closed_at.sql` explains the column; the meaning is the same here).
--
-- Differences from SQLite: an update sets the column in a BEFORE trigger (no second write).

ALTER TABLE cases ADD COLUMN closed_at BIGINT;

UPDATE cases SET closed_at = COALESCE(
    (EXTRACT(EPOCH FROM (snapshot ->> 'closed_at')::timestamptz) * 1000)::bigint,
    updated_at)
WHERE closed;

CREATE INDEX cases_closed_by_kind ON cases (kind, closed_at) WHERE closed_at IS NOT NULL;

CREATE FUNCTION cases_closed_at_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.closed THEN
        NEW.closed_at := NEW.updated_at;
    ELSE
        NEW.closed_at := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER cases_closed_at_update BEFORE UPDATE OF closed ON cases
FOR EACH ROW WHEN (NEW.closed IS DISTINCT FROM OLD.closed)
EXECUTE FUNCTION cases_closed_at_update();

-- Only a bulk load inserts closed cases (a create never does), and it writes `closed_at`
-- itself (`crate::bulk::closed_at`): a trigger would write each closed row a second time.
