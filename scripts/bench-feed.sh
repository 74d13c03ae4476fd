#!/usr/bin/env bash
# Issue 13's feed import target, measured in one sitting on one machine: a police population
# file of ROWS rows (default 1,000,000; 90% name persons already in the registry, 10% are new)
# imported and matched against a registry of PERSONS persons (default 1,000,000) on a fresh
# PostgreSQL database, beside the reference of `psql \copy` of the same file into a plain
# table. Then the next day's full file (1% of the persons moved) and a replay of the first.
#
# Needs: cargo, psql, python3 and a PostgreSQL reachable at DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) whose user may create databases. The scratch
# database and folder are dropped however the script ends (KEEP_WORK=1 keeps the folder).
set -euo pipefail

ROWS=${ROWS:-1000000}
PERSONS=${PERSONS:-1000000}
ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BASE_URL=${ADMIN_URL%/*}
DB=yibao_feed_bench_$$
URL="$BASE_URL/$DB"
WORK=$(mktemp -d)
cleanup() {
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

cargo build --release -p yibao >/dev/null
BIN=$PWD/target/release/yibao

python3 - "$WORK" "$PERSONS" "$ROWS" <<'PY'
import sys
work, persons, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
from datetime import date, timedelta
start = date(1940, 1, 1)
DAYS = 29000
AREAS = [f"1405{n:02d}" for n in range(1, 21)]
def person(i):
    area = AREAS[i % 20]
    brdy = start + timedelta(days=(i // 20) % DAYS)
    seq = 2 * (i // (20 * DAYS)) + 1 + (i % 2) * 100
    body = f"{area}{brdy:%Y%m%d}{seq:03d}"
    c = (12 - sum(int(d) * w for d, w in zip(body, W)) % 11) % 11
    return body + ("X" if c == 10 else str(c)), brdy.isoformat(), "1" if seq % 2 else "2"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
def name(i):
    g = len(GIVEN)
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % g] + GIVEN[(i // (20 * g)) % g]
new_from = persons
first = persons - (rows - rows // 10)  # 90% of the file are registry persons
with open(f"{work}/persons.csv", "w") as f:
    f.write("psn_no,certno,psn_name,gend,brdy,naty,tel\n")
    for i in range(persons):
        certno, brdy, gend = person(i)
        f.write(f"140500{i + 1:014d},{certno},{name(i)},{gend},{brdy},01,13800000000\n")
def police(path, moved_every):
    with open(path, "w") as f:
        f.write("certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n")
        for j in range(rows):
            i = first + j
            certno, brdy, gend = person(i)
            hh = j // 3
            if moved_every and j % moved_every == 0:
                hh += 10_000_000
            rel = ("02", "10", "20")[j % 3]
            f.write(f"{certno},{name(i)},{gend},{brdy},140500,H{hh:08d},{rel}\n")
police(f"{work}/police-1.csv", 0)
police(f"{work}/police-2.csv", 100)
PY

psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
"$BIN" registry check --db "$URL" --year 2026 >/dev/null   # migrates the empty database
psql -q "$URL" -c "\\copy person FROM '$WORK/persons.csv' CSV HEADER"
psql -q "$URL" -c "VACUUM ANALYZE"

# Runs a command with its output to $1 and prints its wall time in seconds.
timed() { local out=$1 t0 t1; shift; t0=$(date +%s.%N); "$@" >"$out"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

psql -q "$URL" -c "CREATE TABLE police_copy (certno TEXT, psn_name TEXT, gend TEXT, brdy TEXT, admdvs TEXT, hh_id TEXT, hh_rel TEXT)"
REF=$(timed /dev/null psql -q "$URL" -c "\\copy police_copy FROM '$WORK/police-1.csv' CSV HEADER")
psql -q "$URL" -c "DROP TABLE police_copy"
echo "reference: psql \\copy of police-1.csv into a plain table: $REF s"

FIRST=$(timed "$WORK/first.txt" "$BIN" registry import police "$WORK/police-1.csv" --db "$URL" --today 2026-03-01 --quiet --timings 2>"$WORK/first.err")
echo "import police-1.csv ($ROWS rows, $PERSONS persons): $FIRST s: $(head -1 "$WORK/first.txt"); $(cat "$WORK/first.err")"
psql -q "$URL" -c "VACUUM ANALYZE"
SECOND=$(timed "$WORK/second.txt" "$BIN" registry import police "$WORK/police-2.csv" --db "$URL" --today 2026-03-02 --quiet --timings 2>"$WORK/second.err")
echo "import police-2.csv (next day, 1% moved): $SECOND s: $(head -1 "$WORK/second.txt"); $(cat "$WORK/second.err")"
REPLAY=$(timed "$WORK/replay.txt" "$BIN" registry import police "$WORK/police-1.csv" --db "$URL" --today 2026-03-03 --quiet)
echo "replay of police-1.csv: $REPLAY s: $(head -1 "$WORK/replay.txt")"
psql -q -t "$URL" -c "SELECT 'rows: person ' || (SELECT COUNT(*) FROM person) || ', events ' || (SELECT COUNT(*) FROM registry_event) || ', segments ' || (SELECT COUNT(*) FROM household_member) || ', source records ' || (SELECT COUNT(*) FROM registry_source_record)"
