-- A revision number that changes whenever the org tree, a unit calendar or a policy version
-- (or which one is active) changes. Instances cache those (they are read on every create) and
-- compare this one number before each use, so a change made anywhere — another instance, the
-- CLI, a restore — is seen at the next request. Triggers bump it, whoever writes.
CREATE TABLE store_revisions (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO store_revisions (name, value) VALUES ('directory', 1);

CREATE TRIGGER units_bump_directory_insert AFTER INSERT ON units
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER units_bump_directory_update AFTER UPDATE ON units
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER units_bump_directory_delete AFTER DELETE ON units
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER unit_calendars_bump_directory_insert AFTER INSERT ON unit_calendars
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER unit_calendars_bump_directory_update AFTER UPDATE ON unit_calendars
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER unit_calendars_bump_directory_delete AFTER DELETE ON unit_calendars
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER policy_versions_bump_directory_insert AFTER INSERT ON policy_versions
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;
CREATE TRIGGER policy_versions_bump_directory_update AFTER UPDATE ON policy_versions
BEGIN UPDATE store_revisions SET value = value + 1 WHERE name = 'directory'; END;

-- The first page of a non-admin user's open cases (`closed = 0` and "owned in my subtree OR
-- registered by me", newest first). Walking this index of open cases only, newest first, and
-- testing the path and the first contact on the index entry itself reads about
-- (page size ÷ the subtree's share of open cases) entries: the cost follows the page, not the
-- size of the subtree. Without it SQLite collected and sorted every case of the subtree.
CREATE INDEX cases_open_by_id ON cases (id, owner_unit_path, first_contact_id) WHERE closed = 0;
