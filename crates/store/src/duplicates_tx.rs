// Duplicate insurance facts (crate::duplicates), written once for both backends: included in
// `pg` and `sq` by `backend!`.

pub(crate) async fn duplicate_pairs(
    pool: &Pool,
    year: i32,
) -> Result<Vec<crate::duplicates::DuplicatePair>, StoreError> {
    use crate::duplicates::DuplicatePair;
    let (b, e) = (format!("{year}-01-01"), format!("{year}-12-31"));
    let basic = |t: &str| format!("{t}.insutype IN ('310', '390') AND {t}.psn_insu_stas = '1'");
    let rows = sqlx::query(&format!(
        "SELECT p.psn_no, p.certno, p.brdy, \
                a.insutype, a.insuplc_admdvs, a.psn_type, a.begndate, \
                c.insutype, c.insuplc_admdvs, c.psn_type, c.begndate \
         FROM insurance a \
         JOIN insurance c ON c.psn_no = a.psn_no \
              AND (a.insutype < c.insutype OR (a.insutype = c.insutype AND a.begndate < c.begndate) \
                   OR (a.insutype = c.insutype AND a.begndate = c.begndate \
                       AND a.insuplc_admdvs < c.insuplc_admdvs)) \
         JOIN person p ON p.psn_no = a.psn_no \
         WHERE {} AND {} \
           AND a.begndate <= $2 AND (a.enddate = '' OR a.enddate >= $1) \
           AND c.begndate <= $2 AND (c.enddate = '' OR c.enddate >= $1) \
           AND a.begndate <= (CASE WHEN c.enddate = '' THEN '9999-12-31' ELSE c.enddate END) \
           AND c.begndate <= (CASE WHEN a.enddate = '' THEN '9999-12-31' ELSE a.enddate END) \
         ORDER BY p.psn_no, a.insutype, a.begndate",
        basic("a"),
        basic("c")
    ))
    .bind(&b)
    .bind(&e)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut conn = pool.acquire().await?;
    for row in rows {
        let psn_no: String = row.try_get(0)?;
        let mut relations = Vec::with_capacity(2);
        for offset in [3usize, 7] {
            let insutype: String = row.try_get(offset)?;
            let admdvs: String = row.try_get(offset + 1)?;
            let psn_type: String = row.try_get(offset + 2)?;
            let begndate: String = row.try_get(offset + 3)?;
            relations.push(
                duplicate_facts(
                    &mut conn, &psn_no, year, insutype, admdvs, psn_type, begndate,
                )
                .await?,
            );
        }
        let categories = sqlx::query(
            "SELECT category, begn_date, end_date FROM identity_current \
             WHERE psn_no = $1 AND begn_date <= $2 AND (end_date = '' OR end_date >= $3)",
        )
        .bind(&psn_no)
        .bind(&e)
        .bind(&b)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .filter_map(|r| {
            let (c, from, to): (String, String, String) =
                (r.try_get(0).ok()?, r.try_get(1).ok()?, r.try_get(2).ok()?);
            let day = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok();
            Some(yibao_enrollment::contribution::CategorySpan {
                category: yibao_enrollment::Category::from_key(&c)?,
                valid_from: day(&from)?,
                valid_to: if to.is_empty() { None } else { Some(day(&to)?) },
            })
        })
        .collect();
        let second = relations.pop().expect("two relations");
        let first = relations.pop().expect("two relations");
        out.push(DuplicatePair {
            psn_no,
            certno: row.try_get(1)?,
            brdy: row.try_get(2)?,
            categories,
            relations: [first, second],
        });
    }
    Ok(out)
}

/// The facts of one relation of a duplicate pair.
async fn duplicate_facts(
    conn: &mut <Db as sqlx::Database>::Connection,
    psn_no: &str,
    year: i32,
    insutype: String,
    admdvs: String,
    psn_type: String,
    begndate: String,
) -> Result<crate::duplicates::RelationFacts, StoreError> {
    // Consecutive months of employee contributions, counted back from the latest up to the
    // year's end.
    let continuous = if insutype == "310" {
        employee_streak(conn, psn_no, &format!("{year}-12")).await?
    } else {
        0
    };
    let employer_region: Option<String> = sqlx::query_scalar(
        "SELECT e.insu_admdvs FROM payroll_base b JOIN employer e ON e.emp_no = b.emp_no \
         WHERE b.psn_no = $1 AND b.year <= $2 ORDER BY b.year DESC LIMIT 1",
    )
    .bind(psn_no)
    .bind(i64::from(year))
    .fetch_optional(&mut *conn)
    .await?;
    let paid: Option<String> = sqlx::query_scalar(
        "SELECT MIN(p.clct_time) FROM contribution_payment p \
         JOIN contribution_assessment a ON a.assessment_id = p.assessment_id \
         WHERE a.psn_no = $1 AND a.insutype = $2 AND a.insu_admdvs = $3 \
           AND a.period LIKE $4 AND p.revs_of_payment_id IS NULL",
    )
    .bind(psn_no)
    .bind(&insutype)
    .bind(&admdvs)
    .bind(format!("{year}%"))
    .fetch_one(&mut *conn)
    .await?;
    let day = |t: &str| NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d").ok();
    let paid_on = paid
        .as_deref()
        .and_then(day)
        .or_else(|| day(&begndate))
        .unwrap_or(NaiveDate::MIN);
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM settlement WHERE psn_no = $1 AND insutype = $2 \
         AND insuplc_admdvs = $3 AND year = $4 AND setl_sign = 1",
    )
    .bind(psn_no)
    .bind(&insutype)
    .bind(&admdvs)
    .bind(i64::from(year))
    .fetch_one(&mut *conn)
    .await?;
    Ok(crate::duplicates::RelationFacts {
        place_of_employment: employer_region.as_deref() == Some(admdvs.as_str()),
        // The registry holds no residence data yet (residence permits are not fed; the police
        // file's region is the household registration, 户籍, not where the person lives).
        habitual_residence: false,
        continuous_employee_months: continuous,
        paid_on,
        benefits_used: used > 0,
        insutype,
        admdvs,
        psn_type,
        begndate,
    })
}

/// Consecutive months of normal employee contributions, counted back from the latest month up
/// to `up_to` (`YYYY-MM`), for the duplicate rules and the maternity allowance.
async fn employee_streak(
    conn: &mut <Db as sqlx::Database>::Connection,
    psn_no: &str,
    up_to: &str,
) -> Result<u32, StoreError> {
    let periods: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT period FROM contribution_assessment \
         WHERE psn_no = $1 AND insutype = '310' AND clct_type = 'normal' AND sign = 1 \
           AND period <= $2 ORDER BY period DESC",
    )
    .bind(psn_no)
    .bind(up_to)
    .fetch_all(&mut *conn)
    .await?;
    let month_index = |p: &str| -> Option<i32> {
        let (y, m) = p.split_once('-')?;
        Some(y.parse::<i32>().ok()? * 12 + m.parse::<i32>().ok()?)
    };
    let mut streak = 0u32;
    let mut previous: Option<i32> = None;
    for period in &periods {
        let Some(index) = month_index(period) else {
            break;
        };
        if previous.is_some_and(|p| p != index + 1) {
            break;
        }
        streak += 1;
        previous = Some(index);
    }
    Ok(streak)
}
