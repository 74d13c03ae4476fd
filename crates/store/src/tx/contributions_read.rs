// Contributions read and declared (`tx/contributions.rs` runs them): a person's assessments,
// the runs' cases, employers and their wage declarations.
// Compiled once per backend; see lib.rs and crates/store/src/contributions.rs.

/// A person's employee assessment of one month (`$1` psn_no, `$2` period).
const CLCT_ONE_MONTH: &str =
    "psn_no = $1 AND insutype = '310' AND period = $2 AND clct_type IN ('normal', 'retiree_credit')";

async fn clct_assessments_where(
    executor: &Pool,
    filter: &str,
    psn_no: &str,
    period: &str,
) -> Result<Vec<AssessmentView>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT assessment_id, psn_no, insutype, insu_admdvs, period, clct_type, psn_type, base_fen, emp_clct_fen, \
         psn_clct_fen, oth_clct_fen, into_acct_fen, into_pool_fen, params_id, run_id, part FROM contribution_assessment \
         WHERE {filter} ORDER BY period, insutype, clct_type, part"
    ))
    .bind(psn_no)
    .bind(period)
    .fetch_all(executor)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let assessment_id: String = r.try_get("assessment_id")?;
        let lines = sqlx::query(
            "SELECT payer, amount_fen FROM contribution_payer_line WHERE assessment_id = $1 ORDER BY payer",
        )
        .bind(&assessment_id)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(|l| Ok((l.try_get(0)?, Fen(l.try_get(1)?))))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let run_id: Option<String> = r.try_get("run_id")?;
        out.push(AssessmentView {
            assessment_id,
            psn_no: r.try_get("psn_no")?,
            insutype: r.try_get("insutype")?,
            insu_admdvs: r.try_get("insu_admdvs")?,
            period: r.try_get("period")?,
            clct_type: r.try_get("clct_type")?,
            psn_type: r.try_get("psn_type")?,
            base: Fen(r.try_get("base_fen")?),
            employer: Fen(r.try_get("emp_clct_fen")?),
            individual: Fen(r.try_get("psn_clct_fen")?),
            other_payers: Fen(r.try_get("oth_clct_fen")?),
            into_account: Fen(r.try_get("into_acct_fen")?),
            into_pool: Fen(r.try_get("into_pool_fen")?),
            params_id: r.try_get("params_id")?,
            run_id: run_id.filter(|r| !r.is_empty()),
            part: r.try_get("part")?,
            payer_lines: lines,
        });
    }
    Ok(out)
}

pub(crate) async fn contribution_assessments(
    pool: &Pool,
    psn_no: &str,
) -> Result<Vec<AssessmentView>, StoreError> {
    clct_assessments_where(pool, "psn_no = $1 AND $2 = $2", psn_no, "").await
}

pub(crate) async fn contribution_cases(
    pool: &Pool,
    period: &str,
) -> Result<Vec<ContributionCase>, StoreError> {
    let rows = sqlx::query(
        "SELECT period, psn_no, insutype, reason, detail FROM contribution_case WHERE period = $1 ORDER BY psn_no, reason",
    )
    .bind(period)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ContributionCase {
                period: r.try_get(0)?,
                psn_no: r.try_get(1)?,
                insutype: r.try_get(2)?,
                reason: r.try_get(3)?,
                detail: r.try_get(4)?,
            })
        })
        .collect()
}

pub(crate) async fn contribution_employers(
    pool: &Pool,
    employers: &[Employer],
) -> Result<u64, StoreError> {
    if employers.len() > limits::CONTRIBUTION_DECLARATIONS_MAX {
        return Err(StoreError::bad(
            "employers",
            format!("more than {} rows", limits::CONTRIBUTION_DECLARATIONS_MAX),
        ));
    }
    let mut tx = pool.begin().await?;
    let mut written = 0;
    for (idx, e) in employers.iter().enumerate() {
        let found = sqlx::query("SELECT emp_name, insu_admdvs FROM employer WHERE emp_no = $1")
            .bind(&e.emp_no)
            .fetch_optional(&mut *tx)
            .await?;
        match found {
            Some(r) => {
                let name: String = r.try_get(0)?;
                let admdvs: String = r.try_get(1)?;
                if name != e.emp_name || admdvs != e.insu_admdvs {
                    return Err(StoreError::refused(
                        "emp_no",
                        format!(
                            "row {}: employer {} is known with other details",
                            idx + 1,
                            e.emp_no
                        ),
                    ));
                }
            }
            None => {
                sqlx::query(
                    "INSERT INTO employer (emp_no, emp_name, insu_admdvs) VALUES ($1, $2, $3)",
                )
                .bind(&e.emp_no)
                .bind(&e.emp_name)
                .bind(&e.insu_admdvs)
                .execute(&mut *tx)
                .await?;
                written += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(written)
}

pub(crate) async fn contribution_declare_wages(
    pool: &Pool,
    declarations: &[WageDeclaration],
    recorded_at: NaiveDateTime,
) -> Result<u64, StoreError> {
    if declarations.len() > limits::CONTRIBUTION_DECLARATIONS_MAX {
        return Err(StoreError::bad(
            "declarations",
            format!("more than {} rows", limits::CONTRIBUTION_DECLARATIONS_MAX),
        ));
    }
    let mut tx = pool.begin().await?;
    let mut written = 0;
    let at = ts(recorded_at);
    for (idx, d) in declarations.iter().enumerate() {
        let row = idx + 1;
        if d.wage.is_negative() {
            return Err(StoreError::bad("wage", format!("row {row}: is negative")));
        }
        let person = sqlx::query("SELECT 1 FROM person WHERE psn_no = $1")
            .bind(&d.psn_no)
            .fetch_optional(&mut *tx)
            .await?;
        if person.is_none() {
            return Err(StoreError::not_found(
                "psn_no",
                format!("row {row}: {}", d.psn_no),
            ));
        }
        let employer = sqlx::query("SELECT 1 FROM employer WHERE emp_no = $1")
            .bind(&d.emp_no)
            .fetch_optional(&mut *tx)
            .await?;
        if employer.is_none() {
            return Err(StoreError::not_found(
                "emp_no",
                format!("row {row}: {}", d.emp_no),
            ));
        }
        let found = sqlx::query(
            "SELECT wage_fen, emp_no FROM payroll_base WHERE psn_no = $1 AND year = $2",
        )
        .bind(&d.psn_no)
        .bind(i64::from(d.year))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = found {
            let wage: i64 = r.try_get(0)?;
            let emp_no: String = r.try_get(1)?;
            if wage != d.wage.0 || emp_no != d.emp_no {
                return Err(StoreError::refused(
                    "wage",
                    format!(
                        "row {row}: {} already has a wage declared for {} by {emp_no} ({} fen)",
                        d.psn_no, d.year, wage
                    ),
                ));
            }
            continue;
        }
        sqlx::query(
            "INSERT INTO payroll_base (psn_no, year, emp_no, wage_fen, source, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&d.psn_no)
        .bind(i64::from(d.year))
        .bind(&d.emp_no)
        .bind(d.wage.0)
        .bind(&d.source)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        written += 1;
    }
    tx.commit().await?;
    Ok(written)
}
