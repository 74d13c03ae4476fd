// Contribution refunds (crate::refund) and the assessment parts an undone subsidy adds
// (crate::auto), written once for both backends: included in `pg` and `sq` by `backend!`.

/// One assessment row a correction adds beside a run's (never changing it): a `refund` row has
/// sign -1 and names the run's assessment; a `normal` part has sign 1 and no link. The amounts
/// carry the sign (a refund's are ≤ 0), as migration 0011's CHECKs want.
struct AssessmentPart<'a> {
    assessment_id: String,
    psn_no: &'a str,
    insutype: &'a str,
    admdvs: &'a str,
    period: &'a str,
    clct_type: &'static str,
    part: String,
    psn_type: &'a str,
    employer: i64,
    individual: i64,
    other: i64,
    into_acct: i64,
    into_pool: i64,
    params_id: &'a str,
    orig_assessment_id: Option<&'a str>,
    payer_lines: Vec<(String, i64)>,
}

/// Writes an assessment part, its payer lines and its ledger transfers (under the part's id),
/// in the caller's transaction.
async fn write_assessment_part(
    tx: &mut Tx<'_>,
    part: &AssessmentPart<'_>,
    accounts: &[(String, &'static str, String)],
    transfers: &[Transfer],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let sign: i64 = if part.clct_type == "refund" { -1 } else { 1 };
    let lines_total: i64 = part.payer_lines.iter().map(|(_, amount)| amount).sum();
    let sum = part.employer + part.individual + part.other;
    // The CHECKs of migration 0011, asserted before writing: a refund row, and only a refund
    // row, names the assessment it reverses; every amount carries the row's sign; every fen has
    // a place; the payer lines add up.
    let sound = (sign == -1) == part.orig_assessment_id.is_some()
        && [part.employer, part.individual, part.other, part.into_pool]
            .iter()
            .all(|amount| sign * amount >= 0)
        && sum == part.into_acct + part.into_pool
        && (part.payer_lines.is_empty() || lines_total == sum);
    if !sound {
        return Err(StoreError::Invariant(format!(
            "assessment part {} does not hold together",
            part.assessment_id
        )));
    }
    sqlx::query(
        "INSERT INTO contribution_assessment (assessment_id, psn_no, insutype, insu_admdvs, period, \
         clct_type, psn_type, base_fen, emp_clct_fen, psn_clct_fen, oth_clct_fen, into_acct_fen, \
         into_pool_fen, clct_sum_fen, sign, params_id, run_id, orig_assessment_id, assessed_at, part) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14, $15, '', $16, $17, $18)",
    )
    .bind(&part.assessment_id)
    .bind(part.psn_no)
    .bind(part.insutype)
    .bind(part.admdvs)
    .bind(part.period)
    .bind(part.clct_type)
    .bind(part.psn_type)
    .bind(part.employer)
    .bind(part.individual)
    .bind(part.other)
    .bind(part.into_acct)
    .bind(part.into_pool)
    .bind(sum)
    .bind(sign)
    .bind(part.params_id)
    .bind(part.orig_assessment_id)
    .bind(ts(now))
    .bind(&part.part)
    .execute(&mut **tx)
    .await?;
    for (payer, amount) in &part.payer_lines {
        sqlx::query(
            "INSERT INTO contribution_payer_line (assessment_id, payer, amount_fen) VALUES ($1, $2, $3)",
        )
        .bind(&part.assessment_id)
        .bind(payer)
        .bind(*amount)
        .execute(&mut **tx)
        .await?;
    }
    ensure_accounts(tx, accounts).await?;
    post_transfers(
        tx,
        &part.assessment_id,
        part.psn_no,
        &now.date().to_string(),
        transfers,
    )
    .await
}

/// The assessments of a relation and period: each row's id, kind, part, region, `psn_type`,
/// parameter set and amounts (employer, individual, other, account, pool).
struct PeriodRow {
    assessment_id: String,
    clct_type: String,
    part: String,
    admdvs: String,
    psn_type: String,
    params_id: String,
    employer: i64,
    individual: i64,
    other: i64,
    into_acct: i64,
    into_pool: i64,
}

async fn period_rows(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    period: &str,
) -> Result<Vec<PeriodRow>, StoreError> {
    sqlx::query(
        "SELECT assessment_id, clct_type, part, insu_admdvs, psn_type, params_id, emp_clct_fen, \
         psn_clct_fen, oth_clct_fen, into_acct_fen, into_pool_fen FROM contribution_assessment \
         WHERE psn_no = $1 AND insutype = $2 AND period = $3 ORDER BY clct_type, part",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(period)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(PeriodRow {
            assessment_id: r.try_get(0)?,
            clct_type: r.try_get(1)?,
            part: r.try_get(2)?,
            admdvs: r.try_get(3)?,
            psn_type: r.try_get(4)?,
            params_id: r.try_get(5)?,
            employer: r.try_get(6)?,
            individual: r.try_get(7)?,
            other: r.try_get(8)?,
            into_acct: r.try_get(9)?,
            into_pool: r.try_get(10)?,
        })
    })
    .collect()
}

/// The payer lines of a relation's period, net of every part and reversal, by payer key (zero
/// lines left out).
async fn net_payer_lines(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    period: &str,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.payer, CAST(SUM(l.amount_fen) AS BIGINT) FROM contribution_payer_line l \
         JOIN contribution_assessment a ON a.assessment_id = l.assessment_id \
         WHERE a.psn_no = $1 AND a.insutype = $2 AND a.period = $3 GROUP BY l.payer",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(period)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let amount: i64 = r.try_get(1)?;
        if amount != 0 {
            out.insert(r.try_get::<String, _>(0)?, amount);
        }
    }
    Ok(out)
}

/// Undoing a subsidy decision after the year's assessment carried it: the subsidy lines the
/// decision gave (at most its `subsidy` amount, and at most what the period still carries of
/// each payer) are reversed between
/// the funds by a `refund` row of part `undo:DECISION`, and a `normal` row of the same part
/// makes that amount due from the individual, collected like the run's individual line. The
/// residents' fund keeps the full standard (its income moves from one payer to the other), so
/// the ledger check's pooled income still equals the assessments'. Returns the amount moved
/// (zero when the year was not assessed or nothing of the subsidy is left, and when the person
/// holds another category that year: then a `subsidy_undo` contribution case asks a clerk).
pub(crate) async fn reverse_subsidy_for_undo(
    tx: &mut Tx<'_>,
    decision_id: i64,
    psn_no: &str,
    benefit_year: i32,
    subsidy: i64,
    lines: &[(yibao_enrollment::Payer, i64)],
    now: NaiveDateTime,
) -> Result<i64, StoreError> {
    use crate::contributions::{
        collection_account, payer_account, KIND_CLCT_POOL, RESIDENT_POOL_FUND,
    };
    let period = format!("{benefit_year:04}");
    let rows = period_rows(tx, psn_no, "390", &period).await?;
    let Some(run_row) = rows
        .iter()
        .find(|r| r.clct_type == "normal" && r.part.is_empty())
    else {
        return Ok(0);
    };
    if rows
        .iter()
        .any(|r| r.clct_type == "refund" && r.part == "refund")
    {
        // The period was refunded: no subsidy is carried any more.
        return Ok(0);
    }
    // Another category the person holds in the year (the registry's own, or a feed record not
    // withdrawn) may give a subsidy of its own: which one the run applied is not stored, so the
    // reversal is left to a clerk (a contribution case) rather than guessed.
    let (year_first, year_last) = (format!("{period}-01-01"), format!("{period}-12-31"));
    let others: Vec<String> = sqlx::query_scalar(
        "SELECT sp_psn_type FROM identity WHERE psn_no = $1 AND begndate <= $3 \
           AND (enddate = '' OR enddate >= $2) \
         UNION ALL \
         SELECT c.category FROM identity_current c WHERE c.psn_no = $1 AND c.begn_date <= $3 \
           AND (c.end_date = '' OR c.end_date >= $2) \
           AND NOT EXISTS (SELECT 1 FROM identity_withdrawal w WHERE w.psn_no = c.psn_no \
               AND w.idet_type = c.idet_type AND w.begn_date = c.begn_date AND w.effect = 'subsidy')",
    )
    .bind(psn_no)
    .bind(&year_first)
    .bind(&year_last)
    .fetch_all(&mut **tx)
    .await?;
    let other_category = others.iter().find(|code| {
        yibao_enrollment::Category::from_sp_psn_type(code).is_some()
            || yibao_enrollment::Category::from_key(code).is_some()
    });
    if let Some(code) = other_category {
        sqlx::query(
            "INSERT INTO contribution_case (period, psn_no, insutype, reason, detail, run_id, opened_at) \
             VALUES ($1, $2, '390', 'subsidy_undo', $3, '', $4) \
             ON CONFLICT (period, psn_no, insutype, reason) DO NOTHING",
        )
        .bind(&period)
        .bind(psn_no)
        .bind(format!(
            "decision {decision_id} undone, but the person also holds `{code}` in {period}: \
             reassess the subsidy by hand"
        ))
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        return Ok(0);
    }
    let carried = net_payer_lines(tx, psn_no, "390", &period).await?;
    let mut reversed: Vec<(yibao_enrollment::Payer, i64)> = Vec::new();
    let mut budget = subsidy;
    for &(payer, amount) in lines {
        // The subsidy's own lines: not the person's, the employer's, or the per-capita finance
        // every resident gets whatever their category.
        use yibao_enrollment::Payer::{Employer, FinanceBase, Individual};
        if matches!(payer, Individual | FinanceBase | Employer) || amount <= 0 {
            continue;
        }
        let left = carried.get(payer.key()).copied().unwrap_or(0);
        let take = amount.min(left).min(budget);
        budget -= take;
        if take > 0 {
            reversed.push((payer, take));
        }
    }
    let total: i64 = reversed.iter().map(|(_, amount)| amount).sum();
    if total == 0 {
        return Ok(0);
    }
    let admdvs = run_row.admdvs.as_str();
    let fund = ledger::fund_account(RESIDENT_POOL_FUND, admdvs);
    let clct = collection_account(admdvs);
    let part = format!("undo:{decision_id}");
    let mut accounts = vec![
        (
            fund.clone(),
            "fund",
            format!("{RESIDENT_POOL_FUND}:{admdvs}"),
        ),
        (clct.clone(), "cash", format!("tax:{admdvs}")),
    ];
    let transfers: Vec<Transfer> = reversed
        .iter()
        .map(|(payer, amount)| {
            let to = payer_account(*payer, admdvs);
            let kind = if to.starts_with("fund:") {
                "fund"
            } else {
                "cash"
            };
            let owner = to.split_once(':').map_or("", |(_, o)| o).to_owned();
            accounts.push((to.clone(), kind, owner));
            (fund.clone(), to, *amount, KIND_CLCT_POOL.to_owned())
        })
        .collect();
    write_assessment_part(
        tx,
        &AssessmentPart {
            assessment_id: format!("390:{period}:{psn_no}:refund:{part}"),
            psn_no,
            insutype: "390",
            admdvs,
            period: &period,
            clct_type: "refund",
            part: part.clone(),
            psn_type: &run_row.psn_type,
            employer: 0,
            individual: 0,
            other: -total,
            into_acct: 0,
            into_pool: -total,
            params_id: &run_row.params_id,
            orig_assessment_id: Some(&run_row.assessment_id),
            payer_lines: reversed
                .iter()
                .map(|(payer, amount)| (payer.key().to_owned(), -amount))
                .collect(),
        },
        &accounts,
        &transfers,
        now,
    )
    .await?;
    write_assessment_part(
        tx,
        &AssessmentPart {
            assessment_id: format!("390:{period}:{psn_no}:normal:{part}"),
            psn_no,
            insutype: "390",
            admdvs,
            period: &period,
            clct_type: "normal",
            part,
            psn_type: &run_row.psn_type,
            employer: 0,
            individual: total,
            other: 0,
            into_acct: 0,
            into_pool: total,
            params_id: &run_row.params_id,
            orig_assessment_id: None,
            payer_lines: vec![("individual".to_owned(), total)],
        },
        &[],
        &[(clct, fund, total, KIND_CLCT_POOL.to_owned())],
        now,
    )
    .await?;
    Ok(total)
}

pub(crate) async fn refund_contribution(
    pool: &Pool,
    request: &crate::refund::RefundRequest,
    source: &str,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::refund::RefundDone, StoreError> {
    in_write_tx!(pool, |tx| refund_contribution_in(
        &mut tx, request, source, params, now
    )
    .await)
}

async fn refund_contribution_in(
    tx: &mut Tx<'_>,
    request: &crate::refund::RefundRequest,
    source: &str,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::refund::RefundDone, StoreError> {
    use crate::contributions::{
        collection_account, payer_account, EMPLOYEE_POOL_FUND, KIND_CLCT_ACCT, KIND_CLCT_POOL,
        RESIDENT_POOL_FUND,
    };
    use crate::refund::{person_payout_account, KIND_CLCT_REFUND};
    let certno = request.certno.trim();
    let (insutype, period) = (request.insutype.as_str(), request.period.as_str());
    let (first, last) = crate::refund::period_days(insutype, period)
        .ok_or_else(|| StoreError::bad("period", "does not read"))?;
    let psn_no: String = sqlx::query_scalar(
        "SELECT psn_no FROM person WHERE certno = $1 \
         UNION SELECT psn_no FROM person_identifier WHERE certno = $1",
    )
    .bind(certno)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::not_found("certno", certno))?;
    lock_person(tx, &psn_no).await?;
    let rows = period_rows(tx, &psn_no, insutype, period).await?;
    if let Some(done) = rows
        .iter()
        .find(|r| r.clct_type == "refund" && r.part == "refund")
    {
        return Err(StoreError::refused(
            "period",
            format!(
                "{insutype} {period} was refunded before ({})",
                done.assessment_id
            ),
        ));
    }
    let Some(run_row) = rows
        .iter()
        .find(|r| r.clct_type == "normal" && r.part.is_empty())
    else {
        let why = if rows.iter().any(|r| r.clct_type == "retiree_credit") {
            "a retiree's account credit is not a contribution: nothing to refund"
        } else {
            "no contribution was assessed"
        };
        return Err(StoreError::refused(
            "period",
            format!("{insutype} {period}: {why}"),
        ));
    };
    let net = |f: fn(&PeriodRow) -> i64| rows.iter().map(f).sum::<i64>();
    let (employer, individual, other) =
        (net(|r| r.employer), net(|r| r.individual), net(|r| r.other));
    let (into_acct, into_pool) = (net(|r| r.into_acct), net(|r| r.into_pool));
    if employer + individual + other == 0 {
        return Err(StoreError::refused(
            "period",
            format!("{insutype} {period}: nothing is left to refund"),
        ));
    }
    // A benefit drawn under the relation in the period: a live settlement with a fund payment.
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM settlement WHERE psn_no = $1 AND insutype = $2 AND setl_sign = 1 \
         AND refd_setl_flag = 0 AND fund_pay_sumamt > 0 AND SUBSTR(setl_date, 1, 10) >= $3 \
         AND SUBSTR(setl_date, 1, 10) <= $4",
    )
    .bind(&psn_no)
    .bind(insutype)
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let admdvs = run_row.admdvs.clone();
    let paid_to = person_payout_account(&psn_no);
    let mut accounts: Vec<(String, &'static str, String)> =
        vec![(paid_to.clone(), "cash", psn_no.clone())];
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut reversed: Vec<(String, i64)> = Vec::new();
    let mut payer_lines: Vec<(String, i64)> = Vec::new();
    let to_person: i64;
    let params_id;
    if insutype == "390" {
        let year = first.year();
        let Some(p) = params.get_pooled(&admdvs, year) else {
            return Err(StoreError::refused(
                "period",
                format!("no enrollment parameters for {admdvs} in {year}"),
            ));
        };
        params_id = p.id();
        let carried = net_payer_lines(tx, &psn_no, insutype, period).await?;
        let mut lines = Vec::new();
        for (key, amount) in &carried {
            let payer = yibao_enrollment::Payer::from_key(key).ok_or_else(|| {
                StoreError::Invariant(format!("stored payer line `{key}` is not a payer"))
            })?;
            if *amount < 0 {
                return Err(StoreError::Invariant(format!(
                    "{insutype} {period} of {psn_no}: the net {key} line is negative"
                )));
            }
            lines.push(yibao_enrollment::contribution::PayerLine {
                payer,
                amount: Fen(*amount),
            });
        }
        let total: Fen = lines.iter().map(|l| l.amount).sum();
        if total.0 != into_pool {
            return Err(StoreError::Invariant(format!(
                "{insutype} {period} of {psn_no}: payer lines {total} differ from the pool {into_pool}"
            )));
        }
        // The engine's rules over what the period still carries (the tier's figures are not
        // read by the refund: it returns the lines as they are).
        let carried_assessment = yibao_enrollment::contribution::ResidentAssessment {
            benefit_year: year,
            tier: yibao_enrollment::params::Tier {
                id: String::new(),
                total,
                finance: Fen::ZERO,
                individual: Fen(individual),
            },
            lines,
            subsidy: None,
        };
        let facts = yibao_enrollment::contribution::RefundFacts {
            benefits_used: used > 0,
            benefit_year_started: request.today >= first,
        };
        let refund = yibao_enrollment::contribution::refund_resident(p, &carried_assessment, facts)
            .map_err(|e| StoreError::refused("period", e.to_string()))?;
        let fund = ledger::fund_account(RESIDENT_POOL_FUND, &admdvs);
        accounts.push((
            fund.clone(),
            "fund",
            format!("{RESIDENT_POOL_FUND}:{admdvs}"),
        ));
        // Only what the tax bureau collected (`contribution_payment`) goes back to the person;
        // an individual part never paid is cancelled against the collection account it was
        // assessed through, as the other payers' lines are.
        let collected: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) FROM contribution_payment p \
             JOIN contribution_assessment a ON a.assessment_id = p.assessment_id \
             WHERE a.psn_no = $1 AND a.insutype = $2 AND a.period = $3 AND a.clct_type = 'normal'",
        )
        .bind(&psn_no)
        .bind(insutype)
        .bind(period)
        .fetch_one(&mut **tx)
        .await?;
        let paid_back = refund.to_person.0.min(collected.max(0));
        let uncollected = refund.to_person.0 - paid_back;
        if paid_back > 0 {
            transfers.push((
                fund.clone(),
                paid_to.clone(),
                paid_back,
                KIND_CLCT_REFUND.to_owned(),
            ));
        }
        if uncollected > 0 {
            let to = payer_account(yibao_enrollment::Payer::Individual, &admdvs);
            let kind = if to.starts_with("fund:") {
                "fund"
            } else {
                "cash"
            };
            let owner = to.split_once(':').map_or("", |(_, o)| o).to_owned();
            accounts.push((to.clone(), kind, owner));
            transfers.push((fund.clone(), to, uncollected, KIND_CLCT_POOL.to_owned()));
            reversed.push(("individual".to_owned(), uncollected));
        }
        if refund.to_person.0 > 0 {
            payer_lines.push(("individual".to_owned(), -refund.to_person.0));
        }
        to_person = paid_back;
        for line in &refund.reversals {
            let to = payer_account(line.payer, &admdvs);
            let kind = if to.starts_with("fund:") {
                "fund"
            } else {
                "cash"
            };
            let owner = to.split_once(':').map_or("", |(_, o)| o).to_owned();
            accounts.push((to.clone(), kind, owner));
            transfers.push((fund.clone(), to, line.amount.0, KIND_CLCT_POOL.to_owned()));
            payer_lines.push((line.payer.key().to_owned(), -line.amount.0));
            reversed.push((line.payer.key().to_owned(), line.amount.0));
        }
    } else {
        if used > 0 {
            return Err(StoreError::refused(
                "period",
                "refund refused: a benefit was drawn under the relation for the period",
            ));
        }
        params_id = run_row.params_id.clone();
        // An in-service month: the employee's share was credited to the personal account, the
        // employer's went to the pooled fund. The share comes back out of the account to the
        // person; the employer's goes back to the collection (the tax bureau returns it to
        // the employer), never to the person.
        if into_acct != individual {
            return Err(StoreError::Invariant(format!(
                "310 {period} of {psn_no}: the account credit {into_acct} is not the employee's share {individual}"
            )));
        }
        let personal = ledger::personal_account(&psn_no);
        let balance: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
        )
        .bind(&personal)
        .fetch_one(&mut **tx)
        .await?;
        if balance < into_acct {
            return Err(StoreError::refused(
                "period",
                format!(
                    "the personal account holds {}, less than the {} credited for {period}",
                    Fen(balance),
                    Fen(into_acct)
                ),
            ));
        }
        to_person = individual;
        if into_acct > 0 {
            transfers.push((
                personal,
                paid_to.clone(),
                into_acct,
                KIND_CLCT_ACCT.to_owned(),
            ));
        }
        if into_pool > 0 {
            let fund = ledger::fund_account(EMPLOYEE_POOL_FUND, &admdvs);
            let clct = collection_account(&admdvs);
            accounts.push((
                fund.clone(),
                "fund",
                format!("{EMPLOYEE_POOL_FUND}:{admdvs}"),
            ));
            accounts.push((clct.clone(), "cash", format!("tax:{admdvs}")));
            transfers.push((fund, clct, into_pool, KIND_CLCT_POOL.to_owned()));
            reversed.push(("employer".to_owned(), into_pool));
        }
    }
    let reversed_total: i64 = reversed.iter().map(|(_, amount)| amount).sum();
    if to_person + reversed_total != employer + individual + other {
        return Err(StoreError::Invariant(format!(
            "{insutype} {period} of {psn_no}: the refund ({to_person} + {reversed_total}) is not \
             what the period took in"
        )));
    }
    let assessment_id = format!("{insutype}:{period}:{psn_no}:refund");
    write_assessment_part(
        tx,
        &AssessmentPart {
            assessment_id: assessment_id.clone(),
            psn_no: &psn_no,
            insutype,
            admdvs: &admdvs,
            period,
            clct_type: "refund",
            part: "refund".to_owned(),
            psn_type: &run_row.psn_type,
            employer: -employer,
            individual: -individual,
            other: -other,
            into_acct: -into_acct,
            into_pool: -into_pool,
            params_id: &params_id,
            orig_assessment_id: Some(&run_row.assessment_id),
            payer_lines,
        },
        &accounts,
        &transfers,
        now,
    )
    .await?;
    sqlx::query(
        "INSERT INTO contribution_refund (assessment_id, psn_no, insutype, period, to_person_fen, \
         reversed_fen, paid_to, reason, source, actor, refunded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&assessment_id)
    .bind(&psn_no)
    .bind(insutype)
    .bind(period)
    .bind(to_person)
    .bind(reversed_total)
    .bind(&paid_to)
    .bind(request.reason.trim())
    .bind(source)
    .bind(request.actor.trim())
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(crate::refund::RefundDone {
        assessment_id,
        psn_no,
        insutype: insutype.to_owned(),
        period: period.to_owned(),
        to_person: Fen(to_person),
        paid_to,
        reversed: reversed
            .into_iter()
            .map(|(payer, amount)| (payer, Fen(amount)))
            .collect(),
    })
}
