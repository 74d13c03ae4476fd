// The ledger check: the books balance and every settlement, reversal and accumulator agrees
// with its transfers.
// Compiled once per backend; see lib.rs.

async fn problems(
    pool: &Pool,
    report: &mut LedgerReport,
    what: &str,
    sql: &str,
) -> Result<(), StoreError> {
    for r in sqlx::query(sql).fetch_all(pool).await? {
        let key: String = r.try_get(0)?;
        report.problems.push(format!("{what}: {key}"));
    }
    Ok(())
}

pub(crate) async fn check_ledger(pool: &Pool) -> Result<LedgerReport, StoreError> {
    let mut report = LedgerReport::default();
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM ledger_account), (SELECT COUNT(*) FROM ledger_transfer), \
         (SELECT COUNT(*) FROM settlement WHERE setl_sign = 1), (SELECT COUNT(*) FROM settlement WHERE setl_sign = -1), \
         (SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance), (SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_transfer)",
    )
    .fetch_one(pool)
    .await?;
    report.n_accounts = r.try_get(0)?;
    report.n_transfers = r.try_get(1)?;
    report.n_settlements = r.try_get(2)?;
    report.n_reversals = r.try_get(3)?;
    report.balance_sum_fen = r.try_get(4)?;
    report.transferred_fen = r.try_get(5)?;
    if report.balance_sum_fen != 0 {
        report.problems.push(format!(
            "the balances sum to {} fen, not 0",
            report.balance_sum_fen
        ));
    }
    // Every account's balance equals its credits minus its debits.
    problems(
        pool,
        &mut report,
        "balance differs from its transfers",
        "SELECT a.account_code FROM ledger_account a \
         LEFT JOIN (SELECT account_code, SUM(balance_fen) AS b FROM ledger_balance GROUP BY account_code) b ON b.account_code = a.account_code \
         LEFT JOIN (SELECT credit_account AS account_code, SUM(amount_fen) AS c FROM ledger_transfer GROUP BY credit_account) c ON c.account_code = a.account_code \
         LEFT JOIN (SELECT debit_account AS account_code, SUM(amount_fen) AS d FROM ledger_transfer GROUP BY debit_account) d ON d.account_code = a.account_code \
         WHERE COALESCE(b.b, 0) <> COALESCE(c.c, 0) - COALESCE(d.d, 0) ORDER BY a.account_code LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "balance row of an unknown account",
        "SELECT DISTINCT b.account_code FROM ledger_balance b LEFT JOIN ledger_account a ON a.account_code = b.account_code \
         WHERE a.account_code IS NULL LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "negative account that must not go negative",
        "SELECT a.account_code FROM ledger_account a JOIN ledger_balance b ON b.account_code = a.account_code \
         WHERE a.may_go_negative = 0 GROUP BY a.account_code HAVING SUM(b.balance_fen) < 0 LIMIT 20",
    )
    .await?;
    // Every settlement's identities (section 6), restated here whatever the CHECKs say.
    problems(
        pool,
        &mut report,
        "settlement identities broken",
        "SELECT setl_id FROM settlement WHERE \
         medfee_sumamt <> fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt \
         OR medfee_sumamt <> fund_pay_sumamt + psn_part_amt + hosp_part_amt \
         OR fund_pay_sumamt <> hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay \
         OR psn_part_amt <> acct_pay + psn_cash_pay \
         OR setl_sign * (acct_pay - acct_mulaid_pay) < 0 \
         OR setl_sign * (inscp_scp_amt - hifp_pay - hifob_pay - hifmi_pay - maf_pay) < 0 LIMIT 20",
    )
    .await?;
    // Every settlement's transfers carry exactly its payer buckets into its institution.
    problems(
        pool,
        &mut report,
        "settlement transfers disagree with its amounts",
        "SELECT s.setl_id FROM settlement s LEFT JOIN (SELECT ref_id, \
           SUM(CASE WHEN kind = 'cash' THEN amount_fen ELSE 0 END) AS cash, \
           SUM(CASE WHEN kind = 'acct' OR kind = 'mulaid' THEN amount_fen ELSE 0 END) AS acct, \
           SUM(CASE WHEN kind = 'mulaid' THEN amount_fen ELSE 0 END) AS mulaid, \
           SUM(CASE WHEN kind NOT IN ('cash', 'acct', 'mulaid') THEN amount_fen ELSE 0 END) AS fund, \
           SUM(CASE WHEN credit_account LIKE 'inst:%' THEN amount_fen ELSE 0 END) AS to_inst, \
           SUM(CASE WHEN debit_account LIKE 'inst:%' THEN amount_fen ELSE 0 END) AS from_inst \
           FROM ledger_transfer GROUP BY ref_id) t ON t.ref_id = s.setl_id \
         WHERE COALESCE(t.cash, 0) <> s.setl_sign * s.psn_cash_pay OR COALESCE(t.acct, 0) <> s.setl_sign * s.acct_pay \
         OR COALESCE(t.mulaid, 0) <> s.setl_sign * s.acct_mulaid_pay OR COALESCE(t.fund, 0) <> s.setl_sign * s.fund_pay_sumamt \
         OR (s.setl_sign = 1 AND (COALESCE(t.to_inst, 0) <> s.medfee_sumamt - s.hosp_part_amt OR COALESCE(t.from_inst, 0) <> 0)) \
         OR (s.setl_sign = -1 AND (COALESCE(t.from_inst, 0) <> s.hosp_part_amt - s.medfee_sumamt OR COALESCE(t.to_inst, 0) <> 0)) \
         LIMIT 20",
    )
    .await?;
    // Every reversal is the exact negation of its original, which is marked refunded: every
    // amount and accumulator negated, the ratio kept (`balc` is a balance, not an amount moved).
    let negated = SetlAmounts::FIELDS
        .iter()
        .filter(|&&(name, _)| name != "balc")
        .map(|&(name, unit)| {
            let column = settlement_amount_column(name, unit);
            match unit {
                SetlUnit::Fen => format!("r.{column} <> -o.{column}"),
                SetlUnit::Ppm => format!("r.{column} <> o.{column}"),
            }
        })
        .chain(
            SETTLEMENT_YTD_COLUMNS
                .iter()
                .map(|column| format!("r.{column} <> -o.{column}")),
        )
        .collect::<Vec<_>>()
        .join(" OR ");
    problems(
        pool,
        &mut report,
        "reversal is not the exact negation of its original",
        &format!(
            "SELECT r.setl_id FROM settlement r JOIN settlement o ON o.setl_id = r.orig_setl_id WHERE r.setl_sign = -1 AND ( \
             o.setl_sign <> 1 OR o.refd_setl_flag <> 1 OR r.psn_no <> o.psn_no OR r.mdtrt_id <> o.mdtrt_id OR r.fixmedins_code <> o.fixmedins_code \
             OR {negated}) LIMIT 20"
        ),
    )
    .await?;
    problems(
        pool,
        &mut report,
        "reversal transfers are not the original's swapped",
        "SELECT r.setl_id FROM settlement r JOIN ledger_transfer o ON o.ref_id = r.orig_setl_id \
         LEFT JOIN ledger_transfer t ON t.ref_id = r.setl_id AND t.seq = o.seq AND t.debit_account = o.credit_account \
           AND t.credit_account = o.debit_account AND t.amount_fen = o.amount_fen AND t.kind = o.kind \
         WHERE r.setl_sign = -1 AND t.ref_id IS NULL LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "refunded settlement without exactly one reversal",
        "SELECT o.setl_id FROM settlement o LEFT JOIN settlement r ON r.orig_setl_id = o.setl_id \
         WHERE o.setl_sign = 1 AND ((o.refd_setl_flag = 1) <> (r.setl_id IS NOT NULL)) LIMIT 20",
    )
    .await?;
    // The accumulators are exactly what was brought in (ytd_opening) plus what the settlements added.
    problems(
        pool,
        &mut report,
        "year-to-date accumulators differ from the settlements",
        "SELECT y.psn_no FROM ytd y LEFT JOIN (SELECT psn_no, year, SUM(ytd_inpatient_admissions) a, SUM(ytd_hifp_inpatient) b, \
           SUM(ytd_hifp_outpatient) c, SUM(ytd_outpatient_deductible) d, SUM(ytd_hifob) e, SUM(ytd_hifmi_base) f, SUM(ytd_hifmi) g, \
           SUM(ytd_maf) h, SUM(ytd_maf_deductible) i FROM settlement GROUP BY psn_no, year) s ON s.psn_no = y.psn_no AND s.year = y.year \
           LEFT JOIN ytd_opening o ON o.psn_no = y.psn_no AND o.year = y.year \
         WHERE y.inpatient_admissions <> COALESCE(s.a, 0) + COALESCE(o.inpatient_admissions, 0) \
         OR y.hifp_inpatient <> COALESCE(s.b, 0) + COALESCE(o.hifp_inpatient, 0) \
         OR y.hifp_outpatient <> COALESCE(s.c, 0) + COALESCE(o.hifp_outpatient, 0) \
         OR y.outpatient_deductible <> COALESCE(s.d, 0) + COALESCE(o.outpatient_deductible, 0) \
         OR y.hifob <> COALESCE(s.e, 0) OR y.hifmi_base <> COALESCE(s.f, 0) + COALESCE(o.hifmi_base, 0) \
         OR y.hifmi <> COALESCE(s.g, 0) OR y.maf <> COALESCE(s.h, 0) OR y.maf_deductible <> COALESCE(s.i, 0) LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "keyed accumulators differ from the settlements",
        "SELECT y.psn_no FROM ytd_keyed y LEFT JOIN (SELECT s.psn_no, s.year, k.key, SUM(k.delta_fen) AS total \
           FROM settlement_ytd_keyed k JOIN settlement s ON s.setl_id = k.setl_id GROUP BY s.psn_no, s.year, k.key) s \
           ON s.psn_no = y.psn_no AND s.year = y.year AND s.key = y.key \
         WHERE y.amount_fen <> COALESCE(s.total, 0) LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "reversal's keyed accumulators are not the original's negated",
        "SELECT r.setl_id FROM settlement r JOIN settlement_ytd_keyed o ON o.setl_id = r.orig_setl_id \
         LEFT JOIN settlement_ytd_keyed k ON k.setl_id = r.setl_id AND k.key = o.key AND k.delta_fen = -o.delta_fen \
         WHERE r.setl_sign = -1 AND k.setl_id IS NULL LIMIT 20",
    )
    .await?;
    // Contributions (tx/contributions.rs): every assessment's account credit is exactly its
    // transfer into (or, for a refund, out of) the person's account, and the pooled income of
    // the contribution transfers (a refund's individual part paid out of the fund included) is
    // exactly the assessments' pooled amounts, in total and per run.
    problems(
        pool,
        &mut report,
        "contribution account credit differs from its transfers",
        "SELECT a.assessment_id FROM contribution_assessment a LEFT JOIN (SELECT ref_id, \
           SUM(CASE WHEN credit_account LIKE 'personal:%' THEN amount_fen ELSE -amount_fen END) AS acct \
           FROM ledger_transfer WHERE kind IN ('clct_acct', 'retiree_credit') GROUP BY ref_id) t ON t.ref_id = a.assessment_id \
         WHERE COALESCE(t.acct, 0) <> a.into_acct_fen LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "contribution pooled income differs from the assessments",
        "SELECT 'all runs' FROM (SELECT CAST(COALESCE(SUM(CASE WHEN credit_account LIKE 'fund:310100:%' \
           OR credit_account LIKE 'fund:390100:%' THEN amount_fen ELSE -amount_fen END), 0) AS BIGINT) AS posted \
           FROM ledger_transfer WHERE kind IN ('clct_pool', 'clct_refund')) t, \
           (SELECT CAST(COALESCE(SUM(into_pool_fen), 0) AS BIGINT) AS assessed FROM contribution_assessment) a \
         WHERE t.posted <> a.assessed",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "contribution run's pooled income differs from its assessments",
        "SELECT r.run_id FROM contribution_run r \
         LEFT JOIN (SELECT run_id, SUM(into_pool_fen) AS assessed FROM contribution_assessment GROUP BY run_id) a ON a.run_id = r.run_id \
         LEFT JOIN (SELECT substr(ref_id, 1, length(ref_id) - 7) AS run_id, SUM(amount_fen) AS posted FROM ledger_transfer \
           WHERE kind = 'clct_pool' AND (ref_id LIKE 'E%:______' OR ref_id LIKE 'R%:______') GROUP BY substr(ref_id, 1, length(ref_id) - 7)) t ON t.run_id = r.run_id \
         WHERE COALESCE(a.assessed, 0) <> COALESCE(t.posted, 0) LIMIT 20",
    )
    .await?;
    // Every settled fee line belongs to a live settlement of its visit, and the lines add up.
    problems(
        pool,
        &mut report,
        "settlement total differs from its fee lines",
        "SELECT s.setl_id FROM settlement s LEFT JOIN (SELECT setl_id, SUM(amount_fen) AS amt, SUM(inscp_scp_fen) AS inscp FROM fee_line \
           WHERE setl_id IS NOT NULL GROUP BY setl_id) l ON l.setl_id = s.setl_id \
         WHERE s.setl_sign = 1 AND s.refd_setl_flag = 0 AND (COALESCE(l.amt, 0) <> s.medfee_sumamt OR COALESCE(l.inscp, 0) <> s.inscp_scp_amt) LIMIT 20",
    )
    .await?;
    Ok(report)
}
