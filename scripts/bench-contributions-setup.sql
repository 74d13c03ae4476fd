-- Registry rows for the contribution-run benchmark (docs/BENCHMARKS.md, "Issue 13: contribution
-- run"): :n employees of region 140500 on PostgreSQL, 90% in service with a wage declared for
-- 2025 (3,000.00 to 29,999.00 a month, so some fall below the floor and some above the ceiling),
-- 10% retired; each with an opened personal account. Run on a database the store has migrated:
--   psql -v n=1000000 -f scripts/bench-contributions-setup.sql URL
INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel)
SELECT 'B' || lpad(g::text, 8, '0'), '1405021960' || lpad(g::text, 8, '0'), '参保人' || g,
       (1 + g % 2)::text, (DATE '1950-01-01' + (g % 18000))::text, '01', ''
FROM generate_series(1, :n) AS g;

INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, begndate, enddate, psn_insu_stas)
SELECT 'B' || lpad(g::text, 8, '0'), '310', CASE WHEN g % 10 = 0 THEN '1201' ELSE '1101' END, '140500',
       '单位' || (g % 1000), '2015-01-01', '', '1'
FROM generate_series(1, :n) AS g;

INSERT INTO employer (emp_no, emp_name, insu_admdvs)
SELECT 'EMP' || lpad(e::text, 4, '0'), '单位' || e, '140500' FROM generate_series(0, 999) AS e;

INSERT INTO payroll_base (psn_no, year, emp_no, wage_fen, source, recorded_at)
SELECT 'B' || lpad(g::text, 8, '0'), 2025, 'EMP' || lpad((g % 1000)::text, 4, '0'),
       300000 + (g::bigint * 7919) % 2700000, 'employer', '2025-01-15 09:00:00'
FROM generate_series(1, :n) AS g WHERE g % 10 <> 0;

INSERT INTO ledger_account (account_code, kind, owner, may_go_negative)
SELECT 'personal:B' || lpad(g::text, 8, '0'), 'personal', 'B' || lpad(g::text, 8, '0'), 0
FROM generate_series(1, :n) AS g;
INSERT INTO ledger_account (account_code, kind, owner, may_go_negative)
VALUES ('opening:registry', 'opening', 'registry', 1);

-- Opening balances of 100.00 each, as an import would bring them.
INSERT INTO ledger_transfer (ref_id, seq, debit_account, credit_account, amount_fen, kind)
SELECT 'open:B' || lpad(g::text, 8, '0'), 1, 'opening:registry', 'personal:B' || lpad(g::text, 8, '0'), 10000, 'opening'
FROM generate_series(1, :n) AS g;
INSERT INTO ledger_balance (account_code, shard, may_go_negative, balance_fen)
SELECT 'personal:B' || lpad(g::text, 8, '0'), 0, 0, 10000 FROM generate_series(1, :n) AS g;
INSERT INTO ledger_balance (account_code, shard, may_go_negative, balance_fen)
VALUES ('opening:registry', 0, 1, -10000::bigint * :n);
