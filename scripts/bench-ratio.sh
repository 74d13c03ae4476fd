#!/usr/bin/env bash
# Issue 11's speed targets, measured as ratios in one run on one machine:
#
#   1. pgbench (TPC-B-like, 16 clients, prepared statements) on a scratch database: the
#      PostgreSQL's own transactions per second on this machine;
#   2. the demo city on a fresh PostgreSQL database and on SQLite, each served by `yibao serve`
#      and driven by a closed-loop, saturating `yibao load` of outpatient chains
#      (2201→2203→2204 of 10 lines→2206→2207): requests per second;
#   3. an open-loop `yibao load --rate` at half of each database's saturation chain rate:
#      2207 p99, counted from each chain's intended start.
#
# It prints PG req/s ÷ pgbench TPS (target ≥ 2.0), SQLite req/s ÷ PG req/s (target ≥ 1.0) and
# the 2207 p99 at half saturation (target ≤ 20 ms), then drops its scratch databases and stops
# its servers, however it ends.
#
# Needs: cargo, psql, pgbench, jq, and a PostgreSQL reachable at DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres) whose user may create databases.
# Settings (environment): PERSONS (100000), DURATION (10s per load run), CONCURRENCY (32
# closed-loop clients), PGBENCH_SECONDS (10), PGBENCH_SCALE (10), PORT_PG (18611),
# PORT_SQLITE (18612), KEEP_WORK=1 to keep the folder with the JSON summaries and logs.

set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PERSONS=${PERSONS:-100000}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-10}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
PORT_PG=${PORT_PG:-18611}
PORT_SQLITE=${PORT_SQLITE:-18612}
KEEP_WORK=${KEEP_WORK:-0}

for tool in cargo psql pgbench jq awk; do
    command -v "$tool" >/dev/null || { echo "bench-ratio: $tool is needed" >&2; exit 2; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ratio.XXXXXX")
# Scratch databases named after this process, so that two runs never share one.
pgbench_db="bench_ratio_pgbench_$$"
yibao_db="bench_ratio_yibao_$$"
# DATABASE_URL with another database name (any ?query is kept).
url_path=${DATABASE_URL%%\?*}
url_query=${DATABASE_URL#"$url_path"}
url_base=${url_path%/*}
db_url() { echo "$url_base/$1$url_query"; }
pg_url=$(db_url "$yibao_db")
sqlite_url="sqlite://$work/bench.db?mode=rwc"

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $pgbench_db WITH (FORCE)" >/dev/null 2>&1 || true
    psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $yibao_db WITH (FORCE)" >/dev/null 2>&1 || true
    if [[ "$KEEP_WORK" == 1 ]]; then
        echo "bench-ratio: summaries and logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== $(date -u +%H:%M:%S) (load average $(cut -d" " -f1 /proc/loadavg)) $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# a ÷ b with two decimals (benchmark ratios, never money).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

load_before=$(loadavg)
started=$(date -u +"%Y-%m-%d %H:%M")

say "building the release binary"
(cd "$root" && cargo build --release -p yibao --quiet)
yibao="${CARGO_TARGET_DIR:-$root/target}/release/yibao"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

say "pgbench: scale $PGBENCH_SCALE on $pgbench_db, 16 clients, ${PGBENCH_SECONDS}s, prepared"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $pgbench_db" >/dev/null
pgbench -i -q -s "$PGBENCH_SCALE" "$(db_url "$pgbench_db")" >"$work/pgbench-init.log" 2>&1
pgbench -c 16 -j 2 -T "$PGBENCH_SECONDS" -M prepared "$(db_url "$pgbench_db")" >"$work/pgbench.log" 2>&1
pgbench_tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/pgbench.log")
psql -q "$DATABASE_URL" -c "DROP DATABASE $pgbench_db WITH (FORCE)" >/dev/null
say "pgbench: $pgbench_tps TPS"

say "demo city of $PERSONS persons on PostgreSQL ($yibao_db)"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $yibao_db" >/dev/null
"$yibao" demo --setup-only --db "$pg_url" --persons "$PERSONS" \
    --sample-out "$work/pg-sample.json" >"$work/pg-setup.log" 2>&1
say "the same city on SQLite"
"$yibao" demo --setup-only --db "$sqlite_url" --persons "$PERSONS" \
    --sample-out "$work/sqlite-sample.json" >"$work/sqlite-setup.log" 2>&1

# The quiet machine's PostgreSQL runs with autovacuum off: without this, the dead row versions
# of each run slow the next one down.
vacuum() {
    if [[ "$1" == pg ]]; then
        psql -q "$pg_url" -c "VACUUM ANALYZE" >/dev/null
    fi
}

start_server() { # name url port
    "$yibao" serve --db "$2" --addr "127.0.0.1:$3" >"$work/$1-serve.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/$1-serve.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench-ratio: yibao serve on port $3 did not start" >&2
    exit 1
}

run_load() { # name port out [extra arguments]
    local name=$1 port=$2 out=$3
    shift 3
    # The load's exit status says whether an answer broke an identity: the JSON carries it too.
    "$yibao" load --addr "127.0.0.1:$port" --sample "$work/$name-sample.json" --mix outpatient \
        --lines 10 --no-chaos --duration "$DURATION" "$@" >"$out" 2>"$out.err" || true
    jq -e .requests "$out" >/dev/null || { cat "$out.err" >&2; exit 1; }
}

declare -A req_s settl_s p99_closed errors violations half p99_open p999_open achieved late queued
for name in pg sqlite; do
    if [[ "$name" == pg ]]; then url=$pg_url port=$PORT_PG; else url=$sqlite_url port=$PORT_SQLITE; fi
    start_server "$name" "$url" "$port"
    vacuum "$name"
    say "$name: closed loop, $CONCURRENCY clients, $DURATION"
    run_load "$name" "$port" "$work/$name-closed.json" --concurrency "$CONCURRENCY"
    closed="$work/$name-closed.json"
    req_s[$name]=$(jq -r .requests_per_s "$closed")
    settl_s[$name]=$(jq -r .outpatient_settlements_per_s "$closed")
    p99_closed[$name]=$(jq -r '.latency["2207"].p99_ms // "n/a"' "$closed")
    errors[$name]=$(jq -r '[.errors[]] | add // 0' "$closed")
    violations[$name]=$(jq -r .identity_violations "$closed")
    # Half of the saturation chain rate (one settlement per chain), at least one a second.
    half[$name]=$(awk -v s="${settl_s[$name]}" 'BEGIN { h = int(s / 2); print (h < 1 ? 1 : h) }')
    vacuum "$name"
    say "$name: open loop at ${half[$name]} chains/s, $DURATION"
    run_load "$name" "$port" "$work/$name-open.json" --rate "${half[$name]}"
    open="$work/$name-open.json"
    p99_open[$name]=$(jq -r '.latency["2207"].p99_ms // "n/a"' "$open")
    p999_open[$name]=$(jq -r '.latency["2207"].p999_ms // "n/a"' "$open")
    achieved[$name]=$(jq -r .open_loop.achieved_chains_per_s "$open")
    late[$name]=$(jq -r .open_loop.late_starts "$open")
    queued[$name]=$(jq -r .open_loop.queued_starts "$open")
    errors[$name]=$(( errors[$name] + $(jq -r '[.errors[]] | add // 0' "$open") ))
    violations[$name]=$(( violations[$name] + $(jq -r .identity_violations "$open") ))
    stop_server
done

verdict() { # value op target
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
        if (v == "n/a") { print "no figure"; exit }
        ok = (op == ">=") ? (v >= t) : (v <= t)
        print (ok ? "met" : "NOT met")
    }'
}
pg_ratio=$(ratio "${req_s[pg]}" "$pgbench_tps")
sqlite_ratio=$(ratio "${req_s[sqlite]}" "${req_s[pg]}")

cat <<EOF

==================== issue 11: ratio and open loop ====================
started $started UTC, commit $commit, $(nproc) cores
load average before $load_before, after $(loadavg)
pgbench TPC-B-like, scale $PGBENCH_SCALE, 16 clients, ${PGBENCH_SECONDS}s, prepared: $pgbench_tps TPS
closed loop, outpatient chains of 10 lines, $CONCURRENCY clients, $DURATION, $PERSONS persons:
  PostgreSQL  ${req_s[pg]} req/s  ${settl_s[pg]} chains/s  2207 p99 ${p99_closed[pg]} ms
  SQLite      ${req_s[sqlite]} req/s  ${settl_s[sqlite]} chains/s  2207 p99 ${p99_closed[sqlite]} ms
PG req/s ÷ pgbench TPS      = $pg_ratio   (target ≥ 2.0: $(verdict "$pg_ratio" ">=" 2.0))
SQLite req/s ÷ PG req/s     = $sqlite_ratio   (target ≥ 1.0: $(verdict "$sqlite_ratio" ">=" 1.0))
open loop at half saturation, $DURATION (latency from each chain's intended start):
  PostgreSQL  ${half[pg]} chains/s target, ${achieved[pg]} achieved, 2207 p99 ${p99_open[pg]} ms, p99.9 ${p999_open[pg]} ms, late starts ${late[pg]}, queued ${queued[pg]}  (target p99 ≤ 20 ms: $(verdict "${p99_open[pg]}" "<=" 20))
  SQLite      ${half[sqlite]} chains/s target, ${achieved[sqlite]} achieved, 2207 p99 ${p99_open[sqlite]} ms, p99.9 ${p999_open[sqlite]} ms, late starts ${late[sqlite]}, queued ${queued[sqlite]}  (target p99 ≤ 20 ms: $(verdict "${p99_open[sqlite]}" "<=" 20))
errors: PostgreSQL ${errors[pg]}, SQLite ${errors[sqlite]}; identity violations: PostgreSQL ${violations[pg]}, SQLite ${violations[sqlite]}
=======================================================================
EOF
