#!/usr/bin/env bash
# The statistics benchmark: a lean bulk load of N cases, then one month's counts from the
# trigger-kept aggregate (`case_stats`) against a GROUP BY over `cases`, interleaved.
#
#   scripts/bench-stats.sh postgres://postgres@127.0.0.1:5432/manyi_stats_10m 10000000
#   scripts/bench-stats.sh sqlite:/tmp/stats-1m.db 1000000
#
# The database must be new (it is created for PostgreSQL, and must not exist for SQLite). The
# organisation is 1,000 units made with `manyi gen --cases 0` (head office, 10 tier-1 and 100
# tier-2 branches, 889 outlets). The cases are lean rows written with SQL (`generate_series` /
# a recursive CTE): a snapshot holding only the `category` field, no event log except one
# `clock_breached` event for the late cases, no timers — `manyi gen` writes ~6.9 KB per case,
# too much for 10,000,000 on this disk. The aggregate is built by the production path: the
# migration's triggers fire on these INSERTs (PostgreSQL: the statement-level trigger per
# chunk; SQLite: the row triggers) exactly as on any other case write.
#
# Distribution (deterministic in the case id g): created at one of the seconds of the 365 days
# before 2026-11-26T12:00Z (g * 7919 mod 31,536,000 seconds back), owner outlet g mod 889,
# category one of six ((g / 7) mod 6), 95 % closed; a breach event for g mod 20 = 3 (closed
# late, 5 %) and for g mod 40 = 0 (open overdue, 2.5 %).
#
# PostgreSQL: the secondary indexes of `cases` that back no constraint (the primary key and the
# unique number stay) are dropped before the load and rebuilt after it from their own
# definitions (`pg_get_indexdef`, kept in a scratch table), so the measured database has exactly
# the production schema; maintaining them row by row (`cases_by_created` is keyed by a random
# instant) was what slowed the load as they outgrew `shared_buffers`. DEFER_INDEXES=0 keeps them.
# No trigger is bypassed: every chunk's INSERT fires them.
#
# Knobs: RUNS=5 MONTH=2026-06 CHUNK=500000 DEFER_INDEXES=1 MANYI=target/release/manyi
# BENCH=target/release/examples/stats_bench. Build first:
#   cargo build --release -p manyi -p manyi-server --example stats_bench
set -euo pipefail
URL=${1:?usage: bench-stats.sh DATABASE_URL CASES}
N=${2:?usage: bench-stats.sh DATABASE_URL CASES}
RUNS=${RUNS:-5}
MONTH=${MONTH:-2026-06}
CHUNK=${CHUNK:-500000}
DEFER_INDEXES=${DEFER_INDEXES:-1}
MANYI=${MANYI:-target/release/manyi}
BENCH=${BENCH:-target/release/examples/stats_bench}
NOW_MS=1795694400000 # 2026-11-26T12:00:00Z

t0=$(date +%s.%N)
case "$URL" in
postgres://*)
    base=${URL%/*}
    db=${URL##*/}
    psql -q "$base/postgres" -c "CREATE DATABASE \"$db\""
    "$MANYI" gen --units 1000 --cases 0 --seed 1 --database "$URL" >/dev/null
    psql -q -v ON_ERROR_STOP=1 "$URL" <<SQL
INSERT INTO policy_versions (name, version, source, source_hash, created_at)
VALUES ('bench-stats', 1, '', 'bench-stats', 0);
CREATE TABLE bench_outlets AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS rn, id, path FROM units WHERE level = 'outlet';
CREATE TABLE bench_deferred_indexes AS
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i
    WHERE i.indrelid = 'cases'::regclass AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      AND $DEFER_INDEXES = 1;
SQL
    psql -tA "$URL" -c "SELECT 'DROP INDEX ' || name || ';' FROM bench_deferred_indexes" |
        psql -q -v ON_ERROR_STOP=1 "$URL"
    echo "deferred indexes: $(psql -tA "$URL" -c "SELECT string_agg(name, ', ') FROM bench_deferred_indexes")" >&2
    outlets=$(psql -tA "$URL" -c "SELECT count(*) FROM bench_outlets")
    for ((lo = 1; lo <= N; lo += CHUNK)); do
        hi=$((lo + CHUNK - 1 < N ? lo + CHUNK - 1 : N))
        psql -q -v ON_ERROR_STOP=1 "$URL" <<SQL
BEGIN;
INSERT INTO cases (id, number, number_scope, number_period, serial, kind, policy_id, state,
                   owner_unit_id, owner_unit_path, first_contact_id, channel, created_at,
                   updated_at, closed, version, snapshot)
SELECT g, 'S' || g, 'bench-stats', '', g, 'complaint', p.id,
       CASE WHEN g % 20 = 0 THEN 'handling' ELSE 'closed' END,
       o.id, o.path, u.id, 'counter', t.at, t.at, g % 20 <> 0, 1,
       jsonb_build_object('fields', jsonb_build_object('category',
           (ARRAY['attitude','efficiency','procedure','product','facility','other'])[1 + (g / 7) % 6]))
FROM generate_series($lo::bigint, $hi::bigint) g
CROSS JOIN LATERAL (SELECT $NOW_MS - (g * 7919 % 31536000) * 1000 AS at) t
JOIN bench_outlets o ON o.rn = g % $outlets
CROSS JOIN (SELECT min(id) AS id FROM policy_versions WHERE name = 'bench-stats') p
CROSS JOIN (SELECT min(id) AS id FROM users) u;
INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, payload)
SELECT g, 1, $NOW_MS, NULL, 'clock_breached', NULL, '{}'::jsonb
FROM generate_series($lo::bigint, $hi::bigint) g WHERE g % 20 = 3 OR g % 40 = 0;
COMMIT;
SQL
        echo "loaded $hi / $N cases ($(date +%T))" >&2
    done
    ti=$(date +%s.%N)
    psql -tA "$URL" -c "SELECT def || ';' FROM bench_deferred_indexes" |
        psql -q -v ON_ERROR_STOP=1 "$URL"
    echo "indexes rebuilt in $(echo "$(date +%s.%N) - $ti" | bc) s" >&2
    psql -q "$URL" -c "SELECT setval(pg_get_serial_sequence('cases', 'id'), $N)" \
        -c "DROP TABLE bench_outlets" -c "DROP TABLE bench_deferred_indexes" -c "VACUUM ANALYZE"
    size=$(psql -tA "$URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
    ;;
sqlite:*)
    file=${URL#sqlite:}
    [ ! -e "$file" ] || { echo "$file exists: give a new file" >&2; exit 2; }
    "$MANYI" gen --units 1000 --cases 0 --seed 1 --database "$URL" >/dev/null
    sqlite3 "$file" <<SQL
INSERT INTO policy_versions (name, version, source, source_hash, created_at)
VALUES ('bench-stats', 1, '', 'bench-stats', 0);
CREATE TABLE bench_outlets AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS rn, id, path FROM units WHERE level = 'outlet';
SQL
    outlets=$(sqlite3 "$file" "SELECT count(*) FROM bench_outlets")
    for ((lo = 1; lo <= N; lo += CHUNK)); do
        hi=$((lo + CHUNK - 1 < N ? lo + CHUNK - 1 : N))
        sqlite3 "$file" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
INSERT INTO cases (id, number, number_scope, number_period, serial, kind, policy_id, state,
                   owner_unit_id, owner_unit_path, first_contact_id, channel, created_at,
                   updated_at, closed, version, snapshot)
WITH RECURSIVE s(g) AS (SELECT $lo UNION ALL SELECT g + 1 FROM s WHERE g < $hi)
SELECT g, 'S' || g, 'bench-stats', '', g, 'complaint',
       (SELECT min(id) FROM policy_versions WHERE name = 'bench-stats'),
       CASE WHEN g % 20 = 0 THEN 'handling' ELSE 'closed' END,
       o.id, o.path, (SELECT min(id) FROM users), 'counter',
       $NOW_MS - (g * 7919 % 31536000) * 1000, $NOW_MS - (g * 7919 % 31536000) * 1000,
       g % 20 <> 0, 1,
       json_object('fields', json_object('category',
           CASE (g / 7) % 6 WHEN 0 THEN 'attitude' WHEN 1 THEN 'efficiency'
                WHEN 2 THEN 'procedure' WHEN 3 THEN 'product' WHEN 4 THEN 'facility'
                ELSE 'other' END))
FROM s JOIN bench_outlets o ON o.rn = g % $outlets;
INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, payload)
WITH RECURSIVE s(g) AS (SELECT $lo UNION ALL SELECT g + 1 FROM s WHERE g < $hi)
SELECT g, 1, $NOW_MS, NULL, 'clock_breached', NULL, '{}' FROM s WHERE g % 20 = 3 OR g % 40 = 0;
COMMIT;
SQL
        echo "loaded $hi / $N cases ($(date +%T))" >&2
    done
    sqlite3 "$file" "DROP TABLE bench_outlets; ANALYZE;"
    size=$(du -h "$file" | cut -f1)
    ;;
*) echo "unknown database URL $URL" >&2; exit 2 ;;
esac
t1=$(date +%s.%N)
echo "load: $N cases in $(echo "$t1 - $t0" | bc) s, database $size" >&2
"$BENCH" "$URL" "$MONTH" "$RUNS"
