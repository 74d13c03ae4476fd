// Contributions (spec enrollment.md §5): the monthly employee run and the residents' annual run
// in chunks of one transaction each, deciding each relation's assessment or case (the chunk's
// writes and ledger posting in `tx/contributions_write.rs`, the reads in `tx/contributions_read.rs`).
// Compiled once per backend; see lib.rs and crates/store/src/contributions.rs.

use crate::contributions::{
    collection_account, payer_account, AssessmentView, ContributionCase, Employer, Progress,
    RunOptions, RunReport, WageDeclaration, EMPLOYEE_POOL_FUND, KIND_CLCT_ACCT, KIND_CLCT_POOL,
    KIND_RETIREE_CREDIT, RESIDENT_POOL_FUND,
};
use yibao_enrollment::contribution::{CategorySpan, ResidentInput, ResidentKind};
use yibao_enrollment::{Category, ParamSet, Params, Payer, YearMonth};

/// Which run a chunk belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClctRunKind {
    Employee,
    Resident,
}

impl ClctRunKind {
    fn key(self) -> &'static str {
        match self {
            ClctRunKind::Employee => "employee",
            ClctRunKind::Resident => "resident",
        }
    }

    fn insutype(self) -> &'static str {
        match self {
            ClctRunKind::Employee => "310",
            ClctRunKind::Resident => "390",
        }
    }
}

/// What a run assesses: the relations of one kind over one period.
struct ClctPeriod {
    kind: ClctRunKind,
    /// `YYYY-MM` or `YYYY`.
    label: String,
    first: NaiveDate,
    last: NaiveDate,
    /// The contribution year (the parameter set's and the wage declaration's).
    year: i32,
    /// Employees: the first day of the month (the retiree's age); residents: the assessment date.
    reference: NaiveDate,
}

impl ClctPeriod {
    fn month(month: YearMonth) -> ClctPeriod {
        let first = month.first_day();
        let last = YearMonth::from_index(month.index() + 1)
            .first_day()
            .pred_opt()
            .expect("a month has a last day");
        ClctPeriod {
            kind: ClctRunKind::Employee,
            label: month.to_string(),
            first,
            last,
            year: month.year,
            reference: first,
        }
    }

    fn resident_year(year: i32, assessed_on: NaiveDate) -> Result<ClctPeriod, StoreError> {
        let first = NaiveDate::from_ymd_opt(year, 1, 1)
            .ok_or_else(|| StoreError::bad("year", format!("{year} is out of range")))?;
        let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("a year has 31 December");
        Ok(ClctPeriod {
            kind: ClctRunKind::Resident,
            label: format!("{year:04}"),
            first,
            last,
            year,
            reference: assessed_on,
        })
    }

    fn run_id(&self) -> String {
        match self.kind {
            ClctRunKind::Employee => format!("E{}", self.label),
            ClctRunKind::Resident => format!("R{}", self.label),
        }
    }
}

/// The relations a run assesses: active (status 1) in the period, not paused or closed at any
/// time in it, not yet assessed for it. `$1` insutype, `$2` first day, `$3` last day, `$4`
/// period.
const CLCT_CANDIDATE_WHERE: &str = "i.insutype = $1 AND i.psn_insu_stas = '1' AND i.begndate <= $3 \
     AND (i.enddate = '' OR i.enddate >= $2) \
     AND NOT EXISTS (SELECT 1 FROM insurance x WHERE x.psn_no = i.psn_no AND x.insutype = i.insutype \
       AND x.psn_insu_stas <> '1' AND x.begndate <= $3 AND (x.enddate = '' OR x.enddate >= $2)) \
     AND NOT EXISTS (SELECT 1 FROM contribution_assessment a WHERE a.psn_no = i.psn_no \
       AND a.insutype = i.insutype AND a.period = $4 AND a.clct_type IN ('normal', 'retiree_credit'))";

/// One relation read for a chunk.
struct ClctCandidate {
    psn_no: String,
    psn_type: String,
    admdvs: String,
    brdy: String,
    /// Employees: the declared wage for the year.
    wage_fen: Option<i64>,
    /// Residents: the tier in force on the assessment date.
    tier: Option<String>,
}

/// One assessment to write.
struct ClctNewAssessment {
    assessment_id: String,
    psn_no: String,
    admdvs: String,
    clct_type: &'static str,
    psn_type: String,
    base: i64,
    employer: i64,
    individual: i64,
    other: i64,
    into_acct: i64,
    into_pool: i64,
    params_id: String,
    payer_lines: Vec<(Payer, i64)>,
}

/// A relation the run could not assess.
struct ClctNewCase {
    psn_no: String,
    reason: &'static str,
    detail: String,
}

enum ClctDecision {
    Assess(ClctNewAssessment),
    Case(ClctNewCase),
}

fn clct_assessment_id(insutype: &str, period: &str, psn_no: &str, clct_type: &str) -> String {
    format!("{insutype}:{period}:{psn_no}:{clct_type}")
}

fn clct_case(psn_no: &str, reason: &'static str, detail: String) -> ClctDecision {
    ClctDecision::Case(ClctNewCase {
        psn_no: psn_no.to_string(),
        reason,
        detail,
    })
}

fn clct_params_for<'p>(
    params: &'p ParamSet,
    cache: &mut HashMap<String, Option<&'p Params>>,
    admdvs: &str,
    year: i32,
) -> Option<&'p Params> {
    *cache
        .entry(admdvs.to_string())
        .or_insert_with(|| params.get(admdvs, year))
}

fn clct_birth_date(brdy: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(brdy, "%Y-%m-%d").ok()
}

/// An employee relation's assessment for the month, or the case it opens.
fn clct_decide_employee(
    period: &ClctPeriod,
    c: &ClctCandidate,
    p: Option<&Params>,
) -> ClctDecision {
    let Some(p) = p else {
        return clct_case(
            &c.psn_no,
            "no_params",
            format!("no parameter set for {} in {}", c.admdvs, period.year),
        );
    };
    let (clct_type, computed) = if c.psn_type.starts_with("11") {
        let Some(wage_fen) = c.wage_fen else {
            return clct_case(
                &c.psn_no,
                "no_wage",
                format!("no wage declared for {}", period.year),
            );
        };
        match yibao_enrollment::employee_monthly(p, Fen(wage_fen)) {
            Ok(a) => (
                "normal",
                (
                    a.base.0,
                    a.employer.0,
                    a.employee.0,
                    a.to_account.0,
                    a.to_pooled_fund.0,
                ),
            ),
            Err(e) => return clct_case(&c.psn_no, "engine", e.to_string()),
        }
    } else if c.psn_type.starts_with("12") {
        let Some(brdy) = clct_birth_date(&c.brdy) else {
            return clct_case(
                &c.psn_no,
                "brdy",
                format!("birth date {:?} does not read", c.brdy),
            );
        };
        let age = yibao_enrollment::age_at(brdy, period.reference).max(0) as u32;
        match yibao_enrollment::retiree_monthly_credit(p, age) {
            Ok(credit) => ("retiree_credit", (0, 0, 0, credit.0, 0)),
            Err(e) => return clct_case(&c.psn_no, "engine", e.to_string()),
        }
    } else {
        return clct_case(
            &c.psn_no,
            "psn_type",
            format!(
                "psn_type {} is neither in service (11xx) nor retired (12xx)",
                c.psn_type
            ),
        );
    };
    let (base, employer, individual, into_acct, into_pool) = computed;
    ClctDecision::Assess(ClctNewAssessment {
        assessment_id: clct_assessment_id("310", &period.label, &c.psn_no, clct_type),
        psn_no: c.psn_no.clone(),
        admdvs: c.admdvs.clone(),
        clct_type,
        psn_type: c.psn_type.clone(),
        base,
        employer,
        individual,
        other: 0,
        into_acct,
        into_pool,
        params_id: p.id(),
        payer_lines: Vec::new(),
    })
}

/// A resident relation's assessment for the year, or the case it opens.
fn clct_decide_resident(
    period: &ClctPeriod,
    c: &ClctCandidate,
    p: Option<&Params>,
    identities: &[CategorySpan],
) -> ClctDecision {
    let Some(p) = p else {
        return clct_case(
            &c.psn_no,
            "no_params",
            format!("no parameter set for {} in {}", c.admdvs, period.year),
        );
    };
    let Some(brdy) = clct_birth_date(&c.brdy) else {
        return clct_case(
            &c.psn_no,
            "brdy",
            format!("birth date {:?} does not read", c.brdy),
        );
    };
    let kind = if yibao_enrollment::age_at(brdy, period.reference) < 18 {
        ResidentKind::Child
    } else {
        ResidentKind::Adult
    };
    let input = ResidentInput {
        benefit_year: period.year,
        kind,
        chosen_tier: c.tier.as_deref(),
        categories: identities,
        assessed_on: period.reference,
    };
    let a = match yibao_enrollment::assess_resident(p, input) {
        Ok(a) => a,
        Err(e) => return clct_case(&c.psn_no, "engine", e.to_string()),
    };
    let individual = a.individual_due().0;
    let total = a.fund_income().0;
    ClctDecision::Assess(ClctNewAssessment {
        assessment_id: clct_assessment_id("390", &period.label, &c.psn_no, "normal"),
        psn_no: c.psn_no.clone(),
        admdvs: c.admdvs.clone(),
        clct_type: "normal",
        psn_type: c.psn_type.clone(),
        base: 0,
        employer: a.line(Payer::Employer).0,
        individual,
        other: total - individual - a.line(Payer::Employer).0,
        into_acct: 0,
        into_pool: total,
        params_id: p.id(),
        payer_lines: a.lines.iter().map(|l| (l.payer, l.amount.0)).collect(),
    })
}

async fn clct_count_candidates(pool: &Pool, period: &ClctPeriod) -> Result<u64, StoreError> {
    // For the progress bar: the relations active in the period less those the run already
    // assessed (by its run id, an index look-up), not an anti-join over every assessment.
    let active: i64 = sqlx::query(
        "SELECT COUNT(*) FROM insurance i WHERE i.insutype = $1 AND i.psn_insu_stas = '1' AND i.begndate <= $3 \
         AND (i.enddate = '' OR i.enddate >= $2) \
         AND NOT EXISTS (SELECT 1 FROM insurance x WHERE x.psn_no = i.psn_no AND x.insutype = i.insutype \
           AND x.psn_insu_stas <> '1' AND x.begndate <= $3 AND (x.enddate = '' OR x.enddate >= $2))",
    )
    .bind(period.kind.insutype())
    .bind(period.first.to_string())
    .bind(period.last.to_string())
    .fetch_one(pool)
    .await?
    .try_get(0)?;
    let assessed: i64 =
        sqlx::query("SELECT COUNT(*) FROM contribution_assessment WHERE run_id = $1")
            .bind(period.run_id())
            .fetch_one(pool)
            .await?
            .try_get(0)?;
    Ok((active - assessed).max(0) as u64)
}

/// The next chunk of relations after `after`, one per person (the latest relation row).
async fn clct_next_candidates(
    tx: &mut Tx<'_>,
    period: &ClctPeriod,
    after: &str,
    limit: usize,
    only: Option<&str>,
) -> Result<(Vec<ClctCandidate>, Option<String>), StoreError> {
    // The chunk's last key first (an index-only scan), so that every joined table is read over
    // the chunk's key range only, whatever plan the database picks.
    let upper: Option<String> = match only {
        Some(psn_no) => Some(psn_no.to_string()),
        None => sqlx::query(
            "SELECT psn_no FROM insurance WHERE insutype = $1 AND psn_no > $2 ORDER BY psn_no LIMIT 1 OFFSET $3",
        )
        .bind(period.kind.insutype())
        .bind(after)
        .bind(limit.saturating_sub(1) as i64)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?,
    };
    let upper_clause = match (only, &upper) {
        (Some(_), _) => " AND i.psn_no = $8 AND p.psn_no = $8",
        (None, Some(_)) => " AND i.psn_no <= $8 AND p.psn_no <= $8",
        (None, None) => "",
    };
    let sql = format!(
        "SELECT i.psn_no, i.psn_type, i.insuplc_admdvs, p.brdy, w.wage_fen, \
         (SELECT t.clct_tier FROM contribution_tier t WHERE t.psn_no = i.psn_no AND t.insutype = i.insutype \
           AND t.begndate <= $7 AND (t.enddate = '' OR t.enddate >= $7) ORDER BY t.begndate DESC LIMIT 1) AS tier \
         FROM insurance i JOIN person p ON p.psn_no = i.psn_no AND p.psn_no > $6 \
         LEFT JOIN payroll_base w ON w.psn_no = i.psn_no AND w.year = $5 AND w.psn_no > $6 \
         WHERE {CLCT_CANDIDATE_WHERE} AND i.psn_no > $6{upper_clause} \
         ORDER BY i.psn_no, i.begndate DESC"
    );
    let mut query = sqlx::query(&sql)
        .persistent(false)
        .bind(period.kind.insutype())
        .bind(period.first.to_string())
        .bind(period.last.to_string())
        .bind(&period.label)
        .bind(i64::from(period.year))
        .bind(after)
        .bind(period.reference.to_string());
    if let Some(upper) = &upper {
        query = query.bind(upper.clone());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let mut out: Vec<ClctCandidate> = Vec::with_capacity(rows.len());
    for r in rows {
        let psn_no: String = r.try_get("psn_no")?;
        if out.last().is_some_and(|c| c.psn_no == psn_no) {
            continue;
        }
        out.push(ClctCandidate {
            psn_no,
            psn_type: r.try_get("psn_type")?,
            admdvs: r.try_get("insuplc_admdvs")?,
            brdy: r.try_get("brdy")?,
            wage_fen: r.try_get("wage_fen")?,
            tier: r.try_get("tier")?,
        });
    }
    Ok((out, upper))
}

/// The identity categories of the persons in `(first, last]` that map to a subsidy category:
/// the registry's own rows (by `sp_psn_type`) and the department feeds' records (by category
/// key), less a feed record whose subsidy an undone 免申即享 decision withdrew.
async fn clct_identities_between(
    tx: &mut Tx<'_>,
    first_exclusive: &str,
    last: &str,
) -> Result<HashMap<String, Vec<CategorySpan>>, StoreError> {
    let rows = sqlx::query(
        "SELECT psn_no, sp_psn_type AS code, begndate, enddate, 0 AS feed FROM identity \
         WHERE psn_no > $1 AND psn_no <= $2 \
         UNION ALL \
         SELECT c.psn_no, c.category, c.begn_date, c.end_date, 1 FROM identity_current c \
         WHERE c.psn_no > $1 AND c.psn_no <= $2 \
           AND NOT EXISTS (SELECT 1 FROM identity_withdrawal w WHERE w.psn_no = c.psn_no \
               AND w.idet_type = c.idet_type AND w.begn_date = c.begn_date AND w.effect = 'subsidy')",
    )
    .bind(first_exclusive)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: HashMap<String, Vec<CategorySpan>> = HashMap::new();
    for r in rows {
        let code: String = r.try_get(1)?;
        let feed: i32 = r.try_get(4)?;
        let category = if feed == 1 {
            Category::from_key(&code)
        } else {
            Category::from_sp_psn_type(&code)
        };
        let Some(category) = category else {
            continue;
        };
        let begn: String = r.try_get(2)?;
        let end: String = r.try_get(3)?;
        let valid_from = NaiveDate::parse_from_str(&begn, "%Y-%m-%d").map_err(|_| {
            StoreError::Invariant(format!("stored identity begndate {begn:?} does not read"))
        })?;
        let valid_to = if end.is_empty() {
            None
        } else {
            Some(NaiveDate::parse_from_str(&end, "%Y-%m-%d").map_err(|_| {
                StoreError::Invariant(format!("stored identity enddate {end:?} does not read"))
            })?)
        };
        out.entry(r.try_get(0)?).or_default().push(CategorySpan {
            category,
            valid_from,
            valid_to,
        });
    }
    Ok(out)
}

/// The run of one period in chunks (see [`crate::Store::run_employee_month`]).
async fn clct_run_period(
    pool: &Pool,
    period: ClctPeriod,
    params: &ParamSet,
    options: &RunOptions,
    now: NaiveDateTime,
    progress: Progress<'_>,
) -> Result<RunReport, StoreError> {
    let run_id = period.run_id();
    let mut report = RunReport {
        run_id: run_id.clone(),
        period: period.label.clone(),
        ..RunReport::default()
    };
    let existing =
        sqlx::query("SELECT finished_at, chunks FROM contribution_run WHERE run_id = $1")
            .bind(&run_id)
            .fetch_optional(pool)
            .await?;
    let total = clct_count_candidates(pool, &period).await?;
    report.candidates = total;
    progress(0, total);
    let mut chunk: i64 = match &existing {
        Some(r) => {
            let finished: Option<String> = r.try_get(0)?;
            report.resumed = finished.is_none();
            r.try_get(1)?
        }
        None => 0,
    };
    if total == 0 {
        return Ok(report);
    }
    if existing.is_none() {
        sqlx::query(
            "INSERT INTO contribution_run (run_id, kind, period, started_at, finished_at, chunks) \
             VALUES ($1, $2, $3, $4, NULL, 0)",
        )
        .bind(&run_id)
        .bind(period.kind.key())
        .bind(&period.label)
        .bind(ts(now))
        .execute(pool)
        .await?;
    }
    let mut by_region: HashMap<String, Option<&Params>> = HashMap::new();
    let mut after = String::new();
    let mut done: u64 = 0;
    loop {
        let mut tx = pool.begin().await?;
        let (candidates, upper) =
            clct_next_candidates(&mut tx, &period, &after, options.chunk_rows, None).await?;
        let Some(last) = candidates.last() else {
            tx.rollback().await?;
            match upper {
                // Nothing left to assess in this key range: on to the next.
                Some(upper) => {
                    after = upper;
                    continue;
                }
                None => break,
            }
        };
        let last = upper.unwrap_or_else(|| last.psn_no.clone());
        let identities = match period.kind {
            ClctRunKind::Resident => clct_identities_between(&mut tx, &after, &last).await?,
            ClctRunKind::Employee => HashMap::new(),
        };
        let decisions: Vec<ClctDecision> = candidates
            .iter()
            .map(|c| {
                let p = clct_params_for(params, &mut by_region, &c.admdvs, period.year);
                match period.kind {
                    ClctRunKind::Employee => clct_decide_employee(&period, c, p),
                    ClctRunKind::Resident => clct_decide_resident(
                        &period,
                        c,
                        p,
                        identities.get(&c.psn_no).map_or(&[], |v| v.as_slice()),
                    ),
                }
            })
            .collect();
        let n = candidates.len() as u64;
        let assessing = decisions
            .iter()
            .any(|d| matches!(d, ClctDecision::Assess(_)));
        if assessing {
            chunk += 1;
            clct_write_chunk(
                &mut tx,
                &period,
                decisions,
                ClctPoolRef::Chunk {
                    run_id: &run_id,
                    chunk,
                },
                now,
                &mut report,
            )
            .await?;
            sqlx::query("UPDATE contribution_run SET chunks = $1 WHERE run_id = $2")
                .bind(chunk)
                .bind(&run_id)
                .execute(&mut *tx)
                .await?;
            report.chunks += 1;
        } else {
            clct_write_chunk(
                &mut tx,
                &period,
                decisions,
                ClctPoolRef::Single,
                now,
                &mut report,
            )
            .await?;
        }
        tx.commit().await?;
        done += n;
        progress(done.min(total), total);
        after = last;
        if options
            .stop_after_chunks
            .is_some_and(|stop| report.chunks >= stop)
        {
            return Err(StoreError::Crashed);
        }
    }
    sqlx::query(
        "UPDATE contribution_run SET finished_at = $1 WHERE run_id = $2 AND finished_at IS NULL",
    )
    .bind(ts(now))
    .bind(&run_id)
    .execute(pool)
    .await?;
    Ok(report)
}

pub(crate) async fn contribution_run_employees(
    pool: &Pool,
    month: YearMonth,
    params: &ParamSet,
    options: &RunOptions,
    now: NaiveDateTime,
    progress: Progress<'_>,
) -> Result<RunReport, StoreError> {
    clct_run_period(
        pool,
        ClctPeriod::month(month),
        params,
        options,
        now,
        progress,
    )
    .await
}

pub(crate) async fn contribution_run_residents(
    pool: &Pool,
    benefit_year: i32,
    assessed_on: NaiveDate,
    params: &ParamSet,
    options: &RunOptions,
    now: NaiveDateTime,
    progress: Progress<'_>,
) -> Result<RunReport, StoreError> {
    let period = ClctPeriod::resident_year(benefit_year, assessed_on)?;
    clct_run_period(pool, period, params, options, now, progress).await
}

pub(crate) async fn contribution_assess_one(
    pool: &Pool,
    psn_no: &str,
    month: YearMonth,
    params: &ParamSet,
    now: NaiveDateTime,
) -> Result<AssessmentView, StoreError> {
    let period = ClctPeriod::month(month);
    let mut tx = pool.begin().await?;
    if IS_PG {
        sqlx::query("SELECT psn_no FROM person WHERE psn_no = $1 FOR UPDATE")
            .bind(psn_no)
            .execute(&mut *tx)
            .await?;
    }
    let rows = sqlx::query(
        "SELECT psn_insu_stas, begndate, enddate FROM insurance WHERE psn_no = $1 AND insutype = '310' \
         AND begndate <= $3 AND (enddate = '' OR enddate >= $2) ORDER BY begndate",
    )
    .bind(psn_no)
    .bind(period.first.to_string())
    .bind(period.last.to_string())
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no} has no 310 relation in {}", period.label),
        ));
    }
    for r in &rows {
        let stas: String = r.try_get(0)?;
        if stas != "1" {
            let begn: String = r.try_get(1)?;
            return Err(StoreError::refused(
                "psn_insu_stas",
                format!(
                    "{psn_no}'s 310 relation is {} from {begn}, in {}: not assessed",
                    if stas == "2" {
                        "paused (2)"
                    } else {
                        "closed (4)"
                    },
                    period.label
                ),
            ));
        }
    }
    let (candidates, _) = clct_next_candidates(&mut tx, &period, "", 1, Some(psn_no)).await?;
    let Some(c) = candidates.first() else {
        // Active all month and not a candidate: already assessed.
        tx.rollback().await?;
        if let Some(found) = clct_assessments_where(pool, CLCT_ONE_MONTH, psn_no, &period.label)
            .await?
            .into_iter()
            .next()
        {
            return Ok(found);
        }
        return Err(StoreError::Invariant(format!(
            "{psn_no} has an active relation in {} but is not a candidate",
            period.label
        )));
    };
    let p = params.get(&c.admdvs, period.year);
    let decision = clct_decide_employee(&period, c, p);
    if let ClctDecision::Case(case) = &decision {
        let field = match case.reason {
            "no_wage" => "wage",
            "no_params" => "insuplc_admdvs",
            "psn_type" => "psn_type",
            _ => "psn_no",
        };
        return Err(StoreError::refused(
            field,
            format!("{psn_no}: {}", case.detail),
        ));
    }
    let mut report = RunReport::default();
    clct_write_chunk(
        &mut tx,
        &period,
        vec![decision],
        ClctPoolRef::Single,
        now,
        &mut report,
    )
    .await?;
    tx.commit().await?;
    clct_assessments_where(pool, CLCT_ONE_MONTH, psn_no, &period.label)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Invariant("the assessment just written is not found".into()))
}
