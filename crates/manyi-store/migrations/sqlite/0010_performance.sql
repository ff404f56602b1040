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
