// Included twice by lib.rs (see tx/common.rs). Fund operations that post money: a payment run's
// approval, reimbursement between regions, interest, and the funds' budgets (crate::funds).

pub(crate) async fn approve_payment_run(
    pool: &Pool,
    run_id: &str,
    approved_by: &str,
    now: NaiveDateTime,
) -> Result<crate::funds::RunSummary, StoreError> {
    use yibao_funds::statement::kinds;
    let run = read_run(pool, run_id)
        .await?
        .ok_or_else(|| StoreError::bad("run_id", format!("{run_id} does not exist")))?;
    if let Some(by) = &run.approved_by {
        return Err(StoreError::refused(
            "run_id",
            format!("{run_id} was approved by {by}: it is paid once"),
        ));
    }
    if run.prepared_by == approved_by {
        return Err(StoreError::refused(
            "approved_by",
            format!("{approved_by} prepared {run_id}; another officer approves it"),
        ));
    }
    let lines = payment_lines(pool, run_id).await?;
    let (_, last) = crate::funds::month_bounds(&run.month)?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO payment_approval (run_id, approved_by, approved_at) VALUES ($1, $2, $3)",
    )
    .bind(run_id)
    .bind(approved_by)
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    // A region refusing late settlements closes the month with the approval (migration 26).
    sqlx::query(
        "INSERT INTO payment_closed_month (admdvs, month, run_id) \
         SELECT admdvs, month, run_id FROM payment_run WHERE run_id = $1 AND late_settlements = 'refuse'",
    )
    .bind(run_id)
    .execute(&mut *tx)
    .await?;
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut accounts: Vec<(String, &'static str, String)> = Vec::new();
    let mut per_inst: BTreeMap<&str, Vec<yibao_funds::order::Line>> = BTreeMap::new();
    for l in &lines {
        let inst = ledger::institution_account(&l.fixmedins_code);
        use yibao_funds::order::LineKind;
        let Some(kind_enum) = LineKind::from_code(&l.kind) else {
            return Err(StoreError::Invariant(format!(
                "{run_id}: line kind {} cannot be posted",
                l.kind
            )));
        };
        // Lines that add to the payable move money from the account to the institution; the
        // others out of it; ffs lines only record what the settlements already moved.
        let kind = match kind_enum {
            LineKind::Ffs => "",
            LineKind::Drg => kinds::DRG,
            LineKind::TrueUp => kinds::TRUE_UP,
            LineKind::HoldbackRelease => kinds::HOLDBACK_RELEASE,
            LineKind::Holdback => kinds::HOLDBACK,
            LineKind::Recovery => "pay_recovery",
            LineKind::Counter => "pay_counter",
            LineKind::Bank => "pay_bank",
            LineKind::Clearing => "pay_clearing",
        };
        let (from, to) = if kind_enum.adds() {
            (l.account.clone(), inst)
        } else {
            (inst, l.account.clone())
        };
        per_inst
            .entry(l.fixmedins_code.as_str())
            .or_default()
            .push(yibao_funds::order::Line {
                kind: kind_enum,
                payer: yibao_funds::order::Payer::counter(),
                amount_fen: l.amount_fen,
                trace: String::new(),
            });
        if kind.is_empty() || l.amount_fen == 0 {
            continue;
        }
        if l.account.starts_with("bank:") || l.account.starts_with("counter:") {
            accounts.push((l.account.clone(), "cash", l.fixmedins_code.clone()));
        } else if l.account.starts_with("xreg:") {
            accounts.push((l.account.clone(), "fund", run.admdvs.clone()));
        } else if l.account.starts_with("recv:") {
            accounts.push((l.account.clone(), "institution", l.fixmedins_code.clone()));
        }
        if l.amount_fen > 0 {
            transfers.push((from, to, l.amount_fen, kind.to_string()));
        } else {
            transfers.push((to, from, -l.amount_fen, kind.to_string()));
        }
    }
    // The identity of every order, again, before anything is posted.
    for (inst, ls) in &per_inst {
        yibao_funds::order::check_identity(inst, ls)
            .map_err(|e| StoreError::Invariant(e.to_string()))?;
    }
    accounts.sort();
    accounts.dedup();
    ensure_accounts(&mut tx, &accounts).await?;
    post_transfers(&mut tx, run_id, run_id, &last.to_string(), &transfers).await?;
    // The month's clearing applications (3203) of the region's institutions can no longer be
    // withdrawn (3204): the month is paid.
    sqlx::query(
        "UPDATE clearing_application SET locked_by_run = $1 WHERE locked_by_run IS NULL AND clr_ym = $2 \
         AND fixmedins_code IN (SELECT fixmedins_code FROM institution WHERE admdvs = $3)",
    )
    .bind(run_id)
    .bind(&run.month)
    .bind(&run.admdvs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut run = read_run(pool, run_id)
        .await?
        .ok_or_else(|| StoreError::Invariant(format!("{run_id} not found after approval")))?;
    run.fresh = true;
    Ok(run)
}

pub(crate) async fn reimburse_regions(
    pool: &Pool,
    debtor: &str,
    month: &str,
    last: NaiveDate,
    by: &str,
    approved_by: &str,
    now: NaiveDateTime,
) -> Result<Vec<crate::funds::ClearingPair>, StoreError> {
    if by == approved_by {
        return Err(StoreError::refused(
            "approved_by",
            "a reimbursement is prepared and approved by two officers",
        ));
    }
    let rows = sqlx::query(
        "SELECT account_code, CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance \
         WHERE account_code LIKE 'xreg:%' GROUP BY account_code ORDER BY account_code",
    )
    .fetch_all(pool)
    .await?;
    let mut tx = pool.begin().await?;
    let mut out = Vec::new();
    for row in rows {
        let account: String = row.try_get(0)?;
        let balance: i64 = row.try_get(1)?;
        let parts: Vec<&str> = account.split(':').collect();
        let [_, fund, d, creditor] = parts.as_slice() else {
            continue;
        };
        if *d != debtor || balance <= 0 {
            continue;
        }
        let clearing_id = format!("xreg:{debtor}:{creditor}:{fund}:{month}");
        let exists = sqlx::query("SELECT 1 FROM region_clearing WHERE clearing_id = $1")
            .bind(&clearing_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            continue;
        }
        sqlx::query(
            "INSERT INTO region_clearing (clearing_id, month, debtor, creditor, fund, amount_fen, \
             prepared_by, approved_by, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&clearing_id)
        .bind(month)
        .bind(debtor)
        .bind(*creditor)
        .bind(*fund)
        .bind(balance)
        .bind(by)
        .bind(approved_by)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        let bank = crate::funds::bank_account(fund, debtor);
        ensure_accounts(&mut tx, &[(bank.clone(), "cash", debtor.to_string())]).await?;
        post_transfers(
            &mut tx,
            &clearing_id,
            &clearing_id,
            &last.to_string(),
            &[(account.clone(), bank, balance, "pay_reimburse".into())],
        )
        .await?;
        out.push(crate::funds::ClearingPair {
            debtor: debtor.to_string(),
            creditor: creditor.to_string(),
            fund: fund.to_string(),
            advanced_fen: 0,
            reimbursed_fen: balance,
            outstanding_fen: 0,
        });
    }
    tx.commit().await?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_interest(
    pool: &Pool,
    fund: &str,
    admdvs: &str,
    month: &str,
    booked_on: NaiveDate,
    amount_fen: i64,
    by: &str,
    now: NaiveDateTime,
) -> Result<crate::funds::InterestRecord, StoreError> {
    let ref_id = format!("int:{fund}:{admdvs}:{month}");
    let mut record = crate::funds::InterestRecord {
        fund: fund.to_string(),
        admdvs: admdvs.to_string(),
        month: month.to_string(),
        amount_fen,
        recorded_by: by.to_string(),
        ref_id: ref_id.clone(),
        fresh: true,
    };
    let mut tx = pool.begin().await?;
    let existing = sqlx::query(
        "SELECT amount_fen, recorded_by FROM fund_interest WHERE fund = $1 AND admdvs = $2 AND month = $3",
    )
    .bind(fund)
    .bind(admdvs)
    .bind(month)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        let amount: i64 = row.try_get(0)?;
        let recorded_by: String = row.try_get(1)?;
        if amount != amount_fen {
            return Err(StoreError::refused(
                "amount",
                format!(
                    "the interest of fund {fund} in {admdvs} for {month} is recorded already \
                     ({} yuan, by {recorded_by}); it is recorded once",
                    yibao_core_types::Fen(amount)
                ),
            ));
        }
        record.recorded_by = recorded_by;
        record.fresh = false;
        return Ok(record);
    }
    sqlx::query(
        "INSERT INTO fund_interest (fund, admdvs, month, amount_fen, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(fund)
    .bind(admdvs)
    .bind(month)
    .bind(amount_fen)
    .bind(by)
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    let from = crate::funds::interest_account(fund, admdvs);
    let to = ledger::fund_account(fund, admdvs);
    ensure_accounts(
        &mut tx,
        &[
            (from.clone(), "cash", format!("bank:{admdvs}")),
            (to.clone(), "fund", admdvs.to_string()),
        ],
    )
    .await?;
    post_transfers(
        &mut tx,
        &ref_id,
        &ref_id,
        &booked_on.to_string(),
        &[(
            from,
            to,
            amount_fen,
            yibao_funds::statement::kinds::INTEREST.into(),
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn set_fund_budget(
    pool: &Pool,
    fund: &str,
    admdvs: &str,
    year: i32,
    amount_fen: i64,
    by: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let version: i64 = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM fund_budget WHERE fund = $1 AND admdvs = $2 AND year = $3",
    )
    .bind(fund)
    .bind(admdvs)
    .bind(i64::from(year))
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO fund_budget (fund, admdvs, year, version, amount_fen, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(fund)
    .bind(admdvs)
    .bind(i64::from(year))
    .bind(version)
    .bind(amount_fen)
    .bind(by)
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
