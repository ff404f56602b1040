-- Secondary indexes dropped for a bulk load (`manyi gen`) and not rebuilt yet, the same table
-- on both backends (`sqlite/` and `postgres/0023_deferred_indexes.sql`).
--
-- A definition is written in the transaction that drops its index and deleted in the one that
-- re-creates it, so an index is always either present or listed here: a load that fails or is
-- killed halfway leaves its definitions behind, and the next `manyi migrate` (every start of
-- `manyi serve` and of `manyi gen` migrates first) re-creates them.
CREATE TABLE deferred_indexes (
    name        TEXT   PRIMARY KEY,
    -- the index's own `CREATE INDEX` statement (`pg_get_indexdef` when it was dropped)
    definition  TEXT   NOT NULL,
    deferred_at BIGINT NOT NULL
);
