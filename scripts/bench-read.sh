#!/usr/bin/env bash
# The reading and memory benchmarks (BENCHMARKS.md, "Reading: a tier-1 branch's open cases" and
# "Memory: manyi serve over 1,000,000 cases").
#
# 1. Fills a database with `manyi gen` (unless it exists already) and reports the generation
#    rate.
# 2. Times the list a tier-1 branch's service department opens first — its subtree's open
#    cases, first page of 50, newest first — straight through `Store::list_cases`
#    (crates/manyi-server/examples/read_bench.rs), RUNS rounds of QUERIES queries each.
# 3. Starts `manyi serve` on the database, makes an API token for every tier-1 service user,
#    and times the same list over HTTP (`GET /api/v1/cases?closed=false&limit=50`, one request
#    at a time, one keep-alive connection), RUNS rounds.
# 4. Reads the server's VmRSS (and its peak, VmHWM) from /proc after start-up and after the
#    HTTP rounds; the baseline is the same server over a 2,000-case database made alike.
#
# Usage: scripts/bench-read.sh [--no-build] DATABASE
#   DATABASE: a SQLite path (created by gen if missing) or a postgres:// URL (must exist; gen
#   runs when it has no units yet).
# ORDER=due times the due order (`order=due`, soonest due first) instead of newest first.
# Knobs (environment): CASES=1000000 UNITS=1000 SEED=1 NOW=2026-11-26T12:00:00Z RUNS=3
#                      QUERIES=1000 WARMUP=100 PORT=18490 OUT=<dir for logs>
#                      MANYI=<manyi binary> READ_BENCH=<read_bench example binary>
# Only 127.0.0.1 is ever used; the server is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=1
if [[ "${1:-}" == "--no-build" ]]; then
    BUILD=0
    shift
fi
DB=${1:?usage: scripts/bench-read.sh [--no-build] DATABASE}
CASES=${CASES:-1000000}
UNITS=${UNITS:-1000}
SEED=${SEED:-1}
NOW=${NOW:-2026-11-26T12:00:00Z}
RUNS=${RUNS:-3}
QUERIES=${QUERIES:-1000}
WARMUP=${WARMUP:-100}
PORT=${PORT:-18490}
OUT=${OUT:-$(mktemp -d /tmp/manyi-bench-read.XXXXXX)}
export READ_BENCH_ORDER=${ORDER:-newest}
mkdir -p "$OUT"
export MANYI_POLICIES=${MANYI_POLICIES:-$ROOT/policies}

if [[ $BUILD == 1 ]]; then
    cargo build --release -p manyi >&2
    cargo build --release -p manyi-server --example read_bench >&2
fi
MANYI=${MANYI:-$ROOT/target/release/manyi}
READ_BENCH=${READ_BENCH:-$ROOT/target/release/examples/read_bench}

case "$DB" in
    postgres://* | postgresql://*) URL=$DB ;;
    sqlite:*) URL=$DB ;;
    *) URL=sqlite:$DB ;;
esac

SERVER_PID=
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

rss() { awk '/^(VmRSS|VmHWM)/ {printf "%s %d MiB  ", $1, $2 / 1024}' /proc/"$1"/status; }

# Starts `manyi serve` on $1, waits for /healthz.
start_server() {
    "$MANYI" serve --database "$1" --listen 127.0.0.1:"$PORT" >"$OUT/serve.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "server did not answer /healthz" >&2
    exit 1
}

# Tokens of the tier-1 service users (b01.service, b02.service, …) into $OUT/tokens.
make_tokens() {
    : >"$OUT/tokens"
    for i in $(seq -w 1 99); do
        "$MANYI" token create "b$i.service" --database "$1" >>"$OUT/tokens" 2>/dev/null || break
    done
}

echo "== gen ($CASES cases, $UNITS units, seed $SEED) into $URL" >&2
if "$MANYI" gen --units "$UNITS" --cases "$CASES" --seed "$SEED" --now "$NOW" \
    --database "$URL" 2>&1 | tee "$OUT/gen.log" | grep -v '^gen: [0-9]*/' >&2; then
    :
fi
grep -q "already has an organisation" "$OUT/gen.log" && echo "   (existing database kept)" >&2

echo "== direct: Store::list_cases, $RUNS rounds of $QUERIES" >&2
for r in $(seq "$RUNS"); do
    timeout 600 "$READ_BENCH" "$URL" "$QUERIES" "$WARMUP" | tee -a "$OUT/direct.jsonl"
done

echo "== HTTP: manyi serve, $RUNS rounds of $QUERIES" >&2
make_tokens "$URL"
start_server "$URL"
echo "   server after start-up: $(rss "$SERVER_PID")" | tee -a "$OUT/memory.txt" >&2
for r in $(seq "$RUNS"); do
    READ_BENCH_HTTP=http://127.0.0.1:$PORT READ_BENCH_TOKENS=$OUT/tokens \
        timeout 600 "$READ_BENCH" "$URL" "$QUERIES" "$WARMUP" | grep read-http | tee -a "$OUT/http.jsonl"
    echo "   server after round $r: $(rss "$SERVER_PID")" | tee -a "$OUT/memory.txt" >&2
done
stop_server

echo "== memory baseline: the same server over 2,000 cases" >&2
SMALL=$(mktemp -d /tmp/manyi-bench-read-small.XXXXXX)
"$MANYI" gen --units "$UNITS" --cases 2000 --seed "$SEED" --now "$NOW" --quiet \
    --database "sqlite:$SMALL/small.db" >&2
make_tokens "sqlite:$SMALL/small.db"
start_server "sqlite:$SMALL/small.db"
echo "   baseline server after start-up: $(rss "$SERVER_PID")" | tee -a "$OUT/memory.txt" >&2
READ_BENCH_HTTP=http://127.0.0.1:$PORT READ_BENCH_TOKENS=$OUT/tokens \
    timeout 600 "$READ_BENCH" "sqlite:$SMALL/small.db" "$QUERIES" "$WARMUP" | grep read-http \
    | tee -a "$OUT/http-baseline.jsonl"
echo "   baseline server after $QUERIES requests: $(rss "$SERVER_PID")" | tee -a "$OUT/memory.txt" >&2
stop_server
rm -rf "$SMALL"
echo "logs and results in $OUT" >&2
