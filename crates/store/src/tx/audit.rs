// Smart audit before and during settlement: the history a 3101/3102 check reads, the findings
// it records, and 3103's dispositions. Compiled once per backend; see lib.rs.

/// 3101/3102: checks every patient's encounters (with the visits we hold as history), records
/// each finding with its lines and answers them.
async fn audit_check(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &crate::audit::AuditCheck,
) -> Result<Done, StoreError> {
    let base = crate::audit::base()?;
    let rules = crate::audit::select_rules(base, c)?;
    let admdvs = yibao_core_types::Admdvs::parse(&ctx.inst.admdvs).ok();
    let window = chrono::Duration::days(crate::audit::history_days(base));
    let level_of = |code: &str| {
        ctx.registry
            .institutions
            .get(code)
            .map(|institution| registry_level(institution))
    };
    let scene = AuditScene {
        infno: &ctx.env.infno,
        task_id: &c.task_id,
        warn_type: crate::audit::WarnType::of_phase(c.phase),
        trig_scen: c
            .trig_scen
            .iter()
            .map(|t| t.get().to_string())
            .collect::<Vec<_>>()
            .join(","),
        setl_id: None,
    };
    let mut found = Vec::new();
    let mut inputs = Vec::with_capacity(c.patients.len());
    for (idx, patient) in c.patients.iter().enumerate() {
        let registered = registered_person(tx, &patient.patn_id).await?;
        let held = match &registered {
            Some(_) => {
                let dates = patient.encounters.iter().flat_map(|e| {
                    std::iter::once(e.adm_date).chain(e.orders.iter().map(|o| o.begn_date))
                });
                let (first, last) = dates.fold((NaiveDate::MAX, NaiveDate::MIN), |(lo, hi), d| {
                    (lo.min(d), hi.max(d))
                });
                held_encounters(tx, &patient.patn_id, first - window, last + window).await?
            }
            None => Vec::new(),
        };
        let input = crate::audit::input_of(idx, patient, registered, held, admdvs, &level_of)?;
        for finding in yibao_audit::audit(&input, &rules, &base.knowledge, c.phase) {
            let rule = rule_of(&rules.rules, &finding)?;
            found.push((patient.patn_id.as_str(), rule, finding, idx));
        }
        inputs.push(input);
    }
    let results = record_findings(tx, ctx, &scene, &inputs, &found).await?;
    Ok((Outcome::AuditResults(results), "none", String::new()))
}

/// The rule of a finding.
fn rule_of<'r>(
    rules: &'r [yibao_audit::Rule],
    finding: &yibao_audit::Finding,
) -> Result<&'r yibao_audit::Rule, StoreError> {
    rules
        .iter()
        .find(|rule| rule.rule_id == finding.rule_id)
        .ok_or_else(|| {
            StoreError::Invariant(format!("finding of unknown rule {}", finding.rule_id))
        })
}

/// The level a rule compares: the registry's `hi_setl_lv` (`None`: a pharmacy or no level).
fn registry_level(institution: &Institution) -> Option<yibao_audit::HospLv> {
    institution
        .hi_setl_lv
        .parse::<i64>()
        .ok()
        .and_then(yibao_audit::HospLv::new)
}

/// Where a finding was made.
struct AuditScene<'a> {
    infno: &'a str,
    task_id: &'a str,
    warn_type: crate::audit::WarnType,
    trig_scen: String,
    setl_id: Option<&'a str>,
}

/// The registry's sex, birth date and insurance records of `patn_id` when it is one of our
/// persons.
async fn registered_person(
    tx: &mut Tx<'_>,
    patn_id: &str,
) -> Result<Option<crate::audit::Registered>, StoreError> {
    // The death the registry acted on comes with the person, in the same round trip.
    let row = sqlx::query(
        "SELECT p.gend, p.brdy, d.death_date FROM person p \
         LEFT JOIN death_confirmed d ON d.psn_no = p.psn_no WHERE p.psn_no = $1",
    )
    .bind(patn_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let gend: String = row.try_get(0)?;
    let brdy: String = row.try_get(1)?;
    let death: Option<String> = row.try_get(2)?;
    // A registry sex outside 1/2/9 or an unreadable birth date leaves the request's.
    let (Some(gend), Ok(brdy)) = (yibao_audit::Gend::parse(&gend), stored_day(&brdy)) else {
        return Ok(None);
    };
    let mut insuinfo = Vec::new();
    for r in sqlx::query(
        "SELECT insutype, psn_insu_stas, begndate, enddate FROM insurance WHERE psn_no = $1 \
         ORDER BY insutype, begndate",
    )
    .bind(patn_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let insutype: String = r.try_get(0)?;
        let stas: String = r.try_get(1)?;
        let begndate: String = r.try_get(2)?;
        let enddate: String = r.try_get(3)?;
        // A record that does not read is left out: an unknown record never flags.
        if let (Ok(insutype), Some(psn_insu_stas), Ok(psn_insu_date)) = (
            yibao_core_types::Insutype::parse(&insutype),
            yibao_audit::PsnInsuStas::parse(&stas),
            stored_day(&begndate),
        ) {
            insuinfo.push(yibao_audit::InsuInfo {
                insutype,
                psn_insu_stas,
                psn_insu_date,
                // The day after the last day covered (`enddate` is inclusive).
                paus_insu_date: stored_day(&enddate).ok().and_then(|end| end.succ_opt()),
            });
        }
    }
    Ok(Some(crate::audit::Registered {
        gend,
        brdy,
        insuinfo,
        death_date: death.and_then(|d| stored_day(&d).ok()),
    }))
}

/// The person's most recent visits (not cancelled) a check reads as history, at most
/// `limits::AUDIT_HISTORY_VISITS_MAX` (a bound on the work of one check; `$1` is the person).
fn recent_visits() -> String {
    format!(
        "SELECT mdtrt_id, fixmedins_code, begntime, dise_codg, endtime, kind, med_type, insutype \
         FROM visit WHERE psn_no = $1 AND status <> 'cancelled' \
         ORDER BY begntime DESC, mdtrt_id DESC LIMIT {}",
        limits::AUDIT_HISTORY_VISITS_MAX
    )
}

/// The person's visits (not cancelled) with fee lines dated in `[from, to]`, with those lines
/// and their diagnoses.
async fn held_encounters(
    tx: &mut Tx<'_>,
    psn_no: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<crate::audit::HeldEncounter>, StoreError> {
    let from = from.format("%Y-%m-%d").to_string();
    let to = format!("{} 23:59:59", to.format("%Y-%m-%d"));
    // One index scan of the person's visits, then each visit's lines by its key: on
    // PostgreSQL the lateral subquery (with its OFFSET 0 fence) keeps that plan even where the
    // planner would rather scan every fee line (a person with many visits, stale statistics).
    let sql = if IS_PG {
        "SELECT v.mdtrt_id, v.fixmedins_code, v.begntime, v.dise_codg, \
                f.feedetl_sn, f.med_list_codg, f.cnt_e4, f.amount_fen, f.fee_ocur_time, \
                v.endtime, v.kind, v.med_type, v.insutype, f.med_chrgitm_type \
         FROM ({RECENT_VISITS}) v CROSS JOIN LATERAL (SELECT * FROM fee_line fl \
             WHERE fl.mdtrt_id = v.mdtrt_id AND fl.fee_ocur_time >= $2 AND fl.fee_ocur_time <= $3 \
             OFFSET 0) f \
         ORDER BY v.mdtrt_id, f.feedetl_sn"
    } else {
        "SELECT v.mdtrt_id, v.fixmedins_code, v.begntime, v.dise_codg, \
                f.feedetl_sn, f.med_list_codg, f.cnt_e4, f.amount_fen, f.fee_ocur_time, \
                v.endtime, v.kind, v.med_type, v.insutype, f.med_chrgitm_type \
         FROM ({RECENT_VISITS}) v JOIN fee_line f ON f.mdtrt_id = v.mdtrt_id \
         WHERE f.fee_ocur_time >= $2 AND f.fee_ocur_time <= $3 \
         ORDER BY v.mdtrt_id, f.feedetl_sn"
    };
    let sql = sql.replace("{RECENT_VISITS}", &recent_visits());
    let rows = sqlx::query(&sql)
        .bind(psn_no)
        .bind(&from)
        .bind(&to)
        .fetch_all(&mut **tx)
        .await?;
    let mut held: Vec<crate::audit::HeldEncounter> = Vec::new();
    for row in rows {
        let mdtrt_id: String = row.try_get(0)?;
        if held.last().is_none_or(|v| v.mdtrt_id != mdtrt_id) {
            let dise_codg: String = row.try_get(3)?;
            let endtime: String = row.try_get(9)?;
            let kind: String = row.try_get(10)?;
            held.push(crate::audit::HeldEncounter {
                mdtrt_id,
                fixmedins_code: row.try_get(1)?,
                begn_date: stored_day(&row.try_get::<String, _>(2)?)?,
                dscg_date: stored_day(&endtime).ok(),
                inpatient: kind == "ipt",
                med_type: row.try_get(11)?,
                insutype: row.try_get(12)?,
                main_dise_codg: dise_codg.clone(),
                diagnoses: if dise_codg.is_empty() {
                    Vec::new()
                } else {
                    vec![dise_codg]
                },
                lines: Vec::new(),
            });
        }
        let visit = held.last_mut().expect("pushed above");
        visit.lines.push(crate::audit::HeldLine {
            feedetl_sn: row.try_get(4)?,
            med_list_codg: row.try_get(5)?,
            cnt: yibao_core_types::Quantity(row.try_get(6)?),
            amount: Fen(row.try_get(7)?),
            fee_date: stored_day(&row.try_get::<String, _>(8)?)?,
            med_chrgitm_type: row.try_get(13)?,
        });
    }
    // Every diagnosis of those visits in one read: the person's visits of the same recent ones.
    if !held.is_empty() {
        let rows = sqlx::query(&format!(
            "SELECT d.mdtrt_id, d.diag_code FROM diagnosis d \
             JOIN ({}) v ON v.mdtrt_id = d.mdtrt_id \
             ORDER BY d.mdtrt_id, d.diag_type, d.diag_srt_no",
            recent_visits()
        ))
        .bind(psn_no)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            let mdtrt_id: String = row.try_get(0)?;
            let code: String = row.try_get(1)?;
            if let Some(visit) = held.iter_mut().find(|v| v.mdtrt_id == mdtrt_id) {
                if !visit.diagnoses.contains(&code) {
                    visit.diagnoses.push(code);
                }
            }
        }
    }
    Ok(held)
}

/// Stores findings (each of a patient, with its rule and the index of the input it came from
/// in `inputs`) with their lines — one multi-row insert per table whatever their number — and
/// returns them as answered.
async fn record_findings(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    scene: &AuditScene<'_>,
    inputs: &[yibao_audit::AuditInput],
    found: &[(&str, &yibao_audit::Rule, yibao_audit::Finding, usize)],
) -> Result<Vec<crate::audit::AuditResult>, StoreError> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let created_at = ts(ctx.env.now);
    let mut results = Vec::with_capacity(found.len());
    for (patn_id, rule, finding, input_idx) in found {
        let jr_id = ctx.ids.next('J');
        let input = &inputs[*input_idx];
        let details = finding
            .details
            .iter()
            .map(|detail| {
                let line = detail.line(input);
                crate::audit::AuditResultLine {
                    jrd_id: ctx.ids.next('D'),
                    patn_id: (*patn_id).to_owned(),
                    mdtrt_id: detail.encounter(input).mdtrt_id.clone(),
                    rx_id: line.rx_id.clone(),
                    feedetl_sn: line.feedetl_sn.clone(),
                    vola_item_type: detail.vola_item_type.code(),
                    vola_amt: detail.vola_amt,
                }
            })
            .collect();
        results.push((
            crate::audit::AuditResult {
                jr_id,
                rule_id: finding.rule_id.clone(),
                rule_version: finding.rule_version,
                rule_name: rule.name.clone(),
                vola_cont: finding.vola_cont.clone(),
                patn_id: (*patn_id).to_owned(),
                mdtrt_id: finding.mdtrt_id(input).to_owned(),
                vola_amt: finding.vola_amt,
                sev_deg: finding.sev_deg.get(),
                vola_evid: rule.vola_evid.clone(),
                vola_bhvr_type: rule.category.code().to_owned(),
                task_id: scene.task_id.to_owned(),
                details,
            },
            crate::audit::evidence_json(&finding.evidence),
            finding.money_kind.code(),
        ));
    }
    // `setl_id` is the same for every finding of a call: the column is left out (NULL) for a
    // check's findings.
    let mut columns = vec![
        "jr_id",
        "fixmedins_code",
        "msgid",
        "infno",
        "task_id",
        "warn_type",
        "trig_scen",
        "patn_id",
        "mdtrt_id",
        "rule_id",
        "rule_version",
        "category",
        "sev_deg",
        "money_kind",
        "vola_cont",
        "vola_amt_fen",
        "evidence",
        "created_at",
    ];
    if scene.setl_id.is_some() {
        columns.push("setl_id");
    }
    let finding_rows = results
        .iter()
        .map(|(r, evidence, money_kind)| {
            let mut row = vec![
                V::T(&r.jr_id),
                V::T(&ctx.inst.fixmedins_code),
                V::T(&ctx.env.msgid),
                V::T(scene.infno),
                V::T(scene.task_id),
                V::I(scene.warn_type.code()),
                V::T(&scene.trig_scen),
                V::T(&r.patn_id),
                V::T(&r.mdtrt_id),
                V::T(&r.rule_id),
                V::I(i64::from(r.rule_version)),
                V::T(&r.vola_bhvr_type),
                V::I(i64::from(r.sev_deg)),
                V::T(money_kind),
                V::T(&r.vola_cont),
                V::I(r.vola_amt.0),
                V::T(evidence),
                V::T(&created_at),
            ];
            if let Some(setl_id) = scene.setl_id {
                row.push(V::T(setl_id));
            }
            row
        })
        .collect();
    insert_rows(tx, "audit_finding", &columns, finding_rows, "").await?;
    // Lines with a `feedetl_sn` and lines without (NULL), one insert each.
    for with_sn in [true, false] {
        let mut columns = vec![
            "jrd_id",
            "jr_id",
            "mdtrt_id",
            "rx_id",
            "vola_item_type",
            "vola_amt_fen",
        ];
        if with_sn {
            columns.push("feedetl_sn");
        }
        let rows: Vec<Vec<V<'_>>> = results
            .iter()
            .flat_map(|(r, _, _)| r.details.iter().map(move |d| (r, d)))
            .filter(|(_, d)| d.feedetl_sn.is_some() == with_sn)
            .map(|(r, d)| {
                let mut row = vec![
                    V::T(&d.jrd_id),
                    V::T(&r.jr_id),
                    V::T(&d.mdtrt_id),
                    V::T(&d.rx_id),
                    V::I(i64::from(d.vola_item_type)),
                    V::I(d.vola_amt.0),
                ];
                if let Some(sn) = &d.feedetl_sn {
                    row.push(V::T(sn));
                }
                row
            })
            .collect();
        if !rows.is_empty() {
            insert_rows(tx, "audit_finding_line", &columns, rows, "").await?;
        }
    }
    Ok(results.into_iter().map(|(r, _, _)| r).collect())
}

/// 3103: records the hospital's answer to each warning, once per warning. A warning that was
/// not answered to this institution is reported as absent; one of the other type, or answered
/// before, is refused; nothing is written unless every row is accepted.
async fn audit_feedback(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &crate::audit::AuditFeedback,
) -> Result<Done, StoreError> {
    for (idx, warn) in c.warns.iter().enumerate() {
        let field = format!("data.warns[{idx}].warn_rslt_id");
        let sql = if IS_PG {
            "SELECT f.warn_type, d.jr_id FROM audit_finding f \
             LEFT JOIN audit_disposition d ON d.jr_id = f.jr_id \
             WHERE f.jr_id = $1 AND f.fixmedins_code = $2 FOR UPDATE OF f"
        } else {
            "SELECT f.warn_type, d.jr_id FROM audit_finding f \
             LEFT JOIN audit_disposition d ON d.jr_id = f.jr_id \
             WHERE f.jr_id = $1 AND f.fixmedins_code = $2"
        };
        let row = sqlx::query(sql)
            .bind(&warn.warn_rslt_id)
            .bind(&ctx.inst.fixmedins_code)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::not_found(field.clone(), &warn.warn_rslt_id))?;
        let warn_type: i64 = row.try_get(0)?;
        if warn_type != c.warn_type.code() {
            return Err(StoreError::refused(
                "data.warn_type",
                format!(
                    "warning {} is of warn_type {warn_type}, not {}",
                    warn.warn_rslt_id,
                    c.warn_type.code()
                ),
            ));
        }
        if row.try_get::<Option<String>, _>(1)?.is_some() {
            return Err(StoreError::refused(
                field,
                format!("warning {} was already answered", warn.warn_rslt_id),
            ));
        }
        sqlx::query(
            "INSERT INTO audit_disposition (jr_id, fixmedins_code, msgid, warn_type, dspo_way, \
             dspo_way_rea, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&warn.warn_rslt_id)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&ctx.env.msgid)
        .bind(c.warn_type.code())
        .bind(warn.dspo_way.code())
        .bind(&warn.dspo_way_rea)
        .bind(ts(ctx.env.now))
        .execute(&mut **tx)
        .await?;
    }
    Ok((Outcome::Done, "none", String::new()))
}

/// A settlement's findings (事中): the lines settled as the current encounter, the person's
/// other visits we hold as history, the rules of the visit's scene.
async fn settle_findings(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &Settle,
    registry_sex: (&str, &str),
    v: &VisitRow,
    lines: &[engine::StoredLine],
) -> Result<SettleAudit, StoreError> {
    let base = crate::audit::base()?;
    let rules = crate::audit::settle_rules(c.kind == VisitKind::Inpatient)?;
    let gend = yibao_audit::Gend::parse(registry_sex.0).unwrap_or(yibao_audit::Gend::Unknown);
    // A registry birth date that does not read leaves nothing to check ages against: the rules
    // that need none still run with the visit's day as birth date would mislead, so skip them.
    let Ok(brdy) = stored_day(registry_sex.1) else {
        return Ok(SettleAudit::default());
    };
    let adm_date = stored_day(&v.begntime)?;
    let mut diagnoses = Vec::new();
    if !v.dise_codg.is_empty() {
        diagnoses.push(v.dise_codg.clone());
    }
    for row in sqlx::query(
        "SELECT diag_code FROM diagnosis WHERE mdtrt_id = $1 ORDER BY diag_type, diag_srt_no",
    )
    .bind(&v.mdtrt_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let code: String = row.try_get(0)?;
        if !diagnoses.contains(&code) {
            diagnoses.push(code);
        }
    }
    let orders: Vec<crate::audit::AuditOrder> = lines
        .iter()
        .map(|line| crate::audit::AuditOrder {
            rx_id: line.feedetl_sn.clone(),
            hilist_code: line.med_list_codg.clone(),
            cnt: yibao_core_types::Quantity(line.cnt_e4),
            sumamt: Fen(line.amount_fen),
            begn_date: line.fee_date,
            feedetl_sn: Some(line.feedetl_sn.clone()),
            hilist_type: crate::audit::list_type_of_chrgitm(&line.facts.med_chrgitm_type)
                .map(|list| crate::audit::hilist_code(list).to_owned()),
            drord_bhvr: None,
            prd_days: None,
            drord_dept_codg: None,
        })
        .collect();
    let (first, last) = orders
        .iter()
        .map(|o| o.begn_date)
        .fold((adm_date, adm_date), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let window = chrono::Duration::days(crate::audit::history_days(base));
    let held = held_encounters(tx, &c.psn_no, first - window, last + window).await?;
    let patient = crate::audit::AuditPatient {
        patn_id: c.psn_no.clone(),
        gend,
        brdy,
        curr_mdtrt_id: v.mdtrt_id.clone(),
        encounters: vec![crate::audit::AuditEncounter {
            mdtrt_id: v.mdtrt_id.clone(),
            medins_id: ctx.inst.fixmedins_code.clone(),
            adm_date,
            dscg_date: None,
            med_type: Some(v.med_type.clone()),
            med_mdtrt_type: Some(
                match c.kind {
                    VisitKind::Outpatient => "1",
                    VisitKind::Inpatient => "2",
                }
                .to_owned(),
            ),
            insutype: Some(v.insutype.clone()),
            main_dise_codg: Some(v.dise_codg.clone()).filter(|code| !code.is_empty()),
            diagnoses,
            orders,
        }],
    };
    let level_of = |code: &str| {
        ctx.registry
            .institutions
            .get(code)
            .map(|institution| registry_level(institution))
    };
    let admdvs = yibao_core_types::Admdvs::parse(&ctx.inst.admdvs).ok();
    let input = crate::audit::input_of(0, &patient, None, held, admdvs, &level_of)?;
    let findings = yibao_audit::audit(&input, rules, &base.knowledge, yibao_audit::Phase::During);
    Ok(SettleAudit {
        inputs: vec![input],
        findings,
    })
}

/// A settlement's audit: the input the rules saw (none when they did not run) and what they
/// found in it.
#[derive(Default)]
struct SettleAudit {
    /// The input, alone in its list (what [`record_findings`] resolves lines against).
    inputs: Vec<yibao_audit::AuditInput>,
    /// The findings.
    findings: Vec<yibao_audit::Finding>,
}

/// Refuses a settlement with a severity-1 finding when the region says so; the message lists
/// each such finding's rule and text.
fn gate_settlement(c: &Settle, findings: &[yibao_audit::Finding]) -> Result<(), StoreError> {
    if c.audit_gate != crate::audit::AuditGate::Refuse {
        return Ok(());
    }
    let definite: Vec<String> = findings
        .iter()
        .filter(|f| f.sev_deg.get() == 1)
        .map(|f| format!("[{}] {}", f.rule_id, f.vola_cont))
        .collect();
    if definite.is_empty() {
        return Ok(());
    }
    Err(StoreError::refused(
        "mdtrt_id",
        format!(
            "智能审核明确违规，不予结算 (smart audit, severity 1): {}",
            definite.join("; ")
        ),
    ))
}

/// Records a settlement's findings under its `setl_id` (事中, `warn_type` 2).
async fn record_settle_findings(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &Settle,
    setl_id: &str,
    audit: SettleAudit,
) -> Result<(), StoreError> {
    let SettleAudit { inputs, findings } = audit;
    if findings.is_empty() {
        return Ok(());
    }
    let rules = crate::audit::settle_rules(c.kind == VisitKind::Inpatient)?;
    let scene = AuditScene {
        infno: &ctx.env.infno,
        task_id: "",
        warn_type: crate::audit::WarnType::During,
        trig_scen: match c.kind {
            VisitKind::Outpatient => "6".to_owned(),
            VisitKind::Inpatient => "8".to_owned(),
        },
        setl_id: Some(setl_id),
    };
    let found = findings
        .into_iter()
        .map(|finding| {
            Ok((
                c.psn_no.as_str(),
                rule_of(&rules.rules, &finding)?,
                finding,
                0,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    record_findings(tx, ctx, &scene, &inputs, &found).await?;
    Ok(())
}
