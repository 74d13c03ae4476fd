#!/usr/bin/env bash
# Issue 15's speed target: the decision plus the log append ≤ 1 ms p99 at 2,000 calls/s.
# Runs, in one sitting: (1) the reference — pgbench committing one-row inserts at the same rate
# on the same PostgreSQL (the floor any durable log append there can reach), then (2) the
# store's open-loop log load (crates/store/benches/log_load.rs) on SQLite and PostgreSQL.
# Prints p50/p99 for each; docs/BENCHMARKS.md keeps the results.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${RATE:-2000}"
SECS="${SECS:-10}"
PGURL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB=yibao_bench_log_ref
work="$(mktemp -d)"
trap 'rm -rf "$work"; psql "$PGURL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT

psql "$PGURL" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
base="${PGURL%/*}"
psql "$base/$DB" -qc "CREATE TABLE outbox_ref (id BIGSERIAL PRIMARY KEY, ts_ms BIGINT, subject TEXT, digest BYTEA)"
cat > "$work/insert.sql" <<'SQL'
INSERT INTO outbox_ref (ts_ms, subject, digest) VALUES (1, 'psn:0123456789abcdef0123456789abcdef', '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
SQL
echo "== reference: pgbench, one-row insert per transaction, $RATE/s for $SECS s"
(cd "$work" && pgbench -n -f insert.sql -R "$RATE" -T "$SECS" -c 16 -j 2 -l "$base/$DB" >/dev/null)
# Per-transaction log: the third field is the latency in µs.
cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
    { v[NR] = $1 }
    END {
        p50 = v[int(NR * 0.50)]; p99 = v[int(NR * 0.99)]; p999 = v[int(NR * 0.999)];
        printf "pgbench  insert    calls %6d  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms\n", NR, p50 / 1000, p99 / 1000, p999 / 1000
    }'
echo "== yibao: decision + log append, open loop at $RATE/s for $SECS s"
YIBAO_REQUIRE_PG=1 cargo bench -q -p yibao-store --bench log_load -- --rate "$RATE" --secs "$SECS" "$@"
