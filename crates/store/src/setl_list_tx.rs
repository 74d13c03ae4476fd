// 4101A settlement lists: the SQL. Included after the files of `tx/` into the same two modules (`pg`, `sq`),
// so it shares that file's imports and helpers (`Tx`, `Done`, `lock_person`, `ts`, `TS`,
// `insert_rows`) and compiles once per backend. Its own SQL uses `$n` placeholders, BIGINT and TEXT only.

/// 4101A: checks the list against the settlement it names, groups it and stores it as the next
/// version for that settlement (never an edit in place: the latest version wins).
async fn setl_list_upload(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &crate::setl_list::SetlListUpload,
) -> Result<Done, StoreError> {
    crate::setl_list::check_upload(c)?;
    let person = lock_person(tx, &c.psn_no).await?;

    let row = sqlx::query(
        "SELECT mdtrt_id, psn_no, fixmedins_code, setl_sign, refd_setl_flag, setl_date FROM settlement WHERE setl_id = $1",
    )
    .bind(&c.setl_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::not_found("setlinfo.setl_id", &c.setl_id))?;
    let setl_mdtrt_id: String = row.try_get(0)?;
    let setl_psn_no: String = row.try_get(1)?;
    let setl_fixmedins_code: String = row.try_get(2)?;
    let setl_sign: i64 = row.try_get(3)?;
    let refd_setl_flag: i64 = row.try_get(4)?;
    let setl_date: String = row.try_get(5)?;
    if setl_fixmedins_code != ctx.inst.fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "setlinfo.setl_id".into(),
            value: c.setl_id.clone(),
        });
    }
    if setl_sign != 1 {
        return Err(StoreError::refused(
            "setlinfo.setl_id",
            format!("{} is a reversal, not a settlement", c.setl_id),
        ));
    }
    if refd_setl_flag != 0 {
        return Err(StoreError::refused(
            "setlinfo.setl_id",
            format!("{} was reversed", c.setl_id),
        ));
    }
    if setl_mdtrt_id != c.mdtrt_id {
        return Err(StoreError::bad(
            "setlinfo.mdtrt_id",
            format!("settlement {} is for another visit", c.setl_id),
        ));
    }
    if setl_psn_no != c.psn_no {
        return Err(StoreError::bad(
            "setlinfo.psn_no",
            format!("settlement {} is another person's", c.setl_id),
        ));
    }

    let visit = sqlx::query("SELECT begntime, endtime FROM visit WHERE mdtrt_id = $1")
        .bind(&c.mdtrt_id)
        .fetch_one(&mut **tx)
        .await?;
    let visit_begin: String = visit.try_get(0)?;
    let visit_end: String = visit.try_get(1)?;
    let adm_time = match c.adm_time {
        Some(at) => at,
        None => NaiveDateTime::parse_from_str(&visit_begin, TS).map_err(|_| {
            StoreError::Invariant(format!("visit {} has begntime {visit_begin:?}", c.mdtrt_id))
        })?,
    };
    let dscg_time = c
        .dscg_time
        .or_else(|| NaiveDateTime::parse_from_str(&visit_end, TS).ok());
    if dscg_time.is_some_and(|dscg| dscg < adm_time) {
        return Err(StoreError::bad(
            "setlinfo.dscg_time",
            "is before the admission (adm_time, or the visit's start)",
        ));
    }

    let facts = crate::setl_list::CaseFacts {
        gend: person.gend.clone(),
        brdy: NaiveDate::parse_from_str(&person.brdy, "%Y-%m-%d").ok(),
        adm_date: adm_time.date(),
    };
    let record = crate::setl_list::case_record(c, &facts);
    let group = crate::setl_list::group_case(&record)?;
    let los_days = crate::setl_list::stay_days(c, adm_time, dscg_time);
    let qc = crate::setl_list_qc::check(
        c,
        &crate::setl_list_qc::QcFacts {
            adm_time,
            dscg_time,
            age_days: record.age_days,
            group_status: group.status.clone(),
        },
    );

    let version: i64 = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) FROM setl_list WHERE fixmedins_code = $1 AND setl_id = $2",
    )
    .bind(&ctx.inst.fixmedins_code)
    .bind(&c.setl_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get::<i64, _>(0)?
        + 1;
    // A correction (a later version): only before the month's deadline, and only of a list the
    // hospital holds (unsubmitted, or rejected by the bureau).
    if version > 1 {
        let setl_day = NaiveDate::parse_from_str(&setl_date, "%Y-%m-%d").map_err(|_| {
            StoreError::Invariant(format!(
                "settlement {} has setl_date {setl_date:?}",
                c.setl_id
            ))
        })?;
        c.deadline
            .check("setlinfo.setl_id", setl_day, ctx.env.now.date())?;
        if let Some(status) =
            setl_list_latest_status(tx, &ctx.inst.fixmedins_code, &c.setl_id).await?
        {
            crate::setl_list_status::correction_allowed(status)?;
        }
    }
    let setl_list_id = ctx.ids.next('L');
    let gend = c.gend.clone().unwrap_or_else(|| person.gend.clone());
    sqlx::query(
        "INSERT INTO setl_list (setl_list_id, fixmedins_code, setl_id, version, mdtrt_id, psn_no, msgid, uploaded_at, \
         medcasno, gend, age_years, nwb_age_days, nwb_bir_wt_g, nwb_adm_wt_g, ntly, prfs, adm_way, trt_type, adm_time, \
         adm_caty, dscg_time, dscg_caty, dscg_way, los_days, vent_used_dura, setl_begn_date, setl_end_date, hi_paymtd, \
         bill_code, bill_no, biz_sn, chfpdr_code, medins_fill_dept, medins_fill_psn) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)",
    )
    .bind(&setl_list_id)
    .bind(&ctx.inst.fixmedins_code)
    .bind(&c.setl_id)
    .bind(version)
    .bind(&c.mdtrt_id)
    .bind(&c.psn_no)
    .bind(&ctx.env.msgid)
    .bind(ts(ctx.env.now))
    .bind(&c.medcasno)
    .bind(&gend)
    .bind(c.age_years)
    .bind(c.nwb_age_days)
    .bind(c.nwb_bir_wt_g)
    .bind(c.nwb_adm_wt_g)
    .bind(&c.ntly)
    .bind(&c.prfs)
    .bind(&c.adm_way)
    .bind(&c.trt_type)
    .bind(ts(adm_time))
    .bind(&c.adm_caty)
    .bind(dscg_time.map(ts).unwrap_or_default())
    .bind(&c.dscg_caty)
    .bind(&c.dscg_way)
    .bind(los_days)
    .bind(&c.vent_used_dura)
    .bind(c.setl_begn_date.to_string())
    .bind(c.setl_end_date.to_string())
    .bind(&c.hi_paymtd)
    .bind(&c.bill_code)
    .bind(&c.bill_no)
    .bind(&c.biz_sn)
    .bind(&c.chfpdr_code)
    .bind(&c.medins_fill_dept)
    .bind(&c.medins_fill_psn)
    .execute(&mut **tx)
    .await?;

    // The list's rows, each table in as few statements as the parameter limit allows.
    insert_list_rows(
        tx,
        "setl_list_diagnosis",
        &setl_list_id,
        &[
            "diag_type",
            "diag_code",
            "diag_name",
            "adm_cond_type",
            "maindiag_flag",
        ],
        c.diagnoses.iter().map(|d| {
            vec![
                V::T(&d.diag_type),
                V::T(&d.diag_code),
                V::T(&d.diag_name),
                V::T(&d.adm_cond_type),
                V::I(i64::from(d.maindiag_flag)),
            ]
        }),
    )
    .await?;
    insert_list_rows(
        tx,
        "setl_list_operation",
        &setl_list_id,
        &[
            "oprn_oprt_type",
            "oprn_oprt_code",
            "oprn_oprt_name",
            "oprn_oprt_date",
            "anst_way",
            "oper_dr_code",
            "anst_dr_code",
            "main_oprn_flag",
        ],
        c.operations.iter().map(|o| {
            vec![
                V::T(&o.oprn_oprt_type),
                V::T(&o.oprn_oprt_code),
                V::T(&o.oprn_oprt_name),
                V::S(o.oprn_oprt_date.map(|d| d.to_string()).unwrap_or_default()),
                V::T(&o.anst_way),
                V::T(&o.oper_dr_code),
                V::T(&o.anst_dr_code),
                V::I(i64::from(o.main_oprn_flag)),
            ]
        }),
    )
    .await?;
    insert_list_rows(
        tx,
        "setl_list_icu",
        &setl_list_id,
        &[
            "scs_cutd_ward_type",
            "scs_cutd_inpool_time",
            "scs_cutd_exit_time",
            "scs_cutd_sum_dura",
        ],
        c.icu_stays.iter().map(|s| {
            vec![
                V::T(&s.ward_type),
                V::S(ts(s.inpool_time)),
                V::S(ts(s.exit_time)),
                V::T(&s.sum_dura),
            ]
        }),
    )
    .await?;
    insert_list_rows(
        tx,
        "setl_list_payment",
        &setl_list_id,
        &["fund_pay_type", "fund_payamt_fen"],
        c.payments
            .iter()
            .map(|p| vec![V::T(&p.fund_pay_type), V::I(p.fund_payamt_fen)]),
    )
    .await?;
    insert_list_rows(
        tx,
        "setl_list_blood",
        &setl_list_id,
        &["bld_cat", "bld_amt", "bld_unt"],
        c.blood
            .iter()
            .map(|b| vec![V::T(&b.bld_cat), V::N(b.bld_amt), V::T(&b.bld_unt)]),
    )
    .await?;
    insert_list_rows(
        tx,
        "setl_list_opsp_diagnosis",
        &setl_list_id,
        &["diag_code", "diag_name", "oprn_oprt_code", "oprn_oprt_name"],
        c.opsp_diagnoses.iter().map(|o| {
            vec![
                V::T(&o.diag_code),
                V::T(&o.diag_name),
                V::T(&o.oprn_oprt_code),
                V::T(&o.oprn_oprt_name),
            ]
        }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO setl_list_group (setl_list_id, scheme, status, mdc, adrg, drg, drg_name, cc_level, trace) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&setl_list_id)
    .bind(&group.scheme)
    .bind(&group.status)
    .bind(&group.mdc)
    .bind(&group.adrg)
    .bind(&group.drg)
    .bind(&group.drg_name)
    .bind(&group.cc_level)
    .bind(&group.trace)
    .execute(&mut **tx)
    .await?;
    setl_list_qc_insert(tx, &setl_list_id, &qc, ctx.env.now).await?;

    let stored = crate::setl_list::SetlListStored {
        setl_list_id: setl_list_id.clone(),
        version,
        setl_id: c.setl_id.clone(),
        mdtrt_id: c.mdtrt_id.clone(),
        psn_no: c.psn_no.clone(),
        group,
        qc,
    };
    Ok((
        Outcome::SetlListStored(Box::new(stored)),
        "setl_list",
        setl_list_id,
    ))
}

/// 4103: the latest version of each of the institution's lists matching the query, newest first.
pub(crate) async fn setl_lists(
    pool: &Pool,
    fixmedins_code: &str,
    q: &crate::setl_list::SetlListQuery,
) -> Result<Vec<crate::setl_list::SetlListView>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.setl_list_id, l.version, l.setl_id, l.mdtrt_id, l.psn_no, l.uploaded_at, l.los_days, \
         COALESCE((SELECT d.diag_code FROM setl_list_diagnosis d WHERE d.setl_list_id = l.setl_list_id AND d.maindiag_flag = 1), ''), \
         COALESCE((SELECT o.oprn_oprt_code FROM setl_list_operation o WHERE o.setl_list_id = l.setl_list_id \
                   ORDER BY o.main_oprn_flag DESC, o.seq LIMIT 1), ''), \
         g.scheme, g.status, g.mdc, g.adrg, g.drg, g.drg_name, g.cc_level, g.trace \
         FROM setl_list l JOIN setl_list_group g ON g.setl_list_id = l.setl_list_id \
         WHERE l.fixmedins_code = $1 \
           AND l.version = (SELECT MAX(v.version) FROM setl_list v WHERE v.fixmedins_code = l.fixmedins_code AND v.setl_id = l.setl_id) \
           AND ($2 = '' OR l.setl_id = $2) AND ($3 = '' OR l.psn_no = $3) AND ($4 = '' OR l.mdtrt_id = $4) \
         ORDER BY l.uploaded_at DESC, l.setl_list_id DESC LIMIT $5 OFFSET $6",
    )
    .bind(fixmedins_code)
    .bind(q.setl_id.as_deref().unwrap_or(""))
    .bind(q.psn_no.as_deref().unwrap_or(""))
    .bind(q.mdtrt_id.as_deref().unwrap_or(""))
    .bind(q.page_size)
    .bind((q.page_num - 1) * q.page_size)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let uploaded_at: String = r.try_get(5)?;
        out.push(crate::setl_list::SetlListView {
            setl_list_id: r.try_get(0)?,
            version: r.try_get(1)?,
            setl_id: r.try_get(2)?,
            mdtrt_id: r.try_get(3)?,
            psn_no: r.try_get(4)?,
            uploaded_at: parse_ts(&uploaded_at)?,
            los_days: r.try_get(6)?,
            main_diag_code: r.try_get(7)?,
            main_oprn_code: r.try_get(8)?,
            group: crate::setl_list::SetlListGroup {
                scheme: r.try_get(9)?,
                status: r.try_get(10)?,
                mdc: r.try_get(11)?,
                adrg: r.try_get(12)?,
                drg: r.try_get(13)?,
                drg_name: r.try_get(14)?,
                cc_level: r.try_get(15)?,
                trace: r.try_get(16)?,
            },
        });
    }
    Ok(out)
}

/// Inserts a settlement list's rows of one kind into `table`: each row is the list's id, its
/// position (`seq`) and then its `fields` (named by `columns`).
async fn insert_list_rows<'a>(
    tx: &mut Tx<'_>,
    table: &str,
    setl_list_id: &'a str,
    columns: &[&str],
    fields: impl Iterator<Item = Vec<V<'a>>>,
) -> Result<u64, sqlx::Error> {
    let all_columns: Vec<&str> = ["setl_list_id", "seq"]
        .into_iter()
        .chain(columns.iter().copied())
        .collect();
    let rows = fields
        .enumerate()
        .map(|(idx, fields)| {
            let mut row = Vec::with_capacity(fields.len() + 2);
            row.push(V::T(setl_list_id));
            row.push(V::I(idx as i64));
            row.extend(fields);
            row
        })
        .collect();
    insert_rows(tx, table, &all_columns, rows, "").await
}
