-- Reads of archived cases, SQLite dialect (`migrations/postgres/0009_archive.sql` is the same
-- schema).
--
-- ccb-counter 第二十二条 (客户投诉档案管理), regional-complaint 四(四) (分权限查阅): every read of an
-- archived case is logged — who, when, which case, through which interface, and whether it was
-- granted. Like the event log, the table is append-only.

CREATE TABLE case_reads (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    at        INTEGER NOT NULL,
    -- `api`, `web`, `cli`
    interface TEXT    NOT NULL,
    -- what was read: `case`, `events`, `page`
    what      TEXT    NOT NULL,
    granted   INTEGER NOT NULL CHECK (granted IN (0, 1))
);
CREATE INDEX case_reads_by_case ON case_reads (case_id, id);

CREATE TRIGGER case_reads_are_append_only_update
BEFORE UPDATE ON case_reads
BEGIN
    SELECT RAISE(ABORT, 'case_reads is append-only');
END;

CREATE TRIGGER case_reads_are_append_only_delete
BEFORE DELETE ON case_reads
BEGIN
    SELECT RAISE(ABORT, 'case_reads is append-only');
END;
