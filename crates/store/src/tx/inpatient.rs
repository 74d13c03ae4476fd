// Inpatient stays: admission (2401), discharge (2402), changes (2403) and undoing a discharge
// (2405).
// Compiled once per backend; see lib.rs.

async fn admit(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Admit) -> Result<Done, StoreError> {
    check_id("ipt_no", &c.ipt_no)?;
    if !IPT_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{:?} is not an inpatient medical type {IPT_MED_TYPES:?}",
                c.med_type
            ),
        ));
    }
    if ctx.inst.fixmedins_type != "1" {
        return Err(StoreError::refused(
            "fixmedins_code",
            "a pharmacy cannot admit patients",
        ));
    }
    check_id_opt("dscg_maindiag_code", &c.dscg_maindiag_code)?;
    for (f, v) in [
        ("adm_dept_name", &c.adm_dept_name),
        ("chfpdr_name", &c.chfpdr_name),
        ("main_cond_dscr", &c.main_cond_dscr),
        ("dscg_maindiag_name", &c.dscg_maindiag_name),
        ("mdtrt_cert_no", &c.mdtrt_cert_no),
    ] {
        check_text(f, v)?;
    }
    check_diagnoses(&c.diagnoses)?;
    lock_person(tx, &c.psn_no).await?;
    active_relation(tx, &c.psn_no, &c.insutype, c.begntime.date()).await?;
    let open = sqlx::query("SELECT mdtrt_id, fixmedins_code FROM visit WHERE psn_no = $1 AND kind = 'ipt' AND (status IN ('open', 'discharged') OR (status = 'settled' AND endtime = '')) LIMIT 1")
        .bind(&c.psn_no)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = open {
        let id: String = row.try_get(0)?;
        let inst: String = row.try_get(1)?;
        return Err(StoreError::refused(
            "psn_no",
            format!(
                "{} is in hospital (visit {id} at {inst}); cannot admit again",
                c.psn_no
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
        VisitKind::Inpatient,
        &c.med_type,
        &c.ipt_no,
        c.begntime,
        &c.mdtrt_cert_type,
        &c.mdtrt_cert_no,
        &c.adm_dept_codg,
        &c.adm_dept_name,
        &c.atddr_no,
        &c.chfpdr_name,
        &c.dscg_maindiag_code,
        &c.dscg_maindiag_name,
        &c.main_cond_dscr,
        (false, c.transfer_in),
    )
    .await?;
    save_diagnoses(tx, &mdtrt_id, &c.diagnoses, c.begntime).await?;
    Ok((
        Outcome::VisitOpened {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: c.psn_no.clone(),
            ipt_otp_no: c.ipt_no.clone(),
        },
        "visit",
        mdtrt_id,
    ))
}

async fn discharge(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Discharge) -> Result<Done, StoreError> {
    check_diagnoses(&c.diagnoses)?;
    check_id_opt("dscg_way", &c.dscg_way)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, VisitKind::Inpatient)?;
    // A stay settled before its discharge (2304 → 2402) is still in hospital until this 2402.
    let settled_in_hospital = v.status == VisitStatus::Settled && v.endtime.is_empty();
    if !settled_in_hospital {
        expect_status(&v, &[VisitStatus::Open])?;
    }
    if ts(c.endtime) < v.begntime {
        return Err(StoreError::bad(
            "endtime",
            format!("is before the admission time {}", v.begntime),
        ));
    }
    sqlx::query("UPDATE visit SET status = $4, endtime = $1, dscg_way = $2 WHERE mdtrt_id = $3")
        .bind(ts(c.endtime))
        .bind(&c.dscg_way)
        .bind(&c.mdtrt_id)
        .bind(
            if settled_in_hospital {
                VisitStatus::Settled
            } else {
                VisitStatus::Discharged
            }
            .code(),
        )
        .execute(&mut **tx)
        .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses, c.endtime).await?;
    // A delivery reported at discharge (matn_type …) replaces what the stay held; a discharge
    // that reports none leaves it.
    if !c.maternity.is_empty() {
        save_maternity(tx, &c.mdtrt_id, &c.maternity).await?;
    }
    Ok((Outcome::Done, "none", String::new()))
}

async fn update_admission(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &UpdateAdmission,
) -> Result<Done, StoreError> {
    check_diagnoses(&c.diagnoses)?;
    if !c.med_type.is_empty() && !IPT_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!("{:?} is not an inpatient medical type", c.med_type),
        ));
    }
    check_id_opt("dscg_maindiag_code", &c.dscg_maindiag_code)?;
    check_text("dscg_maindiag_name", &c.dscg_maindiag_name)?;
    check_text("main_cond_dscr", &c.main_cond_dscr)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, VisitKind::Inpatient)?;
    expect_status(&v, &[VisitStatus::Open])?;
    sqlx::query(
        "UPDATE visit SET begntime = CASE WHEN $1 = '' THEN begntime ELSE $1 END, \
         med_type = CASE WHEN $2 = '' THEN med_type ELSE $2 END, \
         dise_codg = CASE WHEN $3 = '' THEN dise_codg ELSE $3 END, \
         dise_name = CASE WHEN $4 = '' THEN dise_name ELSE $4 END, \
         main_cond_dscr = CASE WHEN $5 = '' THEN main_cond_dscr ELSE $5 END WHERE mdtrt_id = $6",
    )
    .bind(ts(c.begntime))
    .bind(&c.med_type)
    .bind(&c.dscg_maindiag_code)
    .bind(&c.dscg_maindiag_name)
    .bind(&c.main_cond_dscr)
    .bind(&c.mdtrt_id)
    .execute(&mut **tx)
    .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses, c.begntime).await?;
    Ok((Outcome::Done, "none", String::new()))
}

async fn undo_discharge(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &VisitRef) -> Result<Done, StoreError> {
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, VisitKind::Inpatient)?;
    expect_status(&v, &[VisitStatus::Discharged])?;
    sqlx::query(
        "UPDATE visit SET status = 'open', endtime = '', dscg_way = '' WHERE mdtrt_id = $1",
    )
    .bind(&c.mdtrt_id)
    .execute(&mut **tx)
    .await?;
    Ok((Outcome::Done, "none", String::new()))
}
