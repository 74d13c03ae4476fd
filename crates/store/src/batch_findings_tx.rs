// Batch findings into review: a batch run's hits on settlements recorded as findings with a
// review case each, its institution-level hits as leads, and the run itself, in one
// transaction. Compiled once per backend; see lib.rs and batch_findings.rs.

/// Ids looked up per statement (`IN ($1, …)`).
const BATCH_LOOKUP_CHUNK: usize = 500;

/// The PostgreSQL advisory lock that makes two recordings of batch runs take turns (SQLite has
/// one writer anyway): two recordings of the same run would otherwise both find a hit new.
const BATCH_RECORD_LOCK: i64 = 0x7962_6174_6368;

/// A settlement as held here: the person, the visit and the institution.
struct BatchSetl {
    psn_no: String,
    mdtrt_id: String,
    fixmedins_code: String,
    setl_sign: i64,
    reversed: bool,
}

/// The rows of `select` (a statement ending in `IN `) for `ids`, in statements of at most
/// [`BATCH_LOOKUP_CHUNK`] ids.
async fn batch_lookup(
    tx: &mut Tx<'_>,
    select: &str,
    ids: &[&str],
) -> Result<Vec<<Db as sqlx::Database>::Row>, StoreError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(BATCH_LOOKUP_CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{select}({})", placeholders.join(", "));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        rows.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

/// The first column of `select`'s rows for `ids`, as a set.
async fn batch_present(
    tx: &mut Tx<'_>,
    select: &str,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    batch_lookup(tx, select, ids)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

/// Records a batch run (see [`crate::Store::record_batch_findings`]); checked beforehand by
/// `batch_findings::check_run`.
pub(crate) async fn batch_record(
    pool: &Pool,
    run: &crate::batch_findings::BatchRun,
    opened_by: &str,
    now: NaiveDateTime,
) -> Result<crate::batch_findings::BatchRecorded, StoreError> {
    in_write_tx!(pool, |tx| batch_record_in(&mut tx, run, opened_by, now)
        .await)
}

async fn batch_record_in(
    tx: &mut Tx<'_>,
    run: &crate::batch_findings::BatchRun,
    opened_by: &str,
    now: NaiveDateTime,
) -> Result<crate::batch_findings::BatchRecorded, StoreError> {
    use crate::batch_findings as bf;
    if IS_PG {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(BATCH_RECORD_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    let run_id = bf::run_id(run);
    let created_at = ts(now);
    let params: HashMap<&str, (String, u32, serde_json::Value)> = run
        .rules
        .iter()
        .map(|r| {
            let json: serde_json::Map<String, serde_json::Value> = r
                .params
                .iter()
                .map(|(n, v)| (n.clone(), serde_json::Value::from(v.as_str())))
                .collect();
            (
                r.rule_id.as_str(),
                (bf::params_text(&r.params), r.rule_version, json.into()),
            )
        })
        .collect();
    let params_of = |rule_id: &str| {
        params
            .get(rule_id)
            .ok_or_else(|| StoreError::Invariant(format!("rule {rule_id} was checked")))
    };

    // Every settlement the hits name, as held here; an unknown one refuses the run.
    let mut setl_ids: Vec<&str> = run
        .hits
        .iter()
        .flat_map(|h| [h.setl_id.as_deref(), h.other_setl_id.as_deref()])
        .flatten()
        .collect();
    setl_ids.sort_unstable();
    setl_ids.dedup();
    let mut held: HashMap<String, BatchSetl> = HashMap::with_capacity(setl_ids.len());
    for r in batch_lookup(
        tx,
        "SELECT setl_id, psn_no, mdtrt_id, fixmedins_code, setl_sign, refd_setl_flag \
         FROM settlement WHERE setl_id IN ",
        &setl_ids,
    )
    .await?
    {
        held.insert(
            r.try_get(0)?,
            BatchSetl {
                psn_no: r.try_get(1)?,
                mdtrt_id: r.try_get(2)?,
                fixmedins_code: r.try_get(3)?,
                setl_sign: r.try_get(4)?,
                reversed: r.try_get::<i64, _>(5)? != 0,
            },
        );
    }
    for (idx, hit) in run.hits.iter().enumerate() {
        for (name, id) in [
            ("setl_id", &hit.setl_id),
            ("other_setl_id", &hit.other_setl_id),
        ] {
            let Some(id) = id else { continue };
            let field = format!("findings[{idx}].{name}");
            let Some(s) = held.get(id) else {
                return Err(StoreError::refused(
                    field,
                    format!(
                        "settlement {id} is not held by this store (an export of another \
                         database?); nothing was recorded"
                    ),
                ));
            };
            if s.setl_sign != 1 {
                return Err(StoreError::refused(
                    field,
                    format!("{id} is a reversal, not a settlement; nothing was recorded"),
                ));
            }
            if name == "setl_id" && s.fixmedins_code != hit.fixmedins_code {
                return Err(StoreError::refused(
                    field,
                    format!(
                        "settlement {id} is of institution {} here, the hit names {}; nothing \
                         was recorded",
                        s.fixmedins_code, hit.fixmedins_code
                    ),
                ));
            }
        }
    }
    // Every institution a lead names.
    let mut lead_insts: Vec<&str> = run
        .hits
        .iter()
        .filter(|h| h.setl_id.is_none())
        .map(|h| h.fixmedins_code.as_str())
        .collect();
    lead_insts.sort_unstable();
    lead_insts.dedup();
    let insts = batch_present(
        tx,
        "SELECT fixmedins_code FROM institution WHERE fixmedins_code IN ",
        &lead_insts,
    )
    .await?;
    if let Some((idx, hit)) = run
        .hits
        .iter()
        .enumerate()
        .find(|(_, h)| h.setl_id.is_none() && !insts.contains(&h.fixmedins_code))
    {
        return Err(StoreError::refused(
            format!("findings[{idx}].fixmedins_code"),
            format!(
                "institution {} is not held by this store; nothing was recorded",
                hit.fixmedins_code
            ),
        ));
    }

    let evidence = |hit: &bf::BatchHit, version: u32, params: &serde_json::Value| {
        serde_json::json!({
            "origin": bf::BATCH_ORIGIN,
            "run_id": run_id,
            "year": run.year,
            "input_hash": run.input_hash,
            "engine": run.engine,
            "rule_version": version,
            "params": params,
            "measure": hit.measure,
            "begin_date": hit.begin_date,
            "end_date": hit.end_date,
            "other_setl_id": hit.other_setl_id,
            "code": hit.code,
            "model": hit.evidence,
        })
        .to_string()
    };

    // Hits on settlements: a finding and a case each, unless recorded before (same jr_id), the
    // settlement already flagged by the rule (any origin), or reversed since the export.
    let mut recorded = bf::BatchRecorded::default();
    let on_setl: Vec<(&bf::BatchHit, &str, String)> = run
        .hits
        .iter()
        .filter_map(|h| h.setl_id.as_deref().map(|s| (h, s)))
        .map(|(h, setl_id)| {
            let (text, _, _) = params_of(&h.rule_id)?;
            let jr_id = bf::finding_id(
                &h.rule_id,
                text,
                setl_id,
                h.other_setl_id.as_deref().unwrap_or(""),
            );
            Ok((h, setl_id, jr_id))
        })
        .collect::<Result<_, StoreError>>()?;
    recorded.findings = on_setl.len() as u64;
    let jr_ids: Vec<&str> = on_setl.iter().map(|(_, _, j)| j.as_str()).collect();
    let mut known_jr = batch_present(
        tx,
        "SELECT jr_id FROM audit_finding WHERE jr_id IN ",
        &jr_ids,
    )
    .await?;
    let flagged_setls: Vec<&str> = on_setl.iter().map(|(_, s, _)| *s).collect();
    let mut flagged: std::collections::HashSet<(String, String)> = batch_lookup(
        tx,
        "SELECT setl_id, rule_id FROM audit_finding WHERE setl_id IN ",
        &flagged_setls,
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, StoreError>>()?;
    let mut new: Vec<(&bf::BatchHit, &BatchSetl, String, String)> = Vec::new();
    for (hit, setl_id, jr_id) in on_setl {
        let setl = &held[setl_id];
        let pair = (setl_id.to_owned(), hit.rule_id.clone());
        if known_jr.contains(&jr_id) || flagged.contains(&pair) {
            continue;
        }
        if setl.reversed {
            recorded.reversed += 1;
            continue;
        }
        let (_, version, params) = params_of(&hit.rule_id)?;
        let text = evidence(hit, *version, params);
        known_jr.insert(jr_id.clone());
        flagged.insert(pair);
        new.push((hit, setl, jr_id, text));
    }
    if !new.is_empty() {
        let columns = [
            "jr_id",
            "fixmedins_code",
            "msgid",
            "infno",
            "task_id",
            "warn_type",
            "trig_scen",
            "patn_id",
            "mdtrt_id",
            "setl_id",
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
        let rows = new
            .iter()
            .map(|(hit, setl, jr_id, evidence)| {
                vec![
                    V::T(jr_id),
                    V::T(&setl.fixmedins_code),
                    V::T(&run_id),
                    V::T(bf::BATCH_ORIGIN),
                    V::T(&run_id),
                    // The column holds the two national codes only; a batch finding is about a
                    // settlement like 事中's, its origin is `trig_scen`.
                    V::I(crate::audit::WarnType::During.code()),
                    V::T(bf::BATCH_ORIGIN),
                    V::T(&setl.psn_no),
                    V::T(&setl.mdtrt_id),
                    V::T(hit.setl_id.as_deref().unwrap_or_default()),
                    V::T(&hit.rule_id),
                    V::I(i64::from(params[hit.rule_id.as_str()].1)),
                    V::T(&hit.category),
                    V::I(i64::from(hit.sev_deg.get())),
                    V::T(hit.money_kind.code()),
                    V::T(&hit.vola_cont),
                    V::I(hit.vola_amt().0),
                    V::T(evidence),
                    V::T(&created_at),
                ]
            })
            .collect();
        insert_rows(tx, "audit_finding", &columns, rows, "").await?;
        let case_ids: Vec<String> = new
            .iter()
            .map(|(_, _, jr_id, _)| format!("C{}", &jr_id[1..]))
            .collect();
        let columns = [
            "case_id",
            "jr_id",
            "fixmedins_code",
            "patn_id",
            "setl_id",
            "rule_id",
            "sev_deg",
            "flagged_fen",
            "opened_by",
            "opened_at",
        ];
        let rows = new
            .iter()
            .zip(&case_ids)
            .map(|((hit, setl, jr_id, _), case_id)| {
                vec![
                    V::T(case_id),
                    V::T(jr_id),
                    V::T(&setl.fixmedins_code),
                    V::T(&setl.psn_no),
                    V::T(hit.setl_id.as_deref().unwrap_or_default()),
                    V::T(&hit.rule_id),
                    V::I(i64::from(hit.sev_deg.get())),
                    V::I(hit.vola_amt().0),
                    V::T(opened_by),
                    V::T(&created_at),
                ]
            })
            .collect();
        recorded.cases_opened = insert_rows(tx, "audit_case", &columns, rows, "").await?;
    }
    recorded.new_findings = new.len() as u64;
    assert_eq!(
        recorded.cases_opened, recorded.new_findings,
        "one case per new batch finding"
    );

    // Institution-level hits: a lead each, unless recorded before. The run goes in first (once):
    // the new leads refer to it.
    let rules = serde_json::Value::Array(
        run.rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "rule_id": r.rule_id,
                    "rule_version": r.rule_version,
                    "params": params[r.rule_id.as_str()].2,
                })
            })
            .collect(),
    )
    .to_string();
    let leads: Vec<&bf::BatchHit> = run.hits.iter().filter(|h| h.setl_id.is_none()).collect();
    let lead_ids: Vec<String> = leads
        .iter()
        .map(|h| Ok(bf::lead_id(h, &params_of(&h.rule_id)?.0)))
        .collect::<Result<_, StoreError>>()?;
    let lead_id_refs: Vec<&str> = lead_ids.iter().map(String::as_str).collect();
    let mut known_leads = batch_present(
        tx,
        "SELECT lead_id FROM audit_batch_lead WHERE lead_id IN ",
        &lead_id_refs,
    )
    .await?;
    recorded.leads = leads.len() as u64;
    let new_leads: Vec<(&bf::BatchHit, &String)> = leads
        .iter()
        .zip(&lead_ids)
        .filter(|(_, id)| known_leads.insert((*id).clone()))
        .map(|(h, id)| (*h, id))
        .collect();
    recorded.new_leads = new_leads.len() as u64;
    recorded.new_run = sqlx::query(
        "INSERT INTO audit_batch_run (run_id, year, input_hash, engine, rules, findings, \
         new_findings, cases_opened, leads, new_leads, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (run_id) DO NOTHING",
    )
    .bind(&run_id)
    .bind(i64::from(run.year))
    .bind(&run.input_hash)
    .bind(&run.engine)
    .bind(&rules)
    .bind(recorded.findings as i64)
    .bind(recorded.new_findings as i64)
    .bind(recorded.cases_opened as i64)
    .bind(recorded.leads as i64)
    .bind(recorded.new_leads as i64)
    .bind(opened_by)
    .bind(&created_at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    for (hit, lead_id) in new_leads {
        let (_, version, params) = params_of(&hit.rule_id)?;
        sqlx::query(
            "INSERT INTO audit_batch_lead (lead_id, run_id, fixmedins_code, rule_id, \
             rule_version, sev_deg, begin_date, end_date, code, measure, vola_cont, evidence, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(lead_id)
        .bind(&run_id)
        .bind(&hit.fixmedins_code)
        .bind(&hit.rule_id)
        .bind(i64::from(*version))
        .bind(i64::from(hit.sev_deg.get()))
        .bind(&hit.begin_date)
        .bind(hit.end_date.as_deref())
        .bind(hit.code.as_deref())
        .bind(hit.measure)
        .bind(&hit.vola_cont)
        .bind(evidence(hit, *version, params))
        .bind(&created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(recorded)
}

/// Leads matching `filter`, newest first.
pub(crate) async fn batch_leads(
    pool: &Pool,
    filter: &crate::batch_findings::LeadFilter,
) -> Result<Vec<crate::batch_findings::BatchLead>, StoreError> {
    let limit = filter.limit.clamp(1, crate::review::CASES_PAGE_MAX) as i64;
    sqlx::query(
        "SELECT lead_id, run_id, fixmedins_code, rule_id, sev_deg, begin_date, measure, \
         vola_cont, evidence FROM audit_batch_lead \
         WHERE ($1 = '' OR fixmedins_code = $1) AND ($2 = '' OR rule_id = $2) \
         ORDER BY created_at DESC, lead_id LIMIT $3",
    )
    .bind(filter.fixmedins_code.as_deref().unwrap_or(""))
    .bind(filter.rule_id.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::batch_findings::BatchLead {
            lead_id: r.try_get(0)?,
            run_id: r.try_get(1)?,
            fixmedins_code: r.try_get(2)?,
            rule_id: r.try_get(3)?,
            sev_deg: u8::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
            begin_date: r.try_get(5)?,
            measure: r.try_get(6)?,
            vola_cont: r.try_get(7)?,
            evidence: r.try_get(8)?,
        })
    })
    .collect()
}

/// A recorded run.
pub(crate) async fn batch_run(
    pool: &Pool,
    run_id: &str,
) -> Result<Option<crate::batch_findings::BatchRunView>, StoreError> {
    sqlx::query(
        "SELECT run_id, year, input_hash, rules, findings, new_findings, cases_opened, leads, \
         new_leads, recorded_by FROM audit_batch_run WHERE run_id = $1",
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await?
    .map(|r| {
        Ok(crate::batch_findings::BatchRunView {
            run_id: r.try_get(0)?,
            year: r.try_get(1)?,
            input_hash: r.try_get(2)?,
            rules: r.try_get(3)?,
            counts: [
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
                r.try_get(7)?,
                r.try_get(8)?,
            ],
            recorded_by: r.try_get(9)?,
        })
    })
    .transpose()
}
