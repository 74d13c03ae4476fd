// Visits: sign-in and sign-out (9001/9002), outpatient registration (2201), visit information
// and diagnoses (2203).
// Compiled once per backend; see lib.rs.

async fn sign_in(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &SignIn) -> Result<Done, StoreError> {
    check_id("opter_no", &c.opter_no)?;
    check_text("mac", &c.mac)?;
    check_text("ip", &c.ip)?;
    let sign_no = ctx.ids.next('G');
    sqlx::query("INSERT INTO sign_in (sign_no, fixmedins_code, opter_no, mac, ip, sign_time) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&sign_no)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.opter_no)
        .bind(&c.mac)
        .bind(&c.ip)
        .bind(ts(ctx.env.now))
        .execute(&mut **tx)
        .await?;
    Ok((
        Outcome::SignedIn {
            sign_no: sign_no.clone(),
            sign_time: ctx.env.now,
        },
        "none",
        sign_no,
    ))
}

async fn sign_out(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &SignOut) -> Result<Done, StoreError> {
    if c.sign_no.is_empty() {
        return Err(StoreError::bad("sign_no", "is empty"));
    }
    if c.sign_no.chars().count() > limits::SIGN_NO_CHARS_MAX {
        return Err(StoreError::bad(
            "sign_no",
            format!("is longer than {} characters", limits::SIGN_NO_CHARS_MAX),
        ));
    }
    let r = sqlx::query(
        "UPDATE sign_in SET sign_out_time = $1 WHERE sign_no = $2 AND fixmedins_code = $3 AND sign_out_time IS NULL",
    )
    .bind(ts(ctx.env.now))
    .bind(&c.sign_no)
    .bind(&ctx.inst.fixmedins_code)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::refused(
            "sign_no",
            format!("{} is not an open sign-in of this institution", c.sign_no),
        ));
    }
    Ok((
        Outcome::SignedOut {
            sign_time: ctx.env.now,
        },
        "none",
        String::new(),
    ))
}

/// Where care happens: the institution's own region, never the message's (`Store::execute`
/// refuses a message naming another).
fn mdtrtarea(ctx: &Ctx<'_>) -> String {
    ctx.inst.admdvs.clone()
}

async fn register_outpatient(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &RegisterOutpatient,
) -> Result<Done, StoreError> {
    check_id("ipt_otp_no", &c.ipt_otp_no)?;
    for (f, v) in [
        ("mdtrt_cert_no", &c.mdtrt_cert_no),
        ("dept_name", &c.dept_name),
        ("dr_name", &c.dr_name),
        ("dept_code", &c.dept_code),
        ("atddr_no", &c.atddr_no),
    ] {
        check_text(f, v)?;
    }
    lock_person(tx, &c.psn_no).await?;
    active_relation(tx, &c.psn_no, &c.insutype, c.begntime.date()).await?;
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) FROM visit WHERE psn_no = $1 AND status = 'open' AND kind = 'otp'",
    )
    .bind(&c.psn_no)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    if open >= limits::OPEN_OUTPATIENT_VISITS_PER_PERSON_MAX {
        return Err(StoreError::refused(
            "psn_no",
            format!(
                "{} already has {open} open outpatient visits (limit {})",
                c.psn_no,
                limits::OPEN_OUTPATIENT_VISITS_PER_PERSON_MAX
            ),
        ));
    }
    let mdtrt_id = ctx.ids.next('M');
    insert_visit(
        tx,
        ctx,
        &mdtrt_id,
        &c.psn_no,
        &c.insutype,
        VisitKind::Outpatient,
        "11",
        &c.ipt_otp_no,
        c.begntime,
        &c.mdtrt_cert_type,
        &c.mdtrt_cert_no,
        &c.dept_code,
        &c.dept_name,
        &c.atddr_no,
        &c.dr_name,
        "",
        "",
        "",
        (c.referral, false),
    )
    .await?;
    Ok((
        Outcome::VisitOpened {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: c.psn_no.clone(),
            ipt_otp_no: c.ipt_otp_no.clone(),
        },
        "visit",
        mdtrt_id,
    ))
}

async fn insert_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    mdtrt_id: &str,
    psn_no: &str,
    insutype: &str,
    kind: VisitKind,
    med_type: &str,
    ipt_otp_no: &str,
    begntime: NaiveDateTime,
    mdtrt_cert_type: &str,
    mdtrt_cert_no: &str,
    dept_code: &str,
    dept_name: &str,
    atddr_no: &str,
    dr_name: &str,
    dise_codg: &str,
    dise_name: &str,
    main_cond_dscr: &str,
    (referral, transfer_in): (bool, bool),
) -> Result<(), StoreError> {
    // The credential is a level-3 item when it is an e-voucher token: sealed, bound to this
    // visit (sealing.rs). Nothing reads it back in the course of business.
    let mdtrt_cert_no = crate::sealing::seal_field(
        ctx.keyring,
        &crate::sealing::VISIT_CERT,
        mdtrt_id,
        mdtrt_cert_no,
    )?;
    sqlx::query(
        "INSERT INTO visit (mdtrt_id, fixmedins_code, psn_no, insutype, kind, status, med_type, ipt_otp_no, begntime, endtime, \
         mdtrt_cert_type, mdtrt_cert_no, dept_code, dept_name, atddr_no, dr_name, dise_codg, dise_name, main_cond_dscr, dscg_way, \
         mdtrtarea_admvs, n_fee_lines, created_at, referral, transfer_in) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, '', $9, $10, $11, $12, $13, $14, $15, $16, $17, '', $18, 0, $19, $20, $21)",
    )
    .bind(mdtrt_id)
    .bind(&ctx.inst.fixmedins_code)
    .bind(psn_no)
    .bind(insutype)
    .bind(kind.code())
    .bind(med_type)
    .bind(ipt_otp_no)
    .bind(ts(begntime))
    .bind(mdtrt_cert_type)
    .bind(&mdtrt_cert_no)
    .bind(dept_code)
    .bind(dept_name)
    .bind(atddr_no)
    .bind(dr_name)
    .bind(dise_codg)
    .bind(dise_name)
    .bind(main_cond_dscr)
    .bind(mdtrtarea(ctx))
    .bind(ts(ctx.env.now))
    .bind(i64::from(referral))
    .bind(i64::from(transfer_in))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const OTP_MED_TYPES: &[&str] = &["11", "12", "13", "14", "16", "19", "41", "51"];
const IPT_MED_TYPES: &[&str] = &["21", "22", "23", "24", "25", "26", "28", "52"];

fn check_diagnoses(diagnoses: &[Diagnosis]) -> Result<(), StoreError> {
    if diagnoses.len() > limits::DIAGNOSES_PER_MESSAGE_MAX {
        return Err(StoreError::bad(
            "diseinfo",
            format!(
                "has more than {} diagnoses",
                limits::DIAGNOSES_PER_MESSAGE_MAX
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in diagnoses.iter().enumerate() {
        if d.diag_code.is_empty() {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_code"),
                "is empty",
            ));
        }
        if d.diag_code.len() > 20 {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_code"),
                "is longer than 20 characters",
            ));
        }
        check_text(&format!("diseinfo[{i}].diag_name"), &d.diag_name)?;
        if !(0..=99).contains(&d.diag_srt_no) {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_srt_no"),
                "is not 0..=99",
            ));
        }
        if !seen.insert((d.diag_type.clone(), d.diag_srt_no)) {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_srt_no"),
                "appears twice for the same diag_type",
            ));
        }
    }
    Ok(())
}

/// Upserts diagnoses by (diag_type, diag_srt_no); `vali_flag = 0` deletes. A diagnosis sent
/// without its time takes `message_time` (the message's begin or end time).
async fn save_diagnoses(
    tx: &mut Tx<'_>,
    mdtrt_id: &str,
    diagnoses: &[Diagnosis],
    message_time: NaiveDateTime,
) -> Result<(), StoreError> {
    // Withdrawn diagnoses (vali_flag 0) are deleted; the others are upserted by sort number.
    for d in diagnoses.iter().filter(|d| !d.valid) {
        sqlx::query(
            "DELETE FROM diagnosis WHERE mdtrt_id = $1 AND diag_type = $2 AND diag_srt_no = $3",
        )
        .bind(mdtrt_id)
        .bind(&d.diag_type)
        .bind(d.diag_srt_no)
        .execute(&mut **tx)
        .await?;
    }
    let rows: Vec<Vec<V<'_>>> = diagnoses
        .iter()
        .filter(|d| d.valid)
        .map(|d| {
            vec![
                V::T(mdtrt_id),
                V::T(&d.diag_type),
                V::I(d.diag_srt_no),
                V::T(&d.diag_code),
                V::T(&d.diag_name),
                V::T(&d.diag_dept),
                V::T(&d.dise_dor_no),
                V::T(&d.dise_dor_name),
                V::S(ts(d.diag_time.unwrap_or(message_time))),
                V::T(if d.maindiag_flag == Some(true) {
                    "1"
                } else {
                    "0"
                }),
                V::T("1"),
            ]
        })
        .collect();
    if !rows.is_empty() {
        insert_rows(
            tx,
            "diagnosis",
            &[
                "mdtrt_id",
                "diag_type",
                "diag_srt_no",
                "diag_code",
                "diag_name",
                "diag_dept",
                "dise_dor_no",
                "dise_dor_name",
                "diag_time",
                "maindiag_flag",
                "vali_flag",
            ],
            rows,
            "ON CONFLICT (mdtrt_id, diag_type, diag_srt_no) DO UPDATE SET diag_code = excluded.diag_code, \
             diag_name = excluded.diag_name, diag_dept = excluded.diag_dept, dise_dor_no = excluded.dise_dor_no, \
             dise_dor_name = excluded.dise_dor_name, diag_time = excluded.diag_time, \
             maindiag_flag = excluded.maindiag_flag, vali_flag = excluded.vali_flag",
        )
        .await?;
    }
    Ok(())
}

async fn upload_visit_info(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &UploadVisitInfo,
) -> Result<Done, StoreError> {
    if !OTP_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{:?} is not an outpatient medical type {OTP_MED_TYPES:?}",
                c.med_type
            ),
        ));
    }
    if c.med_type == "14" && c.dise_codg.is_empty() {
        return Err(StoreError::bad(
            "dise_codg",
            "is required for a chronic outpatient visit (med_type 14)",
        ));
    }
    check_id_opt("dise_codg", &c.dise_codg)?;
    check_text("dise_name", &c.dise_name)?;
    check_text("main_cond_dscr", &c.main_cond_dscr)?;
    check_diagnoses(&c.diagnoses)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, VisitKind::Outpatient)?;
    expect_status(&v, &[VisitStatus::Open])?;
    sqlx::query("UPDATE visit SET med_type = $1, dise_codg = $2, dise_name = $3, main_cond_dscr = $4, begntime = $5 WHERE mdtrt_id = $6")
        .bind(&c.med_type)
        .bind(&c.dise_codg)
        .bind(&c.dise_name)
        .bind(&c.main_cond_dscr)
        .bind(ts(c.begntime))
        .bind(&c.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses, c.begntime).await?;
    save_maternity(tx, &c.mdtrt_id, &c.maternity).await?;
    Ok((Outcome::Done, "none", String::new()))
}

fn check_id_opt(field: &str, value: &str) -> Result<(), StoreError> {
    if value.chars().count() > limits::ID_CHARS_MAX {
        return Err(StoreError::bad(
            field,
            format!("is longer than {} characters", limits::ID_CHARS_MAX),
        ));
    }
    Ok(())
}
