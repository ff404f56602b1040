#!/usr/bin/env bash
# The intake benchmark (BENCHMARKS.md, "Intake: durable case creation over HTTP").
#
# Durable case creation (POST /api/v1/cases) at 64 concurrent keep-alive clients on loopback,
# against manyi on SQLite with synchronous=full and with synchronous=normal (each on a fresh
# database seeded with the demo), and against a bare axum handler returning a constant (the
# baseline, measured in the same run). All servers are up together and the runs go round robin
# — baseline, full, normal; baseline, full, normal; … — so that a burst of noise on this shared
# machine falls on every target alike. After each manyi run, a raw SQLite loop runs the same
# write statements single-threaded (python3's sqlite3) on a copy of that server's database,
# one commit per create and 32 creates per commit: the ceiling of one writer on this disk at
# that moment. With PG=1 (the default) a manyi on PostgreSQL joins the round robin, on a fresh
# database created on PG_URL's server and dropped on exit — one per PG_MODES entry, the
# database's `synchronous_commit` (`on`, PostgreSQL's default and manyi's documented durable
# mode; `off`, which acknowledges before the WAL flush), set with ALTER DATABASE. The summary gives medians and
# min–max over the rounds, and each row's throughput as a ratio of the baseline's.
#
# Usage: scripts/bench-intake.sh [--no-build]
# Knobs (environment): CLIENTS=64 DURATION=10 WARMUP=2 RUNS=3 PORT=18480 (PORT..PORT+2 are
#                      used) MODES="full normal" BASELINE=1 (0 skips the baseline) RAW=1 (0 skips
#                      the raw SQLite loop) RAW_DURATION=5 OUT=<dir for logs and results>
#                      POLICIES=<policy directory, default ./policies>
#                      PG=1 (0 skips PostgreSQL) PG_URL=postgres://postgres@127.0.0.1:5432
#                      PG_MAX_CONNECTIONS=16 (manyi's pool size) PG_MODES="on" (or "on off")
#                      PG_AFTER_SEED_SQL=<SQL run on each PostgreSQL database once seeded: the
#                      A/B of a schema change before it becomes a migration>
#                      MANYI=<manyi binary> BENCH=<manyi-bench binary> (with --no-build: binaries
#                      copied aside, so that a concurrent build cannot swap them mid-run)
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
RAW=${RAW:-1}
RAW_DURATION=${RAW_DURATION:-5}
POLICIES=${POLICIES:-$ROOT/policies}
PG=${PG:-1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-16}
PG_MODES=${PG_MODES:-on}
PG_DB=manyi_bench_intake_$$
OUT=${OUT:-$(mktemp -d /tmp/manyi-bench-intake.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/manyi-bench-db.XXXXXX)

# label -> pid, port, token of each server started here.
declare -A PIDS PORTS TOKENS
LABELS=()

stop_server() {
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
stop_all() {
    local label
    for label in "${LABELS[@]}"; do
        [[ -n "${PIDS[$label]:-}" ]] && stop_server "${PIDS[$label]}"
        PIDS[$label]=""
    done
}
cleanup() {
    stop_all
    rm -rf "$WORK"
    if [[ $PG == 1 ]]; then
        local mode
        for mode in $PG_MODES; do
            psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS ${PG_DB}_$mode" >/dev/null 2>&1 || true
        done
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "${1:-}" != "--no-build" ]]; then
    echo "== building (release)" >&2
    timeout 1800 cargo build --release -p manyi -p manyi-bench >&2
fi
MANYI=${MANYI:-$ROOT/target/release/manyi}
BENCH=${BENCH:-$ROOT/target/release/manyi-bench}
[[ -x $MANYI && -x $BENCH ]] || { echo "missing release binaries; run without --no-build" >&2; exit 1; }

# wait_healthy PID PORT
wait_healthy() {
    for _ in $(seq 600); do
        if curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$1" 2>/dev/null || { echo "server exited during start-up" >&2; return 1; }
        sleep 0.1
    done
    echo "server on port $2 not healthy after 60 s" >&2
    return 1
}

# raw_sqlite DB MODE ROUND: the write a create does — the same statements on the same file with the
# same pragmas — in a single-threaded loop (Python's sqlite3), with no HTTP, no async runtime and
# no hand-off between threads. BATCH creates share one transaction (1 = one commit per create,
# as manyi does now; 32 = a group commit). Its throughput is the ceiling of one writer on this
# disk, to compare manyi against.
raw_sqlite() {
    local db=$1 mode=$2 i=$3 batch
    # It writes to a copy, taken once from the server's database after its first round (the
    # event log is append-only, so its rows could not be taken out again), copied afresh for
    # each loop.
    local pristine=$WORK/raw-$mode-pristine.db scratch=$WORK/raw-$mode.db
    if [[ ! -f $pristine ]]; then
        python3 -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[2]); sqlite3.connect(sys.argv[1]).backup(d); d.close()' \
            "$db" "$pristine"
    fi
    for batch in 1 32; do
        rm -f "$scratch" "$scratch-wal" "$scratch-shm"
        cp "$pristine" "$scratch"
        timeout $((RAW_DURATION + 30)) python3 - "$scratch" "$mode" "$batch" "$RAW_DURATION" \
            >"$OUT/raw-sqlite-$mode-b$batch-$i.txt" <<'PY'
import json, sqlite3, sys, time
db, mode, batch, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA foreign_keys = ON")
assert c.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
c.execute(f"PRAGMA synchronous = {mode.upper()}")
case = c.execute("SELECT id, policy_id, owner_unit_id, first_contact_id, assignee_id, snapshot "
                 "FROM cases ORDER BY id DESC LIMIT 1").fetchone()
event = c.execute("SELECT actor_id, action, clause, payload FROM case_events "
                  "WHERE case_id = ? AND seq = 1", (case[0],)).fetchone()
scope = f"RAWBENCH-{mode}-{batch}"
lat, n, start = [], 0, time.perf_counter()
while time.perf_counter() - start < duration:
    t0 = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    for _ in range(batch):
        path = c.execute("SELECT path FROM units WHERE id = ?", (case[2],)).fetchone()[0]
        serial = c.execute(
            "INSERT INTO number_counters (scope, period, last_serial) VALUES (?, ?, 1) "
            "ON CONFLICT (scope, period) DO UPDATE SET last_serial = last_serial + 1 "
            "RETURNING last_serial", (scope, "raw")).fetchone()[0]
        now = int(time.time() * 1000)
        row = c.execute(
            "INSERT INTO cases (number, number_scope, number_period, serial, kind, policy_id, "
            "state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, "
            "created_at, updated_at, closed, version, snapshot) "
            "VALUES (?, ?, 'raw', ?, 'complaint', ?, 'registered', ?, ?, ?, ?, 'phone', ?, ?, 0, 1, ?) "
            "RETURNING id, number, kind, policy_id, state, owner_unit_id, owner_unit_path, "
            "first_contact_id, assignee_id, channel, created_at, updated_at, closed, version, snapshot",
            (f"{scope}-{serial}", scope, serial, case[1], case[2], path, case[3], case[4],
             now, now, case[5])).fetchone()
        c.execute("INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, "
                  "payload) VALUES (?, 1, ?, ?, ?, ?, ?)",
                  (row[0], now, event[0], event[1], event[2], event[3]))
    c.execute("COMMIT")
    lat.append(time.perf_counter() - t0)
    n += batch
elapsed = time.perf_counter() - start
lat.sort()
pct = lambda p: round(lat[max(0, min(len(lat), -(-len(lat) * p // 100)) - 1)] * 1000, 3)
print(json.dumps({"bench": "intake-load", "label": f"raw-sqlite-{mode}-batch{batch}",
                  "clients": 1, "elapsed_s": round(elapsed, 3), "requests": n, "successes": n,
                  "throughput": round(n / elapsed, 3), "p50_ms": pct(50), "p90_ms": pct(90),
                  "p99_ms": pct(99), "max_ms": pct(100), "sqlite_version": sqlite3.sqlite_version}))
PY
        echo "== raw-sqlite-$mode-batch$batch round $i: $(tail -1 "$OUT/raw-sqlite-$mode-b$batch-$i.txt")" >&2
    done
    rm -f "$scratch" "$scratch-wal" "$scratch-shm"
}

# --- Start every server.
port=$PORT
if [[ $BASELINE == 1 ]]; then
    echo "== baseline: bare axum handler on port $port" >&2
    "$BENCH" baseline --listen "127.0.0.1:$port" 2>"$OUT/baseline-server.log" &
    LABELS+=(baseline); PIDS[baseline]=$!; PORTS[baseline]=$port; TOKENS[baseline]=""
    wait_healthy "${PIDS[baseline]}" "$port"
    port=$((port + 1))
fi
for mode in $MODES; do
    label=sqlite-$mode
    db=$WORK/$mode.db
    echo "== manyi, sqlite synchronous=$mode on port $port: seeding the demo" >&2
    MANYI_LOG=warn "$MANYI" serve --demo --database "sqlite:$db" --listen "127.0.0.1:$port" \
        --sqlite-synchronous "$mode" --policies "$POLICIES" 2>"$OUT/$label-server.log" &
    LABELS+=("$label"); PIDS[$label]=$!; PORTS[$label]=$port
    wait_healthy "${PIDS[$label]}" "$port"
    TOKENS[$label]=$(MANYI_LOG=warn timeout 60 "$MANYI" token create bjhd01.teller \
        --database "sqlite:$db" --sqlite-synchronous "$mode")
    port=$((port + 1))
done

if [[ $PG == 1 ]]; then
    for mode in $PG_MODES; do
        # `on` keeps the historical label, so that runs before and after PG_MODES compare.
        label=postgres; [[ $mode == on ]] || label=postgres-sync-$mode
        db=${PG_DB}_$mode
        psql -q "$PG_URL/postgres" -c "CREATE DATABASE $db" >/dev/null
        psql -q "$PG_URL/postgres" -c "ALTER DATABASE $db SET synchronous_commit = $mode" >/dev/null
        echo "== manyi, PostgreSQL ($db, synchronous_commit=$mode, pool $PG_MAX_CONNECTIONS) on port $port: seeding the demo" >&2
        MANYI_LOG=warn "$MANYI" serve --demo --database "$PG_URL/$db" --listen "127.0.0.1:$port" \
            --pg-max-connections "$PG_MAX_CONNECTIONS" --policies "$POLICIES" \
            2>"$OUT/$label-server.log" &
        LABELS+=("$label"); PIDS[$label]=$!; PORTS[$label]=$port
        wait_healthy "${PIDS[$label]}" "$port"
        # A schema experiment (an A/B of a migration before writing it), run once seeded.
        # Retried: DDL can deadlock with the server's own start-up work (the backfills).
        if [[ -n ${PG_AFTER_SEED_SQL:-} ]]; then
            for attempt in 1 2 3 4 5; do
                psql -q -v ON_ERROR_STOP=1 "$PG_URL/$db" -c "$PG_AFTER_SEED_SQL" >&2 && break
                [[ $attempt == 5 ]] && { echo "PG_AFTER_SEED_SQL failed" >&2; exit 1; }
                sleep 1
            done
        fi
        TOKENS[$label]=$(MANYI_LOG=warn timeout 60 "$MANYI" token create bjhd01.teller \
            --database "$PG_URL/$db")
        port=$((port + 1))
    done
fi

# --- Load, round robin.
FAILED=0
for i in $(seq "$RUNS"); do
    for label in "${LABELS[@]}"; do
        echo "== $label round $i/$RUNS" >&2
        rc=0
        timeout $((WARMUP + DURATION + 60)) "$BENCH" load \
            --url "http://127.0.0.1:${PORTS[$label]}" --token "${TOKENS[$label]}" \
            --clients "$CLIENTS" --duration-secs "$DURATION" --warmup-secs "$WARMUP" \
            --label "$label" --server-pid "${PIDS[$label]}" \
            | tee "$OUT/$label-$i.txt" >&2 || rc=$?
        if [[ $rc -ne 0 ]]; then
            echo "!! $label round $i failed (exit $rc)" >&2
            FAILED=1
        fi
        echo "   server VmRSS after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/"${PIDS[$label]}"/status)" >&2
        # Right after a mode's load, the raw loop on a copy of its database: what one writer
        # does on this disk at this moment.
        if [[ $RAW == 1 && $label == sqlite-* ]]; then
            raw_sqlite "$WORK/${label#sqlite-}.db" "${label#sqlite-}" "$i"
        fi
    done
done
stop_all
for mode in $MODES; do
    echo "== sqlite-$mode: database after the runs: $(du -sh "$WORK/$mode.db" | cut -f1)," \
        "$(sqlite3 "$WORK/$mode.db" 'SELECT count(*) FROM cases' 2>/dev/null || echo '?') cases" >&2
done
if [[ $PG == 1 ]]; then
    for mode in $PG_MODES; do
        echo "== postgres synchronous_commit=$mode: $(psql -tA "$PG_URL/${PG_DB}_$mode" -c 'SELECT count(*) FROM cases') cases," \
            "serials gap-free: $(psql -tA "$PG_URL/${PG_DB}_$mode" -c \
                'SELECT bool_and(n = m) FROM (SELECT count(*) AS n, max(serial) AS m FROM cases GROUP BY number_scope, number_period) c')" >&2
    done
fi

echo
echo "Intake benchmark: $CLIENTS clients, ${DURATION}s measured after ${WARMUP}s warm-up, $RUNS rounds"
echo "($(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%dT%H:%MZ); logs in $OUT)"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
"$BENCH" summary "$OUT"/*-[0-9]*.txt
exit $FAILED
