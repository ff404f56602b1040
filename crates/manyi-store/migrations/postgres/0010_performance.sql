-- A revision number that changes whenever the org tree, a unit calendar or a policy version
-- (or which one is active) changes. Instances cache those (they are read on every create) and
-- compare this one number before each use, so a change made anywhere — another instance, the
-- CLI, a restore — is seen at the next request. Triggers bump it, whoever writes.
CREATE TABLE store_revisions (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO store_revisions (name, value) VALUES ('directory', 1);

CREATE FUNCTION bump_directory_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE store_revisions SET value = value + 1 WHERE name = 'directory';
    RETURN NULL;
END
$$;

CREATE TRIGGER units_bump_directory
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER unit_calendars_bump_directory
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit_calendars
FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER policy_versions_bump_directory
AFTER INSERT OR UPDATE ON policy_versions
FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();

-- (SQLite gets an index of open cases for the list of a user's visible open cases here;
-- PostgreSQL's plan — the primary key backwards with a filter — already answers that page in
-- about a millisecond, see BENCHMARKS.md, so no index is added to slow its writes.)
