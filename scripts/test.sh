#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, lints, every test of the workspace,
# and the calendar's differential test against an independent source (PyPI chinese-calendar,
# installed into a throwaway virtualenv).
#
# Both backends (docs/OPERATIONS.md, "The test matrix"):
# - the workspace run: the store's contract tests on SQLite and PostgreSQL, the API suite on
#   SQLite, the multi-instance and connection-loss tests (crates/manyi/tests/instances.rs) on
#   PostgreSQL;
# - then the API suite (crates/manyi-server/tests/api) once more, on PostgreSQL.
# PostgreSQL is the server of MANYI_TEST_PG (default postgres://postgres@127.0.0.1:5432); each
# test makes a fresh database and drops it. MANYI_TEST_PG=skip leaves PostgreSQL out (the
# tests say so).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The calendar oracle: chinese-calendar 1.11.0 gives is_workday for 2004–2026. The test that
# uses it explains itself and is skipped (with a message) only if the oracle cannot be built.
if [ -z "${MANYI_CALENDAR_ORACLE:-}" ] && [ -f scripts/calendar_oracle.py ]; then
  oracle=target/calendar-oracle.json
  if [ ! -s "$oracle" ]; then
    echo "== building the calendar oracle (PyPI chinese-calendar==1.11.0)"
    if [ ! -x .venv-oracle/bin/python ]; then
      python3 -m venv .venv-oracle
      .venv-oracle/bin/pip install --quiet chinese-calendar==1.11.0
    fi
    mkdir -p target
    .venv-oracle/bin/python scripts/calendar_oracle.py > "$oracle.tmp"
    mv "$oracle.tmp" "$oracle"
  fi
  export MANYI_CALENDAR_ORACLE="$PWD/$oracle"
fi

# Both runs happen even if the first fails, so that CI shows both summaries; the script fails
# if either did.
status=0
echo "== tests (workspace; the API suite on SQLite)"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast || status=1
  # nextest does not run doctests.
  cargo test --workspace --locked --doc || status=1
else
  cargo test --workspace --locked --no-fail-fast || status=1
fi

echo "== tests (the API suite on PostgreSQL)"
if [ "${MANYI_TEST_PG:-}" = "skip" ]; then
  echo "skipped: MANYI_TEST_PG=skip"
elif command -v cargo-nextest >/dev/null 2>&1; then
  # The tests wait on the server's disk (CREATE/DROP DATABASE, commits) more than on the CPU:
  # four at a time finish sooner than one per core.
  MANYI_TEST_BACKEND=postgres cargo nextest run -p manyi-server --test api --locked \
    --no-fail-fast --test-threads 4 || status=1
else
  MANYI_TEST_BACKEND=postgres cargo test -p manyi-server --test api --locked --no-fail-fast \
    || status=1
fi

# The web interface in a real browser. MANYI_BROWSER_TESTS=skip skips it, saying so.
echo "== tests (the web interface in Chromium)"
if [ "${MANYI_BROWSER_TESTS:-}" = "skip" ]; then
  echo "skipped: MANYI_BROWSER_TESTS=skip"
else
  tests/browser/run.sh || status=1
fi
exit "$status"
