-- Official holiday notices imported at run time (`manyi calendar import`). The calendar in
-- force is the shipped data with, for each notice year, the newest file imported here. Rows
-- are never changed: an import appends, so the history of what the calendar said is kept.
CREATE TABLE calendar_files (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    content     TEXT    NOT NULL,
    sha         TEXT    NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE INDEX calendar_files_by_year ON calendar_files (year, id);

CREATE TRIGGER calendar_files_no_update BEFORE UPDATE ON calendar_files
BEGIN
    SELECT RAISE(ABORT, 'calendar files are append-only');
END;
CREATE TRIGGER calendar_files_no_delete BEFORE DELETE ON calendar_files
BEGIN
    SELECT RAISE(ABORT, 'calendar files are append-only');
END;
