-- Quick find, PostgreSQL dialect (`migrations/sqlite/0013_find.sql` is the same schema): the
-- search keys of each case that `manyi_core::find::keys` derives from its customer's fields —
-- the phone digits reversed, every suffix of the name — matched by prefix through the primary
-- key (a range scan), so that finding "…8000" or "小明" reads a few index entries instead of
-- decoding every case. Keys are written in the same transaction as the case's insert or update.
CREATE TABLE case_find (
    -- 'phone' or 'name'
    kind    TEXT   NOT NULL,
    -- personal data: never logged. Byte order ("C"), so that a prefix is a key range whatever
    -- the database's collation.
    key     TEXT   COLLATE "C" NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    PRIMARY KEY (kind, key, case_id)
);
-- Replacing a case's keys on update.
CREATE INDEX case_find_by_case ON case_find (case_id);

-- The backfill of cases stored before this migration (run at start-up, in batches, by any
-- instance; idempotent): the highest case id examined, and whether every case was.
CREATE TABLE case_find_backfill (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_case_id BIGINT  NOT NULL,
    done         BOOLEAN NOT NULL
);
INSERT INTO case_find_backfill (id, last_case_id, done)
SELECT 1, 0, NOT EXISTS (SELECT 1 FROM cases);
