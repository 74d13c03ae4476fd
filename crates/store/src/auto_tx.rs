// 免申即享 decisions (crate::auto), written once for both backends: included in `pg` and `sq` by
// `backend!`.

/// The columns of a stored decision with its undo, in `StoredDecision` order.
const AUTO_DECISION_COLUMNS: &str = "d.decision_id, d.psn_no, d.rule_id, d.source_ref, d.line, \
     d.trigger_text, d.result_kind, d.result, d.decided_at, u.staff_id, u.reason, u.undone_at, \
     c.staff_id, c.reason, c.confirmed_at";

/// The tables [`AUTO_DECISION_COLUMNS`] reads.
const AUTO_DECISION_FROM: &str = "auto_decision d \
     LEFT JOIN auto_decision_undo u ON u.decision_id = d.decision_id \
     LEFT JOIN auto_decision_confirm c ON c.decision_id = d.decision_id";

fn stored_decision_of(
    row: &<Db as sqlx::Database>::Row,
) -> Result<crate::auto::StoredDecision, StoreError> {
    let undone_by: Option<i64> = row.try_get(9)?;
    let confirmed_by: Option<i64> = row.try_get(12)?;
    Ok(crate::auto::StoredDecision {
        decision_id: row.try_get(0)?,
        psn_no: row.try_get(1)?,
        rule_id: row.try_get(2)?,
        source_ref: row.try_get(3)?,
        line: u64::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
        trigger: row.try_get(5)?,
        result_kind: row.try_get(6)?,
        result: row.try_get(7)?,
        decided_at: row.try_get(8)?,
        undone: match undone_by {
            Some(staff_id) => Some((staff_id, row.try_get(10)?, row.try_get(11)?)),
            None => None,
        },
        confirmed: match confirmed_by {
            Some(staff_id) => Some((staff_id, row.try_get(13)?, row.try_get(14)?)),
            None => None,
        },
    })
}

pub(crate) async fn auto_decisions(
    pool: &Pool,
    psn_no: &str,
) -> Result<Vec<crate::auto::StoredDecision>, StoreError> {
    let sql = format!(
        "SELECT {AUTO_DECISION_COLUMNS} FROM {AUTO_DECISION_FROM} \
         WHERE d.psn_no = $1 ORDER BY d.decision_id"
    );
    sqlx::query(&sql)
        .bind(psn_no)
        .fetch_all(pool)
        .await?
        .iter()
        .map(stored_decision_of)
        .collect()
}

pub(crate) async fn auto_undo(
    pool: &Pool,
    decision_id: i64,
    staff_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<crate::auto::StoredDecision, StoreError> {
    in_write_tx!(pool, |tx| auto_undo_in(
        &mut tx,
        decision_id,
        staff_id,
        reason,
        now
    )
    .await)
}

async fn auto_undo_in(
    tx: &mut Tx<'_>,
    decision_id: i64,
    staff_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<crate::auto::StoredDecision, StoreError> {
    let sql = format!(
        "SELECT {AUTO_DECISION_COLUMNS} FROM {AUTO_DECISION_FROM} \
         WHERE d.decision_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(decision_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("decision_id", decision_id.to_string()))?;
    let mut decision = stored_decision_of(&row)?;
    if decision.undone.is_some() {
        return Err(StoreError::refused(
            "decision_id",
            "the decision was undone before",
        ));
    }
    if decision.confirmed.is_some() {
        return Err(StoreError::refused(
            "decision_id",
            "the proposal was confirmed: end the recognition instead",
        ));
    }
    lock_person(tx, &decision.psn_no).await?;
    withdraw_effect(tx, &decision, now).await?;
    let at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    sqlx::query(
        "INSERT INTO auto_decision_undo (decision_id, staff_id, reason, undone_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(decision_id)
    .bind(staff_id)
    .bind(reason.trim())
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    decision.undone = Some((staff_id, reason.trim().to_owned(), at));
    Ok(decision)
}

/// Withdraws what an undone decision did, from the undo day on, in the undo's transaction:
///
/// - `assistance`: the identity record it came from gives no `sp_psn_type` to settlements
///   dated from today, and 1101 shows the record ending yesterday (`identity_withdrawal`);
///   settlements before stay as they were.
/// - `subsidy`: the resident contribution run no longer counts the record for a subsidy, and
///   if the year was assessed with the subsidy, the subsidy lines are reversed between the
///   funds and the amount made due from the individual (`reverse_subsidy_for_undo`).
/// - `newborn`: the child resident relation the pre-registration opened from birth ends
///   yesterday (status 4), unless contributions were assessed under it (refused: refund them
///   first) or it was not the decision's (a relation that does not start on the birth date).
/// - `enroll`, `retirement`, `backpay_notice`, `chronic_proposal`: the decision only told or
///   proposed; the undo row is the whole effect.
async fn withdraw_effect(
    tx: &mut Tx<'_>,
    decision: &crate::auto::StoredDecision,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let today = now.date();
    let yesterday = today.pred_opt().unwrap_or(today);
    let result: serde_json::Value = serde_json::from_str(&decision.result).map_err(|err| {
        StoreError::Invariant(format!("decision {}: {err}", decision.decision_id))
    })?;
    match decision.result_kind.as_str() {
        kind @ ("assistance" | "subsidy") => {
            let record = sqlx::query(
                "SELECT idet_type, begn_date FROM identity_assignment \
                 WHERE batch_id = $1 AND line = $2 AND psn_no = $3",
            )
            .bind(&decision.source_ref)
            .bind(i64::try_from(decision.line).unwrap_or(0))
            .bind(&decision.psn_no)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| {
                StoreError::Invariant(format!(
                    "decision {}: its identity record {}:{} is not stored",
                    decision.decision_id, decision.source_ref, decision.line
                ))
            })?;
            let (idet_type, begn_date): (String, String) = (record.try_get(0)?, record.try_get(1)?);
            sqlx::query(
                "INSERT INTO identity_withdrawal (decision_id, psn_no, idet_type, begn_date, \
                 effect, effective_from, last_day, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(decision.decision_id)
            .bind(&decision.psn_no)
            .bind(&idet_type)
            .bind(&begn_date)
            .bind(kind)
            .bind(today.to_string())
            .bind(yesterday.to_string())
            .bind(now.format("%Y-%m-%d %H:%M:%S").to_string())
            .execute(&mut **tx)
            .await?;
            if kind == "subsidy" {
                let year = result["benefit_year"]
                    .as_i64()
                    .and_then(|y| i32::try_from(y).ok());
                let lines: Vec<(yibao_enrollment::Payer, i64)> = result["lines"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        Some((
                            yibao_enrollment::Payer::from_key(l["payer"].as_str()?)?,
                            l["amount_fen"].as_i64()?,
                        ))
                    })
                    .collect();
                let Some(year) = year else {
                    return Err(StoreError::Invariant(format!(
                        "decision {}: no benefit year",
                        decision.decision_id
                    )));
                };
                let subsidy = result["amount_fen"].as_i64().unwrap_or(0);
                reverse_subsidy_for_undo(
                    tx,
                    decision.decision_id,
                    &decision.psn_no,
                    year,
                    subsidy,
                    &lines,
                    now,
                )
                .await?;
            }
        }
        "newborn" => {
            let birth = result["birth"].as_str().unwrap_or_default().to_owned();
            let open: Vec<String> = sqlx::query_scalar(
                "SELECT begndate FROM insurance WHERE psn_no = $1 AND insutype = '390' \
                 AND begndate = $2 AND psn_type = '1401' AND psn_insu_stas = '1' \
                 AND (enddate = '' OR enddate >= $3)",
            )
            .bind(&decision.psn_no)
            .bind(&birth)
            .bind(today.to_string())
            .fetch_all(&mut **tx)
            .await?;
            if open.is_empty() {
                return Ok(());
            }
            let assessed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM contribution_assessment WHERE psn_no = $1 AND insutype = '390'",
            )
            .bind(&decision.psn_no)
            .fetch_one(&mut **tx)
            .await?;
            if assessed > 0 {
                return Err(StoreError::refused(
                    "decision_id",
                    "contributions were assessed under the pre-registered relation: refund them first",
                ));
            }
            // The relation ends the day before the undo (on its first day when undone on the
            // birth date itself, so that no day before it is touched).
            let end = if yesterday.to_string() < birth {
                birth.clone()
            } else {
                yesterday.to_string()
            };
            sqlx::query(
                "UPDATE insurance SET enddate = $3, psn_insu_stas = '4' WHERE psn_no = $1 \
                 AND insutype = '390' AND begndate = $2",
            )
            .bind(&decision.psn_no)
            .bind(&birth)
            .bind(&end)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// One category record of a batch, with what the decisions need of its person.
struct CategoryRecord {
    line: i64,
    psn_no: String,
    category: String,
    begn_date: String,
    end_date: String,
    brdy: String,
}

pub(crate) async fn auto_decide_batch(
    pool: &Pool,
    batch_id: &str,
    params: &yibao_enrollment::params::ParamSet,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<crate::auto::AutoReport, StoreError> {
    use yibao_enrollment::auto::{on_category_start, CategoryStart};
    use yibao_enrollment::contribution::{CategorySpan, ResidentKind};
    use yibao_enrollment::Category;

    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let span = |category: &str, begn: &str, end: &str| -> Option<CategorySpan> {
        Some(CategorySpan {
            category: Category::from_key(category)?,
            valid_from: day(begn)?,
            valid_to: if end.is_empty() {
                None
            } else {
                Some(day(end)?)
            },
        })
    };
    let mut tx = begin_write(pool).await?;
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM registry_batch WHERE batch_id = $1")
            .bind(batch_id)
            .fetch_optional(&mut *tx)
            .await?;
    match kind.as_deref() {
        None => return Err(StoreError::not_found("batch_id", batch_id)),
        Some("police") => {
            let report = auto_newborns(&mut tx, batch_id, params, now).await?;
            tx.commit().await?;
            return Ok(report);
        }
        Some(_) => {}
    }
    let records: Vec<CategoryRecord> = sqlx::query(
        "SELECT a.line, a.psn_no, a.category, a.begn_date, a.end_date, p.brdy \
         FROM identity_assignment a JOIN person p ON p.psn_no = a.psn_no \
         WHERE a.batch_id = $1 ORDER BY a.line",
    )
    .bind(batch_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        Ok(CategoryRecord {
            line: r.try_get(0)?,
            psn_no: r.try_get(1)?,
            category: r.try_get(2)?,
            begn_date: r.try_get(3)?,
            end_date: r.try_get(4)?,
            brdy: r.try_get(5)?,
        })
    })
    .collect::<Result<_, StoreError>>()?;
    let mut report = crate::auto::AutoReport {
        records: records.len() as u64,
        ..Default::default()
    };
    let year = today.year();
    let (year_begin, year_end) = (format!("{year}-01-01"), format!("{year}-12-31"));
    let mut next = next_id(&mut tx, "auto_decision", "decision_id").await?;
    let decided_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    for record in &records {
        let line = u64::try_from(record.line).unwrap_or(0);
        let Some(started) = span(&record.category, &record.begn_date, &record.end_date) else {
            report.skipped.push((
                line,
                format!("category `{}` has no dates we read", record.category),
            ));
            continue;
        };
        // The region whose parameters apply: the basic relation's, else the household's.
        let region: Option<String> = sqlx::query_scalar(
            "SELECT insuplc_admdvs FROM insurance WHERE psn_no = $1 AND insutype IN ('310', '390') \
             ORDER BY begndate DESC LIMIT 1",
        )
        .bind(&record.psn_no)
        .fetch_optional(&mut *tx)
        .await?;
        let region = match region {
            Some(region) => Some(region),
            None => {
                sqlx::query_scalar(
                    "SELECT admdvs FROM household_member WHERE psn_no = $1 \
                     ORDER BY valid_from DESC, seq DESC LIMIT 1",
                )
                .bind(&record.psn_no)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        let Some(region) = region else {
            report.skipped.push((
                line,
                "the person has no insurance region or household".into(),
            ));
            continue;
        };
        // A county's persons pool at the prefecture (统筹区 `xxxx00`), or the province.
        let Some(region_params) = params.get_pooled(&region, year) else {
            report.skipped.push((
                line,
                format!("no enrollment parameters for {region} in {year}"),
            ));
            continue;
        };
        let paid: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM insurance WHERE psn_no = $1 AND insutype IN ('310', '390') \
             AND psn_insu_stas = '1' AND begndate <= $2 AND (enddate = '' OR enddate >= $3)",
        )
        .bind(&record.psn_no)
        .bind(&year_end)
        .bind(&year_begin)
        .fetch_one(&mut *tx)
        .await?;
        let held: Vec<CategorySpan> = sqlx::query(
            "SELECT category, begn_date, end_date FROM identity_current WHERE psn_no = $1",
        )
        .bind(&record.psn_no)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter_map(|r| {
            let (c, b, e): (String, String, String) =
                (r.try_get(0).ok()?, r.try_get(1).ok()?, r.try_get(2).ok()?);
            span(&c, &b, &e)
        })
        .collect();
        let kind = match day(&record.brdy) {
            Some(brdy) if yibao_enrollment::age_at(brdy, today) < 18 => ResidentKind::Child,
            _ => ResidentKind::Adult,
        };
        let decisions = match on_category_start(
            region_params,
            CategoryStart {
                started,
                all_categories: &held,
                kind,
                chosen_tier: None,
                benefit_year: year,
                has_paid_relation: paid > 0,
                as_of: today,
            },
        ) {
            Ok(decisions) => decisions,
            Err(err) => {
                report.skipped.push((line, err.to_string()));
                continue;
            }
        };
        for decision in decisions {
            let inserted = u64::from(
                record_decision(
                    &mut tx,
                    &mut next,
                    &record.psn_no,
                    &decision,
                    batch_id,
                    record.line,
                    &decided_at,
                )
                .await?,
            );
            if inserted == 1 {
                report.decided += 1;
                match decision.result {
                    yibao_enrollment::auto::AutoResult::Subsidy { .. } => report.subsidies += 1,
                    yibao_enrollment::auto::AutoResult::Assistance { .. } => report.assistance += 1,
                    _ => report.enrollments += 1,
                }
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// The births a police batch registered: each person it created who is within the newborn
/// window of their region on the batch's day is pre-registered as a child resident (390,
/// `1401`) from birth, and the decision tells the amount and the last day to pay.
async fn auto_newborns(
    tx: &mut Tx<'_>,
    batch_id: &str,
    params: &yibao_enrollment::params::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::auto::AutoReport, StoreError> {
    let rows = sqlx::query(
        "SELECT r.line, r.psn_no, p.brdy, h.admdvs \
         FROM registry_source_record r JOIN person p ON p.psn_no = r.psn_no \
         JOIN household_member h ON h.psn_no = r.psn_no \
         WHERE r.batch_id = $1 AND r.outcome = 'created' ORDER BY r.line",
    )
    .bind(batch_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut report = crate::auto::AutoReport::default();
    let today = now.date();
    let decided_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut next = next_id(tx, "auto_decision", "decision_id").await?;
    for row in rows {
        let line: i64 = row.try_get(0)?;
        let psn_no: String = row.try_get(1)?;
        let brdy: String = row.try_get(2)?;
        let region: String = row.try_get(3)?;
        let Ok(birth) = NaiveDate::parse_from_str(&brdy, "%Y-%m-%d") else {
            continue;
        };
        // Only a birth within a year of the batch is a newborn here; older persons are base
        // population the uninsured check follows up.
        if (today - birth).num_days() > 366 {
            continue;
        }
        report.records += 1;
        let Some(p) = params.get_pooled(&region, birth.year()) else {
            report.skipped.push((
                u64::try_from(line).unwrap_or(0),
                format!("no enrollment parameters for {region} in {}", birth.year()),
            ));
            continue;
        };
        let decision = match yibao_enrollment::auto::on_birth(p, birth, &[]) {
            Ok(decision) => decision,
            Err(err) => {
                report
                    .skipped
                    .push((u64::try_from(line).unwrap_or(0), err.to_string()));
                continue;
            }
        };
        let inserted = u64::from(
            record_decision(
                tx,
                &mut next,
                &psn_no,
                &decision,
                batch_id,
                line,
                &decided_at,
            )
            .await?,
        );
        if inserted != 1 {
            continue;
        }
        // Pre-registered from birth as a child resident of the household's region, unless the
        // child is already insured.
        let insured: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM insurance WHERE psn_no = $1 AND insutype IN ('310', '390')",
        )
        .bind(&psn_no)
        .fetch_one(&mut **tx)
        .await?;
        if insured == 0 {
            sqlx::query(
                "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                 begndate, enddate, psn_insu_stas) VALUES ($1, '390', '1401', $2, '', $3, '', '1')",
            )
            .bind(&psn_no)
            .bind(&region)
            .bind(birth.to_string())
            .execute(&mut **tx)
            .await?;
        }
        report.decided += 1;
        report.newborns += 1;
    }
    Ok(report)
}

pub(crate) async fn auto_confirm(
    pool: &Pool,
    decision_id: i64,
    staff_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<crate::auto::StoredDecision, StoreError> {
    in_write_tx!(pool, |tx| auto_confirm_in(
        &mut tx,
        decision_id,
        staff_id,
        reason,
        now
    )
    .await)
}

async fn auto_confirm_in(
    tx: &mut Tx<'_>,
    decision_id: i64,
    staff_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<crate::auto::StoredDecision, StoreError> {
    let sql = format!(
        "SELECT {AUTO_DECISION_COLUMNS} FROM {AUTO_DECISION_FROM} WHERE d.decision_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(decision_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("decision_id", decision_id.to_string()))?;
    let mut decision = stored_decision_of(&row)?;
    if decision.result_kind != "chronic_proposal" {
        return Err(StoreError::refused(
            "decision_id",
            format!(
                "a `{}` decision took effect by itself: nothing to confirm",
                decision.result_kind
            ),
        ));
    }
    if decision.undone.is_some() {
        return Err(StoreError::refused(
            "decision_id",
            "the proposal was undone",
        ));
    }
    if decision.confirmed.is_some() {
        return Err(StoreError::refused(
            "decision_id",
            "the proposal was confirmed before",
        ));
    }
    let result: serde_json::Value = serde_json::from_str(&decision.result)
        .map_err(|err| StoreError::Invariant(format!("decision {decision_id}: {err}")))?;
    let code = result["disease_code"].as_str().unwrap_or_default();
    let name = result["disease_name"].as_str().unwrap_or_default();
    let day = now.date().to_string();
    sqlx::query(
        "INSERT INTO chronic_recognition (psn_no, opsp_dise_code, opsp_dise_name, begndate, \
         enddate, fixmedins_code) VALUES ($1, $2, $3, $4, '', '') \
         ON CONFLICT (psn_no, opsp_dise_code, begndate) DO NOTHING",
    )
    .bind(&decision.psn_no)
    .bind(code)
    .bind(name)
    .bind(&day)
    .execute(&mut **tx)
    .await?;
    let at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    sqlx::query(
        "INSERT INTO auto_decision_confirm (decision_id, staff_id, reason, confirmed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(decision_id)
    .bind(staff_id)
    .bind(reason.trim())
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    decision.confirmed = Some((staff_id, reason.trim().to_owned(), at));
    Ok(decision)
}

pub(crate) async fn auto_propose_chronic(
    pool: &Pool,
    from: NaiveDate,
    to: NaiveDate,
    list: &yibao_enrollment::chronic::ChronicList,
    now: NaiveDateTime,
) -> Result<crate::auto::AutoReport, StoreError> {
    let mut tx = begin_write(pool).await?;
    let lists = sqlx::query(
        "SELECT l.setl_list_id, l.psn_no, SUBSTR(l.uploaded_at, 1, 10), s.insuplc_admdvs \
         FROM setl_list l JOIN settlement s ON s.setl_id = l.setl_id \
         WHERE SUBSTR(l.uploaded_at, 1, 10) >= $1 AND SUBSTR(l.uploaded_at, 1, 10) <= $2 \
         ORDER BY l.setl_list_id",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *tx)
    .await?;
    let mut report = crate::auto::AutoReport {
        records: lists.len() as u64,
        ..Default::default()
    };
    let decided_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut next = next_id(&mut tx, "auto_decision", "decision_id").await?;
    for row in lists {
        let setl_list_id: String = row.try_get(0)?;
        let psn_no: String = row.try_get(1)?;
        let day: String = row.try_get(2)?;
        let admdvs: String = row.try_get(3)?;
        let diseases = list.for_region(&admdvs);
        if diseases.is_empty() {
            continue;
        }
        let diagnoses: Vec<String> = sqlx::query_scalar(
            "SELECT diag_code FROM setl_list_diagnosis WHERE setl_list_id = $1 ORDER BY seq",
        )
        .bind(&setl_list_id)
        .fetch_all(&mut *tx)
        .await?;
        let codes: Vec<&str> = diagnoses.iter().map(String::as_str).collect();
        let decisions = match yibao_enrollment::auto::on_discharge(&codes, &diseases) {
            Ok(decisions) => decisions,
            Err(err) => {
                report.skipped.push((0, format!("{setl_list_id}: {err}")));
                continue;
            }
        };
        for decision in decisions {
            let yibao_enrollment::auto::AutoResult::ChronicProposal { disease_code, .. } =
                &decision.result
            else {
                continue;
            };
            let recognised: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM chronic_recognition WHERE psn_no = $1 \
                 AND opsp_dise_code = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3)",
            )
            .bind(&psn_no)
            .bind(disease_code)
            .bind(&day)
            .fetch_one(&mut *tx)
            .await?;
            if recognised > 0 {
                continue;
            }
            // One proposal per list and disease: the disease's place in the region's list.
            let line = diseases
                .iter()
                .position(|d| &d.disease_code == disease_code)
                .unwrap_or(0) as i64;
            let inserted = u64::from(
                record_decision(
                    &mut tx,
                    &mut next,
                    &psn_no,
                    &decision,
                    &format!("setl_list:{setl_list_id}"),
                    line,
                    &decided_at,
                )
                .await?,
            );
            if inserted == 1 {
                report.decided += 1;
                report.chronic_proposals += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Records an engine decision on `source_ref`/`line` unless a decision of its rule already stands
/// there; `next` is the next free decision id, advanced when used. True when recorded.
#[allow(clippy::too_many_arguments)]
async fn record_decision(
    tx: &mut Tx<'_>,
    next: &mut i64,
    psn_no: &str,
    decision: &yibao_enrollment::auto::AutoDecision,
    source_ref: &str,
    line: i64,
    decided_at: &str,
) -> Result<bool, StoreError> {
    let (kind, result) = crate::auto::result_of(&decision.result);
    let inserted = sqlx::query(
        "INSERT INTO auto_decision (decision_id, psn_no, rule_id, source_ref, line, \
         trigger_text, result_kind, result, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (rule_id, source_ref, line) DO NOTHING",
    )
    .bind(*next)
    .bind(psn_no)
    .bind(decision.rule_id)
    .bind(source_ref)
    .bind(line)
    .bind(&decision.trigger)
    .bind(kind)
    .bind(&result)
    .bind(decided_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        *next += 1;
    }
    Ok(inserted == 1)
}
