// Stored settlements, reversals (2208/2305) and revocations (2601).
// Compiled once per backend; see lib.rs.

/// The columns a stored settlement is read with besides its amounts and accumulator delta
/// ([`settlement_view_sql`]).
const VIEW_COLUMNS: &str = "s.setl_id, s.orig_setl_id, s.refd_setl_flag, s.mdtrt_id, s.psn_no, p.psn_name, p.certno, p.gend, p.naty, p.brdy, \
    s.insutype, s.psn_type, s.setl_time, v.mdtrt_cert_type, s.med_type, s.clr_type, s.insuplc_admdvs, s.mdtrtarea_admvs, s.fixmedins_code, \
    i.fixmedins_name, i.hosp_lv, s.hi_setl_lv, s.medins_setl_id, s.invono, v.dise_codg, v.begntime, v.endtime, \
    s.setl_proc_info, s.setl_date, s.setl_sign, s.year, s.acct_used_flag, s.chrg_bchno";

/// `SELECT` of one stored settlement by `setl_id` with its person, visit and institution: the
/// [`VIEW_COLUMNS`], the amounts and the accumulator delta.
fn settlement_view_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let amounts: Vec<String> = settlement_amount_columns()
            .chain(SETTLEMENT_YTD_COLUMNS.iter().map(|c| (*c).to_owned()))
            .map(|c| format!("s.{c}"))
            .collect();
        format!(
            "SELECT {VIEW_COLUMNS}, {} FROM settlement s JOIN person p ON p.psn_no = s.psn_no JOIN visit v ON v.mdtrt_id = s.mdtrt_id \
             JOIN institution i ON i.fixmedins_code = s.fixmedins_code WHERE s.setl_id = $1",
            amounts.join(", ")
        )
    })
}

/// A stored settlement read back, every column by its name in `VIEW_COLUMNS`.
struct StoredSettlement {
    view: SettlementView,
    sign: SetlSign,
    year: i64,
    acct_used_flag: String,
    chrg_bchno: String,
    ytd: Ytd,
}

async fn load_settlement(
    conn: &mut <Db as sqlx::Database>::Connection,
    setl_id: &str,
) -> Result<Option<StoredSettlement>, StoreError> {
    let Some(r) = sqlx::query(settlement_view_sql())
        .bind(setl_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let setl_time: String = r.try_get("setl_time")?;
    let begntime: String = r.try_get("begntime")?;
    let endtime: String = r.try_get("endtime")?;
    let setl_date: String = r.try_get("setl_date")?;
    let setl_time = parse_ts(&setl_time)?;
    let brdy: String = r.try_get("brdy")?;
    let view = SettlementView {
        setl_id: r.try_get("setl_id")?,
        orig_setl_id: r.try_get("orig_setl_id")?,
        refd_setl_flag: r.try_get::<i64, _>("refd_setl_flag")? == 1,
        mdtrt_id: r.try_get("mdtrt_id")?,
        psn_no: r.try_get("psn_no")?,
        psn_name: r.try_get("psn_name")?,
        psn_cert_type: "01".into(),
        certno: r.try_get("certno")?,
        gend: r.try_get("gend")?,
        naty: r.try_get("naty")?,
        age_years: age_years(&brdy, setl_time.date()),
        brdy,
        insutype: r.try_get("insutype")?,
        psn_type: r.try_get("psn_type")?,
        cvlserv_flag: "0".into(),
        setl_time,
        mdtrt_cert_type: r.try_get("mdtrt_cert_type")?,
        med_type: r.try_get("med_type")?,
        clr_type: r.try_get("clr_type")?,
        insuplc_admdvs: r.try_get("insuplc_admdvs")?,
        mdtrtarea_admvs: r.try_get("mdtrtarea_admvs")?,
        fixmedins_code: r.try_get("fixmedins_code")?,
        fixmedins_name: r.try_get("fixmedins_name")?,
        hosp_lv: r.try_get("hosp_lv")?,
        hi_setl_lv: r.try_get("hi_setl_lv")?,
        medins_setl_id: r.try_get("medins_setl_id")?,
        invono: r.try_get("invono")?,
        dise_codg: r.try_get("dise_codg")?,
        begndate: stored_day(&begntime)?.to_string(),
        enddate: if endtime.is_empty() {
            setl_date
        } else {
            stored_day(&endtime)?.to_string()
        },
        amounts: settlement_amounts_from_row(&r)?,
        detail: Vec::new(),
        setl_proc_info: r.try_get("setl_proc_info")?,
    };
    let mut keyed = BTreeMap::new();
    for k in sqlx::query("SELECT key, delta_fen FROM settlement_ytd_keyed WHERE setl_id = $1")
        .bind(setl_id)
        .fetch_all(&mut *conn)
        .await?
    {
        keyed.insert(k.try_get(0)?, k.try_get(1)?);
    }
    Ok(Some(StoredSettlement {
        view,
        sign: match r.try_get::<i64, _>("setl_sign")? {
            1 => SetlSign::Settlement,
            -1 => SetlSign::Reversal,
            other => {
                return Err(StoreError::Invariant(format!(
                    "settlement {setl_id} has setl_sign {other}, not 1 or -1"
                )))
            }
        },
        year: r.try_get("year")?,
        acct_used_flag: r.try_get("acct_used_flag")?,
        chrg_bchno: r.try_get("chrg_bchno")?,
        ytd: Ytd {
            inpatient_admissions: r.try_get("ytd_inpatient_admissions")?,
            hifp_inpatient: r.try_get("ytd_hifp_inpatient")?,
            hifp_outpatient: r.try_get("ytd_hifp_outpatient")?,
            outpatient_deductible: r.try_get("ytd_outpatient_deductible")?,
            hifob: r.try_get("ytd_hifob")?,
            hifmi_base: r.try_get("ytd_hifmi_base")?,
            hifmi: r.try_get("ytd_hifmi")?,
            maf: r.try_get("ytd_maf")?,
            maf_deductible: r.try_get("ytd_maf_deductible")?,
            keyed,
        },
    }))
}

async fn load_transfers<'e, E>(conn: E, ref_id: &str) -> Result<Vec<Transfer>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    Ok(sqlx::query("SELECT debit_account, credit_account, amount_fen, kind FROM ledger_transfer WHERE ref_id = $1 ORDER BY seq")
        .bind(ref_id)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?)
}

/// `setldetail[]` from a settlement's transfers: funds by code, both personal-account kinds
/// under `310200`; negated for a reversal.
fn detail_from_transfers(transfers: &[Transfer], sign: SetlSign) -> Vec<FundPayment> {
    let sign = sign.factor();
    let mut by_code: Vec<FundPayment> = Vec::new();
    for (_, _, amount, kind) in transfers {
        let code = match kind.as_str() {
            ledger::KIND_CASH => continue,
            ledger::KIND_ACCT | ledger::KIND_MULAID => ledger::PERSONAL_ACCOUNT_FUND,
            fund => fund,
        };
        match by_code.iter_mut().find(|p| p.fund_pay_type == code) {
            Some(p) => p.fund_payamt_fen += sign * amount,
            None => by_code.push(FundPayment {
                fund_pay_type: code.to_string(),
                fund_payamt_fen: sign * amount,
            }),
        }
    }
    by_code
}

fn negate(v: &SettlementView, setl_id: String, msgid: &str, now: NaiveDateTime) -> SettlementView {
    let mut r = v.clone();
    r.setl_id = setl_id;
    r.orig_setl_id = Some(v.setl_id.clone());
    r.refd_setl_flag = false;
    r.setl_time = now;
    r.medins_setl_id = msgid.to_string();
    r.amounts = v.amounts.negated();
    r
}

fn negate_ytd(y: &Ytd) -> Ytd {
    Ytd {
        inpatient_admissions: -y.inpatient_admissions,
        hifp_inpatient: -y.hifp_inpatient,
        hifp_outpatient: -y.hifp_outpatient,
        outpatient_deductible: -y.outpatient_deductible,
        hifob: -y.hifob,
        hifmi_base: -y.hifmi_base,
        hifmi: -y.hifmi,
        maf: -y.maf,
        maf_deductible: -y.maf_deductible,
        keyed: y.keyed.iter().map(|(k, v)| (k.clone(), -v)).collect(),
    }
}

/// Reverses settlement `setl_id` (person already locked): a new record with every amount
/// negated, the transfers swapped, the accumulators taken back, the original marked refunded.
async fn reverse(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    psn_no: &str,
    mdtrt_id: &str,
    setl_id: &str,
    kind: Option<VisitKind>,
) -> Result<SettlementView, StoreError> {
    check_id("setl_id", setl_id)?;
    let orig = load_settlement(tx, setl_id)
        .await?
        .ok_or_else(|| StoreError::not_found("setl_id", setl_id))?;
    if orig.view.fixmedins_code != ctx.inst.fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "setl_id".into(),
            value: setl_id.into(),
        });
    }
    if orig.view.psn_no != psn_no {
        return Err(StoreError::bad(
            "psn_no",
            format!("settlement {setl_id} belongs to another person"),
        ));
    }
    if !mdtrt_id.is_empty() && orig.view.mdtrt_id != mdtrt_id {
        return Err(StoreError::bad(
            "mdtrt_id",
            format!("settlement {setl_id} is of visit {}", orig.view.mdtrt_id),
        ));
    }
    if orig.sign != SetlSign::Settlement {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is itself a reversal"),
        ));
    }
    if orig.view.refd_setl_flag {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is already reversed (refd_setl_flag = 1)"),
        ));
    }
    let v = load_visit(tx, ctx, &orig.view.mdtrt_id, psn_no).await?;
    if let Some(kind) = kind {
        expect_kind(&v, kind)?;
    }
    let new_id = ctx.ids.next('S');
    let mut rev = negate(&orig.view, new_id.clone(), &ctx.env.msgid, ctx.env.now);
    let transfers = load_transfers(&mut **tx, setl_id).await?;
    rev.detail = detail_from_transfers(&transfers, SetlSign::Reversal);
    let ytd = negate_ytd(&orig.ytd);
    let updated = sqlx::query(
        "UPDATE settlement SET refd_setl_flag = 1 WHERE setl_id = $1 AND refd_setl_flag = 0",
    )
    .bind(setl_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is already reversed"),
        ));
    }
    let own_account = ledger::personal_account(psn_no);
    let swapped: Vec<Transfer> = transfers
        .iter()
        .map(|(d, c, a, k)| (c.clone(), d.clone(), *a, k.clone()))
        .collect();
    // The balance after: locked read now, plus what this reversal gives back to the own account.
    let own_before = account_balance_tx(tx, &own_account, true)
        .await?
        .unwrap_or(0);
    let own_back: i64 = transfers
        .iter()
        .filter(|(d, _, _, _)| *d == own_account)
        .map(|(_, _, a, _)| *a)
        .sum();
    rev.amounts.balc = Fen(own_before + own_back);
    rev.amounts
        .check_identities(SetlSign::Reversal)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    insert_settlement(
        tx,
        &rev,
        &ctx.env.infno,
        orig.year,
        &orig.chrg_bchno,
        &orig.acct_used_flag,
        SetlSign::Reversal,
        &ytd,
    )
    .await?;
    post_transfers(
        tx,
        &new_id,
        psn_no,
        &ctx.env.now.date().to_string(),
        &swapped,
    )
    .await?;
    apply_ytd(tx, psn_no, orig.year, &ytd).await?;
    // Commercial direct claims paid on the settlement are undone with it.
    gr_claims_undo(
        tx,
        setl_id,
        &new_id,
        &ctx.env.now.date().to_string(),
        crate::access_outbox::beijing_to_utc_ms(ctx.env.now),
    )
    .await?;
    sqlx::query("UPDATE fee_line SET setl_id = NULL WHERE setl_id = $1")
        .bind(setl_id)
        .execute(&mut **tx)
        .await?;
    let status = if v.kind == VisitKind::Inpatient && !v.endtime.is_empty() {
        VisitStatus::Discharged
    } else {
        VisitStatus::Open
    };
    sqlx::query("UPDATE visit SET status = $1 WHERE mdtrt_id = $2 AND status IN ('settled', 'open', 'discharged')")
        .bind(status.code())
        .bind(&orig.view.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    Ok(rev)
}

async fn revoke(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Revoke) -> Result<Done, StoreError> {
    check_id("omsgid", &c.omsgid)?;
    const REVOCABLE: &[&str] = &[
        "2201", "2204", "2207", "2207A", "2301", "2304", "2304A", "2401",
    ];
    if !REVOCABLE.contains(&c.oinfno.as_str()) {
        return Err(StoreError::bad(
            "oinfno",
            format!("{} cannot be revoked (revocable: {REVOCABLE:?})", c.oinfno),
        ));
    }
    if c.omsgid == ctx.env.msgid {
        return Err(StoreError::bad("omsgid", "names this message itself"));
    }
    lock_person(tx, &c.psn_no).await?;
    let sql = if IS_PG {
        "SELECT infno, effect_kind, effect_ref, revoked_by FROM idempotency WHERE fixmedins_code = $1 AND msgid = $2 FOR UPDATE"
    } else {
        "SELECT infno, effect_kind, effect_ref, revoked_by FROM idempotency WHERE fixmedins_code = $1 AND msgid = $2"
    };
    let row = sqlx::query(sql)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        // The original never arrived (or failed): bar it, so that it cannot happen later.
        sqlx::query(
            "INSERT INTO idempotency (fixmedins_code, msgid, infno, request_hash, response, effect_kind, effect_ref, revoked_by, created_at) \
             VALUES ($1, $2, $3, '', '', 'barred', $4, $4, $5)",
        )
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .bind(&c.oinfno)
        .bind(&ctx.env.msgid)
        .bind(ts(ctx.env.now))
        .execute(&mut **tx)
        .await?;
        return Ok((
            Outcome::Revoked(RevokeResult::NothingToUndo),
            "none",
            String::new(),
        ));
    };
    let infno: String = row.try_get(0)?;
    let effect_kind: String = row.try_get(1)?;
    let effect_ref: String = row.try_get(2)?;
    let revoked_by: Option<String> = row.try_get(3)?;
    // A message barred by an earlier 2601 is revoked already, whatever its record says of it
    // (bars written before issue 10 have no `revoked_by`).
    if effect_kind == "barred" {
        return Err(StoreError::refused(
            "omsgid",
            format!(
                "{} was already revoked by message {effect_ref} before it arrived",
                c.omsgid
            ),
        ));
    }
    if infno != c.oinfno {
        return Err(StoreError::bad(
            "oinfno",
            format!("message {} was a {infno}, not a {}", c.omsgid, c.oinfno),
        ));
    }
    if let Some(by) = revoked_by {
        return Err(StoreError::refused(
            "omsgid",
            format!("{} was already revoked by message {by}", c.omsgid),
        ));
    }
    let result = match effect_kind.as_str() {
        "settlement" => {
            let view = reverse(tx, ctx, &c.psn_no, "", &effect_ref, None).await?;
            RevokeResult::SettlementReversed {
                reversal_setl_id: view.setl_id,
            }
        }
        "visit" => {
            let v = load_visit(tx, ctx, &effect_ref, &c.psn_no).await?;
            let kind = v.kind;
            cancel_visit(
                tx,
                ctx,
                &VisitRef {
                    psn_no: c.psn_no.clone(),
                    mdtrt_id: effect_ref.clone(),
                    ipt_otp_no: None,
                },
                kind,
            )
            .await?;
            RevokeResult::VisitCancelled {
                mdtrt_id: effect_ref.clone(),
            }
        }
        "fees" => {
            load_visit(tx, ctx, &effect_ref, &c.psn_no).await?;
            let n = delete_fee_lines(tx, &effect_ref, "", &[], Some(&c.omsgid)).await?;
            RevokeResult::FeesDeleted { n_lines: n }
        }
        _ => RevokeResult::NoEffect,
    };
    sqlx::query("UPDATE idempotency SET revoked_by = $1 WHERE fixmedins_code = $2 AND msgid = $3")
        .bind(&ctx.env.msgid)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .execute(&mut **tx)
        .await?;
    let (kind, reference) = match &result {
        RevokeResult::SettlementReversed { reversal_setl_id } => {
            ("settlement", reversal_setl_id.clone())
        }
        _ => ("none", String::new()),
    };
    Ok((Outcome::Revoked(result), kind, reference))
}
