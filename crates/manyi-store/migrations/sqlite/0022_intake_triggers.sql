-- Cheaper intake triggers: a PostgreSQL-only change (`migrations/postgres/0022_intake_triggers.sql`
-- rewrites two trigger functions there). Nothing changes on SQLite, whose number-key trigger
-- and rollup triggers are row triggers of its own dialect; this file keeps the two migration
-- trees' names and numbers the same.
SELECT 1;
