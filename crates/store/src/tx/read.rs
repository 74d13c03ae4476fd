// Reads: person information (1101), chronic recognitions (5301), settlement queries (5203),
// reconciliation (3201), sign-ins, balances and row counts.
// Compiled once per backend; see lib.rs.

/// Checks a credential number of 1101 (`mdtrt_cert_no`).
fn check_cert_no(value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::bad("mdtrt_cert_no", "is empty"));
    }
    if value.chars().count() > limits::CERT_NO_CHARS_MAX {
        return Err(StoreError::bad(
            "mdtrt_cert_no",
            format!("is longer than {} characters", limits::CERT_NO_CHARS_MAX),
        ));
    }
    Ok(())
}

/// Refuses a credential that is not in force on `date`.
fn check_in_force(
    what: &str,
    begndate: &str,
    enddate: &str,
    date: NaiveDate,
) -> Result<(), StoreError> {
    let d = date.to_string();
    if begndate > d.as_str() || (!enddate.is_empty() && enddate < d.as_str()) {
        let until = if enddate.is_empty() {
            "open-ended"
        } else {
            enddate
        };
        return Err(StoreError::refused(
            "mdtrt_cert_no",
            format!("{what} is in force from {begndate} to {until}, not on {d}"),
        ));
    }
    Ok(())
}

const PERSON_COLUMNS: &str = "p.psn_no, p.certno, p.psn_name, p.gend, p.brdy, p.naty, p.tel";

pub(crate) async fn person_info(
    pool: &Pool,
    key: &PersonKey,
    date: NaiveDate,
    keyring: &crate::sealing::Keyring,
) -> Result<PersonInfo, StoreError> {
    let r = match key {
        PersonKey::PsnNoOrCertno(key) => {
            check_id("psn_no", key).or_else(|_| check_id("certno", key))?;
            sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS} FROM person p WHERE p.psn_no = $1 OR p.certno = $1 LIMIT 1"
            ))
            .bind(key)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::not_found("mdtrt_cert_no", key))?
        }
        PersonKey::EcToken(token) => {
            check_cert_no(token)?;
            // Found by its blind index; a token of an older database not yet indexed by
            // `yibao keys rewrap` is still found in clear.
            let indexed = sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS}, t.begndate, t.enddate FROM ec_token t JOIN person p ON p.psn_no = t.psn_no \
                 WHERE t.token_index = $1"
            ))
            .bind(crate::sealing::token_index(keyring, token))
            .fetch_optional(pool)
            .await?;
            let r = match indexed {
                Some(r) => Some(r),
                None => sqlx::query(&format!(
                    "SELECT {PERSON_COLUMNS}, t.begndate, t.enddate FROM ec_token_clear t JOIN person p ON p.psn_no = t.psn_no \
                     WHERE t.ec_token = $1"
                ))
                .bind(token)
                .fetch_optional(pool)
                .await?,
            }
            // The token is a bearer credential (item AU03, level 3): an answer names it by
            // kind only, so it never lands in a hospital's logs or our message log.
            .ok_or_else(|| StoreError::not_found("mdtrt_cert_no", "the e-voucher token sent"))?;
            let (begndate, enddate): (String, String) = (r.try_get(7)?, r.try_get(8)?);
            check_in_force("the e-voucher token sent", &begndate, &enddate, date)?;
            r
        }
        PersonKey::SsCard { card_no, card_sn } => {
            check_cert_no(card_no)?;
            let r = sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS}, c.begndate, c.enddate, c.card_sn FROM ss_card c JOIN person p ON p.psn_no = c.psn_no \
                 WHERE c.card_no = $1"
            ))
            .bind(card_no)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| {
                StoreError::not_found("mdtrt_cert_no", format!("social security card {card_no}"))
            })?;
            let (begndate, enddate, stored_sn): (String, String, String) =
                (r.try_get(7)?, r.try_get(8)?, r.try_get(9)?);
            if let Some(sent) = card_sn {
                if !stored_sn.is_empty() && *sent != stored_sn {
                    return Err(StoreError::refused(
                        "card_sn",
                        format!("does not identify social security card {card_no}"),
                    ));
                }
            }
            check_in_force(
                &format!("social security card {card_no}"),
                &begndate,
                &enddate,
                date,
            )?;
            r
        }
    };
    let base = PersonBase {
        psn_no: r.try_get(0)?,
        certno: r.try_get(1)?,
        psn_name: r.try_get(2)?,
        gend: r.try_get(3)?,
        brdy: r.try_get(4)?,
        naty: r.try_get(5)?,
        tel: r.try_get(6)?,
    };
    let balance = sqlx::query(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
    )
    .bind(ledger::personal_account(&base.psn_no))
    .fetch_one(pool)
    .await?
    .try_get::<i64, _>(0)?;
    let insurance = sqlx::query(
        "SELECT insutype, psn_type, psn_insu_stas, begndate, enddate, insuplc_admdvs, emp_name FROM insurance WHERE psn_no = $1 ORDER BY insutype, begndate",
    )
    .bind(&base.psn_no)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        let insutype: String = r.try_get(0)?;
        Ok(InsuranceInfo {
            balc_fen: if insutype == "310" { balance } else { 0 },
            insutype,
            psn_type: r.try_get(1)?,
            psn_insu_stas: r.try_get(2)?,
            begndate: r.try_get(3)?,
            enddate: r.try_get(4)?,
            insuplc_admdvs: r.try_get(5)?,
            emp_name: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // The registry's own categories (by `sp_psn_type`) and those department feeds gave (by
    // the department's `psn_idet_type` code, `begntime` its start). A feed's record of the same
    // category over the same start is the department's word on the imported one: it is shown
    // alone. A record whose assistance an undone decision withdrew ends the day before the
    // undo (and is not shown when it never held before it).
    let identities = sqlx::query(
        "SELECT sp_psn_type, begndate, enddate, source_dept FROM identity i WHERE psn_no = $1 \
         AND NOT EXISTS (SELECT 1 FROM identity_current c WHERE c.psn_no = i.psn_no \
             AND c.sp_psn_type = i.sp_psn_type AND c.begn_date = i.begndate) \
         UNION ALL \
         SELECT c.idet_type, c.begn_date, \
                CASE WHEN w.last_day IS NOT NULL AND (c.end_date = '' OR c.end_date > w.last_day) \
                     THEN w.last_day ELSE c.end_date END, c.source_dept \
         FROM identity_current c LEFT JOIN (SELECT psn_no, idet_type, begn_date, MIN(last_day) AS last_day \
             FROM identity_withdrawal WHERE psn_no = $1 AND effect = 'assistance' \
             GROUP BY psn_no, idet_type, begn_date) w \
           ON w.psn_no = c.psn_no AND w.idet_type = c.idet_type AND w.begn_date = c.begn_date \
         WHERE c.psn_no = $1 AND (w.last_day IS NULL OR w.last_day >= c.begn_date) \
         ORDER BY 2, 1",
    )
        .bind(&base.psn_no)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Ok(IdentityInfo { sp_psn_type: r.try_get(0)?, begndate: r.try_get(1)?, enddate: r.try_get(2)?, source_dept: r.try_get(3)? }))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(PersonInfo {
        base,
        insurance,
        identities,
    })
}

/// 5301 and the settlement engine: the person's chronic disease recognitions in force on
/// `date`, by disease code; `NotFound` when the person does not exist.
pub(crate) async fn chronic_recognitions(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Vec<ChronicRecognition>, StoreError> {
    check_id("psn_no", psn_no)?;
    let rows = sqlx::query(
        "SELECT p.psn_no, r.opsp_dise_code, r.opsp_dise_name, r.begndate, r.enddate, r.fixmedins_code \
         FROM person p LEFT JOIN chronic_recognition r ON r.psn_no = p.psn_no AND r.begndate <= $2 \
         AND (r.enddate = '' OR r.enddate >= $2) WHERE p.psn_no = $1 ORDER BY r.opsp_dise_code, r.begndate",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::not_found("psn_no", psn_no));
    }
    let mut found = Vec::new();
    for r in rows {
        let Some(opsp_dise_code) = r.try_get::<Option<String>, _>(1)? else {
            continue;
        };
        found.push(ChronicRecognition {
            opsp_dise_code,
            opsp_dise_name: r.try_get(2)?,
            begndate: r.try_get(3)?,
            enddate: r.try_get(4)?,
            fixmedins_code: r.try_get(5)?,
        });
    }
    Ok(found)
}

pub(crate) async fn query_settlement(
    pool: &Pool,
    fixmedins_code: &str,
    psn_no: &str,
    setl_id: &str,
) -> Result<SettlementView, StoreError> {
    check_id("setl_id", setl_id)?;
    let mut conn = pool.acquire().await?;
    let s = load_settlement(&mut conn, setl_id)
        .await?
        .ok_or_else(|| StoreError::not_found("setl_id", setl_id))?;
    if s.view.fixmedins_code != fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "setl_id".into(),
            value: setl_id.into(),
        });
    }
    if s.view.psn_no != psn_no {
        return Err(StoreError::bad(
            "psn_no",
            format!("settlement {setl_id} belongs to another person"),
        ));
    }
    let transfers = load_transfers(pool, setl_id).await?;
    let mut view = s.view;
    // A reversal's transfers are swapped copies: the amounts are the original's, negated.
    view.detail = detail_from_transfers(&transfers, s.sign);
    Ok(view)
}

pub(crate) async fn reconcile(
    pool: &Pool,
    fixmedins_code: &str,
    q: &ReconcileRequest,
) -> Result<ReconcileResult, StoreError> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT), \
         CAST(COALESCE(SUM(setl_sign), 0) AS BIGINT), CAST(COALESCE(SUM(hosp_part_amt), 0) AS BIGINT) FROM settlement \
         WHERE fixmedins_code = $1 AND insutype = $2 AND clr_type = $3 AND insuplc_admdvs = $4 AND setl_date >= $5 AND setl_date <= $6",
    )
    .bind(fixmedins_code)
    .bind(&q.insutype)
    .bind(&q.clr_type)
    .bind(&q.setl_optins)
    .bind(q.begndate.to_string())
    .bind(q.enddate.to_string())
    .fetch_one(pool)
    .await?;
    let medfee: i64 = r.try_get(0)?;
    let fund: i64 = r.try_get(1)?;
    let acct: i64 = r.try_get(2)?;
    let cnt: i64 = r.try_get(3)?;
    let hosp_part: i64 = r.try_get(4)?;
    let inst = ledger::institution_account(fixmedins_code);
    let l = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN t.credit_account = $1 THEN t.amount_fen ELSE 0 END), 0) AS BIGINT) - \
         CAST(COALESCE(SUM(CASE WHEN t.debit_account = $1 THEN t.amount_fen ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_transfer t JOIN settlement s ON s.setl_id = t.ref_id \
         WHERE s.fixmedins_code = $2 AND s.insutype = $3 AND s.clr_type = $4 AND s.insuplc_admdvs = $5 AND s.setl_date >= $6 AND s.setl_date <= $7",
    )
    .bind(&inst)
    .bind(fixmedins_code)
    .bind(&q.insutype)
    .bind(&q.clr_type)
    .bind(&q.setl_optins)
    .bind(q.begndate.to_string())
    .bind(q.enddate.to_string())
    .fetch_one(pool)
    .await?;
    let payable: i64 = l.try_get(0)?;
    if payable != medfee - hosp_part {
        return Err(StoreError::Invariant(format!(
            "ledger payable {payable} differs from the settlements' medfee_sumamt − hosp_part_amt {}",
            medfee - hosp_part
        )));
    }
    let mut diffs = Vec::new();
    for (name, theirs, ours) in [
        ("medfee_sumamt", q.medfee_sumamt_fen, medfee),
        ("fund_pay_sumamt", q.fund_pay_sumamt_fen, fund),
        ("acct_pay", q.acct_pay_fen, acct),
    ] {
        if theirs != ours {
            diffs.push(format!(
                "{name}: institution {} platform {}",
                engine::render_fen(theirs),
                engine::render_fen(ours)
            ));
        }
    }
    if q.fixmedins_setl_cnt != cnt {
        diffs.push(format!(
            "fixmedins_setl_cnt: institution {} platform {cnt}",
            q.fixmedins_setl_cnt
        ));
    }
    Ok(ReconcileResult {
        balanced: diffs.is_empty(),
        description: if diffs.is_empty() {
            "平".to_string()
        } else {
            diffs.join("; ")
        },
        medfee_sumamt_fen: medfee,
        fund_pay_sumamt_fen: fund,
        acct_pay_fen: acct,
        setl_cnt: cnt,
        ledger_payable_fen: payable,
    })
}

/// The day of sign-in `sign_no` of the institution when it is still open (not signed out).
pub(crate) async fn open_sign_in_date(
    pool: &Pool,
    fixmedins_code: &str,
    sign_no: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT sign_time FROM sign_in WHERE sign_no = $1 AND fixmedins_code = $2 AND sign_out_time IS NULL",
    )
    .bind(sign_no)
    .bind(fixmedins_code)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let sign_time: String = row.try_get(0)?;
    Ok(sign_time.get(..10).map(str::to_string))
}

pub(crate) async fn account_balance(pool: &Pool, account: &str) -> Result<Option<i64>, StoreError> {
    let exists = sqlx::query("SELECT 1 FROM ledger_account WHERE account_code = $1")
        .bind(account)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let b: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
    )
    .bind(account)
    .fetch_one(pool)
    .await?
    .try_get(0)?;
    Ok(Some(b))
}

pub(crate) async fn row_counts(pool: &Pool) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut out = Vec::new();
    for t in [
        "person",
        "insurance",
        "identity",
        "family_binding",
        "institution",
        "filing",
        "ec_token",
        "ss_card",
        "chronic_recognition",
        "contribution_tier",
        "institution_kind",
        "ytd_opening",
        "registry_document",
        "ledger_account",
        "ledger_balance",
        "ledger_transfer",
        "sign_in",
        "visit",
        "visit_maternity",
        "diagnosis",
        "fee_line",
        "settlement",
        "settlement_ytd_keyed",
        "ytd",
        "ytd_keyed",
        "idempotency",
        "setl_list",
        "setl_list_diagnosis",
        "setl_list_operation",
        "setl_list_icu",
        "setl_list_payment",
        "setl_list_blood",
        "setl_list_opsp_diagnosis",
        "setl_list_group",
        "audit_finding",
        "audit_finding_line",
        "audit_disposition",
        "inventory_message",
        "inventory_movement",
        "inventory_trace_code",
        "inventory_cancellation",
    ] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        out.push((t, n));
    }
    Ok(out)
}
