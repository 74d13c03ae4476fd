// Tax payments (`tax.rs`): matching a file's rows to persons (the feeds' bulk identifier lookup)
// and to their assessments, recording the payments and deciding the benefit periods they
// complete in one transaction, replay by the file's digest, and the reads.
// Compiled once per backend; see lib.rs.

use crate::tax::{
    BenefitFacts, BenefitPeriodView, BenefitSweep, CollectionItem, TaxImport, TaxReport, TaxRow,
};

/// A `normal` assessment as a tax row is matched to it.
struct TaxAssessment {
    assessment_id: String,
    psn_no: String,
    insutype: String,
    admdvs: String,
    period: String,
    /// What the tax bureau collects ([`crate::tax::collected_part`]).
    due_fen: i64,
    assessed_on: NaiveDate,
}

/// A resident assessment that is now paid: its benefit period is to be decided.
struct TaxCompleted {
    assessment_id: String,
    psn_no: String,
    admdvs: String,
    year: i32,
    paid_on: NaiveDate,
}

const TAX_ASSESSMENT_SELECT: &str =
    "SELECT assessment_id, psn_no, insutype, insu_admdvs, period, clct_type, \
     emp_clct_fen, psn_clct_fen, assessed_at, part FROM contribution_assessment";

fn tax_assessment(r: &<Db as sqlx::Database>::Row) -> Result<Option<TaxAssessment>, StoreError> {
    let clct_type: String = r.try_get("clct_type")?;
    if clct_type != "normal" {
        return Ok(None);
    }
    let insutype: String = r.try_get("insutype")?;
    let due_fen = crate::tax::collected_part(
        &insutype,
        r.try_get("emp_clct_fen")?,
        r.try_get("psn_clct_fen")?,
    );
    let assessed_at: String = r.try_get("assessed_at")?;
    Ok(Some(TaxAssessment {
        assessment_id: r.try_get("assessment_id")?,
        psn_no: r.try_get("psn_no")?,
        insutype,
        admdvs: r.try_get("insu_admdvs")?,
        period: r.try_get("period")?,
        due_fen,
        assessed_on: stored_day(&assessed_at)?,
    }))
}

/// Payments of the assessments `ids`: assessment → [(clct date, amount, receipt)].
async fn tax_payments_of(
    tx: &mut Tx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<(NaiveDate, i64, String)>>, StoreError> {
    let mut paid: HashMap<String, Vec<(NaiveDate, i64, String)>> = HashMap::new();
    rows_for_keys(
        tx,
        "SELECT assessment_id, amount_fen, elec_taxrpt_no, clct_time FROM contribution_payment",
        "contribution_payment",
        "assessment_id",
        ids,
        |r| {
            let clct_time: String = r.try_get("clct_time")?;
            paid.entry(r.try_get("assessment_id")?).or_default().push((
                stored_day(&clct_time)?,
                r.try_get("amount_fen")?,
                r.try_get("elec_taxrpt_no")?,
            ));
            Ok(())
        },
    )
    .await?;
    Ok(paid)
}

/// The day the payments of an assessment first reached `due_fen` (in collection-date order), if
/// they did.
fn tax_paid_on(due_fen: i64, payments: &[(NaiveDate, i64, String)]) -> Option<NaiveDate> {
    let mut sorted: Vec<&(NaiveDate, i64, String)> = payments.iter().collect();
    sorted.sort_by_key(|p| p.0);
    let mut sum = 0;
    for (date, amount, _) in sorted {
        sum += amount;
        if sum >= due_fen {
            return Some(*date);
        }
    }
    None
}

pub(crate) async fn tax_replay(
    pool: &Pool,
    batch_id: &str,
) -> Result<Option<TaxReport>, StoreError> {
    let Some(b) = sqlx::query(
        "SELECT rows_read, rows_taken, rows_matched, rows_refused, payments, amount_fen, benefit_periods, \
         waiting FROM tax_batch WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let refusals = refused_rows(
        pool,
        "SELECT line, reason FROM tax_refusal WHERE batch_id = $1 ORDER BY line",
        batch_id,
    )
    .await?;
    let count = |name: &str| -> Result<u64, sqlx::Error> { Ok(b.try_get::<i64, _>(name)? as u64) };
    Ok(Some(TaxReport {
        batch_id: batch_id.to_owned(),
        replayed: true,
        rows_read: count("rows_read")?,
        rows_taken: count("rows_taken")?,
        rows_matched: count("rows_matched")?,
        rows_refused: count("rows_refused")?,
        payments: count("payments")?,
        amount: Fen(b.try_get("amount_fen")?),
        benefit_periods: count("benefit_periods")?,
        waiting: count("waiting")?,
        refusals,
        ..TaxReport::default()
    }))
}

pub(crate) async fn tax_import(
    pool: &Pool,
    imp: &TaxImport,
    batch_id: &str,
    parsed: FeedParsed<TaxRow>,
    params: &ParamSet,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<TaxReport, StoreError> {
    let total = parsed.rows_read;
    progress(FeedProgress {
        stage: "match",
        done: 0,
        total,
    });
    let report = in_write_tx!(pool, |tx| {
        tax_import_in(&mut tx, imp, batch_id, parsed, params, progress).await
    })?;
    progress(FeedProgress {
        stage: "write",
        done: total,
        total,
    });
    Ok(report)
}

/// The import of a checked file inside its transaction: match, write the payments, decide the
/// benefit periods, record the batch.
async fn tax_import_in(
    tx: &mut Tx<'_>,
    imp: &TaxImport,
    batch_id: &str,
    parsed: FeedParsed<TaxRow>,
    params: &ParamSet,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<TaxReport, StoreError> {
    let total = parsed.rows_read;
    let mut report = TaxReport {
        batch_id: batch_id.to_owned(),
        rows_read: parsed.rows_read,
        ..TaxReport::default()
    };
    let mut refusals: Vec<RefusedRow> = parsed.refused.into_iter().map(|(r, _)| r).collect();
    let mut keys: Vec<&str> = Vec::with_capacity(parsed.rows.len() * 2);
    for row in &parsed.rows {
        keys.push(&row.certno);
        if let Some(legacy) = &row.legacy {
            keys.push(legacy);
        }
    }
    let lookup = feed_lookup(tx, &keys, total, progress).await?;
    // Each row's person, or its refusal.
    let mut matched: Vec<(&TaxRow, String)> = Vec::with_capacity(parsed.rows.len());
    for row in &parsed.rows {
        match lookup.resolve(&row.certno, row.legacy.as_deref()) {
            Ok(Some((psn_no, _))) => matched.push((row, psn_no)),
            Ok(None) => refusals.push(RefusedRow {
                line: row.line,
                reason: format!("no person with certno {}", row.certno),
            }),
            Err(reason) => refusals.push(RefusedRow {
                line: row.line,
                reason,
            }),
        }
    }
    report.rows_matched = matched.len() as u64;
    let psn_keys: Vec<&str> = matched.iter().map(|(_, p)| p.as_str()).collect();
    let mut assessments: HashMap<(String, String, String), TaxAssessment> = HashMap::new();
    rows_for_keys(
        tx,
        TAX_ASSESSMENT_SELECT,
        "contribution_assessment",
        "psn_no",
        &psn_keys,
        |r| {
            // A period's parts (the run's row, and what a correction added beside it, e.g. the
            // individual part an undone subsidy made due) are owed together; payments are
            // recorded against the run's row.
            let part: String = r.try_get("part")?;
            if let Some(a) = tax_assessment(r)? {
                let key = (a.psn_no.clone(), a.insutype.clone(), a.period.clone());
                match assessments.get_mut(&key) {
                    Some(held) => {
                        held.due_fen += a.due_fen;
                        if part.is_empty() {
                            held.assessment_id = a.assessment_id;
                            held.assessed_on = a.assessed_on;
                        }
                    }
                    None => {
                        assessments.insert(key, a);
                    }
                }
            }
            Ok(())
        },
    )
    .await?;
    let ids: Vec<&str> = assessments
        .values()
        .map(|a| a.assessment_id.as_str())
        .collect();
    let mut paid = tax_payments_of(tx, &ids).await?;
    progress(FeedProgress {
        stage: "write",
        done: 0,
        total,
    });
    let recorded_at = ts(imp.recorded_at);
    let mut new_rows: Vec<(String, &TaxRow, String)> = Vec::new();
    // The resident assessments paid into, once each, in file order.
    let mut touched: Vec<&TaxAssessment> = Vec::new();
    let mut touched_ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (row, psn_no) in &matched {
        let key = (psn_no.clone(), row.insutype.to_owned(), row.period.clone());
        let Some(a) = assessments.get(&key) else {
            refusals.push(RefusedRow {
                line: row.line,
                reason: format!(
                    "no {} assessment of {psn_no} for {}",
                    row.insutype, row.period
                ),
            });
            continue;
        };
        let so_far = paid.entry(a.assessment_id.clone()).or_default();
        if let Some((_, amount, _)) = so_far.iter().find(|(_, _, r)| *r == row.receipt) {
            if *amount == row.amount_fen {
                // A payment already recorded (another file repeated it): taken, nothing new.
                report.rows_taken += 1;
            } else {
                refusals.push(RefusedRow {
                    line: row.line,
                    reason: format!(
                        "receipt {} is already recorded for this assessment with amount {}",
                        row.receipt,
                        Fen(*amount)
                    ),
                });
            }
            continue;
        }
        let outstanding = a.due_fen - so_far.iter().map(|(_, amount, _)| amount).sum::<i64>();
        if row.amount_fen > outstanding {
            refusals.push(RefusedRow {
                line: row.line,
                reason: format!(
                    "amount {} is more than the {} outstanding on {}",
                    Fen(row.amount_fen),
                    Fen(outstanding.max(0)),
                    a.assessment_id
                ),
            });
            continue;
        }
        so_far.push((row.clct_date, row.amount_fen, row.receipt.clone()));
        report.rows_taken += 1;
        report.payments += 1;
        report.amount += Fen(row.amount_fen);
        new_rows.push((
            format!("TAX:{}:{}", &batch_id[..16], row.line),
            row,
            a.assessment_id.clone(),
        ));
        if a.insutype == "390" && touched_ids.insert(&a.assessment_id) {
            touched.push(a);
        }
    }
    let rows = new_rows
        .iter()
        .map(|(payment_id, row, assessment_id)| {
            vec![
                V::T(payment_id),
                V::T(assessment_id),
                V::I(row.amount_fen),
                V::T(&row.receipt),
                V::S(row.clct_date.to_string()),
                V::T(&recorded_at),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "contribution_payment",
        &[
            "payment_id",
            "assessment_id",
            "amount_fen",
            "elec_taxrpt_no",
            "clct_time",
            "recorded_at",
        ],
        rows,
        "",
    )
    .await?;
    // The resident assessments these payments completed, and the years' fully subsidised
    // ones not decided yet.
    let mut completed: Vec<TaxCompleted> = Vec::new();
    let mut years: Vec<i32> = Vec::new();
    for a in touched {
        let Ok(year) = a.period.parse::<i32>() else {
            continue;
        };
        if !years.contains(&year) {
            years.push(year);
        }
        let payments = paid.get(&a.assessment_id).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(paid_on) = tax_paid_on(a.due_fen, payments) {
            completed.push(TaxCompleted {
                assessment_id: a.assessment_id.clone(),
                psn_no: a.psn_no.clone(),
                admdvs: a.admdvs.clone(),
                year,
                paid_on,
            });
        }
    }
    progress(FeedProgress {
        stage: "decide",
        done: 0,
        total,
    });
    for year in years {
        completed.extend(tax_subsidised(tx, year).await?);
    }
    let sweep = tax_decide(
        tx,
        completed,
        params,
        imp.recorded_at,
        Some(TaxKnown {
            assessments: &assessments,
            paid: &paid,
        }),
    )
    .await?;
    progress(FeedProgress {
        stage: "record",
        done: 0,
        total,
    });
    report.benefit_periods = sweep.decided;
    report.waiting = sweep.waiting;
    report.undecided = sweep.undecided;
    refusals.sort_by_key(|r| r.line);
    report.rows_refused = refusals.len() as u64;
    if report.rows_taken + report.rows_refused != report.rows_read {
        return Err(StoreError::Invariant(format!(
            "tax file: {} taken + {} refused is not the {} rows read",
            report.rows_taken, report.rows_refused, report.rows_read
        )));
    }
    sqlx::query(
        "INSERT INTO tax_batch (batch_id, file_name, actor, recorded_at, rows_read, rows_taken, rows_matched, \
         rows_refused, payments, amount_fen, benefit_periods, waiting) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(batch_id)
    .bind(&imp.file_name)
    .bind(&imp.actor)
    .bind(&recorded_at)
    .bind(report.rows_read as i64)
    .bind(report.rows_taken as i64)
    .bind(report.rows_matched as i64)
    .bind(report.rows_refused as i64)
    .bind(report.payments as i64)
    .bind(report.amount.0)
    .bind(report.benefit_periods as i64)
    .bind(report.waiting as i64)
    .execute(&mut **tx)
    .await?;
    let rows = refusals
        .iter()
        .map(|r| {
            vec![
                V::T(batch_id),
                V::I(r.line as i64),
                V::S(crate::tax::truncate_reason(&r.reason)),
            ]
        })
        .collect();
    insert_rows(tx, "tax_refusal", &["batch_id", "line", "reason"], rows, "").await?;
    report.refusals = refusals;
    Ok(report)
}

/// The year's resident assessments with nothing for the person to pay (fully subsidised) and no
/// benefit period yet, paid on the day they were assessed.
async fn tax_subsidised(tx: &mut Tx<'_>, year: i32) -> Result<Vec<TaxCompleted>, StoreError> {
    let rows = sqlx::query(&format!(
        "{TAX_ASSESSMENT_SELECT} a WHERE a.insutype = '390' AND a.clct_type = 'normal' AND a.period = $1 \
         AND a.psn_clct_fen = 0 AND a.part = '' AND NOT EXISTS (SELECT 1 FROM benefit_period b WHERE b.psn_no = a.psn_no \
         AND b.insutype = '390' AND b.year = $2) \
         AND NOT EXISTS (SELECT 1 FROM contribution_assessment x WHERE x.psn_no = a.psn_no \
         AND x.insutype = a.insutype AND x.period = a.period AND x.clct_type = 'normal' AND x.psn_clct_fen > 0)"
    ))
    .bind(format!("{year:04}"))
    .bind(i64::from(year))
    .fetch_all(&mut **tx)
    .await?;
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31)
        .ok_or_else(|| StoreError::bad("year", format!("{year} is out of range")))?;
    let mut out = Vec::new();
    for r in &rows {
        if let Some(a) = tax_assessment(r)? {
            out.push(TaxCompleted {
                assessment_id: a.assessment_id,
                psn_no: a.psn_no,
                admdvs: a.admdvs,
                year,
                paid_on: a.assessed_on.min(year_end),
            });
        }
    }
    Ok(out)
}

/// The year's paid resident assessments without a benefit period: the subsidised ones and those
/// whose payments reach the individual part.
async fn tax_paid_undecided(tx: &mut Tx<'_>, year: i32) -> Result<Vec<TaxCompleted>, StoreError> {
    let mut out = tax_subsidised(tx, year).await?;
    let rows = sqlx::query(&format!(
        "{TAX_ASSESSMENT_SELECT} a WHERE a.insutype = '390' AND a.clct_type = 'normal' AND a.period = $1 \
         AND a.part = '' AND EXISTS (SELECT 1 FROM contribution_payment p WHERE p.assessment_id = a.assessment_id) \
         AND NOT EXISTS (SELECT 1 FROM benefit_period b WHERE b.psn_no = a.psn_no AND b.insutype = '390' AND b.year = $2)"
    ))
    .bind(format!("{year:04}"))
    .bind(i64::from(year))
    .fetch_all(&mut **tx)
    .await?;
    // What corrections added beside the run's rows (an undone subsidy's individual part): owed
    // with them, paid against them.
    let added: HashMap<String, i64> = sqlx::query(
        "SELECT psn_no, CAST(SUM(psn_clct_fen) AS BIGINT) FROM contribution_assessment \
         WHERE insutype = '390' AND period = $1 AND clct_type = 'normal' AND part <> '' GROUP BY psn_no",
    )
    .bind(format!("{year:04}"))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let assessments: Vec<TaxAssessment> = rows
        .iter()
        .map(tax_assessment)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .map(|mut a| {
            a.due_fen += added.get(&a.psn_no).copied().unwrap_or(0);
            a
        })
        .filter(|a| a.due_fen > 0)
        .collect();
    let ids: Vec<&str> = assessments
        .iter()
        .map(|a| a.assessment_id.as_str())
        .collect();
    let paid = tax_payments_of(tx, &ids).await?;
    for a in assessments {
        let payments = paid.get(&a.assessment_id).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(paid_on) = tax_paid_on(a.due_fen, payments) {
            out.push(TaxCompleted {
                assessment_id: a.assessment_id,
                psn_no: a.psn_no,
                admdvs: a.admdvs,
                year,
                paid_on,
            });
        }
    }
    Ok(out)
}

/// Decides and writes the benefit period of each paid assessment in `completed` that has none,
/// reading the persons' facts (birth date, relations, earlier resident years, categories) with
/// a few bulk reads.
/// What an import already read of the persons in its file: their assessments (by person, type
/// and period, a period's parts together) and those assessments' payments, the file's included.
/// `tax_decide` reads these again only for the persons they do not cover.
struct TaxKnown<'a> {
    assessments: &'a HashMap<(String, String, String), TaxAssessment>,
    paid: &'a HashMap<String, Vec<(NaiveDate, i64, String)>>,
}

async fn tax_decide(
    tx: &mut Tx<'_>,
    completed: Vec<TaxCompleted>,
    params: &ParamSet,
    now: NaiveDateTime,
    known: Option<TaxKnown<'_>>,
) -> Result<BenefitSweep, StoreError> {
    let mut sweep = BenefitSweep::default();
    if completed.is_empty() {
        return Ok(sweep);
    }
    let mut psn_keys: Vec<&str> = completed.iter().map(|c| c.psn_no.as_str()).collect();
    psn_keys.sort_unstable();
    psn_keys.dedup();
    let mut decided: std::collections::HashSet<(String, i64)> = std::collections::HashSet::new();
    rows_for_keys(
        tx,
        "SELECT psn_no, year FROM benefit_period",
        "benefit_period",
        "psn_no",
        &psn_keys,
        |r| {
            decided.insert((r.try_get("psn_no")?, r.try_get("year")?));
            Ok(())
        },
    )
    .await?;
    let mut brdy: HashMap<String, String> = HashMap::new();
    rows_for_keys(
        tx,
        "SELECT psn_no, brdy FROM person",
        "person",
        "psn_no",
        &psn_keys,
        |r| {
            brdy.insert(r.try_get("psn_no")?, r.try_get("brdy")?);
            Ok(())
        },
    )
    .await?;
    // Relations in status 1: the years they run from and to (an open end: i32::MAX), by person.
    let mut relations: HashMap<String, Vec<(i32, i32)>> = HashMap::new();
    let year_of = |date: &str, open: i32| -> Result<i32, StoreError> {
        if date.is_empty() {
            return Ok(open);
        }
        date.get(..4)
            .and_then(|y| y.parse().ok())
            .ok_or_else(|| StoreError::Invariant(format!("stored date {date:?} has no year")))
    };
    rows_for_keys(
        tx,
        "SELECT psn_no, insutype, psn_insu_stas, begndate, enddate FROM insurance",
        "insurance",
        "psn_no",
        &psn_keys,
        |r| {
            let insutype: String = r.try_get("insutype")?;
            let stas: String = r.try_get("psn_insu_stas")?;
            if stas == "1" && (insutype == "310" || insutype == "390") {
                let (begndate, enddate): (String, String) =
                    (r.try_get("begndate")?, r.try_get("enddate")?);
                relations
                    .entry(r.try_get("psn_no")?)
                    .or_default()
                    .push((year_of(&begndate, i32::MIN)?, year_of(&enddate, i32::MAX)?));
            }
            Ok(())
        },
    )
    .await?;
    // Earlier resident assessments: person → [(year, due, assessment id)]; what the import read
    // is taken from it, the rest read here.
    let mut residents: HashMap<String, Vec<(i32, i64, String)>> = HashMap::new();
    let mut unread: Vec<&str> = psn_keys.clone();
    if let Some(known) = &known {
        let mut covered: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for ((psn_no, insutype, period), a) in known.assessments {
            covered.insert(psn_no);
            if let (true, Ok(year)) = (insutype == "390", period.parse::<i32>()) {
                residents.entry(psn_no.clone()).or_default().push((
                    year,
                    a.due_fen,
                    a.assessment_id.clone(),
                ));
            }
        }
        unread.retain(|psn_no| !covered.contains(psn_no));
    }
    rows_for_keys(
        tx,
        TAX_ASSESSMENT_SELECT,
        "contribution_assessment",
        "psn_no",
        &unread,
        |r| {
            let part: String = r.try_get("part")?;
            if let Some(a) = tax_assessment(r)? {
                if let (true, Ok(year)) = (a.insutype == "390", a.period.parse::<i32>()) {
                    // A year's parts are owed together; its payments are on the run's row.
                    let years = residents.entry(a.psn_no.clone()).or_default();
                    match years.iter_mut().find(|(y, _, _)| *y == year) {
                        Some(held) => {
                            held.1 += a.due_fen;
                            if part.is_empty() {
                                held.2 = a.assessment_id;
                            }
                        }
                        None => years.push((year, a.due_fen, a.assessment_id)),
                    }
                }
            }
            Ok(())
        },
    )
    .await?;
    let unread_ids: Vec<&str> = unread
        .iter()
        .filter_map(|psn_no| residents.get(*psn_no))
        .flatten()
        .map(|(_, _, id)| id.as_str())
        .collect();
    let read_paid = tax_payments_of(tx, &unread_ids).await?;
    let paid_of = |id: &str| {
        read_paid
            .get(id)
            .or_else(|| known.as_ref().and_then(|k| k.paid.get(id)))
    };
    // Categories: person → [(category, begin, end)].
    let mut categories: HashMap<String, Vec<(Category, String, String)>> = HashMap::new();
    rows_for_keys(
        tx,
        "SELECT psn_no, category, begn_date, end_date FROM identity_current",
        "identity_assignment",
        "psn_no",
        &psn_keys,
        |r| {
            let key: String = r.try_get("category")?;
            if let Some(category) = Category::from_key(&key) {
                categories.entry(r.try_get("psn_no")?).or_default().push((
                    category,
                    r.try_get("begn_date")?,
                    r.try_get("end_date")?,
                ));
            }
            Ok(())
        },
    )
    .await?;
    rows_for_keys(
        tx,
        "SELECT psn_no, sp_psn_type, begndate, enddate FROM identity",
        "identity",
        "psn_no",
        &psn_keys,
        |r| {
            let code: String = r.try_get("sp_psn_type")?;
            if let Some(category) = Category::from_sp_psn_type(&code) {
                categories.entry(r.try_get("psn_no")?).or_default().push((
                    category,
                    r.try_get("begndate")?,
                    r.try_get("enddate")?,
                ));
            }
            Ok(())
        },
    )
    .await?;
    let decided_at = ts(now);
    let mut rows: Vec<[String; 9]> = Vec::new();
    let mut waiting_months: Vec<i64> = Vec::new();
    // The parameter set of each pooling region and year, looked up once.
    let mut pooled: HashMap<i32, HashMap<String, Option<&yibao_enrollment::Params>>> =
        HashMap::new();
    for c in completed {
        if !decided.insert((c.psn_no.clone(), i64::from(c.year))) {
            continue;
        }
        let of_year = pooled.entry(c.year).or_default();
        let found = match of_year.get(c.admdvs.as_str()) {
            Some(found) => *found,
            None => {
                let found = params.get_pooled(&c.admdvs, c.year);
                of_year.insert(c.admdvs.clone(), found);
                found
            }
        };
        let Some(p) = found else {
            sweep.undecided.push((
                c.psn_no.clone(),
                format!("no parameter set for {} in {}", c.admdvs, c.year),
            ));
            continue;
        };
        let own = residents.get(&c.psn_no).map(Vec::as_slice).unwrap_or(&[]);
        let rels = relations.get(&c.psn_no).map(Vec::as_slice).unwrap_or(&[]);
        let covered_years: Vec<i32> = ((c.year - 30).max(0)..c.year)
            .filter(|y| match own.iter().find(|(year, _, _)| year == y) {
                Some((_, due, id)) => {
                    *due == 0
                        || paid_of(id)
                            .is_some_and(|p| p.iter().map(|(_, a, _)| a).sum::<i64>() >= *due)
                }
                None => rels.iter().any(|(from, to)| from <= y && to >= y),
            })
            .collect();
        let on = c.paid_on.to_string();
        let assistance_classes: Vec<u8> = categories
            .get(&c.psn_no)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|(_, b, e)| *b <= on && (e.is_empty() || *e >= on))
            .filter_map(|(category, _, _)| category.assistance_class())
            .collect();
        let facts = BenefitFacts {
            year: c.year,
            paid_on: c.paid_on,
            brdy: brdy
                .get(&c.psn_no)
                .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()),
            covered_years,
            assistance_classes,
        };
        match crate::tax::decide_benefit(p, &facts) {
            Ok((period, trace)) => {
                sweep.decided += 1;
                if period.waiting_months > 0 {
                    sweep.waiting += 1;
                }
                waiting_months.push(i64::from(period.waiting_months));
                rows.push([
                    c.psn_no,
                    c.year.to_string(),
                    c.assessment_id,
                    c.paid_on.to_string(),
                    period.start.to_string(),
                    period.end.to_string(),
                    period.waiting_months.to_string(),
                    trace,
                    decided_at.clone(),
                ]);
            }
            Err(e) => sweep.undecided.push((c.psn_no, e.to_string())),
        }
    }
    let values = rows
        .iter()
        .zip(&waiting_months)
        .map(|(r, months)| {
            vec![
                V::T(&r[0]),
                V::T("390"),
                V::I(r[1].parse().expect("a year we wrote")),
                V::T(&r[2]),
                V::T(&r[3]),
                V::T(&r[4]),
                V::T(&r[5]),
                V::I(*months),
                V::T(&r[7]),
                V::T(&r[8]),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "benefit_period",
        &[
            "psn_no",
            "insutype",
            "year",
            "assessment_id",
            "paid_on",
            "start_date",
            "end_date",
            "waiting_months",
            "trace",
            "decided_at",
        ],
        values,
        "",
    )
    .await?;
    Ok(sweep)
}

pub(crate) async fn tax_decide_year(
    pool: &Pool,
    year: i32,
    params: &ParamSet,
    now: NaiveDateTime,
) -> Result<BenefitSweep, StoreError> {
    in_write_tx!(pool, |tx| {
        tax_decide_paid(&mut tx, year, params, now).await
    })
}

async fn tax_decide_paid(
    tx: &mut Tx<'_>,
    year: i32,
    params: &ParamSet,
    now: NaiveDateTime,
) -> Result<BenefitSweep, StoreError> {
    let completed = tax_paid_undecided(tx, year).await?;
    tax_decide(tx, completed, params, now, None).await
}

pub(crate) async fn tax_benefit_periods(
    pool: &Pool,
    psn_no: &str,
) -> Result<Vec<BenefitPeriodView>, StoreError> {
    let rows = sqlx::query(
        "SELECT psn_no, insutype, year, assessment_id, paid_on, start_date, end_date, waiting_months, trace \
         FROM benefit_period WHERE psn_no = $1 ORDER BY year, insutype",
    )
    .bind(psn_no)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let day = |name: &str| -> Result<NaiveDate, StoreError> {
                let text: String = r.try_get(name)?;
                stored_day(&text)
            };
            Ok(BenefitPeriodView {
                psn_no: r.try_get("psn_no")?,
                insutype: r.try_get("insutype")?,
                year: i32::try_from(r.try_get::<i64, _>("year")?).map_err(|_| {
                    StoreError::Invariant("benefit_period.year out of range".into())
                })?,
                assessment_id: r.try_get("assessment_id")?,
                paid_on: day("paid_on")?,
                start: day("start_date")?,
                end: day("end_date")?,
                waiting_months: u32::try_from(r.try_get::<i64, _>("waiting_months")?).map_err(
                    |_| StoreError::Invariant("benefit_period.waiting_months out of range".into()),
                )?,
                trace: r.try_get("trace")?,
            })
        })
        .collect()
}

pub(crate) async fn tax_collection_list(
    pool: &Pool,
    period: &str,
) -> Result<Vec<CollectionItem>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.psn_no, p.certno, a.insutype, a.period, a.emp_clct_fen, a.psn_clct_fen, \
         COALESCE((SELECT CAST(SUM(x.amount_fen) AS BIGINT) FROM contribution_payment x \
                   WHERE x.assessment_id = a.assessment_id), CAST(0 AS BIGINT)) AS paid_fen \
         FROM contribution_assessment a JOIN person p ON p.psn_no = a.psn_no \
         WHERE a.period = $1 AND a.clct_type = 'normal' ORDER BY p.certno, a.insutype",
    )
    .bind(period)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let insutype: String = r.try_get("insutype")?;
        let due = crate::tax::collected_part(
            &insutype,
            r.try_get("emp_clct_fen")?,
            r.try_get("psn_clct_fen")?,
        );
        if due == 0 {
            continue;
        }
        out.push(CollectionItem {
            psn_no: r.try_get("psn_no")?,
            certno: r.try_get("certno")?,
            insutype,
            period: r.try_get("period")?,
            due: Fen(due),
            paid: Fen(r.try_get("paid_fen")?),
        });
    }
    Ok(out)
}
