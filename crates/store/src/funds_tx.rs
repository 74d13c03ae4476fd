// Included twice by lib.rs (see tx/common.rs). The month's payment run as it is prepared: the
// items, held cases, DRG/DIP pricing, year-end amounts and orders (crate::funds). Posting is in
// funds_post_tx.rs, reading in funds_read_tx.rs.

/// A settlement list's case as the payment run reads it.
struct FundsCase {
    setl_id: String,
    fixmedins_code: String,
    insutype: String,
    setl_date: String,
    medfee: i64,
    hifp: i64,
    list: Option<(String, String, String, i64)>, // setl_list_id, drg, status, los_days
    /// The latest list version passed its quality checks (setl_list_qc.passed).
    qc_passed: bool,
}

/// A case priced by a run (or a reversal taking a pricing back): a `payment_case` row.
struct FundsPriced {
    setl_id: String,
    fixmedins_code: String,
    setl_list_id: String,
    grp: String,
    kind: String,
    points_e4: i64,
    cost_fen: i64,
    fund_paid_fen: i64,
    payment_fen: i64,
    fund_account: String,
}

/// Fills an empty scratch table of this transaction (TEXT columns, the first the key) with
/// `rows`: a temporary table emptied at the commit on PostgreSQL, emptied first on SQLite.
async fn funds_scratch(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V<'_>>>,
) -> Result<(), StoreError> {
    let defs = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{c} TEXT {}",
                if i == 0 { "PRIMARY KEY" } else { "NOT NULL" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let on_commit = if IS_PG { " ON COMMIT DELETE ROWS" } else { "" };
    sqlx::query(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {table} ({defs}){on_commit}"
    ))
    .execute(&mut **tx)
    .await?;
    if !IS_PG {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut **tx)
            .await?;
    }
    insert_rows(tx, table, columns, rows, "").await?;
    Ok(())
}

fn funds_payer(other: &str, insuplc: &str) -> Result<yibao_funds::order::Payer, StoreError> {
    use yibao_funds::order::Payer;
    if other == "personal" {
        return Ok(Payer::fund(crate::funds::PERSONAL_ACCOUNT_FUND, insuplc));
    }
    if other == ledger::CASH_ACCOUNT {
        return Ok(Payer::counter());
    }
    let parts: Vec<&str> = other.split(':').collect();
    match parts.as_slice() {
        ["fund", fund, admdvs] => Ok(Payer::fund(fund, admdvs)),
        _ => Err(StoreError::Invariant(format!(
            "a settlement moved money between {other} and an institution"
        ))),
    }
}

fn funds_line_account(p: &yibao_funds::order::Payer, fixmedins_code: &str) -> String {
    if p.is_counter() {
        crate::funds::counter_account(fixmedins_code)
    } else {
        ledger::fund_account(&p.fund, &p.admdvs)
    }
}

/// The unpaid inpatient settlements of the region's hospitals that DRG/DIP may price, with the
/// latest version of their settlement list (if any) and its group.
async fn funds_cases(
    tx: &mut Tx<'_>,
    admdvs: &str,
    last: &str,
) -> Result<Vec<FundsCase>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.setl_id, s.fixmedins_code, s.insutype, s.setl_date, s.medfee_sumamt, s.hifp_pay, \
         l.setl_list_id, g.drg, g.status, l.los_days, q.passed \
         FROM settlement s \
         JOIN institution i ON i.fixmedins_code = s.fixmedins_code \
         JOIN visit v ON v.mdtrt_id = s.mdtrt_id \
         LEFT JOIN (SELECT fixmedins_code, setl_id, MAX(version) AS v FROM setl_list \
                    GROUP BY fixmedins_code, setl_id) lv \
           ON lv.fixmedins_code = s.fixmedins_code AND lv.setl_id = s.setl_id \
         LEFT JOIN setl_list l ON l.fixmedins_code = lv.fixmedins_code AND l.setl_id = lv.setl_id \
           AND l.version = lv.v \
         LEFT JOIN setl_list_group g ON g.setl_list_id = l.setl_list_id \
         LEFT JOIN setl_list_qc q ON q.setl_list_id = l.setl_list_id \
         WHERE i.admdvs = $1 AND i.fixmedins_type = '1' AND s.setl_date <= $2 AND s.setl_sign = 1 \
           AND s.refd_setl_flag = 0 AND v.kind = 'ipt' AND s.insuplc_admdvs = $1 \
           AND s.insutype IN ('310', '390') \
           AND NOT EXISTS (SELECT 1 FROM payment_item p WHERE p.setl_id = s.setl_id) \
         ORDER BY s.setl_id",
    )
    .bind(admdvs)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let list_id: Option<String> = r.try_get(6)?;
        let list = match list_id {
            Some(id) => Some((
                id,
                r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                r.try_get::<Option<String>, _>(8)?.unwrap_or_default(),
                r.try_get::<i64, _>(9)?,
            )),
            None => None,
        };
        out.push(FundsCase {
            setl_id: r.try_get(0)?,
            fixmedins_code: r.try_get(1)?,
            insutype: r.try_get(2)?,
            setl_date: r.try_get(3)?,
            medfee: r.try_get(4)?,
            hifp: r.try_get(5)?,
            list,
            qc_passed: r.try_get::<Option<i64>, _>(10)? == Some(1),
        });
    }
    Ok(out)
}

pub(crate) async fn prepare_payment_run(
    pool: &Pool,
    r: &crate::funds::PrepareRun,
) -> Result<crate::funds::RunSummary, StoreError> {
    use yibao_funds::config::Method;
    use yibao_funds::order::{build_order, Amount, LineKind, OrderInput, Payer};
    let run_id = crate::funds::run_id(&r.admdvs, &r.month);
    if let Some(run) = read_run(pool, &run_id).await? {
        return Ok(run);
    }
    let pending: Option<String> = sqlx::query(
        "SELECT r.run_id FROM payment_run r LEFT JOIN payment_approval a ON a.run_id = r.run_id \
         WHERE r.admdvs = $1 AND a.run_id IS NULL ORDER BY r.month LIMIT 1",
    )
    .bind(&r.admdvs)
    .fetch_optional(pool)
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    if let Some(p) = pending {
        return Err(StoreError::refused(
            "month",
            format!("{p} is prepared and awaits approval; approve it first"),
        ));
    }
    let later: Option<String> = sqlx::query(
        "SELECT month FROM payment_run WHERE admdvs = $1 AND month > $2 ORDER BY month LIMIT 1",
    )
    .bind(&r.admdvs)
    .bind(&r.month)
    .fetch_optional(pool)
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    if let Some(l) = later {
        return Err(StoreError::refused(
            "month",
            format!(
                "{l} is already run for {}: months are paid in order",
                r.admdvs
            ),
        ));
    }
    let (_, last_day) = crate::funds::month_bounds(&r.month)?;
    let last = last_day.to_string();
    let year = &r.month[..4];
    let year_end = r.month.ends_with("-12");
    let mut tx = pool.begin().await?;

    // 1. Inpatient cases DRG/DIP may price; without a passing list they wait (held).
    let mut held: Vec<String> = Vec::new();
    let mut priced: Vec<FundsCase> = Vec::new();
    if r.config.method != Method::Ffs {
        for c in funds_cases(&mut tx, &r.admdvs, &last).await? {
            // Priced only on a list whose latest version passed its quality checks (4104).
            if c.list.is_some() && c.qc_passed {
                priced.push(c);
            } else {
                held.push(c.setl_id);
            }
        }
    }
    // Reversals of held settlements wait with them.
    if !held.is_empty() {
        let rows = sqlx::query(
            "SELECT s.setl_id, s.orig_setl_id FROM settlement s JOIN institution i ON i.fixmedins_code = s.fixmedins_code \
             WHERE i.admdvs = $1 AND s.setl_date <= $2 AND s.setl_sign = -1 \
             AND NOT EXISTS (SELECT 1 FROM payment_item p WHERE p.setl_id = s.setl_id)",
        )
        .bind(&r.admdvs)
        .bind(&last)
        .fetch_all(&mut *tx)
        .await?;
        let held_set: std::collections::HashSet<&String> = held.iter().collect();
        let mut extra = Vec::new();
        for row in rows {
            let orig: String = row.try_get(1)?;
            if held_set.contains(&orig) {
                extra.push(row.try_get::<String, _>(0)?);
            }
        }
        held.extend(extra);
    }
    funds_scratch(
        &mut tx,
        "payment_hold",
        &["setl_id"],
        held.iter().map(|h| vec![V::T(h)]).collect(),
    )
    .await?;
    // 2. The run's items: every unpaid settlement and reversal of the region's institutions
    //    dated up to the month's end, except the held ones, gathered in a scratch table of this
    //    transaction by one statement (they never leave the database).
    let mut lines_by_inst: BTreeMap<String, OrderInput> = BTreeMap::new();
    funds_scratch(
        &mut tx,
        "payment_scratch",
        &["setl_id", "fixmedins_code"],
        Vec::new(),
    )
    .await?;
    let n_settlements = sqlx::query(
        "INSERT INTO payment_scratch (setl_id, fixmedins_code) \
         SELECT s.setl_id, s.fixmedins_code FROM settlement s JOIN institution i ON i.fixmedins_code = s.fixmedins_code \
         WHERE i.admdvs = $1 AND s.setl_date <= $2 \
         AND NOT EXISTS (SELECT 1 FROM payment_item p WHERE p.setl_id = s.setl_id) \
         AND NOT EXISTS (SELECT 1 FROM payment_hold h WHERE h.setl_id = s.setl_id)",
    )
    .bind(&r.admdvs)
    .bind(&last)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;

    // 3. DRG/DIP pricing of the month's cases.
    let mut cases_out: Vec<FundsPriced> = Vec::new();
    let mut pool_fen = 0i64;
    let mut points_total = 0i64;
    let mut drg_adj: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new(); // (inst, fund) → (fen, n)
    if !priced.is_empty() {
        let inst_rows = sqlx::query(
            "SELECT fixmedins_code, hosp_lv FROM institution WHERE admdvs = $1 AND fixmedins_type = '1' ORDER BY fixmedins_code",
        )
        .bind(&r.admdvs)
        .fetch_all(&mut *tx)
        .await?;
        let mut hospitals = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        for row in inst_rows {
            let code: String = row.try_get(0)?;
            let lv: String = row.try_get(1)?;
            let level = lv
                .parse::<i64>()
                .ok()
                .and_then(yibao_drg_payment::HospitalLevel::from_number)
                .unwrap_or(yibao_drg_payment::HospitalLevel::Two);
            index.insert(code.clone(), hospitals.len() as u32);
            hospitals.push(yibao_drg_payment::Hospital {
                code,
                level,
                coefficient_ppm: None,
            });
        }
        let (dx, procs) = if r.config.method == Method::Dip {
            list_clinical(&mut tx, &priced).await?
        } else {
            (HashMap::new(), HashMap::new())
        };
        let to_case = |i: usize, c: &FundsCase| -> yibao_drg_payment::InpatientCase {
            let (list_id, drg, _, los) = c.list.clone().unwrap_or_default();
            yibao_drg_payment::InpatientCase {
                id: i as u64,
                hospital: index[&c.fixmedins_code],
                month: c.setl_date[5..7].parse().unwrap_or(1),
                drg: yibao_drg_payment::DrgCode::parse(&drg).ok(),
                principal_dx: dx.get(&list_id).cloned().unwrap_or_default(),
                procedures: procs.get(&list_id).cloned().unwrap_or_default(),
                cost_fen: c.medfee,
                insured_share_fen: c.medfee - c.hifp,
                stay_days: u32::try_from(los).unwrap_or(0),
            }
        };
        let cases: Vec<yibao_drg_payment::InpatientCase> = priced
            .iter()
            .enumerate()
            .map(|(i, c)| to_case(i, c))
            .collect();
        // History: the region's cases priced in the last twelve months' runs, and this month's.
        let mut history: Vec<yibao_drg_payment::InpatientCase> = Vec::new();
        if r.config.method == Method::Drg {
            let from = shift_month(&r.month, -11);
            let rows = sqlx::query(
                "SELECT c.grp, c.cost_fen FROM payment_case c JOIN payment_run r ON r.run_id = c.run_id \
                 WHERE r.admdvs = $1 AND r.month >= $2 AND c.cost_fen > 0",
            )
            .bind(&r.admdvs)
            .bind(&from)
            .fetch_all(&mut *tx)
            .await?;
            for (i, row) in rows.iter().enumerate() {
                let grp: String = row.try_get(0)?;
                history.push(yibao_drg_payment::InpatientCase {
                    id: (cases.len() + i) as u64,
                    hospital: 0,
                    month: 1,
                    drg: yibao_drg_payment::DrgCode::parse(&grp).ok(),
                    principal_dx: String::new(),
                    procedures: Vec::new(),
                    cost_fen: row.try_get(1)?,
                    insured_share_fen: 0,
                    stay_days: 1,
                });
            }
            if !history.is_empty() {
                history.extend(cases.iter().cloned());
            }
        }
        let classifier = yibao_drg_payment::dip::ProcedureClassifier {
            or_procedures: r.or_procedures.clone(),
        };
        let points = yibao_funds::pricing::case_points(
            r.config.method,
            &history,
            &cases,
            &hospitals,
            &r.region,
            &classifier,
        )
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
        let to_price: Vec<yibao_funds::pricing::CaseToPrice> = priced
            .iter()
            .zip(&points)
            .map(|(c, p)| yibao_funds::pricing::CaseToPrice {
                points_e4: p.points_e4,
                cost_fen: c.medfee,
                fund_paid_fen: c.hifp,
            })
            .collect();
        let annual = funds_drg_budget(&mut tx, r).await?;
        let month_no: u32 = r.month[5..7].parse().unwrap_or(1);
        let month_budget = annual
            .map(|a| yibao_funds::pricing::month_budget(a, month_no))
            .transpose()
            .map_err(|e| StoreError::Invariant(e.to_string()))?;
        let month = yibao_funds::pricing::price_month(&to_price, month_budget)
            .map_err(|e| StoreError::Invariant(e.to_string()))?;
        pool_fen = month.pool_fen;
        points_total = month.points_e4;
        for (i, c) in priced.iter().enumerate() {
            let fund = crate::funds::pool_fund(&c.insutype).expect("310 or 390 only");
            let adj = month.adjustment_fen(&to_price, i);
            let e = drg_adj
                .entry((c.fixmedins_code.clone(), fund.to_string()))
                .or_default();
            e.0 += adj;
            e.1 += 1;
            let (list_id, drg, _, _) = c.list.clone().unwrap_or_default();
            cases_out.push(FundsPriced {
                setl_id: c.setl_id.clone(),
                fixmedins_code: c.fixmedins_code.clone(),
                setl_list_id: list_id,
                grp: drg,
                kind: points[i].kind.clone(),
                points_e4: points[i].points_e4,
                cost_fen: c.medfee,
                fund_paid_fen: c.hifp,
                payment_fen: month.payments_fen[i],
                fund_account: ledger::fund_account(fund, &r.admdvs),
            });
        }
    }
    // Reversals (in this run) of cases priced by earlier runs take their pricing back.
    let rows = sqlx::query(
        "SELECT s.setl_id, c.fixmedins_code, c.setl_list_id, c.grp, c.kind, c.points_e4, c.cost_fen, \
         c.fund_paid_fen, c.payment_fen, c.fund_account \
         FROM settlement s JOIN payment_case c ON c.setl_id = s.orig_setl_id \
         JOIN institution i ON i.fixmedins_code = s.fixmedins_code \
         WHERE i.admdvs = $1 AND s.setl_date <= $2 AND s.setl_sign = -1 \
         AND NOT EXISTS (SELECT 1 FROM payment_item p WHERE p.setl_id = s.setl_id) \
         AND NOT EXISTS (SELECT 1 FROM payment_hold h WHERE h.setl_id = s.setl_id)",
    )
    .bind(&r.admdvs)
    .bind(&last)
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let inst: String = row.try_get(1)?;
        let fund_account: String = row.try_get(9)?;
        let fund = fund_account
            .split(':')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let cost: i64 = row.try_get(6)?;
        let payment: i64 = row.try_get(8)?;
        let e = drg_adj.entry((inst.clone(), fund)).or_default();
        e.0 -= payment - cost;
        e.1 += 1;
        cases_out.push(FundsPriced {
            setl_id: row.try_get(0)?,
            fixmedins_code: inst,
            setl_list_id: row.try_get(2)?,
            grp: row.try_get(3)?,
            kind: format!("reversal of {}", row.try_get::<String, _>(4)?),
            points_e4: -row.try_get::<i64, _>(5)?,
            cost_fen: -cost,
            fund_paid_fen: -row.try_get::<i64, _>(7)?,
            payment_fen: -payment,
            fund_account,
        });
    }

    // 4. Nothing is written until the orders are built: the run row, its items (one key per
    //    settlement: paid once), cases and lines go in together at the end.
    let pay_by = r.pay_by.to_string();
    let now = ts(r.now);
    // 5. What the items left owed, per institution and payer, from the ledger.
    let rows = sqlx::query(
        "SELECT p.fixmedins_code, s.insuplc_admdvs, \
         CASE WHEN t.credit_account = 'inst:' || p.fixmedins_code \
              THEN (CASE WHEN t.debit_account LIKE 'personal:%' THEN 'personal' ELSE t.debit_account END) \
              ELSE (CASE WHEN t.credit_account LIKE 'personal:%' THEN 'personal' ELSE t.credit_account END) END, \
         CAST(SUM(CASE WHEN t.credit_account = 'inst:' || p.fixmedins_code THEN t.amount_fen ELSE -t.amount_fen END) AS BIGINT), \
         COUNT(DISTINCT p.setl_id) \
         FROM payment_scratch p JOIN settlement s ON s.setl_id = p.setl_id JOIN ledger_transfer t ON t.ref_id = p.setl_id \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut owed: BTreeMap<(String, yibao_funds::order::Payer), (i64, i64)> = BTreeMap::new();
    for row in rows {
        let inst: String = row.try_get(0)?;
        let insuplc: String = row.try_get(1)?;
        let other: String = row.try_get(2)?;
        let payer = funds_payer(&other, &insuplc)?;
        let e = owed.entry((inst, payer)).or_default();
        e.0 += row.try_get::<i64, _>(3)?;
        e.1 += row.try_get::<i64, _>(4)?;
    }
    for ((inst, payer), (fen, n)) in owed {
        let input = lines_by_inst.entry(inst.clone()).or_default();
        input.owed.push(Amount {
            payer,
            amount_fen: fen,
            trace: format!("{n} settlements and reversals of this run"),
        });
    }
    for ((inst, fund), (fen, n)) in &drg_adj {
        lines_by_inst
            .entry(inst.clone())
            .or_default()
            .drg
            .push(Amount {
                payer: Payer::fund(fund, &r.admdvs),
                amount_fen: *fen,
                trace: format!(
                    "{n} cases by {} points: payment by points − cost",
                    r.config.method.code()
                ),
            });
    }
    // 6. Year end: true-up of the year's cases and release of the year's holdbacks.
    if year_end && r.config.method != Method::Ffs {
        year_end_amounts(&mut tx, r, year, &cases_out, &mut lines_by_inst).await?;
    }
    // 7. Recoveries outstanding per institution.
    let rows = sqlx::query(
        "SELECT b.account_code, CAST(SUM(b.balance_fen) AS BIGINT) FROM ledger_balance b \
         WHERE b.account_code LIKE 'recv:%' GROUP BY b.account_code",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut recovery: HashMap<String, i64> = HashMap::new();
    for row in rows {
        let account: String = row.try_get(0)?;
        let balance: i64 = row.try_get(1)?;
        recovery.insert(account["recv:".len()..].to_string(), (-balance).max(0));
    }
    // 8. The orders.
    let holdback_ppm = if year_end { 0 } else { r.config.holdback_ppm };
    let mut line_rows: Vec<(String, i64, &'static str, String, i64, String)> = Vec::new();
    let mut total = 0i64;
    for (inst, input) in lines_by_inst.iter_mut() {
        input.fixmedins_code = inst.clone();
        input.admdvs = r.admdvs.clone();
        input.recovery_outstanding_fen = recovery.get(inst).copied().unwrap_or(0);
        let lines = build_order(input, holdback_ppm, crate::funds::PERSONAL_ACCOUNT_FUND)
            .map_err(|e| StoreError::Invariant(e.to_string()))?;
        total += yibao_funds::order::paid_fen(&lines);
        for (i, l) in lines.iter().enumerate() {
            let account = match l.kind {
                LineKind::Ffs | LineKind::Counter => funds_line_account(&l.payer, inst),
                LineKind::Drg
                | LineKind::TrueUp
                | LineKind::HoldbackRelease
                | LineKind::Holdback => ledger::fund_account(&l.payer.fund, &l.payer.admdvs),
                LineKind::Recovery => ledger::receivable_account(inst),
                LineKind::Bank => crate::funds::bank_account(&l.payer.fund, &r.admdvs),
                LineKind::Clearing => {
                    crate::funds::clearing_account(&l.payer.fund, &l.payer.admdvs, &r.admdvs)
                }
            };
            line_rows.push((
                inst.clone(),
                i as i64 + 1,
                l.kind.code(),
                account,
                l.amount_fen,
                l.trace.clone(),
            ));
        }
    }
    let method = r.config.method.code();
    let n_cases = cases_out.len() as i64;
    let n_held = held.len() as i64;
    sqlx::query(
        "INSERT INTO payment_run (run_id, admdvs, month, prepared_by, prepared_at, pay_by, method, \
         pool_fen, points_e4, n_settlements, n_cases, n_held, total_fen, year_end, late_settlements) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&run_id)
    .bind(&r.admdvs)
    .bind(&r.month)
    .bind(&r.prepared_by)
    .bind(&now)
    .bind(&pay_by)
    .bind(method)
    .bind(pool_fen)
    .bind(points_total)
    .bind(n_settlements)
    .bind(n_cases)
    .bind(n_held)
    .bind(total)
    .bind(i64::from(year_end))
    .bind(r.config.late_settlements.code())
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO payment_item (setl_id, run_id, fixmedins_code) \
         SELECT setl_id, $1, fixmedins_code FROM payment_scratch",
    )
    .bind(&run_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted as i64 != n_settlements {
        return Err(StoreError::Invariant(format!(
            "{inserted} items written for {n_settlements} settlements"
        )));
    }
    insert_rows(
        &mut tx,
        "payment_case",
        &[
            "setl_id",
            "run_id",
            "fixmedins_code",
            "setl_list_id",
            "grp",
            "kind",
            "points_e4",
            "cost_fen",
            "fund_paid_fen",
            "payment_fen",
            "adjustment_fen",
            "fund_account",
        ],
        cases_out
            .iter()
            .map(|c| {
                vec![
                    V::T(&c.setl_id),
                    V::T(&run_id),
                    V::T(&c.fixmedins_code),
                    V::T(&c.setl_list_id),
                    V::T(&c.grp),
                    V::T(&c.kind),
                    V::I(c.points_e4),
                    V::I(c.cost_fen),
                    V::I(c.fund_paid_fen),
                    V::I(c.payment_fen),
                    V::I(c.payment_fen - c.cost_fen),
                    V::T(&c.fund_account),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "payment_line",
        &[
            "run_id",
            "fixmedins_code",
            "seq",
            "kind",
            "account",
            "amount_fen",
            "trace",
        ],
        line_rows
            .iter()
            .map(|l| {
                vec![
                    V::T(&run_id),
                    V::T(&l.0),
                    V::I(l.1),
                    V::T(l.2),
                    V::T(&l.3),
                    V::I(l.4),
                    V::T(&l.5),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    tx.commit().await?;
    let mut run = read_run(pool, &run_id)
        .await?
        .ok_or_else(|| StoreError::Invariant(format!("{run_id} not found after writing")))?;
    run.fresh = true;
    Ok(run)
}

/// Principal diagnoses and procedures of the priced cases' lists (DIP).
#[allow(clippy::type_complexity)]
async fn list_clinical(
    tx: &mut Tx<'_>,
    cases: &[FundsCase],
) -> Result<(HashMap<String, String>, HashMap<String, Vec<String>>), StoreError> {
    let mut dx = HashMap::new();
    let mut procs: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in cases.chunks(500) {
        let ids: Vec<&str> = chunk
            .iter()
            .filter_map(|c| c.list.as_ref().map(|l| l.0.as_str()))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let marks = (1..=ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT setl_list_id, diag_code FROM setl_list_diagnosis WHERE maindiag_flag = 1 AND setl_list_id IN ({marks})"
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut **tx).await? {
            dx.insert(row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?);
        }
        let sql = format!(
            "SELECT setl_list_id, oprn_oprt_code FROM setl_list_operation WHERE setl_list_id IN ({marks}) ORDER BY setl_list_id, seq"
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut **tx).await? {
            procs
                .entry(row.try_get::<String, _>(0)?)
                .or_default()
                .push(row.try_get::<String, _>(1)?);
        }
    }
    Ok((dx, procs))
}

/// `YYYY-MM` moved by `delta` months.
fn shift_month(month: &str, delta: i32) -> String {
    let y: i32 = month[..4].parse().unwrap_or(2000);
    let m: i32 = month[5..7].parse().unwrap_or(1);
    let idx = y * 12 + (m - 1) + delta;
    format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
}

/// The year's DRG/DIP budget of the run's region (总额预算): the latest budget the bureau set
/// for the pseudo-fund [`crate::funds::DRG_BUDGET_FUND`], else last year's fund spending on
/// priced cases (what the fund paid at settlement, the monthly adjustments and December's
/// true-up) grown by the region's `[budget] growth`; `None` (budget neutral) with neither.
async fn funds_drg_budget(
    tx: &mut Tx<'_>,
    r: &crate::funds::PrepareRun,
) -> Result<Option<i64>, StoreError> {
    let year: i64 = r.month[..4]
        .parse()
        .map_err(|_| StoreError::bad("month", format!("{:?} is not YYYY-MM", r.month)))?;
    let set: Option<i64> = sqlx::query(
        "SELECT amount_fen FROM fund_budget WHERE fund = $1 AND admdvs = $2 AND year = $3 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(crate::funds::DRG_BUDGET_FUND)
    .bind(&r.admdvs)
    .bind(year)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    if set.is_some() {
        return Ok(set);
    }
    let last = (year - 1).to_string();
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(c.fund_paid_fen + c.adjustment_fen), 0) AS BIGINT), COUNT(*) \
         FROM payment_case c JOIN payment_run r ON r.run_id = c.run_id \
         WHERE r.admdvs = $1 AND r.month >= $2 AND r.month <= $3",
    )
    .bind(&r.admdvs)
    .bind(format!("{last}-01"))
    .bind(format!("{last}-12"))
    .fetch_one(&mut **tx)
    .await?;
    let (spent, n): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if n == 0 {
        return Ok(None);
    }
    let true_up: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(l.amount_fen), 0) AS BIGINT) FROM payment_line l \
         WHERE l.run_id = $1 AND l.kind = 'true_up'",
    )
    .bind(crate::funds::run_id(&r.admdvs, &format!("{last}-12")))
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    yibao_funds::pricing::grown_budget((spent + true_up).max(0), r.region.budget_growth_ppm)
        .map(Some)
        .map_err(|e| StoreError::Invariant(e.to_string()))
}

/// The year-end true-up (per hospital, shared over its funds by what they paid) and the
/// release of the year's holdbacks.
#[allow(clippy::type_complexity)]
async fn year_end_amounts(
    tx: &mut Tx<'_>,
    r: &crate::funds::PrepareRun,
    year: &str,
    this_run: &[FundsPriced],
    orders: &mut BTreeMap<String, yibao_funds::order::OrderInput>,
) -> Result<(), StoreError> {
    use yibao_funds::order::{Amount, Payer};
    let rows = sqlx::query(
        "SELECT c.fixmedins_code, r.month, c.points_e4, c.cost_fen, c.fund_paid_fen, c.adjustment_fen, c.fund_account \
         FROM payment_case c JOIN payment_run r ON r.run_id = c.run_id \
         WHERE r.admdvs = $1 AND r.month >= $2 AND r.month < $3",
    )
    .bind(&r.admdvs)
    .bind(format!("{year}-01"))
    .bind(&r.month)
    .fetch_all(&mut **tx)
    .await?;
    // (inst, month, points, cost, fund paid, adjustment, fund account)
    let mut all: Vec<(String, u8, i64, i64, i64, i64, String)> = Vec::new();
    for row in rows {
        let month: String = row.try_get(1)?;
        all.push((
            row.try_get(0)?,
            month[5..7].parse().unwrap_or(1),
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
            row.try_get(5)?,
            row.try_get(6)?,
        ));
    }
    let this_month: u8 = r.month[5..7].parse().unwrap_or(12);
    for c in this_run {
        all.push((
            c.fixmedins_code.clone(),
            this_month,
            c.points_e4,
            c.cost_fen,
            c.fund_paid_fen,
            c.payment_fen - c.cost_fen,
            c.fund_account.clone(),
        ));
    }
    // Reversal rows are negative: net them into their hospital's year by summing per hospital
    // and month (the engine takes non-negative cases, so negatives fold into one row each).
    let mut per: BTreeMap<(String, u8), (i64, i64, i64, i64)> = BTreeMap::new();
    let mut by_fund: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (inst, m, p, cost, paid, adj, fund_account) in &all {
        let e = per.entry((inst.clone(), *m)).or_default();
        e.0 += p;
        e.1 += cost;
        e.2 += paid;
        e.3 += adj;
        *by_fund
            .entry(inst.clone())
            .or_default()
            .entry(fund_account.clone())
            .or_default() += paid;
    }
    let hospitals: Vec<String> = by_fund.keys().cloned().collect();
    let index: HashMap<&str, u32> = hospitals
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i as u32))
        .collect();
    let cases: Vec<yibao_funds::pricing::YearCase> = per
        .iter()
        .filter(|(_, v)| v.0 >= 0 && v.1 >= 0 && v.2 <= v.1)
        .map(|((inst, m), v)| yibao_funds::pricing::YearCase {
            hospital: index[inst.as_str()],
            month: *m,
            points_e4: v.0,
            cost_fen: v.1,
            fund_paid_fen: v.2,
            adjustment_fen: v.3,
        })
        .collect();
    let annual = funds_drg_budget(tx, r).await?;
    let true_up = yibao_funds::pricing::year_true_up(&cases, hospitals.len(), annual, &r.region)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    for (h, amount) in hospitals.iter().zip(true_up) {
        if amount == 0 {
            continue;
        }
        let funds = &by_fund[h];
        let weights: Vec<i128> = funds.values().map(|v| i128::from((*v).max(0))).collect();
        let shares = if weights.iter().sum::<i128>() == 0 {
            let mut s = vec![0; weights.len()];
            s[0] = amount.abs();
            s
        } else {
            yibao_drg_payment::exact::share_largest_remainder(amount.abs(), &weights)
        };
        let order = orders.entry(h.clone()).or_default();
        for (account, share) in funds.keys().zip(shares) {
            if share == 0 {
                continue;
            }
            let fund = account.split(':').nth(1).unwrap_or_default();
            order.true_up.push(Amount {
                payer: Payer::fund(fund, &r.admdvs),
                amount_fen: amount.signum() * share,
                trace: format!(
                    "year {year}: annual settlement by points (surplus and overspend bands) − what the months paid"
                ),
            });
        }
    }
    let rows = sqlx::query(
        "SELECT l.fixmedins_code, l.account, CAST(SUM(CASE WHEN l.kind = 'holdback' THEN l.amount_fen ELSE -l.amount_fen END) AS BIGINT) \
         FROM payment_line l JOIN payment_run r ON r.run_id = l.run_id \
         WHERE r.admdvs = $1 AND r.month >= $2 AND r.month < $3 AND l.kind IN ('holdback', 'holdback_release') \
         GROUP BY l.fixmedins_code, l.account",
    )
    .bind(&r.admdvs)
    .bind(format!("{year}-01"))
    .bind(&r.month)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let inst: String = row.try_get(0)?;
        let account: String = row.try_get(1)?;
        let amount: i64 = row.try_get(2)?;
        if amount <= 0 {
            continue;
        }
        let fund = account.split(':').nth(1).unwrap_or_default().to_string();
        orders
            .entry(inst)
            .or_default()
            .holdback_release
            .push(Amount {
                payer: Payer::fund(&fund, &r.admdvs),
                amount_fen: amount,
                trace: format!("quality holdback of {year} released"),
            });
    }
    Ok(())
}
