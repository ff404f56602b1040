-- Quick find by a part of the case number, PostgreSQL dialect (`migrations/sqlite/0015_find_numbers.sql`
-- is the same change; read its comments).
--
-- Every suffix of at least 4 characters of a case's number (upper-cased) is a `case_find` key
-- of kind 'number', written by a statement-level trigger on INSERT (a bulk COPY of cases
-- included); `manyi_core::find::number_keys` is the rule it mirrors.

CREATE FUNCTION case_find_number_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_find (kind, key, case_id)
    SELECT 'number', upper(substr(n.number, p.n)), n.id
    FROM new_cases n, generate_series(1, length(n.number) - 3) AS p(n)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_find_number_on_insert
AFTER INSERT ON cases
REFERENCING NEW TABLE AS new_cases
FOR EACH STATEMENT EXECUTE FUNCTION case_find_number_on_insert();

CREATE TABLE case_find_number_backfill (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_case_id BIGINT  NOT NULL,
    upto         BIGINT  NOT NULL
);
INSERT INTO case_find_number_backfill (id, last_case_id, upto)
SELECT 1, 0, coalesce(max(id), 0) FROM cases;
