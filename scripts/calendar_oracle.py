#!/usr/bin/env python3
"""Oracle data for manyi's working-day calendar, from the PyPI package chinese-calendar.

chinese-calendar (https://github.com/LKI/chinese-calendar) is maintained independently of
holiday-cn, from the same State Council notices. This script writes, as JSON on stdout:

- "workday": is_workday for every date 2007-01-01..2026-12-31;
- "add": (start, n, due) triples: due = the n-th working day strictly after start, for a
  fixed-seed random sample of starts and n in 1..30, computed from chinese_calendar alone
  (a day-by-day walk over chinese_calendar.is_workday, cross-checked with its own
  find_workday).

crates/manyi-core/tests/calendar_oracle.rs compares manyi's calendar with it when the
environment variable MANYI_CALENDAR_ORACLE names the output file.

Usage (from the repository root):

    python3 -m venv .venv-oracle
    .venv-oracle/bin/pip install chinese-calendar==1.11.0
    .venv-oracle/bin/python scripts/calendar_oracle.py > target/calendar-oracle.json
    MANYI_CALENDAR_ORACLE=$PWD/target/calendar-oracle.json \
        cargo test -p manyi-core --test calendar_oracle -- --nocapture
"""

import datetime
import json
import random
import sys

import chinese_calendar

EXPECTED_VERSION = "1.11.0"
FIRST = datetime.date(2007, 1, 1)
LAST = datetime.date(2026, 12, 31)
SEED = 20260807
SAMPLES = 5000
MAX_N = 30


def package_version():
    try:
        from importlib.metadata import version

        return version("chinese-calendar")
    except Exception:  # pragma: no cover - very old Pythons
        return getattr(chinese_calendar, "__version__", "unknown")


def nth_workday_after(start, n):
    day = start
    for _ in range(n):
        day += datetime.timedelta(days=1)
        while not chinese_calendar.is_workday(day):
            day += datetime.timedelta(days=1)
    return day


def main():
    version = package_version()
    if version != EXPECTED_VERSION:
        sys.exit(f"chinese-calendar {EXPECTED_VERSION} is required, found {version}")

    workday = {}
    day = FIRST
    while day <= LAST:
        workday[day.isoformat()] = bool(chinese_calendar.is_workday(day))
        day += datetime.timedelta(days=1)

    rng = random.Random(SEED)
    span = (LAST - FIRST).days
    add = []
    while len(add) < SAMPLES:
        start = FIRST + datetime.timedelta(days=rng.randrange(span + 1))
        n = rng.randint(1, MAX_N)
        try:
            due = nth_workday_after(start, n)
            # chinese_calendar's own helper: find_workday(k, d) is the (k+1)-th working day
            # on or after d.
            again = chinese_calendar.find_workday(n - 1, start + datetime.timedelta(days=1))
        except NotImplementedError:
            # The walk left the package's data range (after 2026): not an oracle answer.
            continue
        if due != again:
            sys.exit(f"chinese_calendar disagrees with itself: {start} + {n}: {due} vs {again}")
        add.append([start.isoformat(), n, due.isoformat()])

    json.dump(
        {
            "generator": f"chinese-calendar {version} via scripts/calendar_oracle.py",
            "seed": SEED,
            "first": FIRST.isoformat(),
            "last": LAST.isoformat(),
            "workday": workday,
            "add": add,
        },
        sys.stdout,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
