// A contribution run's chunk written (`tx/contributions.rs` decides it): assessments, payer
// lines and cases with multi-row inserts, and their ledger transfers and balances, in the
// caller's transaction.
// Compiled once per backend; see lib.rs and crates/store/src/contributions.rs.

/// Where a chunk's pooled income is posted: under the run's chunk, or under the single
/// assessment's own id.
enum ClctPoolRef<'a> {
    Chunk { run_id: &'a str, chunk: i64 },
    Single,
}

/// Writes a chunk's assessments, payer lines and cases and posts their ledger transfers, in the
/// caller's transaction. Returns the totals for the report.
async fn clct_write_chunk(
    tx: &mut Tx<'_>,
    period: &ClctPeriod,
    decisions: Vec<ClctDecision>,
    pool_ref: ClctPoolRef<'_>,
    now: NaiveDateTime,
    report: &mut RunReport,
) -> Result<(), StoreError> {
    let insutype = period.kind.insutype();
    let pool_fund = match period.kind {
        ClctRunKind::Employee => EMPLOYEE_POOL_FUND,
        ClctRunKind::Resident => RESIDENT_POOL_FUND,
    };
    let run_id = match pool_ref {
        ClctPoolRef::Chunk { run_id, .. } => Some(run_id.to_string()),
        ClctPoolRef::Single => None,
    };
    let at = ts(now);
    let mut assessments = Vec::new();
    let mut cases = Vec::new();
    for d in decisions {
        match d {
            ClctDecision::Assess(a) => assessments.push(a),
            ClctDecision::Case(c) => cases.push(c),
        }
    }
    // The ledger: per-person account credits, and pooled income summed per (payer account,
    // fund) for the chunk (or per assessment for a single one).
    let mut accounts: BTreeMap<String, (&'static str, String, i64)> = BTreeMap::new();
    let mut transfers: Vec<(String, i64, String, String, i64, &'static str, String)> = Vec::new();
    let mut pooled: BTreeMap<(String, String), i64> = BTreeMap::new();
    for a in &assessments {
        let fund = ledger::fund_account(pool_fund, &a.admdvs);
        accounts
            .entry(fund.clone())
            .or_insert(("fund", format!("{pool_fund}:{}", a.admdvs), 1));
        if a.into_acct != 0 {
            let personal = ledger::personal_account(&a.psn_no);
            accounts
                .entry(personal.clone())
                .or_insert(("personal", a.psn_no.clone(), 0));
            let (debit, kind) = if a.clct_type == "retiree_credit" {
                (fund.clone(), KIND_RETIREE_CREDIT)
            } else {
                let clct = collection_account(&a.admdvs);
                accounts
                    .entry(clct.clone())
                    .or_insert(("cash", format!("tax:{}", a.admdvs), 1));
                (clct, KIND_CLCT_ACCT)
            };
            transfers.push((
                a.assessment_id.clone(),
                1,
                debit,
                personal,
                a.into_acct,
                kind,
                a.psn_no.clone(),
            ));
        }
        let mut pool_lines: Vec<(String, i64)> = Vec::new();
        match period.kind {
            ClctRunKind::Employee => {
                if a.into_pool != 0 {
                    pool_lines.push((collection_account(&a.admdvs), a.into_pool));
                }
            }
            ClctRunKind::Resident => {
                for &(payer, amount) in &a.payer_lines {
                    pool_lines.push((payer_account(payer, &a.admdvs), amount));
                }
            }
        }
        for (debit, amount) in pool_lines {
            if amount == 0 {
                continue;
            }
            let kind = if debit.starts_with("fund:") {
                "fund"
            } else {
                "cash"
            };
            let owner = debit.split_once(':').map_or("", |(_, o)| o).to_string();
            accounts.entry(debit.clone()).or_insert((kind, owner, 1));
            match pool_ref {
                ClctPoolRef::Chunk { .. } => {
                    *pooled.entry((debit, fund.clone())).or_default() += amount;
                }
                ClctPoolRef::Single => transfers.push((
                    a.assessment_id.clone(),
                    transfers.iter().filter(|t| t.0 == a.assessment_id).count() as i64 + 1,
                    debit,
                    fund.clone(),
                    amount,
                    KIND_CLCT_POOL,
                    a.psn_no.clone(),
                )),
            }
        }
    }
    if let ClctPoolRef::Chunk { run_id, chunk } = pool_ref {
        let chunk_ref = format!("{run_id}:{chunk:06}");
        for (seq, ((debit, credit), amount)) in pooled.into_iter().enumerate() {
            transfers.push((
                chunk_ref.clone(),
                seq as i64 + 1,
                debit,
                credit,
                amount,
                KIND_CLCT_POOL,
                chunk_ref.clone(),
            ));
        }
    }
    if !assessments.is_empty() {
        let rows = assessments
            .iter()
            .map(|a| {
                vec![
                    V::T(&a.assessment_id),
                    V::T(&a.psn_no),
                    V::T(insutype),
                    V::T(&a.admdvs),
                    V::T(&period.label),
                    V::T(a.clct_type),
                    V::T(&a.psn_type),
                    V::I(a.base),
                    V::I(a.employer),
                    V::I(a.individual),
                    V::I(a.other),
                    V::I(a.into_acct),
                    V::I(a.into_pool),
                    V::I(a.employer + a.individual + a.other),
                    V::I(1),
                    V::T(&a.params_id),
                    match &run_id {
                        Some(r) => V::T(r),
                        None => V::T(""),
                    },
                    V::T(&at),
                ]
            })
            .collect();
        insert_rows(
            tx,
            "contribution_assessment",
            &[
                "assessment_id",
                "psn_no",
                "insutype",
                "insu_admdvs",
                "period",
                "clct_type",
                "psn_type",
                "base_fen",
                "emp_clct_fen",
                "psn_clct_fen",
                "oth_clct_fen",
                "into_acct_fen",
                "into_pool_fen",
                "clct_sum_fen",
                "sign",
                "params_id",
                "run_id",
                "assessed_at",
            ],
            rows,
            "",
        )
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db)
                if db.message().contains("UNIQUE") || db.code().as_deref() == Some("23505") =>
            {
                StoreError::refused(
                    "period",
                    format!(
                        "{} is being assessed by another run at the same time: {db}",
                        period.label
                    ),
                )
            }
            _ => StoreError::Database(e),
        })?;
        let lines: Vec<Vec<V<'_>>> = assessments
            .iter()
            .flat_map(|a| {
                a.payer_lines.iter().map(|(payer, amount)| {
                    vec![V::T(&a.assessment_id), V::T(payer.key()), V::I(*amount)]
                })
            })
            .collect();
        if !lines.is_empty() {
            insert_rows(
                tx,
                "contribution_payer_line",
                &["assessment_id", "payer", "amount_fen"],
                lines,
                "",
            )
            .await?;
        }
    }
    if !cases.is_empty() {
        let run = run_id.clone().unwrap_or_default();
        let rows = cases
            .iter()
            .map(|c| {
                vec![
                    V::T(&period.label),
                    V::T(&c.psn_no),
                    V::T(insutype),
                    V::T(c.reason),
                    V::T(&c.detail),
                    V::T(&run),
                    V::T(&at),
                ]
            })
            .collect();
        insert_rows(
            tx,
            "contribution_case",
            &[
                "period",
                "psn_no",
                "insutype",
                "reason",
                "detail",
                "run_id",
                "opened_at",
            ],
            rows,
            "ON CONFLICT (period, psn_no, insutype, reason) DO NOTHING",
        )
        .await?;
    }
    if !accounts.is_empty() {
        let rows = accounts
            .iter()
            .map(|(code, (kind, owner, neg))| vec![V::T(code), V::T(kind), V::T(owner), V::I(*neg)])
            .collect();
        insert_rows(
            tx,
            "ledger_account",
            &["account_code", "kind", "owner", "may_go_negative"],
            rows,
            "ON CONFLICT (account_code) DO NOTHING",
        )
        .await?;
    }
    if !transfers.is_empty() {
        let booked_on = now.date().to_string();
        let rows = transfers
            .iter()
            .map(|(r, seq, d, c, a, k, _)| {
                vec![
                    V::T(r),
                    V::I(*seq),
                    V::T(d),
                    V::T(c),
                    V::I(*a),
                    V::T(k),
                    V::T(&booked_on),
                ]
            })
            .collect();
        insert_rows(
            tx,
            "ledger_transfer",
            &[
                "ref_id",
                "seq",
                "debit_account",
                "credit_account",
                "amount_fen",
                "kind",
                "booked_on",
            ],
            rows,
            "",
        )
        .await?;
        // Net change per (account, shard); personal accounts have one shard and may not go
        // negative (a credit never makes them so).
        let mut deltas: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for (_, _, d, c, a, _, key) in &transfers {
            *deltas
                .entry((d.clone(), ledger::shard(d, key)))
                .or_default() -= a;
            *deltas
                .entry((c.clone(), ledger::shard(c, key)))
                .or_default() += a;
        }
        let rows = deltas
            .iter()
            .filter(|(_, delta)| **delta != 0)
            .map(|((acct, shard), delta)| {
                let neg = i64::from(!acct.starts_with("personal:"));
                vec![V::T(acct), V::I(*shard), V::I(neg), V::I(*delta)]
            })
            .collect();
        insert_rows(
            tx,
            "ledger_balance",
            &["account_code", "shard", "may_go_negative", "balance_fen"],
            rows,
            "ON CONFLICT (account_code, shard) DO UPDATE SET balance_fen = ledger_balance.balance_fen + excluded.balance_fen",
        )
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db)
                if db.message().contains("CHECK") || db.code().as_deref() == Some("23514") =>
            {
                StoreError::Invariant(format!("a contribution would make an account negative: {db}"))
            }
            _ => StoreError::Database(e),
        })?;
    }
    for a in &assessments {
        report.assessed += 1;
        if a.clct_type == "retiree_credit" {
            report.retiree_credits += 1;
        }
        report.employer += Fen(a.employer);
        report.individual += Fen(a.individual);
        report.other_payers += Fen(a.other);
        report.into_accounts += Fen(a.into_acct);
        report.into_pool += Fen(a.into_pool);
    }
    report.cases += cases.len() as u64;
    Ok(())
}
