#!/usr/bin/env bash
# Issue 13's department-feed target, for the tax bureau's payment file: PERSONS residents
# (default 1,000,000) with a resident relation, assessed for 2026 by the residents' run, then a
# payment file of ROWS rows (default every assessment with an individual part; 1 % of them paid
# late, in 2026, so they wait) imported and matched on a fresh PostgreSQL database, beside the
# reference of `psql \copy` of the same file into a plain table. Then a replay.
#
# Needs: cargo, psql, python3 and a PostgreSQL reachable at DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) whose user may create databases. The scratch
# database and folder are dropped however the script ends (KEEP_WORK=1 keeps the folder).
set -euo pipefail

PERSONS=${PERSONS:-1000000}
ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BASE_URL=${ADMIN_URL%/*}
DB=yibao_tax_bench_$$
URL="$BASE_URL/$DB"
WORK=$(mktemp -d)
cleanup() {
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

cargo build --release -p yibao >/dev/null
BIN=$PWD/target/release/yibao

python3 - "$WORK" "$PERSONS" <<'PY'
import sys
from datetime import date, timedelta
work, persons = sys.argv[1], int(sys.argv[2])
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
start = date(1940, 1, 1)
DAYS = 29000
AREAS = [f"1405{n:02d}" for n in range(1, 21)]
with open(f"{work}/persons.csv", "w") as p, open(f"{work}/insurance.csv", "w") as i:
    p.write("psn_no,certno,psn_name,gend,brdy,naty,tel\n")
    i.write("psn_no,insutype,psn_type,insuplc_admdvs,emp_name,begndate,enddate,psn_insu_stas\n")
    for n in range(persons):
        area = AREAS[n % 20]
        brdy = start + timedelta(days=(n // 20) % DAYS)
        seq = 2 * (n // (20 * DAYS)) + 1 + (n % 2) * 100
        body = f"{area}{brdy:%Y%m%d}{seq:03d}"
        c = (12 - sum(int(d) * w for d, w in zip(body, W)) % 11) % 11
        certno = body + ("X" if c == 10 else str(c))
        psn_no = f"140500{n + 1:014d}"
        p.write(f"{psn_no},{certno},居民{n},{'1' if seq % 2 else '2'},{brdy},01,13800000000\n")
        i.write(f'{psn_no},390,1501,140500,"",2025-01-01,"",1\n')  # "" is '' (not NULL) to COPY
PY

psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
"$BIN" registry check --db "$URL" --year 2026 >/dev/null   # migrates the empty database
psql -q "$URL" -c "\\copy person FROM '$WORK/persons.csv' CSV HEADER"
psql -q "$URL" -c "\\copy insurance FROM '$WORK/insurance.csv' CSV HEADER"
psql -q "$URL" -c "VACUUM ANALYZE"

# Runs a command with its output to $1 and prints its wall time in seconds.
timed() { local out=$1 t0 t1; shift; t0=$(date +%s.%N); "$@" >"$out"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

RUN=$(timed "$WORK/run.txt" "$BIN" contributions run --db "$URL" --year 2026 --residents --assessed-on 2025-09-01 --quiet --no-check)
echo "residents' run 2026 ($PERSONS relations): $RUN s: $(head -1 "$WORK/run.txt")"
psql -q "$URL" -c "VACUUM ANALYZE"

# The payment file: every assessment with an individual part, in the collection window, but
# one in a hundred paid late (March 2026).
psql -q "$URL" -c "\\copy (SELECT p.certno, a.insutype, a.period, \
    (a.psn_clct_fen / 100) || '.' || lpad((a.psn_clct_fen % 100)::text, 2, '0') AS amount, \
    'T' || a.psn_no AS elec_taxrpt_no, \
    CASE WHEN right(a.psn_no, 2) = '07' THEN '2026-03-15' ELSE '2025-10-15' END AS clct_date \
    FROM contribution_assessment a JOIN person p ON p.psn_no = a.psn_no \
    WHERE a.insutype = '390' AND a.period = '2026' AND a.clct_type = 'normal' AND a.psn_clct_fen > 0 \
    ORDER BY a.psn_no) TO '$WORK/tax.csv' CSV HEADER"
ROWS=$(($(wc -l <"$WORK/tax.csv") - 1))

psql -q "$URL" -c "CREATE TABLE tax_copy (certno TEXT, insutype TEXT, period TEXT, amount TEXT, elec_taxrpt_no TEXT, clct_date TEXT)"
REF=$(timed /dev/null psql -q "$URL" -c "\\copy tax_copy FROM '$WORK/tax.csv' CSV HEADER")
psql -q "$URL" -c "DROP TABLE tax_copy"
echo "reference: psql \\copy of tax.csv ($ROWS rows) into a plain table: $REF s"

TAX=$(timed "$WORK/tax.txt" "$BIN" registry import tax "$WORK/tax.csv" --db "$URL" --today 2026-04-01 --quiet --timings 2>"$WORK/tax.err")
echo "import tax.csv ($ROWS rows against $PERSONS persons): $TAX s: $(head -1 "$WORK/tax.txt"); $(cat "$WORK/tax.err")"
REPLAY=$(timed "$WORK/replay.txt" "$BIN" registry import tax "$WORK/tax.csv" --db "$URL" --today 2026-04-02 --quiet)
echo "replay of tax.csv: $REPLAY s: $(head -1 "$WORK/replay.txt")"
CHECK=$(timed "$WORK/check.txt" "$BIN" registry check --db "$URL" --year 2026 --today 2026-04-01)
echo "registry check 2026 ($PERSONS persons): $CHECK s: $(head -1 "$WORK/check.txt")"
psql -q -t "$URL" -c "SELECT 'rows: payments ' || (SELECT COUNT(*) FROM contribution_payment) || ', benefit periods ' || (SELECT COUNT(*) FROM benefit_period) || ', waiting ' || (SELECT COUNT(*) FROM benefit_period WHERE waiting_months > 0)"
