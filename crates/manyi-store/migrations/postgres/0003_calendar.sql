-- Official holiday notices imported at run time (`manyi calendar import`). The calendar in
-- force is the shipped data with, for each notice year, the newest file imported here. Rows
-- are never changed: an import appends, so the history of what the calendar said is kept.
CREATE TABLE calendar_files (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT   NOT NULL,
    year        BIGINT NOT NULL,
    content     TEXT   NOT NULL,
    sha         TEXT   NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE INDEX calendar_files_by_year ON calendar_files (year, id);

CREATE TRIGGER calendar_files_append_only
BEFORE UPDATE OR DELETE ON calendar_files
FOR EACH ROW EXECUTE FUNCTION refuse_change('calendar files are append-only');

CREATE TRIGGER calendar_files_append_only_truncate
BEFORE TRUNCATE ON calendar_files
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('calendar files are append-only');
