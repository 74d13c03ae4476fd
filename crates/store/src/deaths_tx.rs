// Deaths (crate::deaths), written once for both backends: included in `pg` and `sq` by
// `backend!`.

pub(crate) async fn deaths_import(
    pool: &Pool,
    rows: &[(u64, String, NaiveDate)],
    dept: &str,
    source_ref: &str,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<crate::deaths::DeathReport, StoreError> {
    let mut tx = begin_write(pool).await?;
    let mut report = crate::deaths::DeathReport::default();
    let recorded_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    for (line, certno, date) in rows {
        let psn_no: Option<String> = sqlx::query_scalar(
            "SELECT psn_no FROM person WHERE certno = $1 \
             UNION SELECT psn_no FROM person_identifier WHERE certno = $1",
        )
        .bind(certno)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(psn_no) = psn_no else {
            report
                .refused
                .push((*line, format!("no person with certno {certno}")));
            continue;
        };
        let inserted = sqlx::query(
            "INSERT INTO death_report (psn_no, source_dept, death_date, source_ref, line, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (psn_no, source_dept, death_date) DO NOTHING",
        )
        .bind(&psn_no)
        .bind(dept)
        .bind(date.to_string())
        .bind(source_ref)
        .bind(i64::try_from(*line).unwrap_or(i64::MAX))
        .bind(&recorded_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.recorded += inserted;
    }
    // Every person with a report and no confirmed death: act when the rule of §8.3 is met.
    let waiting = sqlx::query(
        "SELECT r.psn_no, r.source_dept, r.death_date, r.recorded_at FROM death_report r \
         WHERE NOT EXISTS (SELECT 1 FROM death_confirmed c WHERE c.psn_no = r.psn_no) \
         ORDER BY r.psn_no, r.recorded_at",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut by_person: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for r in waiting {
        by_person.entry(r.try_get(0)?).or_default().push((
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
        ));
    }
    for (psn_no, reports) in by_person {
        let police = reports.iter().find(|(dept, _, _)| dept == "police");
        let depts: std::collections::BTreeSet<&str> =
            reports.iter().map(|(dept, _, _)| dept.as_str()).collect();
        let window_passed = reports.iter().any(|(_, _, recorded)| {
            NaiveDate::parse_from_str(recorded.get(..10).unwrap_or(recorded), "%Y-%m-%d")
                .is_ok_and(|d| (today - d).num_days() >= crate::deaths::DEATH_CONFIRM_DAYS)
        });
        // The police's date when they reported, else the earliest reported.
        let (basis, date) = if let Some((_, date, _)) = police {
            ("police", date.clone())
        } else if depts.len() >= 2 {
            let earliest = reports
                .iter()
                .map(|(_, d, _)| d.clone())
                .min()
                .unwrap_or_default();
            ("two_sources", earliest)
        } else if window_passed {
            ("window", reports[0].1.clone())
        } else {
            report.pending += 1;
            continue;
        };
        let Ok(death_date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
            continue;
        };
        sqlx::query(
            "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&psn_no)
        .bind(&date)
        .bind(basis)
        .bind(&recorded_at)
        .execute(&mut *tx)
        .await?;
        // Every relation in force after the death ends on the death date.
        let ended = sqlx::query(
            "UPDATE insurance SET enddate = $2, psn_insu_stas = '4' WHERE psn_no = $1 \
             AND psn_insu_stas <> '4' AND (enddate = '' OR enddate > $2) AND begndate <= $2",
        )
        .bind(&psn_no)
        .bind(&date)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let after: Vec<String> = sqlx::query_scalar(
            "SELECT setl_id FROM settlement WHERE psn_no = $1 AND setl_sign = 1 \
             AND refd_setl_flag = 0 AND setl_date > $2 ORDER BY setl_id",
        )
        .bind(&psn_no)
        .bind(&date)
        .fetch_all(&mut *tx)
        .await?;
        report.confirmed.push(crate::deaths::ConfirmedDeath {
            psn_no,
            death_date,
            basis,
            relations_ended: ended,
            settlements_after: after,
        });
    }
    tx.commit().await?;
    Ok(report)
}
