// Settlement (2206/2207, 2303/2304): the lines, the person, the engine, and the writes of one
// settlement.
// Compiled once per backend; see lib.rs.

async fn settle(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Settle) -> Result<Done, StoreError> {
    let kind = c.kind;
    if c.medfee_sumamt_fen < 0 {
        return Err(StoreError::bad("medfee_sumamt", "is negative"));
    }
    check_id_opt("chrg_bchno", &c.chrg_bchno)?;
    check_id_opt("invono", &c.invono)?;
    // A pre-settlement writes nothing but its idempotency record: it takes no lock.
    let (person, v) = person_and_visit(tx, ctx, &c.psn_no, &c.mdtrt_id, !c.pre).await?;
    expect_kind(&v, kind)?;
    // An inpatient stay settles either after its discharge (2402 → 2304) or at the end of the
    // stay before the discharge is recorded (2304 → 2402, the order many hospitals use); either
    // way the settlement closes the visit's bill, and 2402 may still follow it.
    expect_status(&v, &[VisitStatus::Open, VisitStatus::Discharged])?;
    if c.insutype != v.insutype {
        return Err(StoreError::bad(
            "insutype",
            format!("{} differs from the visit's {}", c.insutype, v.insutype),
        ));
    }
    let med_type = if c.med_type.is_empty() {
        v.med_type.clone()
    } else {
        c.med_type.clone()
    };
    if med_type != v.med_type {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{med_type} differs from the visit's {} (2203 sets it)",
                v.med_type
            ),
        ));
    }
    let today = ctx.env.now.date();
    // The insurance year's label: this calendar year's, or last year's for an insurance year
    // that began then (the policy in force says which, below).
    let candidate_years = [i64::from(today.year()), i64::from(today.year()) - 1];

    // The lines this settlement covers.
    let by_batch =
        kind == VisitKind::Outpatient && !c.chrg_bchno.is_empty() && c.chrg_bchno != ALL_UNSETTLED;
    let sql = format!(
        "SELECT feedetl_sn, med_list_codg, pric_micro, cnt_e4, amount_fen, hosp_appr_flag, in_catalogue, chrgitm_lv, \
         med_chrgitm_type, selfpay_prop_ppm, pric_uplmt_micro, lmt_used_flag, fulamt_ownpay_fen, overlmt_selfpay_fen, \
         preselfpay_fen, inscp_scp_fen, fee_ocur_time FROM fee_line WHERE mdtrt_id = $1 AND setl_id IS NULL{} ORDER BY feedetl_sn",
        if by_batch { " AND chrg_bchno = $2" } else { "" }
    );
    let mut q = sqlx::query(&sql).bind(&c.mdtrt_id);
    if by_batch {
        q = q.bind(&c.chrg_bchno);
    }
    let lines = q
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| {
            let fee_ocur_time: String = r.try_get("fee_ocur_time")?;
            Ok(StoredLine {
                fee_date: stored_day(&fee_ocur_time)?,
                feedetl_sn: r.try_get("feedetl_sn")?,
                med_list_codg: r.try_get("med_list_codg")?,
                pric_micro: r.try_get("pric_micro")?,
                cnt_e4: r.try_get("cnt_e4")?,
                amount_fen: r.try_get("amount_fen")?,
                hosp_appr_flag: r.try_get("hosp_appr_flag")?,
                facts: LineFacts {
                    in_catalogue: r.try_get::<i64, _>("in_catalogue")? == 1,
                    chrgitm_lv: r.try_get("chrgitm_lv")?,
                    med_chrgitm_type: r.try_get("med_chrgitm_type")?,
                    selfpay_prop_ppm: r.try_get("selfpay_prop_ppm")?,
                    pric_uplmt_micro: r.try_get("pric_uplmt_micro")?,
                    lmt_used_flag: r.try_get("lmt_used_flag")?,
                },
                fulamt_ownpay_fen: r.try_get("fulamt_ownpay_fen")?,
                overlmt_selfpay_fen: r.try_get("overlmt_selfpay_fen")?,
                preselfpay_fen: r.try_get("preselfpay_fen")?,
                inscp_scp_fen: r.try_get("inscp_scp_fen")?,
                memo: String::new(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if lines.is_empty() {
        return Err(StoreError::refused(
            if by_batch { "chrg_bchno" } else { "mdtrt_id" },
            "there are no unsettled fee lines to settle (upload them with 2204/2301 first)",
        ));
    }
    let total: i64 = lines.iter().map(|l| l.amount_fen).sum();
    if total != c.medfee_sumamt_fen {
        return Err(StoreError::bad(
            "medfee_sumamt",
            format!(
                "{} differs from the uploaded lines' total {}",
                engine::render_fen(c.medfee_sumamt_fen),
                engine::render_fen(total)
            ),
        ));
    }
    if total < 0 {
        return Err(StoreError::refused(
            "medfee_sumamt",
            "the lines total a negative amount",
        ));
    }
    // Smart audit of the bill (事中): a pre-settlement under a warning region records nothing,
    // so it runs the rules only where a finding could refuse it.
    let audit = if c.pre && c.audit_gate == crate::audit::AuditGate::Warn {
        SettleAudit::default()
    } else {
        settle_findings(tx, ctx, c, (&person.gend, &person.brdy), &v, &lines).await?
    };
    gate_settlement(c, &audit.findings)?;
    // The person as of today.
    let d = today.to_string();
    let PersonState {
        psn_type,
        insuplc_admdvs,
        sp_psn_types,
        tier,
        recognitions,
        mut ytd_by_year,
    } = person_state(
        tx,
        &c.psn_no,
        &c.insutype,
        today,
        stored_day(&v.begntime)?,
        candidate_years,
    )
    .await?;
    // The person's policy, looked up once: its insurance year labels the accumulators, it says
    // whether the bill is maternity care, and it settles the bill.
    let policy = ctx.engine.policy_for(&insuplc_admdvs, today)?;
    let year = i64::from(policy.year);
    let ytd = ytd_by_year.remove(&year).unwrap_or_default();
    // The filing that covers a visit outside the insured region: its kind (dcla_type) decides
    // the cross-region rule; none is unfiled. A local visit needs none.
    let filing = if v.mdtrtarea_admvs != insuplc_admdvs {
        sqlx::query(
            "SELECT dcla_type FROM filing WHERE psn_no = $1 AND mdtrtarea_admvs = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) ORDER BY dcla_type LIMIT 1",
        )
        .bind(&c.psn_no)
        .bind(&v.mdtrtarea_admvs)
        .bind(&d)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?
        .map(|dcla_type| engine::filing_kind(&dcla_type))
    } else {
        None
    };
    // The delivery type (2203A) matters only to a maternity bill: read it only for one.
    let matn_type = if engine::is_maternity(policy, &c.insutype, &med_type) {
        visit_maternity(&mut **tx, &c.mdtrt_id)
            .await?
            .and_then(|maternity| maternity.matn_type)
    } else {
        None
    };
    let own_account = ledger::personal_account(&c.psn_no);
    let own_balance = account_balance_tx(tx, &own_account, !c.pre).await?;
    // Family accounts in binding order, locked in account-code order (a fixed lock order).
    let mut family: Vec<(String, i64)> = Vec::new();
    if c.acct_used_flag == AcctUsedFlag::OwnThenFamily {
        let bound = sqlx::query(
            "SELECT family_psn_no FROM family_binding WHERE psn_no = $1 AND begndate <= $2 AND (enddate = '' OR enddate >= $2) ORDER BY bind_order",
        )
        .bind(&c.psn_no)
        .bind(&d)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<String>, sqlx::Error>>()?;
        let mut sorted = bound.clone();
        sorted.sort();
        let mut balances = BTreeMap::new();
        for f in &sorted {
            if let Some(b) = account_balance_tx(tx, &ledger::personal_account(f), !c.pre).await? {
                balances.insert(f.clone(), b);
            }
        }
        family = bound
            .into_iter()
            .filter_map(|f| balances.get(&f).map(|b| (f, *b)))
            .collect();
    }
    let input = SettleInput {
        settle_date: today,
        insutype: &c.insutype,
        psn_type: &psn_type,
        age_years: age_years(&person.brdy, today),
        sp_psn_types: &sp_psn_types,
        insuplc_admdvs: &insuplc_admdvs,
        acct_balance_fen: own_balance.unwrap_or(0),
        mulaid_balances: &family,
        ytd: &ytd,
        med_type: &med_type,
        hi_setl_lv: &ctx.inst.hi_setl_lv,
        mdtrtarea_admvs: &v.mdtrtarea_admvs,
        filing,
        emergency: med_type == "13" || med_type == "24",
        tier: tier.as_deref(),
        recognitions: &recognitions,
        fixmedins_code: &ctx.inst.fixmedins_code,
        institution_kinds: &ctx.inst.kinds,
        begin_date: Some(stored_day(&v.begntime)?),
        matn_type: matn_type.as_deref(),
        referral: v.referral,
        transfer_in: v.transfer_in,
        dise_codg: &v.dise_codg,
        acct_used_flag: c.acct_used_flag,
        psn_no: &c.psn_no,
        lines: &lines,
    };
    let computed: Computed = ctx.engine.settle(policy, &input)?;
    let own_before = Fen(own_balance.unwrap_or(0));
    let a = computed.amounts;
    a.check_identities(SetlSign::Settlement)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    if a.medfee_sumamt.0 != total {
        return Err(StoreError::Invariant(format!(
            "engine total {} differs from the lines' {total}",
            a.medfee_sumamt.0
        )));
    }
    let mulaid_total: i64 = computed.mulaid_draws.iter().map(|(_, f)| *f).sum();
    let own_part = a.acct_pay - a.acct_mulaid_pay;
    if mulaid_total != a.acct_mulaid_pay.0 || own_part > own_before {
        return Err(StoreError::Invariant(
            "personal account draws disagree with acct_pay".into(),
        ));
    }
    for (psn, f) in &computed.mulaid_draws {
        let available = family
            .iter()
            .find(|(p, _)| p == psn)
            .map(|(_, b)| *b)
            .unwrap_or(0);
        if *f > available {
            return Err(StoreError::Invariant(format!(
                "mutual aid draws {f} from {psn} who has {available}"
            )));
        }
    }
    let fund_total: i64 = computed.detail.iter().map(|(_, f)| *f).sum();
    if fund_total != a.fund_pay_sumamt.0 {
        return Err(StoreError::Invariant(format!(
            "setldetail funds {fund_total} ≠ fund_pay_sumamt {}",
            a.fund_pay_sumamt.0
        )));
    }
    if a.balc != own_before - own_part {
        return Err(StoreError::Invariant(format!(
            "balc {} ≠ the own balance {own_before} less its draw {own_part}",
            a.balc
        )));
    }
    let setl_id = if c.pre {
        String::new()
    } else {
        ctx.ids.next('S')
    };
    let mut detail: Vec<FundPayment> = computed
        .detail
        .iter()
        .filter(|(_, f)| *f != 0)
        .map(|(code, f)| FundPayment {
            fund_pay_type: code.clone(),
            fund_payamt_fen: *f,
        })
        .collect();
    if !a.acct_pay.is_zero() {
        detail.push(FundPayment {
            fund_pay_type: ledger::PERSONAL_ACCOUNT_FUND.into(),
            fund_payamt_fen: a.acct_pay.0,
        });
    }
    let view = SettlementView {
        setl_id: setl_id.clone(),
        orig_setl_id: None,
        refd_setl_flag: false,
        mdtrt_id: c.mdtrt_id.clone(),
        psn_no: c.psn_no.clone(),
        psn_name: person.psn_name,
        psn_cert_type: "01".into(),
        certno: person.certno,
        gend: person.gend,
        naty: person.naty,
        brdy: person.brdy,
        age_years: input.age_years,
        insutype: c.insutype.clone(),
        psn_type: psn_type.clone(),
        cvlserv_flag: "0".into(),
        setl_time: ctx.env.now,
        mdtrt_cert_type: v.mdtrt_cert_type.clone(),
        med_type: med_type.clone(),
        clr_type: clr_type(kind, &med_type).into(),
        insuplc_admdvs: insuplc_admdvs.clone(),
        mdtrtarea_admvs: v.mdtrtarea_admvs.clone(),
        fixmedins_code: ctx.inst.fixmedins_code.clone(),
        fixmedins_name: ctx.inst.fixmedins_name.clone(),
        hosp_lv: ctx.inst.hosp_lv.clone(),
        hi_setl_lv: ctx.inst.hi_setl_lv.clone(),
        medins_setl_id: ctx.env.msgid.clone(),
        invono: c.invono.clone(),
        dise_codg: v.dise_codg.clone(),
        begndate: stored_day(&v.begntime)?.to_string(),
        enddate: if v.endtime.is_empty() {
            d.clone()
        } else {
            stored_day(&v.endtime)?.to_string()
        },
        amounts: a,
        detail,
        setl_proc_info: computed.trace.clone(),
    };
    if c.pre {
        return Ok((Outcome::Settled(Box::new(view)), "none", String::new()));
    }

    // Write: the settlement, its lines, its transfers and balances, the accumulators, the visit.
    insert_settlement(
        tx,
        &view,
        &ctx.env.infno,
        year,
        &c.chrg_bchno,
        c.acct_used_flag.code(),
        SetlSign::Settlement,
        &computed.ytd_delta,
    )
    .await?;
    let sql = format!(
        "UPDATE fee_line SET setl_id = $1 WHERE mdtrt_id = $2 AND setl_id IS NULL{}",
        if by_batch { " AND chrg_bchno = $3" } else { "" }
    );
    let mut q = sqlx::query(&sql).bind(&setl_id).bind(&c.mdtrt_id);
    if by_batch {
        q = q.bind(&c.chrg_bchno);
    }
    let n = q.execute(&mut **tx).await?.rows_affected();
    if n != lines.len() as u64 {
        return Err(StoreError::Invariant(format!(
            "settled {n} lines, computed on {}",
            lines.len()
        )));
    }
    let inst_account = ledger::institution_account(&ctx.inst.fixmedins_code);
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut new_accounts = Vec::new();
    for (fund, fen) in &computed.detail {
        if *fen > 0 {
            let acct = ledger::fund_account(fund, &insuplc_admdvs);
            if !engine::NATIONAL_FUNDS.contains(&fund.as_str()) {
                new_accounts.push((acct.clone(), "fund", format!("{fund}:{insuplc_admdvs}")));
            }
            transfers.push((acct, inst_account.clone(), *fen, fund.clone()));
        }
    }
    if own_part.0 > 0 {
        transfers.push((
            own_account.clone(),
            inst_account.clone(),
            own_part.0,
            ledger::KIND_ACCT.into(),
        ));
    }
    for (psn, fen) in &computed.mulaid_draws {
        if *fen > 0 {
            transfers.push((
                ledger::personal_account(psn),
                inst_account.clone(),
                *fen,
                ledger::KIND_MULAID.into(),
            ));
        }
    }
    if a.psn_cash_pay.0 > 0 {
        transfers.push((
            ledger::CASH_ACCOUNT.into(),
            inst_account.clone(),
            a.psn_cash_pay.0,
            ledger::KIND_CASH.into(),
        ));
    }
    ensure_accounts(tx, &new_accounts).await?;
    post_transfers(
        tx,
        &setl_id,
        &c.psn_no,
        &ctx.env.now.date().to_string(),
        &transfers,
    )
    .await?;
    apply_ytd(tx, &c.psn_no, year, &computed.ytd_delta).await?;
    if !(kind == VisitKind::Inpatient && c.mid_setl_flag) {
        sqlx::query("UPDATE visit SET status = 'settled' WHERE mdtrt_id = $1")
            .bind(&c.mdtrt_id)
            .execute(&mut **tx)
            .await?;
    }
    record_settle_findings(tx, ctx, c, &setl_id, audit).await?;
    Ok((Outcome::Settled(Box::new(view)), "settlement", setl_id))
}

/// The settlement columns written and read by name: the record's own, then the `setlinfo`
/// amounts ([`settlement_amount_columns`]), then the accumulator delta.
const SETTLEMENT_HEAD_COLUMNS: &[&str] = &[
    "setl_id",
    "setl_sign",
    "orig_setl_id",
    "refd_setl_flag",
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "medins_setl_id",
    "infno",
    "setl_time",
    "setl_date",
    "year",
    "insutype",
    "psn_type",
    "med_type",
    "clr_type",
    "insuplc_admdvs",
    "mdtrtarea_admvs",
    "hi_setl_lv",
    "acct_used_flag",
    "chrg_bchno",
    "invono",
    "setl_proc_info",
];

/// The accumulator delta a settlement row keeps, in [`Ytd`]'s order.
const SETTLEMENT_YTD_COLUMNS: &[&str] = &[
    "ytd_inpatient_admissions",
    "ytd_hifp_inpatient",
    "ytd_hifp_outpatient",
    "ytd_outpatient_deductible",
    "ytd_hifob",
    "ytd_hifmi_base",
    "ytd_hifmi",
    "ytd_maf",
    "ytd_maf_deductible",
];

/// The column of one `setlinfo` value: its national name, with `_ppm` for the ratio.
fn settlement_amount_column(name: &str, unit: SetlUnit) -> String {
    match unit {
        SetlUnit::Fen => name.to_owned(),
        SetlUnit::Ppm => format!("{name}_ppm"),
    }
}

/// The columns of the `setlinfo` amounts, in interface order.
fn settlement_amount_columns() -> impl Iterator<Item = String> {
    SetlAmounts::FIELDS
        .iter()
        .map(|&(name, unit)| settlement_amount_column(name, unit))
}

/// The amounts of a settlement row, each read by its column's name.
fn settlement_amounts_from_row(r: &<Db as sqlx::Database>::Row) -> Result<SetlAmounts, StoreError> {
    SetlAmounts::try_from_fn(|name, unit| {
        Ok(r.try_get::<i64, _>(settlement_amount_column(name, unit).as_str())?)
    })
}

/// The message of the database's refusal of a settlement dated in a month closed for payment
/// (trigger `settlement_month_open`, migration 26).
const CLOSED_MONTH_MARK: &str = "yibao: setl_date in a month closed for payment";

/// The closed-month trigger's error as a refusal naming `setl_date`; any other error as it is.
fn closed_month_refusal(e: sqlx::Error, setl_date: chrono::NaiveDate) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.message().contains(CLOSED_MONTH_MARK) => {
            StoreError::refused(
                "setl_date",
                format!(
                    "{setl_date} is in {}, a month already closed for payment; the region \
                     refuses late settlements (settle or reverse it in an open month)",
                    setl_date.format("%Y-%m")
                ),
            )
        }
        _ => StoreError::Database(e),
    }
}

/// `INSERT INTO settlement …` with every column of [`SETTLEMENT_HEAD_COLUMNS`], the amounts and
/// [`SETTLEMENT_YTD_COLUMNS`], in that order.
fn insert_settlement_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<String> = SETTLEMENT_HEAD_COLUMNS
            .iter()
            .map(|c| (*c).to_owned())
            .chain(settlement_amount_columns())
            .chain(SETTLEMENT_YTD_COLUMNS.iter().map(|c| (*c).to_owned()))
            .collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
        format!(
            "INSERT INTO settlement ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        )
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert_settlement(
    tx: &mut Tx<'_>,
    v: &SettlementView,
    infno: &str,
    year: i64,
    chrg_bchno: &str,
    acct_used_flag: &str,
    sign: SetlSign,
    ytd: &Ytd,
) -> Result<(), StoreError> {
    let mut q = sqlx::query(insert_settlement_sql())
        .bind(&v.setl_id)
        .bind(sign.factor())
        .bind(&v.orig_setl_id)
        .bind(0_i64)
        .bind(&v.mdtrt_id)
        .bind(&v.psn_no)
        .bind(&v.fixmedins_code)
        .bind(&v.medins_setl_id)
        .bind(infno)
        .bind(ts(v.setl_time))
        .bind(v.setl_time.date().to_string())
        .bind(year)
        .bind(&v.insutype)
        .bind(&v.psn_type)
        .bind(&v.med_type)
        .bind(&v.clr_type)
        .bind(&v.insuplc_admdvs)
        .bind(&v.mdtrtarea_admvs)
        .bind(&v.hi_setl_lv)
        .bind(acct_used_flag)
        .bind(chrg_bchno)
        .bind(&v.invono)
        .bind(&v.setl_proc_info);
    for (_, value) in v.amounts.values() {
        q = q.bind(value.raw());
    }
    q.bind(ytd.inpatient_admissions)
        .bind(ytd.hifp_inpatient)
        .bind(ytd.hifp_outpatient)
        .bind(ytd.outpatient_deductible)
        .bind(ytd.hifob)
        .bind(ytd.hifmi_base)
        .bind(ytd.hifmi)
        .bind(ytd.maf)
        .bind(ytd.maf_deductible)
        .execute(&mut **tx)
        .await
        .map_err(|e| closed_month_refusal(e, v.setl_time.date()))?;
    let rows: Vec<Vec<V<'_>>> = ytd
        .keyed
        .iter()
        .filter(|(_, fen)| **fen != 0)
        .map(|(key, fen)| vec![V::T(&v.setl_id), V::T(key), V::I(*fen)])
        .collect();
    if !rows.is_empty() {
        insert_rows(
            tx,
            "settlement_ytd_keyed",
            &["setl_id", "key", "delta_fen"],
            rows,
            "",
        )
        .await?;
    }
    Ok(())
}
