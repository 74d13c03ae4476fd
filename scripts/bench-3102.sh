#!/usr/bin/env bash
# Issue 12's 3102 target (a 50-line bill through 3102 事中分析, p99 ≤ 5 ms at the server),
# measured on the demo city:
#
#   1. a fresh 100,000-person city on PostgreSQL (and on SQLite with SQLITE=1), with a
#      5,000-person load sample so that a person sees a visit or two a day;
#   2. RUNS open-loop runs of `yibao load` (half the chains one 3102 of 50 orders, 5 % of them
#      with a planted violation, half an outpatient chain of 10 lines), each against a freshly
#      started `yibao serve` so that its latency book holds that run only;
#   3. for each run: the server's own time per transaction (`yibao serve --stats-every-ms`,
#      from the handler's start to the built answer) beside the load generator's (from the
#      moment the request was due to its answer, over loopback), and PostgreSQL's checkpoint
#      counters before and after, since a checkpoint is the first suspect for a tail.
#
# Needs: cargo, psql, jq, and a PostgreSQL reachable at DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) whose user may create databases.
# Settings (environment): PERSONS (100000), SAMPLE_PERSONS (5000), RUNS (3), DURATION (20s),
# RATE (100 chains/s), VACUUM_BETWEEN (0; 1 runs VACUUM ANALYZE before each run, as autovacuum
# would on a production server), SQLITE (0), PORT (18631), KEEP_WORK=1 keeps the logs.

set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PERSONS=${PERSONS:-100000}
SAMPLE_PERSONS=${SAMPLE_PERSONS:-5000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-20s}
RATE=${RATE:-100}
VACUUM_BETWEEN=${VACUUM_BETWEEN:-0}
SQLITE=${SQLITE:-0}
PORT=${PORT:-18631}
KEEP_WORK=${KEEP_WORK:-0}

for tool in cargo psql jq awk; do
    command -v "$tool" >/dev/null || { echo "bench-3102: $tool is needed" >&2; exit 2; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-3102.XXXXXX")
yibao_db="bench_3102_$$"
url_path=${DATABASE_URL%%\?*}
url_query=${DATABASE_URL#"$url_path"}
url_base=${url_path%/*}
pg_url="$url_base/$yibao_db$url_query"
if [[ "$SQLITE" == 1 ]]; then
    db_url="sqlite://$work/bench.db?mode=rwc"
else
    db_url=$pg_url
fi

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $yibao_db WITH (FORCE)" >/dev/null 2>&1 || true
    if [[ "$KEEP_WORK" == 1 ]]; then
        echo "bench-3102: logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== $(date -u +%H:%M:%S) (load average $(cut -d" " -f1 /proc/loadavg)) $*" >&2; }
checkpoints() {
    psql -Atq "$DATABASE_URL" -c "SELECT checkpoints_timed + checkpoints_req, buffers_backend FROM pg_stat_bgwriter" | tr '|' ' '
}

say "building the release binary"
(cd "$root" && cargo build --release -q -p yibao)
yibao="$root/target/release/yibao"

if [[ "$SQLITE" != 1 ]]; then
    psql -q "$DATABASE_URL" -c "CREATE DATABASE $yibao_db" >/dev/null
fi
say "demo city: $PERSONS persons, sample of $SAMPLE_PERSONS"
"$yibao" demo --setup-only --db "$db_url" --persons "$PERSONS" \
    --sample-persons "$SAMPLE_PERSONS" --sample-out "$work/sample.json" >"$work/demo.log"
if [[ "$SQLITE" != 1 ]]; then
    psql -q "$pg_url" -c "VACUUM ANALYZE" >/dev/null
fi

printf '%-4s %-9s %-30s %-30s %-14s %s\n' run load "server 3102 p50/p99/p99.9 ms" \
    "client 3102 p50/p99/p99.9 ms" "server 2207 p99" "checkpoints, backend writes"
for run in $(seq 1 "$RUNS"); do
    if [[ "$VACUUM_BETWEEN" == 1 && "$SQLITE" != 1 && "$run" -gt 1 ]]; then
        psql -q "$pg_url" -c "VACUUM ANALYZE" >/dev/null
    fi
    "$yibao" serve --db "$db_url" --addr "127.0.0.1:$PORT" --stats-every-ms 1000 \
        >"$work/serve-$run.log" 2>"$work/serve-$run.err" &
    server_pid=$!
    for _ in $(seq 1 100); do
        grep -q "serving" "$work/serve-$run.err" 2>/dev/null && break
        sleep 0.1
    done
    before=$( [[ "$SQLITE" == 1 ]] && echo "- -" || checkpoints)
    load_avg=$(cut -d' ' -f1 /proc/loadavg)
    "$yibao" load --addr "127.0.0.1:$PORT" --sample "$work/sample.json" --mix outpatient \
        --lines 10 --no-chaos --plant default --audit3102 500 --audit-lines 50 \
        --duration "$DURATION" --rate "$RATE" >"$work/load-$run.json" 2>"$work/load-$run.err"
    sleep 1.2
    after=$( [[ "$SQLITE" == 1 ]] && echo "- -" || checkpoints)
    stop_server
    server_line() { grep "^latency infno=$1 " "$work/serve-$run.log" | tail -1; }
    field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
    s3102=$(server_line 3102)
    s2207=$(server_line 2207)
    client=$(jq -r '.latency["3102"] | "\(.p50_ms)/\(.p99_ms)/\(.p999_ms)"' "$work/load-$run.json")
    printf '%-4s %-9s %-30s %-30s %-14s %s\n' "$run" "$load_avg" \
        "$(echo "$s3102" | field p50_ms)/$(echo "$s3102" | field p99_ms)/$(echo "$s3102" | field p999_ms)" \
        "$client" "$(echo "$s2207" | field p99_ms)" "$before → $after"
done
