-- Repeat complaints through the quick-find table (postgres dialect; the other backend's 0016_repeat.sql
-- is the same schema). Since this migration each case of a kind with a `repeat_complaint`
-- rule has a `case_find` row of kind 'repeat' (its exact repeat key, `manyi_core::find::repeat_key`),
-- written with the case, and a new case carries a 'repeat_pending' row until the server has
-- recorded the repeat it makes (the catch-up after a crash walks those rows).
--
-- The backfill of repeat keys for cases stored before this migration (run at start-up, in
-- batches, by any instance; idempotent): the highest case id examined, and whether every case
-- was.
CREATE TABLE case_repeat_backfill (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_case_id BIGINT NOT NULL,
    done         BOOLEAN NOT NULL
);
INSERT INTO case_repeat_backfill (id, last_case_id, done)
SELECT 1, 0, NOT EXISTS (SELECT 1 FROM cases);
