-- Reads of archived cases, PostgreSQL dialect (`migrations/sqlite/0009_archive.sql` is the same
-- schema).
--
-- ccb-counter 第二十二条 (客户投诉档案管理), regional-complaint 四(四) (分权限查阅): every read of an
-- archived case is logged — who, when, which case, through which interface, and whether it was
-- granted. Like the event log, the table is append-only.

CREATE TABLE case_reads (
    id        BIGSERIAL PRIMARY KEY,
    case_id   BIGINT  NOT NULL REFERENCES cases (id),
    user_id   BIGINT  NOT NULL REFERENCES users (id),
    at        BIGINT  NOT NULL,
    -- `api`, `web`, `cli`
    interface TEXT    NOT NULL,
    -- what was read: `case`, `events`, `page`
    what      TEXT    NOT NULL,
    granted   BOOLEAN NOT NULL
);
CREATE INDEX case_reads_by_case ON case_reads (case_id, id);

CREATE TRIGGER case_reads_are_append_only_update
BEFORE UPDATE ON case_reads
FOR EACH ROW EXECUTE FUNCTION refuse_change('case_reads is append-only');

CREATE TRIGGER case_reads_are_append_only_delete
BEFORE DELETE ON case_reads
FOR EACH ROW EXECUTE FUNCTION refuse_change('case_reads is append-only');

CREATE TRIGGER case_reads_are_append_only_truncate
BEFORE TRUNCATE ON case_reads
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('case_reads is append-only');
