#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, lints, every test of the workspace,
# and the calendar's differential test against an independent source (PyPI chinese-calendar,
# installed into a throwaway virtualenv).
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

echo "== tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
