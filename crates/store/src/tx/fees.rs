// Fee lines: upload with classification (2204/2301), withdrawal (2205/2302) and cancelling a
// visit (2202).
// Compiled once per backend; see lib.rs.

async fn upload_fees(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &UploadFees) -> Result<Done, StoreError> {
    let kind = c.kind;
    let Some(first) = c.lines.first() else {
        return Err(StoreError::bad("feedetail", "is empty"));
    };
    if c.lines.len() > limits::FEE_LINES_PER_UPLOAD_MAX {
        return Err(StoreError::bad(
            "feedetail",
            format!(
                "has {} lines, more than {}",
                c.lines.len(),
                limits::FEE_LINES_PER_UPLOAD_MAX
            ),
        ));
    }
    let mut sns = std::collections::HashSet::new();
    let mut amounts = Vec::with_capacity(c.lines.len());
    let mut classified = Vec::with_capacity(c.lines.len());
    for (i, l) in c.lines.iter().enumerate() {
        let f = |name: &str| format!("feedetail[{i}].{name}");
        check_id(&f("feedetl_sn"), &l.feedetl_sn)?;
        if l.mdtrt_id != first.mdtrt_id {
            return Err(StoreError::bad(
                f("mdtrt_id"),
                "differs from the first line's: one upload is for one visit",
            ));
        }
        if l.psn_no != first.psn_no {
            return Err(StoreError::bad(
                f("psn_no"),
                "differs from the first line's",
            ));
        }
        if !sns.insert(l.feedetl_sn.as_str()) {
            return Err(StoreError::bad(
                f("feedetl_sn"),
                format!("{} appears twice", l.feedetl_sn),
            ));
        }
        check_id(&f("chrg_bchno"), &l.chrg_bchno)?;
        check_id_opt(&f("med_list_codg"), &l.med_list_codg).and_then(|_| {
            if l.med_list_codg.is_empty() {
                Err(StoreError::bad(f("med_list_codg"), "is empty"))
            } else {
                Ok(())
            }
        })?;
        if l.medins_list_codg.chars().count() > 150 {
            return Err(StoreError::bad(
                f("medins_list_codg"),
                "is longer than 150 characters",
            ));
        }
        if l.pric_micro < 0 {
            return Err(StoreError::bad(
                f("pric"),
                "is negative (refund lines make cnt negative, not pric)",
            ));
        }
        if l.pric_micro > limits::PRICE_MICRO_MAX {
            return Err(StoreError::bad(f("pric"), "exceeds 10,000,000.00"));
        }
        if l.cnt_e4 == 0 {
            return Err(StoreError::bad(f("cnt"), "is zero"));
        }
        if l.cnt_e4.abs() > limits::COUNT_E4_MAX {
            return Err(StoreError::bad(f("cnt"), "exceeds 1,000,000"));
        }
        if !["0", "1", "2"].contains(&l.hosp_appr_flag.as_str()) {
            return Err(StoreError::bad(
                f("hosp_appr_flag"),
                format!("{:?} is not 0, 1 or 2", l.hosp_appr_flag),
            ));
        }
        let amount = engine::line_amount_fen(l.pric_micro, l.cnt_e4);
        if amount.abs() > limits::LINE_AMOUNT_FEN_MAX {
            return Err(StoreError::bad(
                f("det_item_fee_sumamt"),
                "exceeds 10,000,000.00",
            ));
        }
        if (l.det_item_fee_sumamt_fen - amount).abs() > 1 {
            return Err(StoreError::bad(
                f("det_item_fee_sumamt"),
                format!(
                    "{} differs from pric × cnt = {} by more than 0.01",
                    engine::render_fen(l.det_item_fee_sumamt_fen),
                    engine::render_fen(amount)
                ),
            ));
        }
        amounts.push(amount);
    }
    let (_, v) = lock_visit(tx, ctx, &first.psn_no, &first.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    expect_status(&v, &[VisitStatus::Open, VisitStatus::Discharged])?;
    // Priced by the catalogue in force on each fee's day and the place of care's 乙类 shares
    // for the visit's scheme.
    for (i, (l, &amount)) in c.lines.iter().zip(&amounts).enumerate() {
        let pricing = engine::Pricing {
            fee_date: l.fee_ocur_time.date(),
            region: &ctx.inst.admdvs,
            insutype: &v.insutype,
        };
        let stored = ctx
            .engine
            .classify(
                &l.feedetl_sn,
                &l.med_list_codg,
                l.pric_micro,
                l.cnt_e4,
                amount,
                &l.hosp_appr_flag,
                pricing,
            )
            .map_err(|reason| StoreError::bad(format!("feedetail[{i}].med_list_codg"), reason))?;
        classified.push(stored);
    }
    let n = c.lines.len() as i64;
    if v.n_fee_lines + n > limits::FEE_LINES_PER_VISIT_MAX {
        return Err(StoreError::refused(
            "feedetail",
            format!(
                "the visit would have more than {} fee lines",
                limits::FEE_LINES_PER_VISIT_MAX
            ),
        ));
    }
    // Already-uploaded serial numbers are refused (a correction is withdraw + upload).
    if v.n_fee_lines > 0 {
        let mut sql =
            String::from("SELECT feedetl_sn FROM fee_line WHERE mdtrt_id = $1 AND feedetl_sn IN (");
        for i in 0..c.lines.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i + 2));
        }
        sql.push_str(") LIMIT 1");
        let mut q = sqlx::query(&sql).bind(&first.mdtrt_id);
        for l in &c.lines {
            q = q.bind(&l.feedetl_sn);
        }
        if let Some(row) = q.fetch_optional(&mut **tx).await? {
            let sn: String = row.try_get(0)?;
            let i = c.lines.iter().position(|l| l.feedetl_sn == sn).unwrap_or(0);
            return Err(StoreError::refused(
                format!("feedetail[{i}].feedetl_sn"),
                format!("{sn} was already uploaded for this visit"),
            ));
        }
    }
    let rows: Vec<Vec<V<'_>>> = c
        .lines
        .iter()
        .zip(&classified)
        .map(|(l, s)| {
            vec![
                V::T(&l.mdtrt_id),
                V::T(&l.feedetl_sn),
                V::T(&l.chrg_bchno),
                V::T(&ctx.env.msgid),
                V::T(&l.med_list_codg),
                V::T(&l.medins_list_codg),
                V::S(ts(l.fee_ocur_time)),
                V::T(&l.hosp_appr_flag),
                V::I(l.pric_micro),
                V::I(l.cnt_e4),
                V::I(s.amount_fen),
                V::I(s.facts.in_catalogue as i64),
                V::T(&s.facts.chrgitm_lv),
                V::T(&s.facts.med_chrgitm_type),
                V::I(s.facts.selfpay_prop_ppm),
                V::N(s.facts.pric_uplmt_micro),
                V::T(&s.facts.lmt_used_flag),
                V::I(s.fulamt_ownpay_fen),
                V::I(s.overlmt_selfpay_fen),
                V::I(s.preselfpay_fen),
                V::I(s.inscp_scp_fen),
            ]
        })
        .collect();
    insert_rows(tx, "fee_line", FEE_LINE_COLUMNS, rows, "").await?;
    sqlx::query("UPDATE visit SET n_fee_lines = n_fee_lines + $1 WHERE mdtrt_id = $2")
        .bind(n)
        .bind(&first.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    let results = classified.iter().map(|s| s.result()).collect();
    Ok((
        Outcome::FeesUploaded(results),
        "fees",
        first.mdtrt_id.clone(),
    ))
}

const FEE_LINE_COLUMNS: &[&str] = &[
    "mdtrt_id",
    "feedetl_sn",
    "chrg_bchno",
    "upload_msgid",
    "med_list_codg",
    "medins_list_codg",
    "fee_ocur_time",
    "hosp_appr_flag",
    "pric_micro",
    "cnt_e4",
    "amount_fen",
    "in_catalogue",
    "chrgitm_lv",
    "med_chrgitm_type",
    "selfpay_prop_ppm",
    "pric_uplmt_micro",
    "lmt_used_flag",
    "fulamt_ownpay_fen",
    "overlmt_selfpay_fen",
    "preselfpay_fen",
    "inscp_scp_fen",
];

async fn cancel_fees(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &CancelFees) -> Result<Done, StoreError> {
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, c.kind)?;
    let (chrg_bchno, feedetl_sns) = match &c.selection {
        FeeSelection::All => (ALL_UNSETTLED, Vec::new()),
        FeeSelection::Batch(batch) => (batch.as_str(), Vec::new()),
        FeeSelection::Line(feedetl_sn) => ("", vec![feedetl_sn.clone()]),
    };
    let n = delete_fee_lines(tx, &c.mdtrt_id, chrg_bchno, &feedetl_sns, None).await?;
    if n == 0 {
        return Err(StoreError::not_found(
            if feedetl_sns.is_empty() {
                "chrg_bchno"
            } else {
                "feedetl_sn"
            },
            "no unsettled fee line matches",
        ));
    }
    Ok((Outcome::Done, "none", String::new()))
}

/// The batch number that names every unsettled line of a visit (2205 `chrg_bchno`).
const ALL_UNSETTLED: &str = "0000";

/// Deletes unsettled lines of a visit (by batch, by serial numbers or by upload message) and
/// returns how many; a named line that is settled refuses the whole deletion.
async fn delete_fee_lines(
    tx: &mut Tx<'_>,
    mdtrt_id: &str,
    chrg_bchno: &str,
    feedetl_sns: &[String],
    upload_msgid: Option<&str>,
) -> Result<i64, StoreError> {
    let mut filter = String::from("mdtrt_id = $1");
    let mut binds: Vec<&str> = vec![mdtrt_id];
    if let Some(m) = upload_msgid {
        binds.push(m);
        filter.push_str(&format!(" AND upload_msgid = ${}", binds.len()));
    } else if !feedetl_sns.is_empty() {
        filter.push_str(" AND feedetl_sn IN (");
        for (i, sn) in feedetl_sns.iter().enumerate() {
            binds.push(sn);
            if i > 0 {
                filter.push_str(", ");
            }
            filter.push_str(&format!("${}", binds.len()));
        }
        filter.push(')');
    } else if chrg_bchno != "0000" {
        binds.push(chrg_bchno);
        filter.push_str(&format!(" AND chrg_bchno = ${}", binds.len()));
    }
    let named_settled =
        format!("SELECT feedetl_sn FROM fee_line WHERE {filter} AND setl_id IS NOT NULL LIMIT 1");
    // "0000" withdraws every unsettled line: settled lines are simply kept.
    if chrg_bchno != "0000" || !feedetl_sns.is_empty() || upload_msgid.is_some() {
        let mut q = sqlx::query(&named_settled);
        for b in &binds {
            q = q.bind(*b);
        }
        if let Some(row) = q.fetch_optional(&mut **tx).await? {
            let sn: String = row.try_get(0)?;
            return Err(StoreError::refused(
                "feedetl_sn",
                format!("{sn} is settled and cannot be withdrawn"),
            ));
        }
    }
    let sql = format!("DELETE FROM fee_line WHERE {filter} AND setl_id IS NULL");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(*b);
    }
    let n = q.execute(&mut **tx).await?.rows_affected() as i64;
    if n > 0 {
        sqlx::query("UPDATE visit SET n_fee_lines = n_fee_lines - $1 WHERE mdtrt_id = $2")
            .bind(n)
            .bind(mdtrt_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(n)
}

async fn cancel_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &VisitRef,
    kind: VisitKind,
) -> Result<(), StoreError> {
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    expect_status(&v, &[VisitStatus::Open])?;
    let settled: i64 =
        sqlx::query("SELECT COUNT(*) FROM fee_line WHERE mdtrt_id = $1 AND setl_id IS NOT NULL")
            .bind(&c.mdtrt_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    if settled > 0 {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!(
                "{} has settled fee lines; reverse the settlement first",
                c.mdtrt_id
            ),
        ));
    }
    if kind == VisitKind::Inpatient && v.n_fee_lines > 0 {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!(
                "{} has {} fee lines; withdraw them (2302) first",
                c.mdtrt_id, v.n_fee_lines
            ),
        ));
    }
    delete_fee_lines(tx, &c.mdtrt_id, "0000", &[], None).await?;
    sqlx::query("UPDATE visit SET status = 'cancelled' WHERE mdtrt_id = $1")
        .bind(&c.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
