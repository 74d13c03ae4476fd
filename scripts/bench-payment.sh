#!/usr/bin/env bash
# Issue 14's speed target: the month's payment run for a province-sized month — SETTLEMENTS
# settlements (default 1,000,000), one in ten an inpatient stay with its settlement list priced
# by DRG points (100,000 cases), across 1,000 institutions — prepared and approved by
# `yibao month-end` on a fresh PostgreSQL database, then the fund statement. The reference, in
# the same sitting, is the run's own floor: one SQL aggregate of the same settlements' ledger
# transfers per institution and payer, in psql.
#
# The month is written with SQL (generate_series) rather than through the interface: the run
# reads stored settlements, lists and transfers, whoever wrote them. Amounts satisfy every CHECK
# of the schema; balances are written from the transfers.
#
# Needs: cargo, psql, bc and a PostgreSQL reachable at DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres). The scratch database is dropped however the
# script ends (KEEP_DB=1 keeps it).
set -euo pipefail

N=${SETTLEMENTS:-1000000}
ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BASE_URL=${ADMIN_URL%/*}
DB=yibao_pay_bench_$$
URL="$BASE_URL/$DB"
cleanup() {
    if [ "${KEEP_DB:-0}" = 1 ]; then echo "kept $URL"; return; fi
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cargo build --release -p yibao >/dev/null
BIN=$PWD/target/release/yibao
timed() { local out=$1 t0 t1; shift; t0=$(date +%s.%N); "$@" >"$out"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
"$BIN" funds report --db "$URL" --month 2026-01 >/dev/null   # migrates the empty database
for u in fin-a fin-b; do
    YIBAO_STAFF_PASSWORD=bench-password-1 "$BIN" staff add --db "$URL" --username $u --role finance --admdvs 140500 >/dev/null
done

T0=$(date +%s.%N)
psql -q -v ON_ERROR_STOP=1 "$URL" <<SQL
INSERT INTO institution (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, hi_setl_lv, admdvs, status, access_key, secret_key) SELECT 'H140500' || lpad(n::text, 5, '0'), '机构' || n,
    CASE WHEN n <= 300 THEN '1' ELSE '2' END, CASE WHEN n <= 300 THEN (1 + n % 3)::text ELSE '' END,
    '2', '140500', '1', 'AK' || n, 'SK' || n FROM generate_series(1, 1000) n;
INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) SELECT 'P' || n, 'C' || n, '人' || n, (1 + n % 2)::text, '1970-01-01', '01', ''
    FROM generate_series(1, 200000) n;
INSERT INTO ledger_account (account_code, kind, owner, may_go_negative) SELECT 'inst:' || fixmedins_code, 'institution', fixmedins_code, 1 FROM institution;
INSERT INTO ledger_account (account_code, kind, owner, may_go_negative) VALUES ('fund:310100:140500', 'fund', '310100:140500', 1),
    ('fund:390100:140500', 'fund', '390100:140500', 1), ('cash:patients', 'cash', 'patients', 1);
CREATE TEMP TABLE b AS SELECT i,
    'P' || (1 + i % 200000) AS psn,
    CASE WHEN i % 10 = 0 THEN 'H140500' || lpad((1 + (i / 10) % 300)::text, 5, '0')
         ELSE 'H140500' || lpad((1 + i % 1000)::text, 5, '0') END AS inst,
    i % 10 = 0 AS ipt,
    CASE WHEN i % 2 = 0 THEN '310' ELSE '390' END AS insutype,
    '2026-01-' || lpad((1 + i % 28)::text, 2, '0') AS d,
    CASE WHEN i % 10 = 0 THEN 500000 + (i % 97) * 3000 ELSE 10000 + (i % 50) * 100 END AS fee
    FROM generate_series(1, $N) i;
INSERT INTO visit (mdtrt_id, fixmedins_code, psn_no, insutype, kind, status, med_type, ipt_otp_no,
    begntime, endtime, mdtrt_cert_type, mdtrt_cert_no, dept_code, dept_name, atddr_no, dr_name, dise_codg,
    dise_name, main_cond_dscr, dscg_way, mdtrtarea_admvs, n_fee_lines, created_at) SELECT 'V' || i, inst, psn, insutype, CASE WHEN ipt THEN 'ipt' ELSE 'otp' END,
    'settled', CASE WHEN ipt THEN '21' ELSE '11' END, 'N' || i, d || ' 08:00:00', d || ' 17:00:00',
    '02', 'C', 'A03', '内科', 'D1', '医生', 'I10.x00', '高血压', '', '1', '140500', 1, d || ' 08:00:00' FROM b;
INSERT INTO settlement (setl_id, setl_sign, mdtrt_id, psn_no, fixmedins_code, medins_setl_id, infno,
    setl_time, setl_date, year, insutype, psn_type, med_type, clr_type, insuplc_admdvs, mdtrtarea_admvs,
    hi_setl_lv, acct_used_flag, chrg_bchno, invono, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay,
    preselfpay_amt, inscp_scp_amt, act_pay_dedc, pool_prop_selfpay_ppm, hifp_pay, cvlserv_pay, hifes_pay,
    hifmi_pay, hifob_pay, maf_pay, oth_pay, fund_pay_sumamt, psn_part_amt, acct_pay, acct_mulaid_pay,
    psn_cash_pay, hosp_part_amt, balc, ytd_inpatient_admissions, ytd_hifp_inpatient, ytd_hifp_outpatient,
    ytd_outpatient_deductible, ytd_hifob, ytd_hifmi_base, ytd_hifmi, ytd_maf, ytd_maf_deductible, setl_proc_info)
SELECT 'S' || i, 1, 'V' || i, psn, inst, 'M' || i, CASE WHEN ipt THEN '2304' ELSE '2207' END,
    d || ' 16:00:00', d, 2026, insutype, '1101', CASE WHEN ipt THEN '21' ELSE '11' END,
    CASE WHEN ipt THEN '21' ELSE '11' END, '140500', '140500', '2', '0', '', '', fee, 0, 0, 0, fee, 0, 0,
    fee * 6 / 10, 0, 0, 0, 0, 0, 0, fee * 6 / 10, fee - fee * 6 / 10, 0, 0, fee - fee * 6 / 10, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, '' FROM b;
INSERT INTO ledger_transfer (ref_id, seq, debit_account, credit_account, amount_fen, kind, booked_on) SELECT 'S' || i, 1, 'fund:' || insutype || '100:140500', 'inst:' || inst,
    fee * 6 / 10, insutype || '100', d FROM b;
INSERT INTO ledger_transfer (ref_id, seq, debit_account, credit_account, amount_fen, kind, booked_on) SELECT 'S' || i, 2, 'cash:patients', 'inst:' || inst,
    fee - fee * 6 / 10, 'cash', d FROM b;
INSERT INTO ledger_balance (account_code, shard, may_go_negative, balance_fen) SELECT account, 0, 1, SUM(net) FROM (
    SELECT credit_account AS account, amount_fen AS net FROM ledger_transfer
    UNION ALL SELECT debit_account, -amount_fen FROM ledger_transfer) x GROUP BY account;
INSERT INTO setl_list (setl_list_id, fixmedins_code, setl_id, version, mdtrt_id, psn_no, msgid, uploaded_at,
    medcasno, gend, ntly, prfs, adm_way, trt_type, adm_time, adm_caty, dscg_time, dscg_caty, dscg_way, los_days,
    vent_used_dura, setl_begn_date, setl_end_date, hi_paymtd, bill_code, bill_no, biz_sn, chfpdr_code,
    medins_fill_dept, medins_fill_psn)
SELECT 'L' || i, inst, 'S' || i, 1, 'V' || i, psn, 'LM' || i, d || ' 18:00:00', 'MC' || i, '1', 'CHN',
    '90', '1', '1', '', 'A03', '', 'A03', '1', 1 + i % 15, '', d, d, '1', '', '', '', 'D1', '病案科', '填报'
    FROM b WHERE ipt;
INSERT INTO setl_list_group (setl_list_id, scheme, status, mdc, adrg, drg, drg_name, cc_level, trace) SELECT 'L' || i, 'CHS-DRG 1.1', 'grouped',
    chr(65 + (i / 10) % 20), chr(65 + (i / 10) % 20) || 'B1',
    chr(65 + (i / 10) % 20) || 'B1' || ((i / 200) % 5 + 1)::text, '', 'none', '' FROM b WHERE ipt;
INSERT INTO setl_list_qc (setl_list_id, passed, checked_at) SELECT 'L' || i, 1, d || ' 18:00:00' FROM b WHERE ipt;
VACUUM ANALYZE;
SQL
T1=$(date +%s.%N)
echo "month written in $(echo "$T1 - $T0" | bc) s: $N settlements, $(psql -tAq "$URL" -c "SELECT COUNT(*) FROM setl_list") lists"

REF=$(timed /dev/null psql -q "$URL" -c "SELECT s.fixmedins_code, s.insuplc_admdvs, t.debit_account,
    SUM(t.amount_fen), COUNT(*) FROM settlement s JOIN ledger_transfer t ON t.ref_id = s.setl_id
    WHERE s.setl_date <= '2026-01-31' GROUP BY 1, 2, 3")
echo "reference (psql, the same settlements' transfers aggregated once): $REF s"

OUT=$(mktemp)
RUN=$(timed "$OUT" "$BIN" month-end --db "$URL" --month 2026-01 --by fin-a --approved-by fin-b --json)
echo "yibao month-end (prepare + approve + statement): $RUN s"
psql -tAq "$URL" -c "SELECT 'run: ' || n_settlements || ' settlements, ' || n_cases || ' cases, ' || n_held || ' held, paid ' || total_fen FROM payment_run"
AGAIN=$(timed /dev/null "$BIN" month-end --db "$URL" --month 2026-01 --by fin-a --approved-by fin-b --quiet)
echo "again (nothing paid twice): $AGAIN s"
echo "ratio run / reference: $(echo "scale=1; $RUN / $REF" | bc)"
rm -f "$OUT"
