// Included twice by lib.rs (see tx/common.rs). Fund operations that read: payment runs and
// their lines, the clearing statement between regions and the funds' statements (crate::funds).

pub(crate) async fn read_run(
    pool: &Pool,
    run_id: &str,
) -> Result<Option<crate::funds::RunSummary>, StoreError> {
    let rows = runs_where(pool, "r.run_id = $1", run_id).await?;
    Ok(rows.into_iter().next())
}

pub(crate) async fn read_runs(
    pool: &Pool,
    month: &str,
) -> Result<Vec<crate::funds::RunSummary>, StoreError> {
    runs_where(pool, "r.month = $1", month).await
}

async fn runs_where(
    pool: &Pool,
    cond: &str,
    bind: &str,
) -> Result<Vec<crate::funds::RunSummary>, StoreError> {
    let sql = format!(
        "SELECT r.run_id, r.admdvs, r.month, r.method, r.prepared_by, a.approved_by, r.pay_by, \
         r.pool_fen, r.points_e4, r.n_settlements, r.n_cases, r.n_held, r.total_fen, r.year_end \
         FROM payment_run r LEFT JOIN payment_approval a ON a.run_id = r.run_id WHERE {cond} \
         ORDER BY r.admdvs, r.month"
    );
    let rows = sqlx::query(&sql).bind(bind).fetch_all(pool).await?;
    let mut out = Vec::new();
    for row in rows {
        out.push(crate::funds::RunSummary {
            run_id: row.try_get(0)?,
            admdvs: row.try_get(1)?,
            month: row.try_get(2)?,
            method: row.try_get(3)?,
            prepared_by: row.try_get(4)?,
            approved_by: row.try_get(5)?,
            pay_by: row.try_get(6)?,
            pool_fen: row.try_get(7)?,
            points_e4: row.try_get(8)?,
            n_settlements: row.try_get(9)?,
            n_cases: row.try_get(10)?,
            n_held: row.try_get(11)?,
            total_fen: row.try_get(12)?,
            year_end: row.try_get::<i64, _>(13)? == 1,
            fresh: false,
        });
    }
    Ok(out)
}

pub(crate) async fn payment_regions(pool: &Pool) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT DISTINCT admdvs FROM institution ORDER BY admdvs")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .collect()
}

pub(crate) async fn institution_names(pool: &Pool) -> Result<HashMap<String, String>, StoreError> {
    let rows = sqlx::query("SELECT fixmedins_code, fixmedins_name FROM institution")
        .fetch_all(pool)
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(r.try_get(0)?, r.try_get(1)?);
    }
    Ok(out)
}

pub(crate) async fn payment_lines(
    pool: &Pool,
    run_id: &str,
) -> Result<Vec<crate::funds::OrderLine>, StoreError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, seq, kind, account, amount_fen, trace FROM payment_line \
         WHERE run_id = $1 ORDER BY fixmedins_code, seq",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(crate::funds::OrderLine {
            fixmedins_code: r.try_get(0)?,
            seq: r.try_get(1)?,
            kind: r.try_get(2)?,
            account: r.try_get(3)?,
            amount_fen: r.try_get(4)?,
            trace: r.try_get(5)?,
        });
    }
    Ok(out)
}

pub(crate) async fn clearing_statement(
    pool: &Pool,
    month: &str,
) -> Result<Vec<crate::funds::ClearingPair>, StoreError> {
    let mut pairs: BTreeMap<(String, String, String), (i64, i64, i64)> = BTreeMap::new();
    let rows = sqlx::query(
        "SELECT l.account, CAST(SUM(l.amount_fen) AS BIGINT) FROM payment_line l \
         JOIN payment_run r ON r.run_id = l.run_id JOIN payment_approval a ON a.run_id = r.run_id \
         WHERE r.month = $1 AND l.kind = 'clearing' GROUP BY l.account",
    )
    .bind(month)
    .fetch_all(pool)
    .await?;
    for row in rows {
        let account: String = row.try_get(0)?;
        if let [_, fund, d, c] = account.split(':').collect::<Vec<_>>().as_slice() {
            pairs
                .entry((d.to_string(), c.to_string(), fund.to_string()))
                .or_default()
                .0 += row.try_get::<i64, _>(1)?;
        }
    }
    let rows = sqlx::query(
        "SELECT debtor, creditor, fund, CAST(SUM(amount_fen) AS BIGINT) FROM region_clearing \
         WHERE month = $1 GROUP BY debtor, creditor, fund",
    )
    .bind(month)
    .fetch_all(pool)
    .await?;
    for row in rows {
        pairs
            .entry((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
            .or_default()
            .1 += row.try_get::<i64, _>(3)?;
    }
    let rows = sqlx::query(
        "SELECT account_code, CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance \
         WHERE account_code LIKE 'xreg:%' GROUP BY account_code",
    )
    .fetch_all(pool)
    .await?;
    for row in rows {
        let account: String = row.try_get(0)?;
        if let [_, fund, d, c] = account.split(':').collect::<Vec<_>>().as_slice() {
            pairs
                .entry((d.to_string(), c.to_string(), fund.to_string()))
                .or_default()
                .2 += row.try_get::<i64, _>(1)?;
        }
    }
    Ok(pairs
        .into_iter()
        .map(
            |((debtor, creditor, fund), (a, r, o))| crate::funds::ClearingPair {
                debtor,
                creditor,
                fund,
                advanced_fen: a,
                reimbursed_fen: r,
                outstanding_fen: o,
            },
        )
        .collect())
}

pub(crate) async fn fund_statement(
    pool: &Pool,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<crate::funds::FundStatementRow>, StoreError> {
    use yibao_funds::statement::{classify, Class, FundMonth};
    let month = first.format("%Y-%m").to_string();
    let year = first.format("%Y").to_string();
    let from12 = shift_month(&month, -11);
    let last_s = last.to_string();
    let first_s = first.to_string();
    let rows = sqlx::query(
        "SELECT account, other_inst, kind, m, CAST(SUM(net) AS BIGINT) FROM ( \
           SELECT credit_account AS account, CAST(CASE WHEN debit_account LIKE 'inst:%' THEN 1 ELSE 0 END AS BIGINT) AS other_inst, \
                  kind, substr(booked_on, 1, 7) AS m, amount_fen AS net \
           FROM ledger_transfer WHERE credit_account LIKE 'fund:%' \
           UNION ALL \
           SELECT debit_account, CAST(CASE WHEN credit_account LIKE 'inst:%' THEN 1 ELSE 0 END AS BIGINT), \
                  kind, substr(booked_on, 1, 7), -amount_fen \
           FROM ledger_transfer WHERE debit_account LIKE 'fund:%' \
         ) x GROUP BY account, other_inst, kind, m",
    )
    .fetch_all(pool)
    .await?;
    struct Acc {
        month: FundMonth,
        income: BTreeMap<String, i64>,
        exp12: i64,
        months12: std::collections::BTreeSet<String>,
        ytd: i64,
    }
    let mut accs: BTreeMap<String, Acc> = BTreeMap::new();
    // What was booked after the month, per account: today's balance less it is the ledger at the
    // month end (read in the same scan).
    let mut after: HashMap<String, i64> = HashMap::new();
    for row in rows {
        let account: String = row.try_get(0)?;
        let parts: Vec<&str> = account.split(':').collect();
        let [_, fund, admdvs] = parts.as_slice() else {
            continue;
        };
        let inst: i64 = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        let m: String = row.try_get(3)?;
        let net: i64 = row.try_get(4)?;
        if m.as_str() > month.as_str() {
            *after.entry(account.clone()).or_default() += net;
            continue;
        }
        let class = classify(&kind, if inst == 1 { "inst:" } else { "" });
        let a = accs.entry(account.clone()).or_insert_with(|| Acc {
            month: FundMonth {
                fund: fund.to_string(),
                admdvs: admdvs.to_string(),
                ..Default::default()
            },
            income: BTreeMap::new(),
            exp12: 0,
            months12: Default::default(),
            ytd: 0,
        });
        let before = m.as_str() < month.as_str();
        a.month.add(class, net, before);
        if !before && class == Class::Income {
            *a.income.entry(kind.clone()).or_default() += net;
        }
        if class == Class::Expenditure && m.as_str() >= from12.as_str() {
            a.exp12 -= net;
            a.months12.insert(m.clone());
        }
        if class == Class::Expenditure && m.as_str() >= year.as_str() {
            a.ytd -= net;
        }
    }
    // Expenditure by clearing type (from the settlements behind the transfers).
    let rows = sqlx::query(
        "SELECT account, clr_type, CAST(SUM(net) AS BIGINT) FROM ( \
           SELECT t.debit_account AS account, s.clr_type AS clr_type, t.amount_fen AS net \
           FROM ledger_transfer t JOIN settlement s ON s.setl_id = t.ref_id \
           WHERE t.debit_account LIKE 'fund:%' AND t.booked_on >= $1 AND t.booked_on <= $2 \
           UNION ALL \
           SELECT t.credit_account, s.clr_type, -t.amount_fen \
           FROM ledger_transfer t JOIN settlement s ON s.setl_id = t.ref_id \
           WHERE t.credit_account LIKE 'fund:%' AND t.booked_on >= $1 AND t.booked_on <= $2 \
         ) x GROUP BY account, clr_type ORDER BY account, clr_type",
    )
    .bind(&first_s)
    .bind(&last_s)
    .fetch_all(pool)
    .await?;
    let mut by_clr: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for row in rows {
        by_clr
            .entry(row.try_get(0)?)
            .or_default()
            .push((row.try_get(1)?, row.try_get(2)?));
    }
    // The ledger at the month end: today's balance less what was booked after it.
    let rows = sqlx::query(
        "SELECT account_code, CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance \
         WHERE account_code LIKE 'fund:%' GROUP BY account_code",
    )
    .fetch_all(pool)
    .await?;
    let mut ledger_now: HashMap<String, i64> = HashMap::new();
    for row in rows {
        ledger_now.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let rows = sqlx::query(
        "SELECT b.fund, b.admdvs, b.amount_fen FROM fund_budget b WHERE b.year = $1 \
         AND b.version = (SELECT MAX(v.version) FROM fund_budget v WHERE v.fund = b.fund AND v.admdvs = b.admdvs AND v.year = b.year)",
    )
    .bind(year.parse::<i64>().unwrap_or(0))
    .fetch_all(pool)
    .await?;
    let mut budgets: HashMap<(String, String), i64> = HashMap::new();
    for row in rows {
        budgets.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
    }
    let mut out = Vec::new();
    for (account, mut a) in accs {
        a.month.close();
        let ledger_closing = ledger_now.get(&account).copied().unwrap_or(0)
            - after.get(&account).copied().unwrap_or(0);
        let budget = budgets
            .get(&(a.month.fund.clone(), a.month.admdvs.clone()))
            .copied();
        out.push(crate::funds::FundStatementRow {
            months_covered: yibao_funds::statement::months_covered(
                a.month.closing,
                a.exp12,
                a.months12.len() as i64,
            ),
            execution_rate: yibao_funds::statement::execution_rate(a.ytd, budget),
            income_by_kind: a.income.into_iter().collect(),
            expenditure_by_clr_type: by_clr.remove(&account).unwrap_or_default(),
            ledger_closing,
            month: a.month,
        });
    }
    Ok(out)
}
