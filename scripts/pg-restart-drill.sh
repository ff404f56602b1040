#!/usr/bin/env bash
# The PostgreSQL restart drill (issue 4, "PostgreSQL restarted under load"): one `manyi serve`
# on a fresh database takes creates from 16 clients (each with an Idempotency-Key) while this
# machine's PostgreSQL is restarted. It prints what the clients saw (counts by status, the
# slowest answer, when the 503s came), then checks that every 201 names a case that exists
# exactly once, that every 503 was a problem+json with Retry-After, and that each 503'd
# request retried with its key opens at most one case.
#
# It RESTARTS THE POSTGRESQL SERVER OF THIS MACHINE: every other test or benchmark using it
# at that moment loses its connections. Run it alone; it is not part of scripts/test.sh.
#
#   scripts/pg-restart-drill.sh
#   MANYI_DRILL_RESTART='pg_ctlcluster --skip-systemctl-redirect 15 main restart -m immediate' \
#     scripts/pg-restart-drill.sh     # a crash-like stop instead of a fast shutdown
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(ls /etc/postgresql | head -n1)"
export MANYI_DRILL_RESTART="${MANYI_DRILL_RESTART:-pg_ctlcluster --skip-systemctl-redirect $version main restart}"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

echo "== other sessions on the server now (they will be cut):"
psql -h 127.0.0.1 -U postgres -d postgres -Atc \
  "SELECT coalesce(datname, '-') || '  ' || coalesce(application_name, '') || '  ' || state
   FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'" || true

cargo build -p manyi --tests --quiet
status=0
MANYI_TEST_BACKEND=postgres cargo test -p manyi --test instances --quiet -- \
  --ignored --exact drill_postgres_restarted_under_load --nocapture || status=$?

# Whatever happened, leave the server running.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
exit "$status"
