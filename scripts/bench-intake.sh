#!/usr/bin/env bash
# The intake benchmark (BENCHMARKS.md, "Intake: durable case creation over HTTP").
#
# Durable case creation (POST /api/v1/cases) at 64 concurrent keep-alive clients on loopback,
# against manyi on SQLite with synchronous=full and synchronous=normal, and against a bare axum
# handler returning a constant (the baseline measured in the same run). Each mode gets a fresh
# database and server; each is loaded RUNS times; the summary gives medians and min–max, and
# each mode's throughput as a ratio of the baseline's.
#
# Usage: scripts/bench-intake.sh [--no-build]
# Knobs (environment): CLIENTS=64 DURATION=10 WARMUP=2 RUNS=3 PORT=18480 MODES="full normal"
#                      BASELINE=1 (0 skips the baseline) OUT=<dir for logs and results>
# Only 127.0.0.1 is ever loaded; every run is bounded by `timeout`; servers are stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
PORT=${PORT:-18480}
MODES=${MODES:-"full normal"}
BASELINE=${BASELINE:-1}
OUT=${OUT:-$(mktemp -d /tmp/manyi-bench-intake.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/manyi-bench-db.XXXXXX)

SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "${1:-}" != "--no-build" ]]; then
    echo "== building (release)" >&2
    timeout 1800 cargo build --release -p manyi -p manyi-bench >&2
fi
MANYI=$ROOT/target/release/manyi
BENCH=$ROOT/target/release/manyi-bench
[[ -x $MANYI && -x $BENCH ]] || { echo "missing release binaries; run without --no-build" >&2; exit 1; }

wait_healthy() {
    for _ in $(seq 600); do
        if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start-up" >&2; return 1; }
        sleep 0.1
    done
    echo "server not healthy after 60 s" >&2
    return 1
}

FAILED=0
# run_load LABEL TOKEN: RUNS bounded load runs against the server on $PORT.
run_load() {
    local label=$1 token=$2 i rc
    for i in $(seq "$RUNS"); do
        echo "== $label run $i/$RUNS" >&2
        rc=0
        timeout $((WARMUP + DURATION + 60)) "$BENCH" load \
            --url "http://127.0.0.1:$PORT" --token "$token" --clients "$CLIENTS" \
            --duration-secs "$DURATION" --warmup-secs "$WARMUP" \
            --label "$label" --server-pid "$SERVER_PID" \
            | tee "$OUT/$label-$i.txt" >&2 || rc=$?
        if [[ $rc -ne 0 ]]; then
            echo "!! $label run $i failed (exit $rc)" >&2
            FAILED=1
        fi
        echo "   server VmRSS after run: $(grep VmRSS /proc/"$SERVER_PID"/status | awk '{print $2, $3}')" >&2
    done
}

if [[ $BASELINE == 1 ]]; then
    echo "== baseline: bare axum handler" >&2
    "$BENCH" baseline --listen "127.0.0.1:$PORT" 2>"$OUT/baseline-server.log" &
    SERVER_PID=$!
    wait_healthy
    run_load baseline ""
    stop_server
fi

for mode in $MODES; do
    db=$WORK/$mode.db
    rm -f "$db" "$db-wal" "$db-shm"
    echo "== manyi, sqlite synchronous=$mode: seeding the demo" >&2
    MANYI_LOG=warn "$MANYI" serve --demo --database "sqlite:$db" --listen "127.0.0.1:$PORT" \
        --sqlite-synchronous "$mode" 2>"$OUT/sqlite-$mode-server.log" &
    SERVER_PID=$!
    wait_healthy
    token=$(MANYI_LOG=warn timeout 60 "$MANYI" token create bjhd01.teller --database "sqlite:$db" \
        --sqlite-synchronous "$mode")
    run_load "sqlite-$mode" "$token"
    stop_server
    echo "   database after the runs: $(du -sh "$db" | cut -f1) (+ WAL $(du -sh "$db-wal" 2>/dev/null | cut -f1 || echo 0))" >&2
done

echo
echo "Intake benchmark: $CLIENTS clients, ${DURATION}s measured after ${WARMUP}s warm-up, $RUNS runs each"
echo "($(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%dT%H:%MZ); logs in $OUT)"
echo
"$BENCH" summary "$OUT"/*-[0-9]*.txt
exit $FAILED
