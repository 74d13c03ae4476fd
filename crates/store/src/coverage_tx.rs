// The registry check's reads (`coverage.rs`): one pass over each table the facts come from,
// joined in memory by person; the rules run in `coverage.rs`.
// Compiled once per backend; see lib.rs.

use crate::coverage::{Followup, FollowupOutcome, FollowupQuery, PersonCoverage, RegistryCheck};

pub(crate) async fn coverage_facts(
    pool: &Pool,
    year: i32,
    reference: NaiveDate,
) -> Result<Vec<PersonCoverage>, StoreError> {
    use std::collections::HashMap;
    use yibao_enrollment::Category;

    let day = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .map(|d| d.to_string())
            .ok_or_else(|| StoreError::bad("year", format!("{y} is not a year")))
    };
    let begin = day(year, 1, 1)?;
    let last_begin = day(year - 1, 1, 1)?;
    let last_end = day(year - 1, 12, 31)?;
    let reference = reference.to_string();

    // Deaths: confirmed on or before the reference date leave the base population; reported
    // and not confirmed make a reason.
    let dead: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT psn_no FROM death_confirmed WHERE death_date <= $1")
            .bind(&reference)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let reported: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT DISTINCT r.psn_no FROM death_report r \
         WHERE NOT EXISTS (SELECT 1 FROM death_confirmed c WHERE c.psn_no = r.psn_no)",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();

    let mut persons: HashMap<String, PersonCoverage> = HashMap::new();
    for row in sqlx::query("SELECT psn_no, certno, brdy FROM person")
        .fetch_all(pool)
        .await?
    {
        let psn_no: String = row.try_get(0)?;
        if dead.contains(&psn_no) {
            continue;
        }
        let brdy: String = row.try_get(2)?;
        let mut p = PersonCoverage {
            psn_no: psn_no.clone(),
            certno: row.try_get(1)?,
            ..Default::default()
        };
        p.facts.born = NaiveDate::parse_from_str(&brdy, "%Y-%m-%d").ok();
        p.facts.death_reported = reported.contains(&psn_no);
        persons.insert(psn_no, p);
    }

    // The county: the household's region on the reference date (the latest segment), else the
    // basic relation's.
    for row in sqlx::query(
        "SELECT psn_no, admdvs FROM household_member WHERE valid_from <= $1 \
         ORDER BY psn_no, valid_from, seq",
    )
    .bind(&reference)
    .fetch_all(pool)
    .await?
    {
        let psn_no: String = row.try_get(0)?;
        if let Some(p) = persons.get_mut(&psn_no) {
            p.admdvs = row.try_get(1)?;
        }
    }

    // Basic relations in status 1 overlapping last year or this year up to the reference date.
    // (insutype, begndate, enddate with an open end as 9999-12-31), per person.
    let mut relations: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for row in sqlx::query(
        "SELECT psn_no, insutype, insuplc_admdvs, begndate, enddate FROM insurance \
         WHERE insutype IN ('310', '390') AND psn_insu_stas = '1' \
           AND begndate <= $1 AND (enddate = '' OR enddate >= $2) \
         ORDER BY psn_no, insutype, begndate",
    )
    .bind(&reference)
    .bind(&last_begin)
    .fetch_all(pool)
    .await?
    {
        let psn_no: String = row.try_get(0)?;
        let (insutype, admdvs, begndate, enddate): (String, String, String, String) = (
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
        );
        let Some(p) = persons.get_mut(&psn_no) else {
            continue;
        };
        if begndate <= last_end {
            p.facts.insured_last_year = true;
        }
        let this_year = enddate.is_empty() || enddate >= begin;
        if this_year {
            if p.admdvs.is_empty() {
                p.admdvs.clone_from(&admdvs);
            }
            relations.entry(psn_no).or_default().push((
                insutype,
                begndate,
                if enddate.is_empty() {
                    "9999-12-31".to_owned()
                } else {
                    enddate
                },
            ));
        }
    }

    // Resident years whose individual part the payments do not cover (the year's parts owed
    // together: the run's and a correction's), or that a refund by command took back.
    let unpaid: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT a.psn_no FROM contribution_assessment a \
         LEFT JOIN (SELECT assessment_id, SUM(amount_fen) AS paid FROM contribution_payment \
                    GROUP BY assessment_id) p ON p.assessment_id = a.assessment_id \
         WHERE a.insutype = '390' AND a.period = $1 AND (a.clct_type = 'normal' OR a.part = 'refund') \
         GROUP BY a.psn_no \
         HAVING MAX(CASE WHEN a.part = 'refund' THEN 1 ELSE 0 END) = 1 \
             OR SUM(CASE WHEN a.clct_type = 'normal' THEN a.psn_clct_fen ELSE 0 END) \
                > SUM(COALESCE(p.paid, 0))",
    )
    .bind(format!("{year:04}"))
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();

    for (psn_no, rels) in &relations {
        let Some(p) = persons.get_mut(psn_no) else {
            continue;
        };
        let employee = rels.iter().any(|r| r.0 == "310");
        let resident = rels.iter().any(|r| r.0 == "390");
        p.employee = employee;
        p.facts.relation_this_year = employee || resident;
        p.facts.unpaid_this_year = !employee && unpaid.contains(psn_no);
        // Two basic relations in force together in the year (§10.1): any two whose periods
        // overlap (an open end runs on).
        let overlapping = rels
            .iter()
            .enumerate()
            .any(|(i, a)| rels[i + 1..].iter().any(|b| a.1 <= b.2 && b.1 <= a.2));
        if overlapping {
            p.duplicate = Some(if employee && resident {
                "two_schemes"
            } else {
                "two_relations"
            });
        }
    }

    // Categories held in the year up to the reference date: the departments' records and the
    // registry's imported ones (by their settlement code).
    for row in sqlx::query(
        "SELECT psn_no, category FROM identity_current \
         WHERE begn_date <= $1 AND (end_date = '' OR end_date >= $2)",
    )
    .bind(&reference)
    .bind(&begin)
    .fetch_all(pool)
    .await?
    {
        let psn_no: String = row.try_get(0)?;
        let key: String = row.try_get(1)?;
        if let (Some(p), Some(c)) = (persons.get_mut(&psn_no), Category::from_key(&key)) {
            if !p.facts.categories.contains(&c) {
                p.facts.categories.push(c);
            }
        }
    }
    for row in sqlx::query(
        "SELECT psn_no, sp_psn_type FROM identity \
         WHERE begndate <= $1 AND (enddate = '' OR enddate >= $2)",
    )
    .bind(&reference)
    .bind(&begin)
    .fetch_all(pool)
    .await?
    {
        let psn_no: String = row.try_get(0)?;
        let code: String = row.try_get(1)?;
        if let (Some(p), Some(c)) = (persons.get_mut(&psn_no), Category::from_sp_psn_type(&code)) {
            if !p.facts.categories.contains(&c) {
                p.facts.categories.push(c);
            }
        }
    }
    Ok(persons.into_values().collect())
}

pub(crate) async fn followups_open(
    pool: &Pool,
    check: &RegistryCheck,
    now: NaiveDateTime,
) -> Result<u64, StoreError> {
    in_write_tx!(pool, |tx| followups_open_in(&mut tx, check, now).await)
}

async fn followups_open_in(
    tx: &mut Tx<'_>,
    check: &RegistryCheck,
    now: NaiveDateTime,
) -> Result<u64, StoreError> {
    let mut next = next_id(tx, "coverage_followup", "followup_id").await?;
    let (at, reference) = (ts(now), check.reference.to_string());
    let mut opened = 0;
    for f in check.findings.iter().filter(|f| f.finding == "uninsured") {
        let done = sqlx::query(
            "INSERT INTO coverage_followup (followup_id, year, psn_no, admdvs, reason, reference, \
             opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (year, psn_no) DO NOTHING",
        )
        .bind(next)
        .bind(i64::from(check.year))
        .bind(&f.psn_no)
        .bind(&f.admdvs)
        .bind(f.reason)
        .bind(&reference)
        .bind(&at)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            next += 1;
            opened += 1;
        }
    }
    Ok(opened)
}

pub(crate) async fn followups_list(
    pool: &Pool,
    query: &FollowupQuery,
    one: Option<i64>,
) -> Result<Vec<Followup>, StoreError> {
    let columns = "f.followup_id, f.year, f.psn_no, p.certno, p.psn_name, f.admdvs, f.reason, \
                   f.reference, f.opened_at, o.outcome, o.note, o.staff_id, o.recorded_at";
    let from = "coverage_followup f JOIN person p ON p.psn_no = f.psn_no \
                LEFT JOIN coverage_followup_outcome o ON o.followup_id = f.followup_id";
    let rows = match one {
        Some(id) => {
            sqlx::query(&format!(
                "SELECT {columns} FROM {from} WHERE f.followup_id = $1"
            ))
            .bind(id)
            .fetch_all(pool)
            .await?
        }
        None => {
            let open = match query.open {
                Some(true) => " AND o.followup_id IS NULL",
                Some(false) => " AND o.followup_id IS NOT NULL",
                None => "",
            };
            let limit = query.limit.clamp(1, 500) as i64;
            sqlx::query(&format!(
                "SELECT {columns} FROM {from} WHERE f.year = $1 AND ($2 = '' OR f.admdvs = $2){open} \
                 ORDER BY f.followup_id LIMIT $3"
            ))
            .bind(i64::from(query.year))
            .bind(query.admdvs.as_deref().unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter()
        .map(|r| {
            let outcome: Option<String> = r.try_get(9)?;
            let year: i64 = r.try_get(1)?;
            Ok(Followup {
                followup_id: r.try_get(0)?,
                year: i32::try_from(year).unwrap_or_default(),
                psn_no: r.try_get(2)?,
                certno: r.try_get(3)?,
                psn_name: r.try_get(4)?,
                admdvs: r.try_get(5)?,
                reason: r.try_get(6)?,
                reference: r.try_get(7)?,
                opened_at: r.try_get(8)?,
                outcome: match outcome {
                    Some(outcome) => Some(FollowupOutcome {
                        outcome,
                        note: r.try_get(10)?,
                        staff_id: r.try_get(11)?,
                        recorded_at: r.try_get(12)?,
                    }),
                    None => None,
                },
            })
        })
        .collect()
}

pub(crate) async fn followups_close(
    pool: &Pool,
    followup_id: i64,
    outcome: &str,
    note: &str,
    staff_id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    in_write_tx!(pool, |tx| {
        async {
        let state: Option<Option<String>> = sqlx::query_scalar(
            "SELECT o.outcome FROM coverage_followup f \
             LEFT JOIN coverage_followup_outcome o ON o.followup_id = f.followup_id \
             WHERE f.followup_id = $1",
        )
        .bind(followup_id)
        .fetch_optional(&mut *tx)
        .await?;
        match state {
            None => return Err(StoreError::not_found("followup_id", followup_id.to_string())),
            Some(Some(before)) => {
                return Err(StoreError::refused(
                    "followup_id",
                    format!("the follow-up was closed before ({before})"),
                ))
            }
            Some(None) => {}
        }
        sqlx::query(
            "INSERT INTO coverage_followup_outcome (followup_id, outcome, note, staff_id, recorded_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(followup_id)
        .bind(outcome)
        .bind(note)
        .bind(staff_id)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
    .await
    })
}
